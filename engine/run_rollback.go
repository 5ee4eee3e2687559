package engine

import (
	"context"
	"strings"

	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/modules"
)

// keepChanges remembers, for rollback_on_failure, what a task changed on a
// host during the play.
func (p *playRun) keepChanges(tr *taskRun, o *outcome) {
	host, res := o.host, o.res
	if !p.rollbackOn() || len(res.Changes) == 0 {
		return
	}
	delegate := o.delegate
	if delegate == host {
		delegate = ""
	}
	p.changes[host] = append(p.changes[host], journal.Entry{Host: host, Delegate: delegate, Role: ownerName(tr.t), Play: playName(p.play),
		Task: tr.t.DisplayName(), TaskPos: tr.t.Pos.String(), Module: tr.t.Module, Status: string(res.Status),
		Changes: res.Changes})
}

// rollbackOn tells whether failed hosts are rolled back in this play.
func (p *playRun) rollbackOn() bool {
	return p.play.RollbackOnFailure || p.r.opts.RollbackOnFailure
}

// rollbackFailed runs at the end of a batch of a play with
// rollback_on_failure: on each host that failed in the batch it undoes,
// newest first, what the play changed there (journal.Rollback), then runs
// the rollback tasks (tasks/rollback.yaml) of the role it failed in.
// Nothing happens in check mode, where nothing changed.
func (p *playRun) rollbackFailed(ctx context.Context) {
	if !p.rollbackOn() || p.r.opts.Check || ctx.Err() != nil {
		return
	}
	var hosts []string
	for _, h := range p.batch {
		if p.state[h] == hostFailed {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return
	}
	p.undoChanges(ctx, hosts)
	p.runRoleRollbacks(ctx, hosts)
}

// undoChanges reverts the recorded changes of hosts, reporting it as a
// task named "rollback on failure".
func (p *playRun) undoChanges(ctx context.Context, hosts []string) {
	t := &Task{Pos: p.play.Pos, Name: "rollback on failure", Module: "rollback"}
	tr := &taskRun{p: p, t: t, f: &frame{}}
	var entries []journal.Entry
	for _, h := range hosts {
		entries = append(entries, p.changes[h]...)
	}
	p.r.sink.emit(Event{Type: EventTaskStart, Play: playName(p.play), Task: t.Name, Module: t.Module, Hosts: hosts})
	results := map[string]*TaskResult{}
	for _, h := range hosts {
		results[h] = &TaskResult{}
	}
	err := journal.Rollback(ctx, entries, journal.RollbackOptions{
		Conn: func(host string) (modules.Conn, error) {
			return tr.taskConn(p.scope(p.r.hostState(host), nil, nil, nil), host, "")
		},
		Forks: p.r.opts.Forks,
		Report: func(a journal.Action) {
			res := results[a.Host]
			for _, o := range a.Origins {
				if res == nil {
					res = results[o.Host] // undone on the delegate
				}
			}
			if res == nil {
				return
			}
			line := a.What
			if a.Err != nil {
				res.Failed = true
				line += ": " + a.Err.Error()
			}
			res.Changed = res.Changed || a.Changed
			res.Stdout = strings.TrimPrefix(res.Stdout+"\n"+line, "\n")
		},
	})
	_ = err // every error is also reported per host through Report
	for _, h := range hosts {
		res := results[h]
		switch {
		case res.Failed:
			res.Status, res.Msg = StatusFailed, "rollback incomplete"
		case res.Changed:
			res.Status, res.Msg = StatusChanged, "rolled back the play's changes"
		default:
			res.Status, res.Msg = StatusOK, "nothing to roll back"
		}
		p.emitOutcome(tr, &outcome{host: h, res: res})
		p.count(tr, &outcome{host: h, res: res})
	}
}

// runRoleRollbacks runs each failed role's rollback tasks on the hosts
// that failed in it; the hosts stay failed.
func (p *playRun) runRoleRollbacks(ctx context.Context, hosts []string) {
	var roles []*Role
	byRole := map[*Role][]string{}
	for _, h := range hosts {
		r := p.failRole[h]
		if r == nil || len(r.Rollback) == 0 {
			continue
		}
		if _, ok := byRole[r]; !ok {
			roles = append(roles, r)
		}
		byRole[r] = append(byRole[r], h)
	}
	for _, r := range roles {
		hs := byRole[r]
		for _, h := range hs {
			delete(p.state, h)
		}
		p.runTasks(ctx, r.Rollback, hs, &frame{})
		for _, h := range hs {
			if p.state[h] == "" || p.state[h] == hostEnded { // end_host in the rollback tasks
				p.state[h] = hostFailed
			}
		}
	}
}
