package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kplay/kplay/journal"
)

// RoleRollback is a role whose tasks/rollback.yaml kplay rollback runs (or,
// in check mode, would run) after putting its files back: the play it ran
// in and the play hosts whose changes were undone.
type RoleRollback struct {
	Play  string   `json:"play"`
	Role  string   `json:"role"`
	Hosts []string `json:"hosts"`
}

// roleTargets gathers, from the rollback's actions, the roles whose
// changes were undone, in the order first seen.
type roleTargets struct {
	list []RoleRollback
}

// add notes the roles of an action that changed something (or would, in
// check mode) without error.
func (t *roleTargets) add(a journal.Action) {
	if !a.Changed || a.Err != nil {
		return
	}
	for _, o := range a.Origins {
		if o.Role == "" {
			continue
		}
		i := slices.IndexFunc(t.list, func(r RoleRollback) bool { return r.Play == o.Play && r.Role == o.Role })
		if i < 0 {
			t.list = append(t.list, RoleRollback{Play: o.Play, Role: o.Role})
			i = len(t.list) - 1
		}
		if !slices.Contains(t.list[i].Hosts, o.Host) {
			t.list[i].Hosts = append(t.list[i].Hosts, o.Host)
		}
	}
}

// sortHosts puts each target's hosts in inventory order (the actions came
// from hosts in parallel), unknown names last.
func (t *roleTargets) sortHosts(order []string) {
	pos := func(h string) int {
		if i := slices.Index(order, h); i >= 0 {
			return i
		}
		return len(order)
	}
	for _, r := range t.list {
		slices.SortStableFunc(r.Hosts, func(a, b string) int { return pos(a) - pos(b) })
	}
}

// RoleRollbackError is a failed run of roles' rollback tasks: the files
// are restored, the services may not run on them yet.
type RoleRollbackError struct {
	Failures []string // "host: task: message"
}

func (e *RoleRollbackError) Error() string {
	return "the files are restored, but the roles' rollback tasks failed: " + strings.Join(e.Failures, "; ")
}

// runRoleRollbacks runs, in playbook order, the rollback tasks of the
// roles whose changes Rollback undid, each on the hosts where they were
// undone, in the scope of the play the role ran in: the run's playbooks,
// role folders and extra vars (from its meta; -e given to the rollback
// wins), this inventory, facts when the play gathers them. The run is
// journaled in the rollback's journal. It returns the roles that had
// rollback tasks to run.
func runRoleRollbacks(ctx context.Context, ro RollbackOptions, meta journal.Meta, roles *rolePlaybooks, targets []RoleRollback, j *journal.Journal) ([]RoleRollback, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	if roles.err != nil {
		if ro.Check {
			return nil, roles.err
		}
		return nil, fmt.Errorf("the files are restored, but the roles' rollback tasks cannot run: %w", roles.err)
	}
	pbs, run, err := rollbackPlaybooks(roles.pbs, targets)
	if err != nil || len(run) == 0 || ro.Check {
		return run, err
	}
	opts := rollbackRunOptions(ro, meta, roles.opts, j)
	var failures []string
	sink := opts.Sink
	opts.Sink = SinkFunc(func(e Event) {
		if e.Type == EventHostResult && (e.Status == StatusFailed || e.Status == StatusUnreachable) {
			failures = append(failures, fmt.Sprintf("%s: %s: %s", e.Host, e.Task, strings.TrimSpace(e.Msg)))
		}
		if sink != nil {
			sink.Event(e)
		}
	})
	rep, err := runPlaybooks(ctx, opts, pbs)
	if err != nil {
		return run, fmt.Errorf("the files are restored, but the roles' rollback tasks could not run: %w", err)
	}
	if rep.ExitCode() != ExitOK {
		if len(failures) == 0 {
			failures = append(failures, "interrupted")
		}
		return run, &RoleRollbackError{Failures: failures}
	}
	return run, nil
}

// rolePlaybooks are the run's playbooks as loaded for its roles' rollback
// tasks (err when they cannot be), with the options they load with.
type rolePlaybooks struct {
	pbs  []*Playbook
	opts Options
	err  error
}

