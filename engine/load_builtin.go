package engine

import (
	"reflect"
	"sort"
	"strings"

	"github.com/kplay/kplay/modules"
	yaml "go.yaml.in/yaml/v3"
)

// BuiltinArgs lists the actions the engine runs itself (not modules: they
// work on variables, control flow or the task list) with the argument names
// each accepts, so that the loader checks them like module arguments. A nil
// list (set_fact) accepts any variable name.
var BuiltinArgs = map[string][]string{
	"debug":               {"msg", "var", "verbosity"},
	"set_fact":            nil,
	"assert":              {"that", "fail_msg", "msg", "success_msg", "quiet"},
	"fail":                {"msg"},
	"pause":               {"seconds", "minutes", "prompt", "echo"},
	"meta":                {"_raw_params"},
	"include_tasks":       {"file", "apply"},
	"import_tasks":        {"file"},
	"include_role":        {"name", "tasks_from", "vars_from", "defaults_from", "handlers_from", "apply", "public", "allow_duplicates"},
	"import_role":         {"name", "tasks_from", "vars_from", "defaults_from", "handlers_from", "allow_duplicates"},
	"include_vars":        {"file", "name"},
	"wait_for_connection": {"timeout", "delay", "sleep", "connect_timeout"},
	"gather_facts":        {},
	"setup":               {},
}

// MetaActions are the meta: actions kplay implements.
var MetaActions = []string{"flush_handlers", "end_play", "end_host", "noop", "clear_host_errors"}

// IsBuiltin reports whether name is an action the engine runs itself.
func IsBuiltin(name string) bool {
	_, ok := BuiltinArgs[name]
	return ok
}

// staticImportKeys are the keywords import_tasks/import_role accept; they
// apply to every imported task.
var staticImportKeys = map[string]bool{"name": true, "when": true, "tags": true, "vars": true, "become": true, "become_user": true}

// finishTask validates a module task (argument names, static files) or
// runs the built-in's checks and static imports.
func (l *loader) finishTask(c *taskCtx, t *Task, rt *rawTask) []*Task {
	if IsBuiltin(t.Module) {
		if names := BuiltinArgs[t.Module]; names != nil {
			l.checkArgNames(c, t, rt, names, false)
		}
		return l.builtin(c, t, rt)
	}
	info, _ := modules.Lookup(t.Module)
	if _, raw := t.Args["_raw_params"]; raw && !info.FreeForm {
		l.errorf(c.src, rt.action.Value, "%s: %s takes a mapping or key=value arguments, not a free-form string", label(t), t.Module)
		return []*Task{t}
	}
	typos := l.checkArgNames(c, t, rt, modules.ArgNames(info.Args), info.FreeForm)
	l.checkRequired(c, t, rt, info.Args, typos)
	l.checkSrcFile(c, t, rt)
	return []*Task{t}
}

// checkRequired reports required arguments (tagged `arg:"name,required"`
// in the module's argument struct) that the task does not give under any
// of their names, except those an unknown argument was taken for a typo of.
func (l *loader) checkRequired(c *taskCtx, t *Task, rt *rawTask, proto any, typos map[string]bool) {
	typ := reflect.TypeOf(proto)
	if typ == nil || typ.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < typ.NumField(); i++ {
		tag, _ := typ.Field(i).Tag.Lookup("arg")
		namesPart, opts, _ := strings.Cut(tag, ",")
		if opts != "required" {
			continue
		}
		given := false
		for _, n := range strings.Split(namesPart, "|") {
			_, ok := t.Args[n]
			given = given || ok || typos[n]
		}
		if !given {
			l.errorf(c.src, rt.action.KeyN, "%s: %s: missing required argument %q", label(t), t.Module, strings.Split(namesPart, "|")[0])
		}
	}
}

// argNode is the node an argument was written at, for messages: its value
// in a mapping, or a string node holding the value parsed from key=value.
func (rt *rawTask) argNode(t *Task, key string) *yaml.Node {
	n := rt.argVal[key]
	if n != nil {
		return n
	}
	at := rt.argPos[key]
	if at == nil {
		at = rt.action.KeyN
	}
	s, _ := modules.ToString(t.Args[key])
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: at.Line, Column: at.Column}
}

