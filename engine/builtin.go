package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kplay/kplay/modules"
)

// builtinFunc runs an action of the engine itself on one host (no
// connection needed, except for gather_facts).
type builtinFunc func(ctx context.Context, tr *taskRun, o *outcome, s *scope) *TaskResult

// builtins are the actions the engine runs itself; every other action is
// a module from the modules table. meta is handled before the host loop.
var builtins = map[string]builtinFunc{
	"debug":         builtinDebug,
	"set_fact":      builtinSetFact,
	"assert":        builtinAssert,
	"fail":          builtinFail,
	"pause":         builtinPause,
	"include_vars":  builtinIncludeVars,
	"include_tasks": builtinInclude,
	"include_role":  builtinInclude,
	"import_tasks":  builtinImport,
	"import_role":   builtinImport,
	"gather_facts":  builtinGatherFacts,
	"setup":         builtinGatherFacts,

	"wait_for_connection": builtinWaitForConnection,
}

// builtinDebug prints msg (rendered) or the value of var, when the run's
// verbosity reaches the task's verbosity.
func builtinDebug(_ context.Context, tr *taskRun, _ *outcome, s *scope) *TaskResult {
	args, err := tr.args(s)
	if err != nil {
		return errResult(err)
	}
	if v, ok := args["verbosity"]; ok {
		n, err := toInt(v)
		if err != nil {
			return errResult(fmt.Errorf("debug: verbosity: %w", err))
		}
		if tr.p.r.opts.Verbosity < n {
			return &TaskResult{Skipped: true, Msg: "verbosity threshold not met"}
		}
	}
	if name, ok := args["var"]; ok {
		expr, _ := modules.ToString(name)
		v, err := s.eval(expr)
		if err != nil {
			return errResult(fmt.Errorf("debug: var %s: %w", expr, err))
		}
		return &TaskResult{Msg: expr + ": " + display(v), Data: map[string]any{expr: v}}
	}
	msg, ok := args["msg"]
	if !ok {
		msg = "Hello world!"
	}
	return &TaskResult{Msg: display(msg), Data: map[string]any{"msg": msg}}
}

// display formats a value for a message: strings as they are, other
// values as JSON.
func display(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// builtinSetFact sets host variables (rendered now, never re-rendered).
func builtinSetFact(_ context.Context, tr *taskRun, o *outcome, s *scope) *TaskResult {
	args, err := tr.args(s)
	if err != nil {
		return errResult(err)
	}
	delete(args, "cacheable")
	if len(args) == 0 {
		return errResult(fmt.Errorf("set_fact: no variables given"))
	}
	for k := range args {
		if !validVarName(k) {
			return errResult(fmt.Errorf("set_fact: invalid variable name %q", k))
		}
	}
	o.facts = mergeVars(o.facts, args)
	return &TaskResult{Data: map[string]any{"ansible_facts": args}}
}

// builtinAssert checks every expression of that; the first false one
// fails the task with fail_msg (or msg).
func builtinAssert(_ context.Context, tr *taskRun, _ *outcome, s *scope) *TaskResult {
	var that []string
	switch x := tr.t.Args["that"].(type) {
	case string:
		that = []string{x}
	case []any:
		for _, it := range x {
			str, err := modules.ToString(it)
			if err != nil {
				return errResult(fmt.Errorf("assert: that: %w", err))
			}
			that = append(that, str)
		}
	default:
		return errResult(fmt.Errorf("assert: that: want an expression or a list of them"))
	}
	rest := map[string]any{}
	for k, v := range tr.t.Args {
		if k != "that" {
			rest[k] = v
		}
	}
	rendered, err := s.render(rest)
	if err != nil {
		return errResult(fmt.Errorf("assert: %w", err))
	}
	args, _ := rendered.(map[string]any)
	for _, cond := range that {
		ok, err := s.evalBool(cond)
		if err != nil {
			return errResult(fmt.Errorf("assert: %s: %w", cond, err))
		}
		if !ok {
			msg := "Assertion failed"
			if m, ok := args["fail_msg"]; ok {
				msg = display(m)
			} else if m, ok := args["msg"]; ok {
				msg = display(m)
			}
			return &TaskResult{Failed: true, Msg: msg,
				Data: map[string]any{"assertion": cond, "evaluated_to": false}}
		}
	}
	msg := "All assertions passed"
	if m, ok := args["success_msg"]; ok {
		msg = display(m)
	}
	return &TaskResult{Msg: msg}
}

// builtinFail fails the task with msg.
func builtinFail(_ context.Context, tr *taskRun, _ *outcome, s *scope) *TaskResult {
	args, err := tr.args(s)
	if err != nil {
		return errResult(err)
	}
	msg := "Failed as requested from task"
	if m, ok := args["msg"]; ok {
		msg = display(m)
	}
	return &TaskResult{Failed: true, Msg: msg}
}

// builtinPause waits seconds or minutes, or until the run is cancelled.
// An interactive prompt is not supported: runs are unattended.
func builtinPause(ctx context.Context, tr *taskRun, _ *outcome, s *scope) *TaskResult {
	args, err := tr.args(s)
	if err != nil {
		return errResult(err)
	}
	var secs float64
	if v, ok := args["seconds"]; ok {
		d, err := toDuration(v, s)
		if err != nil {
			return errResult(fmt.Errorf("pause: seconds: %w", err))
		}
		secs = d.Seconds()
	} else if v, ok := args["minutes"]; ok {
		d, err := toDuration(v, s)
		if err != nil {
			return errResult(fmt.Errorf("pause: minutes: %w", err))
		}
		secs = d.Seconds() * 60
	} else {
		return errResult(fmt.Errorf("pause: seconds or minutes is required (prompts are not supported)"))
	}
	d := time.Duration(secs * float64(time.Second))
	if err := sleepCtx(ctx, d); err != nil {
		return errResult(fmt.Errorf("pause: %w", err))
	}
	return &TaskResult{Msg: fmt.Sprintf("paused for %s", d), Data: map[string]any{"delta": secs}}
}

// builtinImport reports an import the loader did not expand; imports are
// static and never reach the run loop from a correct loader.
func builtinImport(_ context.Context, tr *taskRun, _ *outcome, _ *scope) *TaskResult {
	return errResult(fmt.Errorf("%s: %s was not expanded at load time", tr.t.Pos, tr.t.Module))
}

// rawArg returns the free-form argument or the named one.
func rawArg(args map[string]any, names ...string) string {
	for _, n := range append([]string{"_raw_params"}, names...) {
		if v, ok := args[n]; ok {
			if s, err := modules.ToString(v); err == nil && strings.TrimSpace(s) != "" {
				return strings.TrimSpace(s)
			}
		}
	}
	return ""
}
