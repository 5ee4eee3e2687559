package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// taskID identifies a task across runs of the same playbooks: where it is
// written and its name.
func taskID(t *Task) string {
	return t.Pos.String() + " " + t.DisplayName()
}

// argsHash hashes the module name and the rendered arguments of every item
// that ran on a host, so that a resumed run skips a task only when it
// would do exactly the same thing.
func argsHash(module string, args []any) string {
	b, err := json.Marshal([]any{module, args})
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// resumable tells whether a task may be skipped by --resume: module tasks
// only; built-ins are cheap and some (include_*, set_fact) must run to
// rebuild the run's state.
func (tr *taskRun) resumable() bool {
	_, builtin := builtins[tr.t.Module]
	return tr.p.r.opts.Resume != nil && !builtin && !tr.f.handler
}

// plannedArgs renders, before the task runs, the arguments of each item
// whose conditions hold, as runItem will; ok is false when that fails (the
// task then runs and reports the error).
func (tr *taskRun) plannedArgs(s *scope, items []any, looping bool) ([]any, bool) {
	scopes := []*scope{s}
	if looping {
		scopes = scopes[:0]
		for i, item := range items {
			scopes = append(scopes, s.child(tr.loopVars(i, item)))
		}
	}
	var out []any
	for _, is := range scopes {
		ok, err := tr.conditions(is)
		if err != nil {
			return nil, false
		}
		if !ok {
			continue
		}
		a, err := tr.args(is)
		if err != nil {
			return nil, false
		}
		out = append(out, a)
	}
	return out, true
}

// resume asks Options.Resume whether the task already finished on host in
// an earlier run; if so it fills o with the earlier result.
func (tr *taskRun) resume(o *outcome, s *scope, items []any, looping bool) bool {
	args, ok := tr.plannedArgs(s, items, looping)
	if !ok {
		return false
	}
	hash := argsHash(tr.t.Module, args)
	prev, done := tr.p.r.opts.Resume(o.host, taskID(tr.t), hash)
	if !done || prev == nil {
		return false
	}
	o.argsHash, o.registered = hash, prev
	o.res = resumedResult(prev)
	if facts, ok := prev["ansible_facts"].(map[string]any); ok {
		o.facts = facts
	}
	return true
}

// resumedResult rebuilds a result from its registered form.
func resumedResult(m map[string]any) *TaskResult {
	str := func(k string) string {
		s, _ := m[k].(string)
		return s
	}
	res := &TaskResult{Msg: strings.TrimSpace("resumed: done in an earlier run. " + str("msg")),
		Cmd: str("cmd"), Stdout: str("stdout"), Stderr: str("stderr"), Data: map[string]any{"resumed": true}}
	res.Changed, _ = m["changed"].(bool)
	if rc, err := toInt(m["rc"]); err == nil {
		res.RC = rc
	}
	for k, v := range m {
		switch k {
		case "changed", "failed", "skipped", "msg", "rc", "stdout", "stdout_lines", "stderr", "stderr_lines", "cmd":
		default:
			res.Data[k] = v
		}
	}
	return res
}
