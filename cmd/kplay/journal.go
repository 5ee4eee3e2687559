package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/modules"
)

// resumeFlag is --resume, alone (the newest run) or --resume=ID; a run id
// right after a bare --resume is taken too (see takeResumeID).
type resumeFlag string

func (r *resumeFlag) String() string   { return string(*r) }
func (r *resumeFlag) IsBoolFlag() bool { return true }
func (r *resumeFlag) Set(s string) error {
	switch s {
	case "true":
		*r = "last"
	case "false":
		*r = ""
	default:
		*r = resumeFlag(s)
	}
	return nil
}

// runIDPattern is the shape of journal.NewID.
var runIDPattern = regexp.MustCompile(`^\d{8}-\d{6}(-\d{3})?-[0-9a-f]{6}$`)

// takeResumeID moves a run id given as `--resume ID` out of the playbooks.
func (f *playFlags) takeResumeID(pos []string) []string {
	if f.resume != "last" {
		return pos
	}
	for i, p := range pos {
		if _, err := os.Stat(p); err != nil && runIDPattern.MatchString(p) {
			f.resume = resumeFlag(p)
			return append(pos[:i:i], pos[i+1:]...)
		}
	}
	return pos
}

// journalDirFor is where runs are journaled: --journal-dir, else
// .kplay/runs next to the inventory (or here, without an inventory file).
func journalDirFor(flagDir, inventoryDir string) string {
	if flagDir != "" {
		return flagDir
	}
	if inventoryDir == "" {
		inventoryDir = "."
	}
	return filepath.Join(inventoryDir, ".kplay", "runs")
}

// applyJournal sets the journal, resume and rollback options of a run.
func (f *playFlags) applyJournal(opts *engine.Options, args []string) error {
	opts.RollbackOnFailure = opts.RollbackOnFailure || f.rollbackOnFailure
	opts.ForceHandlers = opts.ForceHandlers || f.forceHandlers
	if f.noJournal {
		if f.resume != "" {
			return usageErrorf("--resume needs the journal; drop --no-journal")
		}
		return nil
	}
	opts.JournalDir = journalDirFor(f.journalDir, opts.Inventory.Dir)
	opts.Command = append([]string{"kplay"}, redactCommand(args)...)
	if f.resume == "" {
		return nil
	}
	id := string(f.resume)
	if id == "last" {
		latest, err := journal.Latest(opts.JournalDir, "run")
		if err != nil {
			return usageErrorf("--resume: %v", err)
		}
		id = latest
	}
	meta, entries, err := journal.ReadChain(opts.JournalDir, id)
	if err != nil {
		return usageErrorf("--resume: %v", err)
	}
	opts.Resume, opts.ResumeOf = engine.ResumeFrom(entries), id
	if meta.Status == journal.StatusFailed {
		// The hosts that had finished are not touched again.
		opts.Only = append([]string{}, meta.Failed...)
	}
	return nil
}

const runsUsage = `Usage: kplay runs [-i INVENTORY] [--journal-dir DIR]
       kplay runs show ID [-i INVENTORY] [--journal-dir DIR]
       kplay runs prune --keep N [-i INVENTORY] [--check]   (see kplay runs prune --help)

Lists the journaled runs (newest first) with their status, hosts, changes
and duration, or prints one run's journal: every task result per host, what
it changed and how rollback undoes it.

Flags:
  -i, --inventory FILE   the inventory whose .kplay/runs to read (default ./hosts.yaml)
      --journal-dir DIR  the journal folder (default .kplay/runs next to the inventory)
  -h, --help             print this help
`

// runRuns is `kplay runs [show ID]`.
func runRuns(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "prune" {
		return runPrune(ctx, args[1:], stdin, stdout, stderr)
	}
	var f playFlags
	fset := newPlayFlagSet(&f)
	pos, err := parseCommand(fset, args, "runs", runsUsage, stdout)
	if err != nil {
		return err
	}
	if err := applyConfig(&f, flagsSet(fset)); err != nil {
		return err
	}
	dir, err := f.journalRoot(stderr)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return listRuns(stdout, dir)
	case len(pos) == 2 && pos[0] == "show":
		return showRun(stdout, dir, pos[1])
	}
	return usageErrorf("runs: want no argument or `show ID` (see kplay runs --help)")
}

