package engine

import (
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/kplay/kplay/inventory"
	yaml "go.yaml.in/yaml/v3"
)

// playKeys are the keys a play accepts.
var playKeys = map[string]bool{
	"hosts": true, "name": true, "vars": true, "vars_files": true, "roles": true,
	"pre_tasks": true, "tasks": true, "post_tasks": true, "handlers": true,
	"serial": true, "max_fail_percentage": true, "any_errors_fatal": true,
	"gather_facts": true, "become": true, "become_user": true, "become_method": true,
	"tags": true, "environment": true, "rollback_on_failure": true, "force_handlers": true, "secrets": true,
	"strategy": true, "check_mode": true, "diff": true, "no_log": true,
	"ignore_unreachable": true,
}

// unsupportedPlayKeys are Ansible play keys kplay refuses, with the reason.
var unsupportedPlayKeys = map[string]string{
	"vars_prompt":     "kplay never prompts during a run; pass values with -e or vars_files",
	"order":           "hosts always run in inventory order",
	"connection":      "set ansible_connection in the inventory",
	"collections":     "modules are built in; write their plain names",
	"gather_subset":   "kplay gathers one small fact set",
	"module_defaults": "give the arguments on each task",
}

// playScope is what the loader tracks while loading one play.
type playScope struct {
	notifies []notifyRef
	roleSeen map[string]bool
	handlers []*Task // handlers of import_role'd roles
}

// notifyRef is a notify: entry to check against the play's handlers.
type notifyRef struct {
	name string
	pos  Pos
}

// playbookFile loads the plays of one playbook file; depth counts
// import_playbook levels.
func (l *loader) playbookFile(fsys fs.FS, name string, depth int) []*Play {
	n, s, ok := l.readYAML(fsys, name)
	if !ok {
		return nil
	}
	if isNull(n) {
		l.add(&LoadError{Pos: Pos{File: s.file}, Msg: "playbook is empty"})
		return nil
	}
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		l.errorf(s, n, "playbook must be a list of plays, got %s", kindName(n))
		return nil
	}
	var plays []*Play
	for _, item := range n.Content {
		r := resolve(item)
		if r.Kind != yaml.MappingNode {
			l.errorf(s, item, "play must be a mapping, got %s", kindName(item))
			continue
		}
		if hasKey(r, "import_playbook") {
			plays = append(plays, l.importPlaybook(s, r, depth)...)
			continue
		}
		if p := l.loadPlay(s, r); p != nil {
			plays = append(plays, p)
		}
	}
	return plays
}

// hasKey reports whether mapping n has key.
func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if resolve(n.Content[i]).Value == key {
			return true
		}
	}
	return false
}

// importPlaybook loads "- import_playbook: file" with optional vars and
// tags, which apply to each imported play.
func (l *loader) importPlaybook(s src, n *yaml.Node, depth int) []*Play {
	var file string
	var fileN *yaml.Node
	var vars map[string]any
	var tags []string
	for _, p := range l.pairs(s, n) {
		switch p.Key {
		case "import_playbook":
			file, _ = l.str(s, p.Value, "import_playbook")
			fileN = p.Value
		case "name":
		case "vars":
			vars = l.vars(s, p.Value)
		case "tags":
			tags = l.tags(s, p.Value)
		default:
			l.errorf(s, p.KeyN, "import_playbook: unknown key %q%s", p.Key, suggest(p.Key, []string{"import_playbook", "name", "vars", "tags"}))
		}
	}
	if file == "" || IsTemplated(file) {
		l.errorf(s, fileN, "import_playbook: want a static file name, got %s", kindName(fileN))
		return nil
	}
	fsys, name, ok := resolvePath(s.fsys, s.dir, file)
	if !ok || !exists(fsys, name, false) {
		l.errorf(s, fileN, "import_playbook: no such file %q", file)
		return nil
	}
	if depth >= 20 || l.inStack(displayName(fsys, name)) {
		l.errorf(s, fileN, "import_playbook: %q imports itself", file)
		return nil
	}
	l.files = append(l.files, s.file)
	defer func() { l.files = l.files[:len(l.files)-1] }()
	plays := l.playbookFile(fsys, name, depth+1)
	for _, p := range plays {
		p.Tags = append(append([]string(nil), tags...), p.Tags...)
		for k, v := range vars {
			if _, set := p.Vars[k]; !set {
				setVar(&p.Vars, k, v)
			}
		}
	}
	return plays
}

func (l *loader) inStack(file string) bool {
	for _, f := range l.files {
		if f == file {
			return true
		}
	}
	return false
}

