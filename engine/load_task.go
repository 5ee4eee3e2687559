package engine

import (
	"io/fs"
	"strings"

	"github.com/kplay/kplay/modules"
	yaml "go.yaml.in/yaml/v3"
)

// taskCtx is where a task list is being read: its file, its role, whether
// it lists handlers, and the enclosing block.
type taskCtx struct {
	src
	role    *Role
	handler bool
	parent  *Task
}

// taskKeys are the task keywords; any other key names the module.
var taskKeys = map[string]bool{
	"name": true, "when": true, "loop": true, "with_items": true, "with_list": true,
	"with_dict": true, "loop_control": true, "register": true, "until": true,
	"retries": true, "delay": true, "ignore_errors": true, "ignore_unreachable": true,
	"failed_when": true, "changed_when": true, "notify": true, "listen": true,
	"tags": true, "run_once": true, "delegate_to": true, "check_mode": true,
	"diff": true, "environment": true, "become": true, "become_user": true,
	"become_method": true, "vars": true, "no_log": true, "throttle": true, "timeout": true,
	"block": true, "rescue": true, "always": true, "args": true, "action": true,
	"local_action": true,
}

// unsupportedTaskKeys are Ansible task keys kplay refuses, with the reason.
var unsupportedTaskKeys = map[string]string{
	"async":              "tasks run to completion; use a retried until: for long waits",
	"poll":               "tasks run to completion; use a retried until: for long waits",
	"connection":         "set ansible_connection in the inventory, or use delegate_to",
	"delegate_facts":     "facts always belong to the host the task runs for",
	"any_errors_fatal":   "set it on the play",
	"with_fileglob":      "use loop: with an expression",
	"with_sequence":      "use loop: with an expression",
	"with_nested":        "use loop: with an expression",
	"with_together":      "use loop: with an expression",
	"with_subelements":   "use loop: with an expression",
	"with_indexed_items": "use loop: with loop_control.index_var",
	"with_first_found":   "use loop: with an expression",
	"with_lines":         "use a command task and register its output",
	"module_defaults":    "give the arguments on each task",
	"collections":        "modules are built in; write their plain names",
	"debugger":           "there is no interactive debugger",
}

// blockRefused are the keywords a block cannot carry.
var blockRefused = []string{"loop", "with_items", "with_list", "with_dict", "loop_control",
	"register", "until", "retries", "delay", "notify", "listen", "failed_when",
	"changed_when", "args", "action", "local_action"}

// tasks loads a list of tasks (a tasks file, tasks:, block:...).
func (l *loader) tasks(n *yaml.Node, c *taskCtx, what string) []*Task {
	r := resolve(n)
	if isNull(r) {
		return nil
	}
	if r.Kind != yaml.SequenceNode {
		l.errorf(c.src, n, "%s: want a list of tasks, got %s", what, kindName(n))
		return nil
	}
	var out []*Task
	for _, item := range r.Content {
		out = append(out, l.task(item, c)...)
	}
	return out
}

// tasksFile loads a file of tasks; an empty file has no tasks.
func (l *loader) tasksFile(fsys fs.FS, name string, c taskCtx) []*Task {
	n, s, ok := l.readYAML(fsys, name)
	if !ok {
		return nil
	}
	if l.inStack(s.file) || len(l.files) > 50 {
		l.add(&LoadError{Pos: Pos{File: s.file}, Msg: "tasks file imports itself"})
		return nil
	}
	l.files = append(l.files, s.file)
	defer func() { l.files = l.files[:len(l.files)-1] }()
	c.src = s
	return l.tasks(n, &c, "tasks file")
}

// rawTask is a task's mapping split into its module and keyword entries.
type rawTask struct {
	action  pair   // the module key (or action/local_action)
	module  string // the module name, prefix stripped
	local   bool   // local_action
	keys    map[string]pair
	order   []pair
	isBlock bool
	argPos  map[string]*yaml.Node // where each argument was written
	argVal  map[string]*yaml.Node // its value node, when given as a mapping
}

// task loads one list entry: a task, a block, or the tasks it statically
// imports (import_tasks, import_role).
func (l *loader) task(n *yaml.Node, c *taskCtx) []*Task {
	r := resolve(n)
	if isNull(r) {
		l.errorf(c.src, n, "empty task")
		return nil
	}
	if r.Kind != yaml.MappingNode {
		l.errorf(c.src, n, "task must be a mapping, got %s", kindName(n))
		return nil
	}
	t := &Task{Pos: c.pos(r), FS: c.fsys, Dir: c.dir, Role: c.role, Parent: c.parent}
	rt, ok := l.splitTask(c, r, t)
	if !ok {
		return nil
	}
	for _, kv := range rt.order {
		l.taskKey(c, t, rt, kv)
	}
	if rt.isBlock {
		l.block(c, t, rt)
		return []*Task{t}
	}
	if rt.module == "" {
		if !rt.has("rescue") && !rt.has("always") {
			l.errorf(c.src, r, "%s: no module or action given", label(t))
		}
		return nil
	}
	t.Module = rt.module
	if rt.local {
		t.DelegateTo = "localhost"
	}
	t.Args = l.moduleArgs(c, t, &rt)
	if t.Module == "" {
		return nil
	}
	return l.finishTask(c, t, &rt)
}