// loadRolePlaybooks loads the playbooks a run's meta records, with its
// role folders, before anything is undone: which roles' rollback tasks
// will restart services decides what the journal rollback restarts. The
// embedded roles and playbooks are ro's, which Rollback has set to the
// run's snapshot (useRunSnapshot); the options returned keep them, so
// the rollback tasks run from the same files they were loaded from.
func loadRolePlaybooks(ro RollbackOptions, meta journal.Meta) *rolePlaybooks {
	opts := ro.Options
	opts.RolePaths = append(append([]string(nil), meta.RolePaths...), ro.RolePaths...)
	pbs, err := loadRecordedPlaybooks(meta, loadOptions(opts))
	return &rolePlaybooks{pbs: pbs, opts: opts, err: err}
}

// restarts tells whether one of origins' roles has rollback tasks in the
// play it ran in, which then restart its services (journal.Rollback
// leaves the restart to them).
func (rp *rolePlaybooks) restarts(origins []journal.Origin) bool {
	if rp == nil || rp.err != nil {
		return false
	}
	for _, o := range origins {
		for _, pb := range rp.pbs {
			for _, play := range pb.Plays {
				if playName(play) != o.Play {
					continue
				}
				for _, role := range playRoles(play) {
					if role.Name == o.Role && len(role.Rollback) > 0 {
						return true
					}
				}
			}
		}
	}
	return false
}

// rollbackRunOptions are the options of the run of the roles' rollback
// tasks: the rollback's inventory, connection settings and sink; the
// recorded run's extra vars (the rollback's -e on top, a warning for each
// withheld one not given again); no limit, tags, check or resume; the
// rollback's journal.
func rollbackRunOptions(ro RollbackOptions, meta journal.Meta, opts Options, j *journal.Journal) Options {
	opts.Playbooks = nil
	opts.ExtraVars = maps.Clone(meta.ExtraVars)
	if opts.ExtraVars == nil {
		opts.ExtraVars = map[string]any{}
	}
	maps.Copy(opts.ExtraVars, ro.ExtraVars)
	if missing := withheldMissing(meta.Withheld, ro.ExtraVars); len(missing) > 0 && opts.Sink != nil {
		opts.Sink.Event(Event{Type: EventWarning, Time: opts.clock()(), Msg: fmt.Sprintf("the run's extra vars %s were secrets and not journaled: give them again with -e if the rollback tasks need them", strings.Join(missing, ", "))})
	}
	opts.Limit, opts.Tags, opts.SkipTags, opts.StartAtTask, opts.Only = "", nil, nil, "", nil
	opts.Check, opts.Resume, opts.ResumeOf, opts.RollbackOnFailure = false, nil, "", false
	opts.JournalDir, opts.Journal = "", nil
	if j != nil {
		opts.Journal = JournalRecorder{J: j}
	}
	return opts
}