// loadPlay loads one play, its roles and tasks, then checks that every notify
// names a handler of the play.
func (l *loader) loadPlay(s src, n *yaml.Node) *Play {
	p := &Play{Pos: s.pos(n), GatherFacts: true}
	l.play = &playScope{roleSeen: map[string]bool{}}
	defer func() { l.play = nil }()
	keys := map[string]pair{}
	var order []pair
	for _, kv := range l.pairs(s, n) {
		if why, bad := unsupportedPlayKeys[kv.Key]; bad {
			l.errorf(s, kv.KeyN, "play key %q is not supported: %s", kv.Key, why)
			continue
		}
		if !playKeys[kv.Key] {
			hint := suggest(kv.Key, keysOf(playKeys))
			l.errorf(s, kv.KeyN, "unknown play key %q%s", kv.Key, hint)
			if strings.Contains(hint, `"hosts"`) {
				keys["hosts"] = pair{} // reported already: no "has no hosts" too
			}
			continue
		}
		keys[kv.Key] = kv
		order = append(order, kv)
	}
	l.playScalars(s, p, n, keys, order)
	c := &taskCtx{src: s}
	var roleTasks, roleHandlers []*Task
	if kv, ok := keys["roles"]; ok {
		p.Roles = l.roleRefs(s, kv.Value, "roles")
		for _, ref := range p.Roles {
			ref.Role = l.loadRole(ref, roleFrom{})
			t, h := l.expandRole(ref, nil, nil, nil)
			roleTasks, roleHandlers = append(roleTasks, t...), append(roleHandlers, h...)
		}
	}
	p.PreTasks = l.taskList(keys, "pre_tasks", c)
	p.Tasks = append(roleTasks, l.taskList(keys, "tasks", c)...)
	p.PostTasks = l.taskList(keys, "post_tasks", c)
	p.Handlers = append(l.taskList(keys, "handlers", &taskCtx{src: s, handler: true}), roleHandlers...)
	p.Handlers = uniqueHandlers(append(p.Handlers, l.play.handlers...))
	l.checkNotifies(p)
	return p
}

func (l *loader) taskList(keys map[string]pair, key string, c *taskCtx) []*Task {
	kv, ok := keys[key]
	if !ok {
		return nil
	}
	return l.tasks(kv.Value, c, key)
}

// playScalars reads every play key that is not a task list or roles.
func (l *loader) playScalars(s src, p *Play, n *yaml.Node, keys map[string]pair, order []pair) {
	if kv, ok := keys["name"]; ok {
		p.Name, _ = l.str(s, kv.Value, "name")
		l.checkTemplated(s, kv.Value, "name")
	}
	if kv, ok := keys["hosts"]; ok && kv.Value != nil {
		hosts := l.strList(s, kv.Value, "hosts")
		p.Hosts = strings.Join(hosts, ",")
		l.checkTemplated(s, kv.Value, "hosts")
		if strings.TrimSpace(p.Hosts) == "" {
			l.errorf(s, kv.Value, "hosts: empty host pattern")
		} else if !IsTemplated(p.Hosts) {
			if err := inventory.CheckPattern(p.Hosts); err != nil {
				l.errorf(s, kv.Value, "hosts: %v", err)
			}
		}
	} else if !ok {
		l.errorf(s, n, "play %q has no hosts", p.Name)
	}
	for _, kv := range order {
		l.playKey(s, p, kv.Key, kv)
	}
}

// playKey reads one scalar-ish play key.
func (l *loader) playKey(s src, p *Play, key string, kv pair) {
	v := kv.Value
	switch key {
	case "vars":
		p.Vars = l.vars(s, v)
	case "vars_files":
		p.VarsFiles = l.varsFileList(s, v, key)
	case "secrets":
		p.Secrets = l.varsFileList(s, v, key)
	case "serial":
		p.Serial = l.serial(s, v)
	case "max_fail_percentage":
		p.MaxFailPct = l.percent(s, v)
	case "any_errors_fatal":
		p.AnyErrFatal, _ = l.boolean(s, v, key)
	case "gather_facts":
		p.GatherFacts, _ = l.boolean(s, v, key)
	case "rollback_on_failure":
		p.RollbackOnFailure, _ = l.boolean(s, v, key)
	case "force_handlers":
		p.ForceHandlers, _ = l.boolean(s, v, key)
	case "no_log":
		p.NoLog, _ = l.boolean(s, v, key)
	case "ignore_unreachable":
		p.IgnoreUnreachable, _ = l.boolean(s, v, key)
	case "become":
		p.Become = l.boolPtr(s, v, key)
	case "check_mode":
		p.CheckMode = l.boolPtr(s, v, key)
	case "diff":
		p.Diff = l.boolPtr(s, v, key)
	case "become_user":
		p.BecomeUser, _ = l.str(s, v, key)
		l.checkTemplated(s, v, key)
	case "become_method":
		p.BecomeMethod = l.becomeMethod(s, v)
	case "tags":
		p.Tags = l.tags(s, v)
	case "environment":
		p.Environment = l.mapping(s, v, key)
	case "strategy":
		if st, ok := l.str(s, v, key); ok && st != "linear" {
			l.errorf(s, v, "strategy %q is not supported (only linear)", st)
		}
	}
}