// splitTask classifies the keys of a task mapping.
func (l *loader) splitTask(c *taskCtx, n *yaml.Node, t *Task) (rawTask, bool) {
	rt := rawTask{keys: map[string]pair{}}
	var mods, unknown []pair
	for _, kv := range l.pairs(c.src, n) {
		switch {
		case unsupportedTaskKeys[kv.Key] != "":
			l.errorf(c.src, kv.KeyN, "task key %q is not supported: %s", kv.Key, unsupportedTaskKeys[kv.Key])
		case kv.Key == "action" || kv.Key == "local_action":
			mods = append(mods, kv)
		case taskKeys[kv.Key]:
			rt.keys[kv.Key] = kv
			rt.order = append(rt.order, kv)
		case isAction(canonicalModule(kv.Key)):
			mods = append(mods, kv)
		default:
			unknown = append(unknown, kv)
		}
	}
	if kv, ok := rt.keys["name"]; ok {
		t.Name, _ = l.str(c.src, kv.Value, "name")
	}
	_, rt.isBlock = rt.keys["block"]
	if len(unknown) > 0 {
		l.unknownTaskKeys(c, t, unknown, len(mods) == 0 && !rt.isBlock)
		return rt, false
	}
	if len(mods) > 1 {
		l.errorf(c.src, mods[1].KeyN, "%s: conflicting action statements: %q and %q (one module per task)", label(t), mods[0].Key, mods[1].Key)
		return rt, false
	}
	if len(mods) == 1 {
		if rt.isBlock {
			l.errorf(c.src, mods[0].KeyN, "%s: a block cannot also run module %q", label(t), mods[0].Key)
			return rt, false
		}
		rt.action = mods[0]
		rt.module = canonicalModule(mods[0].Key)
		rt.local = mods[0].Key == "local_action"
	}
	return rt, true
}

// unknownTaskKeys reports keys that are neither keywords nor actions. When
// the task has no module, the first one is taken for a misspelt module
// unless it is closer to a keyword.
func (l *loader) unknownTaskKeys(c *taskCtx, t *Task, unknown []pair, noModule bool) {
	for i, kv := range unknown {
		key, keyD := closest(kv.Key, keysOf(taskKeys))
		mod, modD := closest(kv.Key, actionNames())
		if i == 0 && noModule && (key == "" || (mod != "" && modD < keyD)) {
			l.errorf(c.src, kv.KeyN, "%s: unknown module %q%s", label(t), kv.Key, suggest(kv.Key, actionNames()))
			continue
		}
		l.errorf(c.src, kv.KeyN, "%s: unknown task key %q%s", label(t), kv.Key, suggest(kv.Key, keysOf(taskKeys)))
	}
}

// has reports whether the task wrote keyword key (rescue/always without
// block were already reported as needing a block).
func (rt rawTask) has(key string) bool {
	_, ok := rt.keys[key]
	return ok
}

// label names a task in messages.
func label(t *Task) string {
	if t.Name != "" {
		return "task " + quote(t.Name)
	}
	return "task"
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(shorten(s), `"`, `\"`) + `"`
}

// canonicalModule strips the collection prefixes Ansible playbooks carry,
// so that ansible.builtin.copy is copy.
func canonicalModule(name string) string {
	for _, p := range []string{"ansible.builtin.", "ansible.legacy.", "ansible.posix.", "community.general."} {
		if strings.HasPrefix(name, p) {
			return strings.TrimPrefix(name, p)
		}
	}
	return name
}

// isAction reports whether name is a module or a built-in action.
func isAction(name string) bool {
	if IsBuiltin(name) {
		return true
	}
	_, ok := modules.Lookup(name)
	return ok
}

// actionNames lists every module and built-in, for suggestions.
func actionNames() []string {
	return append(modules.Names(), keysOf(BuiltinArgs)...)
}

// block loads block/rescue/always and folds the block's conditions and
// tags into every task inside.
func (l *loader) block(c *taskCtx, t *Task, rt rawTask) {
	for _, k := range blockRefused {
		if kv, ok := rt.keys[k]; ok {
			l.errorf(c.src, kv.KeyN, "%s: %s is not allowed on a block", label(t), k)
		}
	}
	inner := *c
	inner.parent = t
	t.Block = l.tasks(rt.keys["block"].Value, &inner, "block")
	if t.Block == nil {
		t.Block = []*Task{}
	}
	if kv, ok := rt.keys["rescue"]; ok {
		t.Rescue = l.tasks(kv.Value, &inner, "rescue")
	}
	if kv, ok := rt.keys["always"]; ok {
		t.Always = l.tasks(kv.Value, &inner, "always")
	}
	for _, list := range [][]*Task{t.Block, t.Rescue, t.Always} {
		fold(list, t.When, t.Tags)
	}
}

// fold prepends inherited conditions and tags to every task of the list,
// blocks included.
func fold(tasks []*Task, when, tags []string) {
	if len(when) == 0 && len(tags) == 0 {
		return
	}
	walkTasks(tasks, func(t *Task) {
		t.When = append(append([]string(nil), when...), t.When...)
		t.Tags = append(append([]string(nil), tags...), t.Tags...)
	})
}
