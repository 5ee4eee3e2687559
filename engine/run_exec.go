package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// execute runs the task's action once on a host: a built-in action of the
// engine, or a module through the host's (or delegate's) connection.
func (tr *taskRun) execute(ctx context.Context, o *outcome, s *scope) *TaskResult {
	if b, ok := builtins[tr.t.Module]; ok {
		return b(ctx, tr, o, s)
	}
	info, ok := modules.Lookup(tr.t.Module)
	if !ok {
		return errResult(fmt.Errorf("%s: unknown module %q", tr.t.Pos, tr.t.Module))
	}
	args, err := tr.args(s)
	if err != nil {
		return errResult(err)
	}
	delegate, err := tr.delegate(s)
	if err != nil {
		return errResult(err)
	}
	o.delegate = delegate
	conn, err := tr.taskConn(s, o.host, delegate)
	if err != nil {
		return errResult(err)
	}
	req := &modules.Request{
		Conn: conn, Host: o.host, Args: args, Files: tr.files(),
		Render: func(name string, text []byte) ([]byte, error) {
			return tr.p.r.ev.RenderFile(name, text, s.all())
		},
		Check: tr.check(), Diff: tr.diff(), BackupSuffix: tr.p.r.backup,
		// Every plain variable and the templated ones the arguments named,
		// rendered; rendering all of them for every module call would cost
		// more than the call (Render sees them all).
		Vars: s.out,
	}
	mr, err := info.Module.Run(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return errResult(fmt.Errorf("%s: interrupted: %w", tr.t.Module, err))
		}
		if errors.Is(err, transport.ErrUnreachable) {
			return errResult(err)
		}
		return errResult(fmt.Errorf("%s: %w", tr.t.Module, err))
	}
	return fromModule(mr)
}

// fromModule copies a module's result into a TaskResult.
func fromModule(mr modules.Result) *TaskResult {
	return &TaskResult{Changed: mr.Changed, Failed: mr.Failed, Unknown: mr.Unknown, Skipped: mr.Skipped, Msg: mr.Msg, Cmd: mr.Cmd,
		RC: mr.RC, Stdout: mr.Stdout, Stderr: mr.Stderr, Data: mr.Data, Diff: mr.Diff, Changes: mr.Changes}
}

// args renders the task's arguments and drops those set to omit.
func (tr *taskRun) args(s *scope) (map[string]any, error) {
	if len(tr.t.Args) == 0 {
		return map[string]any{}, nil
	}
	v, err := s.render(tr.t.Args)
	if err != nil {
		return nil, fmt.Errorf("%s: arguments: %w", tr.t.Pos, err)
	}
	m, ok := dropOmitted(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: arguments are not a mapping", tr.t.Pos)
	}
	return m, nil
}

// delegate renders delegate_to.
func (tr *taskRun) delegate(s *scope) (string, error) {
	if tr.t.DelegateTo == "" {
		return "", nil
	}
	d, err := s.renderString(tr.t.DelegateTo)
	if err != nil {
		return "", fmt.Errorf("delegate_to: %w", err)
	}
	return d, nil
}

// check tells whether the task runs in check mode: its check_mode, else
// the enclosing blocks', else the play's, else --check.
func (tr *taskRun) check() bool {
	return tr.inherited(tr.p.r.opts.Check, tr.p.play.CheckMode, func(t *Task) *bool { return t.CheckMode })
}

// diff tells whether the task reports diffs, with the same inheritance.
func (tr *taskRun) diff() bool {
	return tr.inherited(tr.p.r.opts.Diff, tr.p.play.Diff, func(t *Task) *bool { return t.Diff })
}

// inherited resolves a boolean keyword: the run's value, overridden by the
// play's, then each enclosing block's, then the task's, where set.
func (tr *taskRun) inherited(run bool, play *bool, of func(*Task) *bool) bool {
	v := run
	if play != nil {
		v = *play
	}
	for _, b := range append(append([]*Task(nil), tr.f.blocks...), tr.t) {
		if p := of(b); p != nil {
			v = *p
		}
	}
	return v
}

// files is where the task's module finds "files/x" and "templates/x":
// the places the loader checked them in (FindFile): the role's files/
// (or templates/) and folder, the task's folder, then the playbook's.
func (tr *taskRun) files() fs.FS {
	return &searchFS{pb: tr.p.pb, t: tr.t}
}

// searchFS opens "<kind>/<name>" with FindFile, so that a module finds a
// source exactly where load-time validation found it.
type searchFS struct {
	pb *Playbook
	t  *Task
}

// Open implements fs.FS.
func (s *searchFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	kind, rest, ok := strings.Cut(name, "/")
	if !ok || (kind != "files" && kind != "templates" && kind != "vars") {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	fsys, rel, err := FindFile(s.pb, s.t, kind, rest)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return fsys.Open(rel)
}

// loopItems expands loop / with_items. looping is false for a task
// without a loop.
func (tr *taskRun) loopItems(s *scope) ([]any, bool, error) {
	if tr.t.Loop == nil {
		return nil, false, nil
	}
	var v any
	var err error
	if str, ok := tr.t.Loop.(string); ok && !strings.Contains(str, "{{") {
		v, err = s.eval(str)
	} else {
		v, err = s.render(tr.t.Loop)
	}
	if err != nil {
		return nil, true, fmt.Errorf("loop: %w", err)
	}
	items, err := loopList(v, tr.t.LoopWith)
	return items, true, err
}

func loopList(v any, with string) ([]any, error) {
	switch with {
	case "dict":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("with_dict: want a mapping, got %T", v)
		}
		var out []any
		for _, k := range sortedKeys(m) {
			out = append(out, map[string]any{"key": k, "value": m[k]})
		}
		return out, nil
	}
	var items []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		items = x
	case []string:
		items = stringsToAny(x)
	case string:
		items = []any{x}
	default:
		return nil, fmt.Errorf("loop: want a list, got %T", v)
	}
	if with == "items" {
		var flat []any
		for _, it := range items {
			if l, ok := it.([]any); ok {
				flat = append(flat, l...)
			} else {
				flat = append(flat, it)
			}
		}
		items = flat
	}
	return items, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// toInt reads a whole number from a rendered value.
func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		return int(x), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want a number, got %T", v)
}

// toDuration reads seconds (a number) or a Go duration ("2s", "500ms").
func toDuration(v any, s *scope) (time.Duration, error) {
	r, err := s.render(v)
	if err != nil {
		return 0, err
	}
	switch x := r.(type) {
	case int:
		return time.Duration(x) * time.Second, nil
	case int64:
		return time.Duration(x) * time.Second, nil
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case string:
		str := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(str, 64); err == nil {
			return time.Duration(f * float64(time.Second)), nil
		}
		d, err := time.ParseDuration(str)
		if err != nil {
			return 0, fmt.Errorf("%q is not seconds or a duration", x)
		}
		return d, nil
	}
	return 0, fmt.Errorf("want seconds or a duration, got %T", r)
}
