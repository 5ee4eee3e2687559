package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/shell"
)

// Action is one thing rollback did (or, in check mode, would do) on a host.
type Action struct {
	Host    string
	What    string // "restore /etc/motd", "remove /etc/x", "restart nginx"
	Changed bool
	Err     error
	// Origins are the entries whose changes the action undid: their play
	// host, role and play (a delegated task's host differs from Host).
	// Rollback runs the rollback tasks of these roles on these hosts.
	Origins []Origin
}

// Origin names where a journaled change came from.
type Origin struct {
	Host string // the play host the task ran for
	Role string // "" for a play task
	Play string
}

// RollbackOptions configures Rollback.
type RollbackOptions struct {
	// Conn returns the connection to a host (already with become).
	Conn func(host string) (modules.Conn, error)
	// Check reports what would be done and changes nothing.
	Check bool
	// Include selects hosts (--limit); nil means every host in the journal.
	Include func(host string) bool
	// Journal, when set, records what the rollback changed, with backups
	// of the content it replaced, so a rollback can be rolled back.
	Journal *Journal
	// BackupDir is the folder on each host where the rollback keeps what
	// it replaces (with Journal set); default /var/tmp/kplay-rollback/<id>.
	BackupDir string
	// Report is called for each action, one call at a time.
	Report func(Action)
	// Forks limits hosts in parallel; 0 = all.
	Forks int
	// RestartByRole, when set, tells whether the rollback tasks of the
	// role a service change came from restart it afterwards (validated,
	// one host at a time, gated): such a running service is not restarted
	// here, only put back to its running/enabled state.
	RestartByRole func(origins []Origin) bool
}

// plan is what rollback will undo on one host: the earliest change of each
// path (it holds the state before the run), newest path first, and the
// services with their state before the run.
type plan struct {
	files []modules.Change
	// cleanup lists, per path the run created, the backups later tasks of
	// the run made of it: they go with the file, or a directory the run
	// created could not be removed.
	cleanup  map[string][]string
	services map[string]*serviceState
	order    []string
	other    []modules.Change
	// origins lists, per path, per "service "+unit and per "other N", the
	// entries that changed it.
	origins map[string][]Origin
}

type serviceState struct {
	running, boot string
}

// Target is the host where an entry's changes were made, and so undone:
// the delegate of a delegated task, else the play host.
func (e Entry) Target() string {
	if e.Delegate != "" {
		return e.Delegate
	}
	return e.Host
}

// Plan groups a run's entries per target host into undo plans.
func planFor(entries []Entry) map[string]*plan {
	plans := map[string]*plan{}
	seen := map[string]map[string]bool{}
	for _, e := range entries {
		h := e.Target()
		p := plans[h]
		if p == nil {
			p = &plan{services: map[string]*serviceState{}, cleanup: map[string][]string{}, origins: map[string][]Origin{}}
			plans[h] = p
			seen[h] = map[string]bool{}
		}
		o := Origin{Host: e.Host, Role: e.Role, Play: e.Play}
		for _, c := range e.Changes {
			p.add(c, seen[h])
			p.addOrigin(originKey(c, len(p.other)-1), o)
		}
	}
	for _, p := range plans {
		// Undo newest first: a file created in a directory the run made is
		// removed before the directory.
		for i, j := 0, len(p.files)-1; i < j; i, j = i+1, j-1 {
			p.files[i], p.files[j] = p.files[j], p.files[i]
		}
	}
	return plans
}

func (p *plan) add(c modules.Change, seen map[string]bool) {
	switch c.Kind {
	case modules.KindFile:
		if !seen[c.Path] {
			seen[c.Path] = true
			p.files = append(p.files, c)
		} else if c.Backup != "" && p.createdByRun(c.Path) {
			p.cleanup[c.Path] = append(p.cleanup[c.Path], c.Backup)
		}
	case modules.KindService:
		s := p.services[c.Name]
		if s == nil {
			s = &serviceState{}
			p.services[c.Name] = s
			p.order = append(p.order, c.Name)
		}
		switch c.Action {
		case "enabled", "disabled":
			if s.boot == "" {
				s.boot = c.Old
			}
		default:
			if s.running == "" {
				s.running = c.Old
			}
		}
	default:
		p.other = append(p.other, c)
	}
}

// originKey is where p.origins keeps the origins of change c (for a
// change of another kind, the index of its entry in p.other).
func originKey(c modules.Change, otherIndex int) string {
	switch c.Kind {
	case modules.KindFile:
		return "file " + c.Path
	case modules.KindService:
		return "service " + c.Name
	}
	return fmt.Sprintf("other %d", otherIndex)
}

func (p *plan) addOrigin(key string, o Origin) {
	for _, have := range p.origins[key] {
		if have == o {
			return
		}
	}
	p.origins[key] = append(p.origins[key], o)
}

// createdByRun tells whether the earliest change of path created it.
func (p *plan) createdByRun(path string) bool {
	for _, c := range p.files {
		if c.Path == path {
			return !c.Existed
		}
	}
	return false
}