// journalRoot finds the journal folder from --journal-dir or the inventory.
func (f *playFlags) journalRoot(stderr io.Writer) (string, error) {
	if f.journalDir != "" {
		return f.journalDir, nil
	}
	inv, err := loadInventory(f.inventory, stderr)
	if err != nil {
		return "", err
	}
	return journalDirFor("", inv.Dir), nil
}

func listRuns(w io.Writer, dir string) error {
	metas, err := journal.List(dir)
	if err != nil {
		return err
	}
	if len(metas) == 0 {
		fmt.Fprintf(w, "no runs in %s\n", dir)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tHOSTS\tCHANGES\tDURATION\tPLAYBOOKS")
	for _, m := range metas {
		kind := m.Kind
		if m.Check {
			kind += " (check)"
		}
		if m.RollbackOf != "" {
			kind += " of " + m.RollbackOf
		}
		dur := "-"
		if !m.End.IsZero() {
			dur = m.End.Sub(m.Start).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", m.ID, kind, m.Status, len(m.Hosts), m.Changes, dur,
			strings.Join(m.Playbooks, " "))
	}
	return tw.Flush()
}

func showRun(w io.Writer, dir, id string) error {
	meta, entries, err := journal.Read(dir, id)
	if err != nil {
		return usageErrorf("runs show: %v", err)
	}
	fmt.Fprintf(w, "run %s (%s) %s, started %s\n", meta.ID, meta.Kind, meta.Status, meta.Start.Format(time.RFC3339))
	if len(meta.Command) > 0 {
		fmt.Fprintf(w, "command: %s\n", strings.Join(meta.Command, " "))
	}
	for _, e := range entries {
		host := e.Host
		if e.Delegate != "" {
			host += " -> " + e.Delegate // its changes are on the delegate
		}
		fmt.Fprintf(w, "%s [%s] %s (%s) %s\n", e.Time.Format("15:04:05"), host, e.Task, e.TaskPos, e.Status)
		for _, c := range e.Changes {
			fmt.Fprintf(w, "    %s\n", describeChange(c))
		}
	}
	return nil
}

// describeChange says in one line what changed and how rollback undoes it.
func describeChange(c modules.Change) string {
	switch c.Kind {
	case modules.KindFile:
		s := fmt.Sprintf("file %s %s", c.Path, c.Action)
		switch {
		case !c.Existed:
			s += " (did not exist before: rollback removes it)"
		case c.Backup != "":
			s += " (backup " + c.Backup + ")"
		case c.OldTarget != "":
			s += " (was a link to " + c.OldTarget + ")"
		case c.OldMode != "" || c.OldOwner != "":
			s += fmt.Sprintf(" (was mode %s owner %s:%s)", c.OldMode, c.OldOwner, c.OldGroup)
		}
		return s
	case modules.KindService:
		return fmt.Sprintf("service %s %s (was %s)", c.Name, c.Action, c.Old)
	}
	s := fmt.Sprintf("%s %s %s", c.Kind, c.Name, c.Action)
	if c.Old != "" || c.New != "" {
		s += fmt.Sprintf(" (%s -> %s)", c.Old, c.New)
	}
	return s
}

const rollbackUsage = `Usage: kplay rollback [ID] [-i INVENTORY] [-l LIMIT] [--check] [--files-only] [-e VARS] [SSH flags]

Undoes a journaled run (default: the newest run that changed something):
on each host, newest change first and hosts in parallel, every file is put
back byte for byte with its mode and owner (or removed if the run created
it), packages the run installed are removed, and services the run touched
are put back in their state before the run (restarted where their files
were restored).

Then, for every role whose changes were undone on a host, the role's
tasks/rollback.yaml runs on those hosts, in playbook order, with the run's
playbooks, role folders and extra vars (recorded in its journal) and this
inventory: it validates the restored files and restarts or reloads the
services one host at a time, each gated on health (etcd, lb-pair, master,
node, addons). If one fails, the files stay restored, the error names the
host and task, and kplay exits non-zero.

A second rollback changes nothing (and runs no rollback task). The
rollback is itself journaled: kplay rollback ROLLBACK-ID undoes it.

Flags:
  -i, --inventory FILE     inventory (default ./hosts.yaml)
  -l, --limit PATTERN      only these hosts
  -C, --check              say what would be done (files, and the roles whose
                           rollback tasks would run, with their hosts), change nothing
      --files-only         restore the files only: run no role's rollback tasks
                           (the services pick the files up at their next restart)
  -e, --extra-vars VARS    override the run's extra vars for the rollback tasks
                           (secret ones are not journaled: give them again)
  -f, --forks N            hosts in parallel (default all)
      --json               one JSON event per line: rollback_action per undone
                           change, the rollback tasks' run events, rollback_end
  -v, --verbose            more output from the rollback tasks
      --journal-dir DIR    the journal folder (default .kplay/runs next to the inventory)
      --known-hosts FILE, --accept-new-host-keys, --ssh-config FILE,
      --connect-timeout S, --private-key FILE, -k, -K: as for a run
  -h, --help               print this help
`

// rollbackFlags are the flags only kplay rollback has.
type rollbackFlags struct {
	filesOnly bool
}

// newRollbackFlagSet is the run's flag set plus rollback's own flags.
func newRollbackFlagSet(f *playFlags, rf *rollbackFlags) *flag.FlagSet {
	fset := newPlayFlagSet(f)
	fset.BoolVar(&rf.filesOnly, "files-only", false, "")
	return fset
}

// runRollback is `kplay rollback [ID]`.
func runRollback(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f playFlags
	var rf rollbackFlags
	fset := newRollbackFlagSet(&f, &rf)
	pos, err := parseCommand(fset, args, "rollback", rollbackUsage, stdout)
	if err != nil {
		return err
	}
	if err := applyConfig(&f, flagsSet(fset)); err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErrorf("rollback: want at most one run id, got %d arguments", len(pos))
	}
	opts, err := f.options(nil, stderr)
	if err != nil {
		return err
	}
	secrets, err := f.askPasswords(stdin, stderr, opts)
	if err != nil {
		return err
	}
	stdout, stderr = maskSecrets(stdout, secrets...), maskSecrets(stderr, secrets...)
	text := newTextSink(stdout, stderr, int(f.verbosity), false, !f.noColor && colorWanted(stdout))
	opts.Sink = text
	ro := engine.RollbackOptions{Options: *opts, Check: f.check, FilesOnly: rf.filesOnly}
	ro.JournalDir = journalDirFor(f.journalDir, opts.Inventory.Dir)
	ro.Command = append([]string{"kplay", "rollback"}, redactCommand(args)...)
	if len(pos) == 1 {
		ro.RunID = pos[0]
	}
	if f.json {
		// rollback_action and rollback_end events, with the events of
		// the roles' rollback tasks between them
		ro.Sink = newJSONSink(stdout, stderr)
	} else {
		ro.Report = func(a journal.Action) { fmt.Fprintln(stdout, rollbackLine(a, f.check)) }
	}
	rep, err := engine.Rollback(ctx, ro)
	if rep != nil && !f.json {
		printRollbackReport(stdout, rep, f.check, rf.filesOnly)
	}
	if err != nil {
		var re *engine.RoleRollbackError
		if errors.As(err, &re) {
			return withCode(exitError, fmt.Errorf("rollback of run %s: %w", rep.RunID, err))
		}
		return classifyRunError(ctx, err)
	}
	return nil
}

