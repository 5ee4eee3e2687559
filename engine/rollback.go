package engine

import (
	"context"
	"fmt"

	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// RollbackOptions configures Rollback: which run to undo and how to reach
// its hosts (Options gives the inventory, SSH settings, Connect, Forks,
// JournalDir and Limit).
type RollbackOptions struct {
	Options
	// RunID is the run to undo; empty means the newest run in JournalDir
	// that changed something (not a rollback, not a check: a second
	// `kplay rollback` changes nothing, and a re-run that changed nothing
	// does not hide the deployment before it); a rollback is undone by
	// naming its id.
	RunID string
	// Check reports what would be done and changes nothing (nor runs any
	// rollback task).
	Check bool
	// FilesOnly restores the files (and objects, services' states) and
	// runs no role's rollback tasks: the services pick the restored files
	// up at their next restart or run.
	FilesOnly bool
	// Report receives each action as it is done.
	Report func(journal.Action)
}

// RollbackReport says what Rollback did.
type RollbackReport struct {
	RunID    string   `json:"run_id"`                // the run undone
	Rollback string   `json:"rollback_id,omitempty"` // the rollback's own run id ("" in check mode)
	Check    bool     `json:"check,omitempty"`
	Hosts    []string `json:"hosts"`
	Changed  int      `json:"changed"`
	Failed   []string `json:"failed"`
	// Roles are the roles whose rollback tasks ran after the restore (in
	// check mode: would run), with their hosts; Options.Sink saw their
	// events.
	Roles []RoleRollback `json:"roles"`
	// RolesFailed: the files are restored, the rollback tasks failed.
	RolesFailed bool `json:"roles_failed,omitempty"`
}

// Rollback undoes a run's changes on its hosts (newest first, hosts in
// parallel) as journal.Rollback does, reaching each host the way a run
// would (inventory connection variables, SSH options, become). Unless
// Check is set, the rollback is journaled as a run of its own, so it can
// be rolled back in turn. The roles' rollback tasks come from the roles
// the run used: embedded ones from its snapshot (useRunSnapshot).
func Rollback(ctx context.Context, ro RollbackOptions) (*RollbackReport, error) {
	id, meta, entries, err := rollbackInput(ro)
	if err != nil {
		return nil, err
	}
	include, err := rollbackFilter(ro.Inventory, ro.Limit, entries)
	if err != nil {
		return nil, err
	}
	cs := NewConnections(ro.Options)
	defer cs.Close()
	r := cs.r
	rep := &RollbackReport{RunID: id, Check: ro.Check, Hosts: []string{}, Failed: []string{}}
	jopts := journal.RollbackOptions{Check: ro.Check, Include: include, Forks: ro.Forks,
		Conn: func(host string) (modules.Conn, error) { return r.rollbackConn(host) }}
	emit := func(e Event) {
		if ro.Sink != nil {
			e.Time = r.now()
			ro.Sink.Event(e)
		}
	}
	snapshot, err := rollbackSnapshot(&ro, meta, entries, func(msg string) { emit(Event{Type: EventWarning, Msg: msg}) })
	if err != nil {
		return nil, &OptionsError{Msg: "journal folder " + ro.JournalDir, Err: err}
	}
	if !ro.Check {
		j, err := journal.Create(ro.JournalDir, journal.Meta{ID: journal.NewID(r.now()), Kind: "rollback",
			RollbackOf: id, Command: ro.Command, Inventory: meta.Inventory, Playbooks: meta.Playbooks,
			PlaybookFiles: meta.PlaybookFiles, RolePaths: meta.RolePaths, ExtraVars: meta.ExtraVars, Withheld: meta.Withheld,
			EmbeddedSnapshot: snapshot})
		if err != nil {
			return nil, &OptionsError{Msg: "journal folder " + ro.JournalDir, Err: err}
		}
		jopts.Journal, rep.Rollback = j, j.ID()
		defer func() { _ = j.Finish(rollbackStatus(rep), rep.Hosts, rep.Failed) }()
	}
	var targets roleTargets
	jopts.Report = rep.reporter(&targets, func(a journal.Action) {
		e := Event{Type: EventRollbackAction, RunID: id, Host: a.Host, Msg: a.What, Status: StatusOK}
		switch {
		case a.Err != nil:
			e.Status, e.Error = StatusFailed, a.Err.Error()
		case a.Changed:
			e.Status = StatusChanged
		}
		emit(e)
		if ro.Report != nil {
			ro.Report(a)
		}
	})
	err = undoThenRoles(ctx, ro, meta, entries, jopts, rep, &targets)
	if rep.Roles == nil {
		rep.Roles = []RoleRollback{}
	}
	end := Event{Type: EventRollbackEnd, RunID: id, Msg: rep.String(), Rollback: rep}
	if err != nil {
		end.Error = err.Error()
	}
	emit(end)
	return rep, err
}

// rollbackInput finds the run to undo and reads its journal (with the
// runs it resumed).
func rollbackInput(ro RollbackOptions) (string, journal.Meta, []journal.Entry, error) {
	if ro.Inventory == nil {
		return "", journal.Meta{}, nil, &OptionsError{Msg: "no inventory"}
	}
	if ro.JournalDir == "" {
		return "", journal.Meta{}, nil, &OptionsError{Msg: "no journal folder"}
	}
	id := ro.RunID
	if id == "" {
		latest, err := latestWithChanges(ro.JournalDir)
		if err != nil {
			return "", journal.Meta{}, nil, &OptionsError{Msg: "nothing to roll back", Err: err}
		}
		id = latest
	}
	meta, entries, err := journal.ReadChain(ro.JournalDir, id)
	if err != nil {
		return "", meta, nil, &OptionsError{Msg: "run " + id, Err: err}
	}
	return id, meta, entries, nil
}

// reporter counts each action into rep, notes the roles whose changes were
// undone in targets, and passes the action on to report.
func (rep *RollbackReport) reporter(targets *roleTargets, report func(journal.Action)) func(journal.Action) {
	failed := map[string]bool{}
	seen := map[string]bool{}
	return func(a journal.Action) {
		targets.add(a)
		if !seen[a.Host] {
			seen[a.Host] = true
			rep.Hosts = append(rep.Hosts, a.Host)
		}
		if a.Changed {
			rep.Changed++
		}
		if a.Err != nil && !failed[a.Host] {
			failed[a.Host] = true
			rep.Failed = append(rep.Failed, a.Host)
		}
		if report != nil {
			report(a)
		}
	}
}

// undoThenRoles undoes the entries, then (unless FilesOnly) runs the
// rollback tasks of the roles whose changes were undone. The playbooks
// are loaded first: which roles' tasks restart services decides what the
// undo restarts itself.
func undoThenRoles(ctx context.Context, ro RollbackOptions, meta journal.Meta, entries []journal.Entry,
	jopts journal.RollbackOptions, rep *RollbackReport, targets *roleTargets) error {
	var roles *rolePlaybooks
	if !ro.FilesOnly {
		roles = loadRolePlaybooks(ro, meta)
		jopts.RestartByRole = roles.restarts
	}
	if err := journal.Rollback(ctx, entries, jopts); err != nil {
		if !ro.FilesOnly && len(targets.list) > 0 {
			err = fmt.Errorf("%w\n(the roles' rollback tasks did not run: not every change was undone)", err)
		}
		return err
	}
	if ro.FilesOnly || ctx.Err() != nil {
		return ctx.Err()
	}
	targets.sortHosts(ro.Inventory.Order)
	var err error
	rep.Roles, err = runRoleRollbacks(ctx, ro, meta, roles, targets.list, jopts.Journal)
	rep.RolesFailed = err != nil
	return err
}

// rollbackFilter turns --limit into the host filter of a rollback.
func rollbackFilter(inv *inventory.Inventory, limit string, entries []journal.Entry) (func(string) bool, error) {
	if limit == "" {
		return nil, nil
	}
	var hosts []string
	seen := map[string]bool{}
	for _, e := range entries {
		if h := e.Target(); !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	sel, err := inv.Limit(hosts, limit)
	if err != nil {
		return nil, &OptionsError{Msg: "limit " + limit, Err: err}
	}
	keep := map[string]bool{}
	for _, h := range sel.Hosts {
		keep[h] = true
	}
	return func(h string) bool { return keep[h] }, nil
}

func rollbackStatus(rep *RollbackReport) string {
	if len(rep.Failed) > 0 || rep.RolesFailed {
		return journal.StatusFailed
	}
	return journal.StatusOK
}

// rollbackConn reaches a host as a task without play settings would: its
// inventory connection variables (rendered), wrapped for the inventory's
// become.
func (r *runner) rollbackConn(host string) (modules.Conn, error) {
	h := r.lookupHost(host)
	s := newScope(r.ev, []layer{{"inventory", h.Vars, true}, {"extra vars", r.extra, true}})
	cn, err := inventory.ConnectionOf(host, connVarsOf(s))
	if err != nil {
		return nil, err
	}
	conn, err := r.conns.base(host, cn)
	if err != nil {
		return nil, err
	}
	if cn.Become {
		b := transport.Become{Method: cn.BecomeMethod, User: cn.BecomeUser, Password: cn.BecomePassword}
		if b.Password == "" {
			b.Password = r.opts.BecomePassword
		}
		return transport.WithBecome(conn, b), nil
	}
	return conn, nil
}

// String describes a rollback report in one line.
func (rep *RollbackReport) String() string {
	return fmt.Sprintf("rollback of run %s: %d hosts, %d changes, %d failed", rep.RunID, len(rep.Hosts), rep.Changed, len(rep.Failed))
}

// latestWithChanges is the newest run (not a rollback, not a check) that
// changed something.
func latestWithChanges(dir string) (string, error) {
	metas, err := journal.List(dir)
	if err != nil {
		return "", err
	}
	for _, m := range metas {
		if m.Kind == "run" && !m.Check && m.Changes > 0 {
			return m.ID, nil
		}
	}
	return "", fmt.Errorf("no run with changes in %s", dir)
}

// Connections reaches inventory hosts outside a run (rollback, the
// certificate check): each host as a task without play settings would, one
// connection per host, closed by Close.
type Connections struct {
	r *runner
}

// NewConnections prepares connections for opts' inventory and SSH options.
func NewConnections(opts Options) *Connections {
	return &Connections{r: newRunner(opts)}
}

// Conn returns host's connection (opened on first use).
func (c *Connections) Conn(host string) (modules.Conn, error) { return c.r.rollbackConn(host) }

// Close closes every connection opened.
func (c *Connections) Close() { c.r.conns.close() }