// Rollback undoes the changes in entries, per host in parallel: files back
// to their content, mode and owner before the run (or removed if the run
// created them), then services back to their state before the run, with a
// restart of running services whose files it restored. A second rollback
// of the same run changes nothing.
func Rollback(ctx context.Context, entries []Entry, opts RollbackOptions) error {
	plans := planFor(entries)
	hosts := make([]string, 0, len(plans))
	for h := range plans {
		if opts.Include == nil || opts.Include(h) {
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	var mu sync.Mutex
	report := func(a Action) {
		if opts.Report != nil {
			mu.Lock()
			defer mu.Unlock()
			opts.Report(a)
		}
	}
	var g errgroup.Group
	if opts.Forks > 0 {
		g.SetLimit(opts.Forks)
	}
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		g.Go(func() error {
			errs[i] = rollbackHost(ctx, h, plans[h], opts, report)
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

func rollbackHost(ctx context.Context, host string, p *plan, opts RollbackOptions, report func(Action)) error {
	conn, err := opts.Conn(host)
	if err != nil {
		report(Action{Host: host, What: "connect", Err: err})
		return fmt.Errorf("%s: %w", host, err)
	}
	var errs []error
	restored := false
	for _, c := range p.files {
		changed, entry, err := runUndo(ctx, conn, undoScript(c, opts.backupDir(), opts.Check)+cleanupScript(p.cleanup[c.Path], opts.Check))
		what := describe(c)
		report(Action{Host: host, What: what, Changed: changed, Err: err, Origins: p.origins[originKey(c, 0)]})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", host, what, err))
			continue
		}
		restored = restored || changed
		if changed && !opts.Check && opts.Journal != nil {
			e := Entry{Host: host, Task: "rollback: " + what, Module: "rollback",
				Status: "changed", Changes: []modules.Change{entry.toChange(c)}}
			if o := p.origins[originKey(c, 0)]; len(o) > 0 {
				// Undoing this rollback runs the same role's rollback tasks.
				e.Host, e.Role, e.Play = o[0].Host, o[0].Role, o[0].Play
				if e.Host != host {
					e.Delegate = host
				}
			}
			if err := opts.Journal.Record(e); err != nil {
				return err
			}
		}
	}
	for _, name := range p.order {
		s := p.services[name]
		origins := p.origins["service "+name]
		restart := restored && (opts.RestartByRole == nil || !opts.RestartByRole(origins))
		what := "service " + name + " back to " + strings.Trim(s.running+" "+s.boot, " ")
		if restored && !restart {
			what += " (its role's rollback tasks restart it)"
		}
		changed, _, err := runUndo(ctx, conn, serviceScript(name, s.running, s.boot, restart, opts.Check))
		report(Action{Host: host, What: what, Changed: changed, Err: err, Origins: origins})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: service %s: %w", host, name, err))
		}
	}
	for i := len(p.other) - 1; i >= 0; i-- {
		c := p.other[i]
		script, what := otherScript(c, opts.Check)
		origins := p.origins[originKey(c, i)]
		if script == "" {
			report(Action{Host: host, What: what, Origins: origins})
			continue
		}
		changed, _, err := runUndo(ctx, conn, script)
		report(Action{Host: host, What: what, Changed: changed, Err: err, Origins: origins})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", host, what, err))
		}
	}
	return errors.Join(errs...)
}

func (o RollbackOptions) backupDir() string {
	switch {
	case o.Journal == nil:
		return ""
	case o.BackupDir != "":
		return o.BackupDir
	}
	return "/var/tmp/kplay-rollback/" + o.Journal.ID()
}

// undoEntry is what an undo script said it did, for the rollback journal.
type undoEntry struct {
	action  string
	existed bool
	backup  string
	mode    string
	owner   string
	group   string
	kind    string
	target  string
}

func (u undoEntry) toChange(orig modules.Change) modules.Change {
	c := modules.Change{Kind: modules.KindFile, Path: orig.Path, Action: u.action, Existed: u.existed, Backup: u.backup}
	if u.existed {
		c.OldMode, c.OldOwner, c.OldGroup, c.OldKind, c.OldTarget = u.mode, u.owner, u.group, u.kind, u.target
	}
	if c.OldKind == "link" {
		c.OldMode = "" // a link's own mode is meaningless; chmod would follow it
	}
	return c
}

func runUndo(ctx context.Context, c modules.Conn, script string) (bool, undoEntry, error) {
	var out, errb bytes.Buffer
	err := c.Exec(ctx, script, nil, &out, &errb)
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg != "" {
			return false, undoEntry{}, fmt.Errorf("%s: %w", msg, err)
		}
		return false, undoEntry{}, err
	}
	var e undoEntry
	changed := false
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 1 && f[0] == "changed":
			changed = true
		case strings.HasPrefix(line, "target "):
			e.target = strings.TrimPrefix(line, "target ")
		case len(f) == 5 && f[0] == "cur":
			e.mode, e.owner, e.group, e.kind = "0"+f[1], f[2], f[3], f[4]
		case len(f) >= 3 && f[0] == "entry" && e.action == "":
			e.action, e.existed = f[1], f[2] == "yes"
			if len(f) > 3 {
				e.backup = strings.Join(f[3:], " ")
			}
		}
	}
	if e.action == "attrs" {
		e.existed = true
	}
	return changed, e, nil
}

func describe(c modules.Change) string {
	switch {
	case !c.Existed:
		return "remove " + shell.Quote(c.Path)
	case c.Backup != "":
		return "restore " + shell.Quote(c.Path)
	default:
		return "reset " + shell.Quote(c.Path)
	}
}