// builtin checks one built-in action's arguments.
func (l *loader) builtin(c *taskCtx, t *Task, rt *rawTask) []*Task {
	s := c.src
	switch t.Module {
	case "debug":
		_, hasMsg := t.Args["msg"]
		if _, hasVar := t.Args["var"]; hasVar {
			if hasMsg {
				l.errorf(s, rt.action.KeyN, "%s: debug: msg and var are mutually exclusive", label(t))
			}
			l.conds(s, rt.argNode(t, "var"), "debug.var")
		}
		if _, ok := t.Args["verbosity"]; ok {
			l.numberOrExpr(s, rt.argNode(t, "verbosity"), "debug.verbosity", false)
		}
	case "assert":
		if _, ok := t.Args["that"]; !ok {
			l.errorf(s, rt.action.KeyN, "%s: assert: missing required argument \"that\"", label(t))
		} else {
			l.conds(s, rt.argNode(t, "that"), "assert.that")
		}
	case "set_fact":
		l.setFact(c, t, rt)
	case "pause":
		l.pause(c, t, rt)
	case "meta":
		action, _ := t.Args["_raw_params"].(string)
		if !contains(MetaActions, action) {
			l.errorf(s, rt.action.Value, "%s: meta: unknown action %q%s (supported: flush_handlers, end_play, end_host, noop, clear_host_errors)", label(t), action, suggest(action, MetaActions))
		}
	case "include_tasks", "include_vars":
		l.includeFile(c, t, rt)
	case "include_role":
		l.includeRole(c, t, rt)
	case "import_tasks":
		return l.importTasks(c, t, rt)
	case "import_role":
		return l.importRole(c, t, rt)
	}
	return []*Task{t}
}

func (l *loader) setFact(c *taskCtx, t *Task, rt *rawTask) {
	delete(t.Args, "cacheable")
	if len(t.Args) == 0 {
		l.errorf(c.src, rt.action.KeyN, "%s: set_fact: no variable given", label(t))
	}
	keys := make([]string, 0, len(t.Args))
	for k := range t.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validVarName(k) {
			l.errorf(c.src, rt.argNode(t, k), "%s: set_fact: invalid variable name %q", label(t), k)
		}
	}
}

func (l *loader) pause(c *taskCtx, t *Task, rt *rawTask) {
	if _, ok := t.Args["prompt"]; ok {
		l.errorf(c.src, rt.argNode(t, "prompt"), "%s: pause: prompt is not supported (kplay never reads the terminal during a run)", label(t))
	}
	_, sec := t.Args["seconds"]
	_, mins := t.Args["minutes"]
	if sec && mins {
		l.errorf(c.src, rt.action.KeyN, "%s: pause: seconds and minutes are mutually exclusive", label(t))
	}
	for _, k := range []string{"seconds", "minutes"} {
		if _, ok := t.Args[k]; ok {
			l.numberOrExpr(c.src, rt.argNode(t, k), "pause."+k, true)
		}
	}
}

// staticArg returns a required string argument that may not be templated
// (import_*) or may be (then ok is true and static false).
func (l *loader) requiredArg(c *taskCtx, t *Task, rt *rawTask, key string) (val string, static, ok bool) {
	v, present := t.Args[key]
	s, isStr := v.(string)
	if !present || !isStr || s == "" {
		l.errorf(c.src, rt.action.KeyN, "%s: %s: missing required argument %q", label(t), t.Module, key)
		return "", false, false
	}
	return s, !IsTemplated(s), true
}

// checkStaticImport refuses keywords an import cannot carry.
func (l *loader) checkStaticImport(c *taskCtx, t *Task, rt *rawTask) {
	for _, kv := range rt.order {
		if !staticImportKeys[kv.Key] {
			l.errorf(c.src, kv.KeyN, "%s: %s cannot be used on %s (a static import); use include_%s", label(t), kv.Key, t.Module, t.Module[len("import_"):])
		}
	}
}