// withheldMissing lists the withheld extra vars the rollback was not given.
func withheldMissing(withheld []string, given map[string]any) []string {
	var out []string
	for _, name := range withheld {
		if _, ok := given[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

// loadRecordedPlaybooks loads the playbooks a run's meta names.
func loadRecordedPlaybooks(meta journal.Meta, lo LoadOptions) ([]*Playbook, error) {
	if len(meta.PlaybookFiles) == 0 {
		return nil, fmt.Errorf("run %s: its journal does not record its playbooks (journaled by an older kplay): roles' rollback tasks cannot run; use --files-only", meta.ID)
	}
	var pbs []*Playbook
	for _, src := range meta.PlaybookFiles {
		pb, err := loadRecorded(src, lo)
		if err != nil {
			return nil, fmt.Errorf("run %s: load playbook %s: %w", meta.ID, src, err)
		}
		pbs = append(pbs, pb)
	}
	return pbs, nil
}

// embeddedPlaybookPrefix names a playbook embedded in kplay in a run's meta.
const embeddedPlaybookPrefix = "embedded:playbooks/"

// loadRecorded loads a playbook as recorded in a run's meta: an absolute
// path on disk, or an embedded playbook (never a file of the same name in
// the current folder).
func loadRecorded(src string, lo LoadOptions) (*Playbook, error) {
	name, embedded := strings.CutPrefix(src, embeddedPlaybookPrefix)
	if !embedded {
		return LoadPlaybook(src, lo)
	}
	if lo.PlaybooksFS == nil {
		return nil, errors.New("no embedded playbooks in this kplay")
	}
	l := newLoader(lo)
	efs := embedFS{FS: lo.PlaybooksFS, prefix: strings.TrimSuffix(embeddedPlaybookPrefix, "/")}
	pb := &Playbook{Path: efs.FileName(name), Dir: efs.prefix, FS: efs}
	l.pb = pb
	pb.Plays = l.playbookFile(pb.FS, name, 0)
	if err := l.err(); err != nil {
		return nil, err
	}
	return pb, nil
}

// recordedPlaybook is how a run's meta names a loaded playbook.
func recordedPlaybook(pb *Playbook) string {
	if strings.HasPrefix(pb.Path, embeddedPlaybookPrefix) {
		return pb.Path
	}
	if abs, err := filepath.Abs(pb.Path); err == nil {
		return abs
	}
	return pb.Path
}

// rollbackPlaybooks turns the loaded playbooks into ones that run only
// the targets' rollback tasks: per play and role with rollback tasks, a
// copy of the play (its vars, vars_files, facts, become, serial, roles'
// variables) whose tasks are the role's rollback tasks, on the target's
// hosts only. A target whose play or role is no longer in the playbooks
// is an error: its services would be left on the old files.
func rollbackPlaybooks(pbs []*Playbook, targets []RoleRollback) ([]*Playbook, []RoleRollback, error) {
	used := make([]bool, len(targets))
	var out []*Playbook
	var run []RoleRollback
	for _, pb := range pbs {
		cp := &Playbook{Path: pb.Path, Dir: pb.Dir, FS: pb.FS}
		for _, play := range pb.Plays {
			for _, role := range playRoles(play) {
				i := slices.IndexFunc(targets, func(t RoleRollback) bool { return t.Play == playName(play) && t.Role == role.Name })
				if i < 0 || used[i] {
					continue
				}
				used[i] = true
				if len(role.Rollback) == 0 {
					continue
				}
				run = append(run, targets[i])
				cp.Plays = append(cp.Plays, rollbackPlay(play, role, targets[i].Hosts))
			}
		}
		if len(cp.Plays) > 0 {
			out = append(out, cp)
		}
	}
	var lost []string
	for i, t := range targets {
		if !used[i] {
			lost = append(lost, fmt.Sprintf("role %s of play %q", t.Role, t.Play))
		}
	}
	if len(lost) > 0 {
		return nil, run, fmt.Errorf("the files are restored, but %s: no longer in the run's playbooks, so their rollback tasks cannot run", strings.Join(lost, ", "))
	}
	return out, run, nil
}

// rollbackPlay is play reduced to role's rollback tasks on hosts.
func rollbackPlay(play *Play, role *Role, hosts []string) *Play {
	p := *play
	p.Name = role.Name + " rollback (play " + playName(play) + ")"
	p.PreTasks, p.PostTasks = nil, nil
	p.Tasks = role.Rollback
	p.RollbackOnFailure = false
	p.only = append([]string(nil), hosts...)
	return &p
}

// playRoles lists the roles a play applies, dependencies first, then the
// roles imported by its tasks, each name once.
func playRoles(play *Play) []*Role {
	var out []*Role
	seen := map[string]bool{}
	addRole := func(r *Role) {
		if r != nil && !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r)
		}
	}
	var walk func(refs []*RoleRef)
	walk = func(refs []*RoleRef) {
		for _, ref := range refs {
			if ref.Role == nil || seen[ref.Role.Name] {
				continue
			}
			walk(ref.Role.Deps)
			addRole(ref.Role)
		}
	}
	walk(play.Roles)
	var tasks func(ts []*Task)
	tasks = func(ts []*Task) {
		for _, t := range ts {
			addRole(t.Role)
			tasks(t.Block)
			tasks(t.Rescue)
			tasks(t.Always)
		}
	}
	tasks(play.PreTasks)
	tasks(play.Tasks)
	tasks(play.PostTasks)
	return out
}