// rollbackLine is one action of a rollback, as printed.
func rollbackLine(a journal.Action, check bool) string {
	mark := "ok"
	switch {
	case a.Err != nil:
		mark = "failed: " + a.Err.Error()
	case a.Changed && check:
		mark = "would change"
	case a.Changed:
		mark = "changed"
	}
	return fmt.Sprintf("[%s] %s: %s", a.Host, a.What, mark)
}

// printRollbackReport prints the summary of a rollback: the roles whose
// rollback tasks ran (or would run), the counts, the rollback's run id.
func printRollbackReport(w io.Writer, rep *engine.RollbackReport, check, filesOnly bool) {
	verb, roleVerb := "done", "ran"
	if check {
		verb, roleVerb = "would be done", "would run"
	}
	for _, r := range rep.Roles {
		fmt.Fprintf(w, "rollback tasks of role %s (play %s) %s on %s\n", r.Role, r.Play, roleVerb, strings.Join(r.Hosts, ", "))
	}
	if filesOnly {
		fmt.Fprintln(w, "--files-only: no role's rollback tasks ran; the services pick the restored files up at their next restart")
	}
	fmt.Fprintf(w, "\n%s (%s)\n", rep, verb)
	if rep.Rollback != "" {
		fmt.Fprintf(w, "journaled as run %s (kplay rollback %s undoes it)\n", rep.Rollback, rep.Rollback)
	}
}