func (l *loader) becomeMethod(s src, n *yaml.Node) string {
	m, ok := l.str(s, n, "become_method")
	if ok && m != "sudo" && m != "su" {
		l.errorf(s, n, "become_method %q is not supported (sudo or su)", m)
	}
	return m
}

// varsFileList reads vars_files/secrets and checks that static files exist
// and parse.
func (l *loader) varsFileList(s src, n *yaml.Node, what string) []string {
	r := resolve(n)
	items := []*yaml.Node{r}
	if r.Kind == yaml.SequenceNode {
		items = r.Content
	}
	var out []string
	for _, item := range items {
		name, ok := l.str(s, item, what)
		if !ok || name == "" {
			continue
		}
		out = append(out, name)
		if IsTemplated(name) {
			l.checkTemplated(s, item, what)
			continue
		}
		fsys, rel, ok := resolvePath(s.fsys, s.dir, name)
		if !ok || !exists(fsys, rel, false) {
			l.errorf(s, item, "%s: no such file %q", what, name)
			continue
		}
		l.varsFile(fsys, rel)
	}
	return out
}

var percentRe = regexp.MustCompile(`^\s*\d+(\.\d+)?\s*%\s*$`)

// serial reads serial: a number, "N%", or a list of them.
func (l *loader) serial(s src, n *yaml.Node) []any {
	r := resolve(n)
	items := []*yaml.Node{r}
	if r.Kind == yaml.SequenceNode {
		items = r.Content
	}
	var out []any
	for _, item := range items {
		ir := resolve(item)
		ok := ir.Kind == yaml.ScalarNode
		var v any
		switch {
		case !ok:
		case ir.Tag == "!!int":
			n, err := strconv.Atoi(ir.Value)
			ok, v = err == nil && n >= 0, n
		case ir.Tag == "!!str" && percentRe.MatchString(ir.Value):
			v = strings.ReplaceAll(ir.Value, " ", "")
		case ir.Tag == "!!str" && IsTemplated(ir.Value):
			l.checkTemplated(s, ir, "serial")
			v = ir.Value
		default:
			n, err := strconv.Atoi(strings.TrimSpace(ir.Value))
			ok, v = err == nil && n >= 0, n
		}
		if !ok {
			l.errorf(s, item, "serial: want a number or \"N%%\", got %s", kindName(item))
			continue
		}
		out = append(out, v)
	}
	return out
}

// percent reads max_fail_percentage (0-100, "N%" accepted).
func (l *loader) percent(s src, n *yaml.Node) *float64 {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode {
		txt := strings.TrimSuffix(strings.TrimSpace(r.Value), "%")
		if f, err := strconv.ParseFloat(txt, 64); err == nil && f >= 0 && f <= 100 {
			return &f
		}
	}
	l.errorf(s, n, "max_fail_percentage: want a number from 0 to 100, got %s", kindName(n))
	return nil
}

// checkNotifies reports notify names that no handler of the play answers
// to, by name, "role : name" or listen.
func (l *loader) checkNotifies(p *Play) {
	names := handlerNames(p.Handlers)
	for _, nr := range l.play.notifies {
		if !names[nr.name] {
			l.add(&LoadError{Pos: nr.pos, Msg: "notify: no handler named " + strconv.Quote(nr.name) + suggest(nr.name, keysOf(names))})
		}
	}
}

// uniqueHandlers drops role handlers read from the same place twice (a
// role imported twice in a play), so that each runs once when notified.
func uniqueHandlers(hs []*Task) []*Task {
	seen := map[Pos]bool{}
	out := hs[:0]
	for _, h := range hs {
		if h.Role != nil {
			if seen[h.Pos] {
				continue
			}
			seen[h.Pos] = true
		}
		out = append(out, h)
	}
	return out
}

// walkTasks calls f on every task, descending into blocks.
func walkTasks(tasks []*Task, f func(*Task)) {
	for _, t := range tasks {
		f(t)
		walkTasks(t.Block, f)
		walkTasks(t.Rescue, f)
		walkTasks(t.Always, f)
	}
}
