package engine

import (
	"strings"
)

// apply records every host's outcome of a task, in host order: events,
// stats, registered variables, facts, handler notifications and host
// states. It returns how many hosts newly failed (for any_errors_fatal).
// A run_once task's result is applied to every host of the batch; its
// event and stats are those of the host that ran it.
func (p *playRun) apply(tr *taskRun, hosts []string, outs []*outcome) int {
	failures := 0
	for i, o := range outs {
		if o == nil || o.interrupted {
			continue
		}
		p.emitOutcome(tr, o)
		p.count(tr, o)
		p.keepChanges(tr, o)
		targets := []string{hosts[i]}
		if tr.t.RunOnce {
			targets = hosts
		}
		for _, h := range targets {
			if p.record(tr, h, o) {
				failures++
			}
		}
	}
	return failures
}

// emitOutcome sends the item events and the host result of one host.
func (p *playRun) emitOutcome(tr *taskRun, o *outcome) {
	e := p.hostEvent(tr, o)
	for i, it := range e.Result.Items {
		ie := e
		ie.Type, ie.Status, ie.Result, ie.Duration, ie.Msg = EventItem, it.Status, it, 0, ""
		ie.TaskID, ie.ArgsHash, ie.Register = "", "", ""
		if i < len(o.labels) {
			ie.Item = p.maskValue(o.labels[i])
			if tr.t.NoLog || p.play.NoLog {
				ie.Item = "(censored due to no_log)"
			}
		}
		p.r.sink.emit(ie)
	}
	p.r.sink.emit(e)
}

// hostEvent is the host_result event of an outcome, its result masked for
// secrets (and censored for no_log): what the console, --json and the
// journal see.
func (p *playRun) hostEvent(tr *taskRun, o *outcome) Event {
	res := p.mask(o.res)
	if tr.t.NoLog || p.play.NoLog {
		res = censored(res)
	}
	return Event{Type: EventHostResult, Play: playName(p.play), Task: tr.displayName(), Role: roleName(tr.t), Owner: ownerOf(tr.t), TaskPos: posPtr(tr.t.Pos),
		Module: tr.t.Module, IsHandler: tr.f.handler, Host: o.host, Delegate: o.delegate,
		Status: res.Status, Result: res, Duration: o.dur, Msg: res.Msg,
		TaskID: taskID(tr.t), ArgsHash: o.argsHash, Register: tr.t.Register}
}

// censored hides a no_log task's output but keeps its verdict and journal
// entries (which name paths, not contents).
func censored(res *TaskResult) *TaskResult {
	c := &TaskResult{Status: res.Status, Changed: res.Changed, Failed: res.Failed, Skipped: res.Skipped,
		Unknown: res.Unknown, RC: res.RC, Changes: res.Changes, Attempts: res.Attempts,
		Msg: "the output has been hidden due to the fact that 'no_log: true' was specified for this result"}
	for _, it := range res.Items {
		c.Items = append(c.Items, censored(it))
	}
	return c
}

// count adds the result to the host's stats as Ansible's recap counts
// them: ok includes changed; an ignored failure counts ok and ignored; a
// failure caught by a rescue counts rescued, not failed.
func (p *playRun) count(tr *taskRun, o *outcome) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.statsLocked(o.host)
	switch o.res.Status {
	case StatusOK:
		st.OK++
	case StatusChanged:
		st.OK++
		st.Changed++
	case StatusSkipped:
		st.Skipped++
	case StatusIgnored:
		st.OK++
		st.Ignored++
		if o.res.Changed {
			st.Changed++
		}
	case StatusUnreachable:
		st.Unreachable++
	case StatusFailed:
		if tr.f.rescuable {
			st.Rescued++
		} else {
			st.Failed++
		}
	}
}

