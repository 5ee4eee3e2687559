package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// runMeta runs a meta task. Like Ansible, meta acts on the play rather
// than on one host, shows no per-host result, and honours when (end_host
// ends only the hosts where the condition holds).
func (p *playRun) runMeta(ctx context.Context, t *Task, hosts []string, f *frame) {
	action := rawArg(t.Args)
	tr := &taskRun{p: p, t: t, f: f}
	var chosen []string
	for _, h := range hosts {
		s := p.scope(p.r.hostState(h), t, f, tr)
		ok, err := tr.conditions(s)
		if err != nil {
			p.r.sink.emit(Event{Type: EventWarning, Task: t.DisplayName(), TaskPos: posPtr(t.Pos), Host: h,
				Msg: fmt.Sprintf("%s: meta %s: %v", t.Pos, action, err)})
			continue
		}
		if ok {
			chosen = append(chosen, h)
		}
	}
	if len(chosen) == 0 {
		return
	}
	switch action {
	case "flush_handlers":
		p.flushHandlers(ctx, p.batch)
	case "end_play":
		p.ended = true
	case "end_host":
		for _, h := range chosen {
			p.state[h] = hostEnded
		}
	case "clear_host_errors":
		for _, h := range p.hosts {
			if p.state[h] == hostFailed {
				delete(p.state, h)
			}
		}
	case "noop", "refresh_inventory", "reset_connection", "clear_facts":
	default:
		p.r.sink.emit(Event{Type: EventWarning, Task: t.DisplayName(), TaskPos: posPtr(t.Pos),
			Msg: fmt.Sprintf("%s: meta %q is not supported", t.Pos, action)})
	}
}

// builtinIncludeVars reads a vars file (searched in the role's vars/, the
// task's folder, the playbook's vars/ and folder) into host variables,
// under name when given.
func builtinIncludeVars(_ context.Context, tr *taskRun, o *outcome, s *scope) *TaskResult {
	args, err := tr.args(s)
	if err != nil {
		return errResult(err)
	}
	file := rawArg(args, "file")
	if file == "" {
		return errResult(fmt.Errorf("include_vars: file is required"))
	}
	fsys, rel, err := FindFile(tr.p.pb, tr.t, "vars", file)
	if err != nil {
		return errResult(fmt.Errorf("include_vars: %w", err))
	}
	vars, err := LoadVarsFile(fsys, rel)
	if err != nil {
		return errResult(fmt.Errorf("include_vars: %w", err))
	}
	if name := rawArg(map[string]any{"name": args["name"]}, "name"); name != "" {
		vars = map[string]any{name: vars}
	}
	o.incVars = mergeVars(o.incVars, vars)
	return &TaskResult{Msg: "included " + file, Data: map[string]any{"ansible_included_var_files": []any{file}}}
}

// builtinWaitForConnection retries a no-op command on the host until it
// answers or timeout (default 600s) passes.
func builtinWaitForConnection(ctx context.Context, tr *taskRun, o *outcome, s *scope) *TaskResult {
	args, err := tr.args(s)
	if err != nil {
		return errResult(err)
	}
	get := func(name string, def time.Duration) (time.Duration, error) {
		if v, ok := args[name]; ok {
			return toDuration(v, s)
		}
		return def, nil
	}
	timeout, err := get("timeout", 600*time.Second)
	if err == nil {
		var delay time.Duration
		if delay, err = get("delay", 0); err == nil {
			err = sleepCtx(ctx, delay)
		}
	}
	if err != nil {
		return errResult(fmt.Errorf("wait_for_connection: %w", err))
	}
	sleep, _ := get("sleep", time.Second)
	conn, err := tr.taskConn(s, o.host, "")
	if err != nil {
		return errResult(err)
	}
	start := tr.p.r.now()
	for {
		cctx, cancel := context.WithTimeout(ctx, max(sleep, 5*time.Second))
		err = conn.Exec(cctx, "true", nil, nil, nil)
		cancel()
		if err == nil {
			return &TaskResult{Msg: "host answered", Data: map[string]any{"elapsed": int(tr.p.r.now().Sub(start).Seconds())}}
		}
		if tr.p.r.now().Sub(start) >= timeout || sleepCtx(ctx, sleep) != nil {
			return &TaskResult{Failed: true, Msg: "timed out waiting for connection: " + strings.TrimSpace(err.Error())}
		}
	}
}