// record applies an outcome to host h: register, set_fact, include_vars,
// notify and the host's state. It reports a new failure.
func (p *playRun) record(tr *taskRun, h string, o *outcome) bool {
	hs := p.r.hostState(h)
	if tr.t.Register != "" {
		reg := o.registered
		if reg == nil {
			reg = resultMap(o.res)
		}
		hs.setVars(map[string]any{tr.t.Register: reg}, true)
	}
	hs.setVars(o.facts, true)
	hs.setVars(o.incVars, false)
	switch o.res.Status {
	case StatusChanged:
		p.notify(tr, h)
	case StatusIgnored:
		if o.res.Changed {
			p.notify(tr, h)
		}
	case StatusUnreachable:
		p.state[h] = hostUnreachable
		p.r.mu.Lock()
		p.r.unreachable[h] = true
		p.r.mu.Unlock()
		return true
	case StatusFailed:
		p.state[h] = hostFailed
		p.failInfo[h] = map[string]any{
			"ansible_failed_task":   map[string]any{"name": tr.t.Name, "action": tr.t.Module},
			"ansible_failed_result": resultMap(o.res),
		}
		if !tr.f.rescuable {
			p.failRole[h] = ownerRole(tr.t)
			p.r.mu.Lock()
			p.r.failed[h] = true
			p.r.mu.Unlock()
		}
		return true
	}
	return false
}

// Map returns the result as a task's register: would store it, so that a
// journal can keep it and --resume re-create the registered variable.
func (res *TaskResult) Map() map[string]any { return resultMap(res) }

// resultMap is the registered form of a result, as Ansible's: changed,
// failed, skipped, rc, stdout(_lines), stderr(_lines), msg, cmd, results
// for loops, plus the module's data keys at the top level.
func resultMap(res *TaskResult) map[string]any {
	m := map[string]any{}
	for k, v := range res.Data {
		m[k] = v
	}
	m["changed"] = res.Changed
	m["failed"] = res.Failed
	m["skipped"] = res.Skipped
	m["msg"] = res.Msg
	m["rc"] = res.RC
	m["stdout"] = res.Stdout
	m["stdout_lines"] = lines(res.Stdout)
	m["stderr"] = res.Stderr
	m["stderr_lines"] = lines(res.Stderr)
	if res.Cmd != "" {
		m["cmd"] = res.Cmd
	}
	if res.Unknown {
		m["unknown"] = true
	}
	if res.Status == StatusUnreachable {
		m["unreachable"] = true
	}
	if res.Skipped {
		m["skip_reason"] = res.Msg
	}
	if res.Attempts > 0 {
		m["attempts"] = res.Attempts
	}
	if res.Item != nil {
		m["item"] = res.Item
	}
	if res.Items != nil {
		items := make([]any, len(res.Items))
		for i, it := range res.Items {
			items[i] = resultMap(it)
		}
		m["results"] = items
	}
	if len(res.Diff) > 0 {
		m["diff"] = res.Diff
	}
	return m
}

func lines(s string) []any {
	if s == "" {
		return []any{}
	}
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return stringsToAny(parts)
}

// roleName is the name of the role t came from, "" for a play task.
func roleName(t *Task) string {
	if t.Role == nil {
		return ""
	}
	return t.Role.Name
}

// ownerOf is ownerRole's name when it is not t's own role, else "".
func ownerOf(t *Task) string {
	if o := ownerRole(t); o != t.Role {
		return o.Name
	}
	return ""
}

// ownerName is ownerRole's name, "" for a play task.
func ownerName(t *Task) string {
	if o := ownerRole(t); o != nil {
		return o.Name
	}
	return ""
}

// ownerRole is the role whose rollback tasks undo what t changes: t's
// role, or for the tasks of a role that another role include_role'd, the
// outermost including role (the master role's kubeadm tasks include the
// node role's; the master role's rollback tasks know about them).
func ownerRole(t *Task) *Role {
	r := t.Role
	for i := 0; r != nil && r.Includer != nil && i < 64; i++ {
		r = r.Includer
	}
	return r
}
