package engine

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// roleFrom selects alternative files of a role (import_role's tasks_from,
// vars_from, defaults_from, handlers_from); empty means main.
type roleFrom struct {
	tasks, vars, defaults, handlers string
}

// LoadRole loads a role for include_role at run time: its defaults, vars,
// dependencies (loaded, see ExpandRole), tasks, handlers and rollback
// tasks, validated as at load time. pos is where the role was named;
// baseDir is the playbook's folder ("" for an embedded playbook).
func LoadRole(name string, pos Pos, baseDir string, opts LoadOptions) (*Role, error) {
	l := newLoader(opts)
	if !strings.HasPrefix(baseDir, "embedded:") {
		l.pbDir = baseDir
	}
	ref := &RoleRef{Pos: pos, Name: name}
	ref.Role = l.loadRole(ref, roleFrom{})
	if err := l.err(); err != nil {
		return nil, err
	}
	return ref.Role, nil
}

// LoadTasks loads a tasks file at run time (include_tasks). fsys and name
// are usually found with IncludePath; role is the role the file belongs
// to, or nil.
func LoadTasks(fsys fs.FS, name string, role *Role, opts LoadOptions) ([]*Task, error) {
	if fsys == nil {
		return nil, &LoadError{Pos: Pos{File: name}, Msg: "no file system to read the tasks file from"}
	}
	l := newLoader(opts)
	tasks := l.tasksFile(fsys, name, taskCtx{role: role})
	if err := l.err(); err != nil {
		return nil, err
	}
	return tasks, nil
}

// roleDirs lists where a role is looked for, in order, with its display
// name: <playbook dir>/roles, RolePaths, then the embedded roles.
func (l *loader) roleDirs(name string) []string {
	var out []string
	if l.pbDir != "" {
		out = append(out, filepath.Join(l.pbDir, "roles", name))
		if strings.ContainsAny(name, `/\`) {
			out = append(out, filepath.Join(l.pbDir, name))
		}
	}
	for _, p := range l.opts.RolePaths {
		out = append(out, filepath.Join(p, name))
	}
	return out
}

// findRole returns the role's layered file system and its path.
func (l *loader) findRole(ref *RoleRef) (fs.FS, string, error) {
	var base fs.FS
	var where string
	looked := l.roleDirs(ref.Name)
	for _, d := range looked {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			base, where = newDirFS(d), d
			break
		}
	}
	if base == nil && l.opts.RolesFS != nil && fs.ValidPath(ref.Name) {
		looked = append(looked, "embedded:roles/"+ref.Name)
		if st, err := fs.Stat(l.opts.RolesFS, ref.Name); err == nil && st.IsDir() {
			sub, err := fs.Sub(l.opts.RolesFS, ref.Name)
			if err == nil {
				base, where = embedFS{FS: sub, prefix: "embedded:roles/" + ref.Name}, "embedded:roles/"+ref.Name
			}
		}
	}
	over := ""
	if l.opts.OverrideDir != "" {
		over = filepath.Join(l.opts.OverrideDir, "roles", ref.Name)
		if st, err := os.Stat(over); err != nil || !st.IsDir() {
			over = ""
		}
	}
	switch {
	case base == nil && over == "":
		return nil, "", fmt.Errorf("role %q not found (looked in %s)", ref.Name, strings.Join(looked, ", "))
	case base == nil:
		return newDirFS(over), over, nil
	case over == "":
		return base, where, nil
	}
	return layerFS{over: newDirFS(over), base: base}, where, nil
}

// loadRole reads every file of a role and loads its dependencies.
func (l *loader) loadRole(ref *RoleRef, from roleFrom) *Role {
	if ref.Name == "" {
		return nil
	}
	key := ref.Name
	if from.tasks != "" {
		key += ":" + from.tasks
	}
	for _, r := range l.roles {
		if r == key {
			l.add(&LoadError{Pos: ref.Pos, Msg: fmt.Sprintf("role dependency cycle: %s -> %s", strings.Join(l.roles, " -> "), key)})
			return nil
		}
	}
	fsys, where, err := l.findRole(ref)
	if err != nil {
		l.add(&LoadError{Pos: ref.Pos, Msg: err.Error()})
		return nil
	}
	l.roles = append(l.roles, key)
	defer func() { l.roles = l.roles[:len(l.roles)-1] }()
	r := &Role{Name: filepath.Base(ref.Name), Path: where, FS: fsys, Params: ref.Vars}
	r.Defaults = l.roleVars(ref, fsys, "defaults", from.defaults)
	r.Vars = l.roleVars(ref, fsys, "vars", from.vars)
	l.roleMeta(r)
	c := taskCtx{role: r}
	if name, ok := l.roleFile(ref, fsys, "tasks", from.tasks); ok {
		r.Tasks = l.tasksFile(fsys, name, c)
	}
	if name, ok := l.roleFile(ref, fsys, "handlers", from.handlers); ok {
		hc := c
		hc.handler = true
		r.Handlers = l.tasksFile(fsys, name, hc)
	}
	if name, ok := mainFile(fsys, "tasks", "rollback"); ok {
		r.Rollback = l.tasksFile(fsys, name, c)
	}
	return r
}

// mainFile finds dir/<base>.yaml or .yml (base "main" when empty).
func mainFile(fsys fs.FS, dir, base string) (string, bool) {
	if base == "" {
		base = "main"
	}
	if strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml") {
		return firstExisting(fsys, dir+"/"+base)
	}
	return firstExisting(fsys, dir+"/"+base+".yaml", dir+"/"+base+".yml")
}

// roleFile finds a role's dir/main (or dir/<from>); a missing <from> file
// named by tasks_from & co. is an error, a missing main is not.
func (l *loader) roleFile(ref *RoleRef, fsys fs.FS, dir, from string) (string, bool) {
	name, ok := mainFile(fsys, dir, from)
	if !ok && from != "" {
		l.add(&LoadError{Pos: ref.Pos, Msg: fmt.Sprintf("role %q has no %s file %q", ref.Name, dir, from)})
	}
	return name, ok
}

func (l *loader) roleVars(ref *RoleRef, fsys fs.FS, dir, from string) map[string]any {
	name, ok := l.roleFile(ref, fsys, dir, from)
	if !ok {
		return map[string]any{}
	}
	return l.varsFile(fsys, name)
}

// roleMeta reads meta/main.yaml: dependencies and allow_duplicates.
func (l *loader) roleMeta(r *Role) {
	name, ok := mainFile(r.FS, "meta", "")
	if !ok {
		return
	}
	n, s, ok := l.readYAML(r.FS, name)
	if !ok || isNull(n) {
		return
	}
	if resolve(n).Kind != yaml.MappingNode {
		l.errorf(s, n, "role meta: want a mapping, got %s", kindName(n))
		return
	}
	for _, kv := range l.pairs(s, n) {
		switch kv.Key {
		case "dependencies":
			r.Deps = l.roleRefs(s, kv.Value, "dependencies")
		case "allow_duplicates":
			r.AllowDuplicates, _ = l.boolean(s, kv.Value, kv.Key)
		case "galaxy_info", "argument_specs", "collections":
		default:
			l.errorf(s, kv.KeyN, "role meta: unknown key %q%s", kv.Key, suggest(kv.Key, []string{"dependencies", "allow_duplicates", "galaxy_info", "argument_specs"}))
		}
	}
	for _, d := range r.Deps {
		d.Role = l.loadRole(d, roleFrom{})
	}
}

// roleRefKeys are the keys of a roles: entry that are not role parameters.
var roleRefKeys = map[string]bool{"role": true, "name": true, "vars": true, "when": true, "tags": true}

// roleRefs reads a roles: or dependencies: list: names, or mappings with
// role: (or name:), vars:, when:, tags: and old-style parameters.
func (l *loader) roleRefs(s src, n *yaml.Node, what string) []*RoleRef {
	r := resolve(n)
	if isNull(r) {
		return nil
	}
	if r.Kind != yaml.SequenceNode {
		l.errorf(s, n, "%s: want a list of roles, got %s", what, kindName(n))
		return nil
	}
	var out []*RoleRef
	for _, item := range r.Content {
		if ref := l.roleRef(s, item, what); ref != nil {
			out = append(out, ref)
		}
	}
	return out
}

func (l *loader) roleRef(s src, item *yaml.Node, what string) *RoleRef {
	ref := &RoleRef{Pos: s.pos(item)}
	ir := resolve(item)
	if isString(ir) {
		ref.Name = ir.Value
	} else if ir.Kind == yaml.MappingNode {
		for _, kv := range l.pairs(s, ir) {
			l.roleRefKey(s, ref, kv)
		}
	} else {
		l.errorf(s, item, "%s: want a role name or a mapping, got %s", what, kindName(item))
		return nil
	}
	if ref.Name == "" {
		l.errorf(s, item, "%s: role entry has no role name", what)
		return nil
	}
	if IsTemplated(ref.Name) {
		l.errorf(s, item, "%s: role name %q cannot hold {{ }} (use include_role)", what, ref.Name)
		return nil
	}
	return ref
}

func (l *loader) roleRefKey(s src, ref *RoleRef, kv pair) {
	switch kv.Key {
	case "role", "name":
		ref.Name, _ = l.str(s, kv.Value, kv.Key)
	case "vars":
		for k, v := range l.vars(s, kv.Value) {
			setVar(&ref.Vars, k, v)
		}
	case "when":
		ref.When = l.conds(s, kv.Value, "when")
	case "tags":
		ref.Tags = l.tags(s, kv.Value)
	case "become":
		ref.Become = l.boolPtr(s, kv.Value, kv.Key)
	case "become_user":
		ref.BecomeUser, _ = l.str(s, kv.Value, kv.Key)
		l.checkTemplated(s, kv.Value, kv.Key)
	default:
		if taskKeys[kv.Key] || unsupportedTaskKeys[kv.Key] != "" {
			l.errorf(s, kv.KeyN, "keyword %q is not supported on a role reference (only when, tags, vars, become, become_user); set it on the role's tasks", kv.Key)
			return
		}
		if !validVarName(kv.Key) {
			l.errorf(s, kv.KeyN, "role parameter %q is not a valid variable name", kv.Key)
			return
		}
		v, _ := l.value(s, kv.Value)
		l.checkTemplated(s, kv.Value, kv.Key)
		setVar(&ref.Vars, kv.Key, v)
	}
}

func setVar(m *map[string]any, k string, v any) {
	if *m == nil {
		*m = map[string]any{}
	}
	(*m)[k] = v
}

// expandRole returns the tasks and handlers a role reference contributes
// to a play: dependencies first, each role instance once per play unless
// allow_duplicates, with the reference's when/tags folded in.
func (l *loader) expandRole(ref *RoleRef, when, tags []string, seen map[string]bool) ([]*Task, []*Task) {
	if ref.Role == nil {
		return nil, nil
	}
	if seen == nil && l.play != nil {
		seen = l.play.roleSeen
	}
	if seen == nil {
		seen = map[string]bool{}
	}
	key := roleKey(ref)
	if seen[key] && !ref.Role.AllowDuplicates {
		return nil, nil
	}
	seen[key] = true
	when = append(append([]string(nil), when...), ref.When...)
	tags = append(append([]string(nil), tags...), ref.Tags...)
	var tasks, handlers []*Task
	for _, d := range ref.Role.Deps {
		t, h := l.expandRole(d, when, tags, seen)
		tasks, handlers = append(tasks, t...), append(handlers, h...)
	}
	fold(ref.Role.Tasks, when, tags)
	tasks = append(tasks, ref.Role.Tasks...)
	applyImport(tasks, &Task{Become: ref.Become, BecomeUser: ref.BecomeUser})
	handlers = append(handlers, ref.Role.Handlers...)
	return tasks, handlers
}

// ExpandRole returns the tasks and handlers to run for a role loaded with
// LoadRole (include_role): its dependencies' first, each role once unless
// allow_duplicates, with the dependencies' when/tags folded into their
// tasks.
func ExpandRole(r *Role) (tasks, handlers []*Task) {
	l := newLoaderNoEval()
	return l.expandRole(&RoleRef{Name: r.Name, Vars: r.Params, Role: r}, nil, nil, map[string]bool{})
}

// roleKey identifies a role instance for "once per play": its name and
// parameters.
func roleKey(ref *RoleRef) string {
	return ref.Name + fmt.Sprint(ref.Vars)
}

// expandIncluded returns what include_role runs for r (loaded with
// LoadRole), whose own tasks are own (main or tasks_from): the tasks of its
// dependencies first, each dependency once per seen (the play's) unless
// allow_duplicates, then own; and the handlers of the dependencies and r.
// As in Ansible, r's tasks also see its dependencies' defaults and vars,
// below its own: they are merged into r.Defaults and r.Vars.
func expandIncluded(r *Role, own []*Task, seen map[string]bool) (tasks, handlers []*Task) {
	l := newLoaderNoEval()
	for _, d := range r.Deps {
		t, h := l.expandRole(d, nil, nil, seen)
		tasks, handlers = append(tasks, t...), append(handlers, h...)
	}
	defaults, vars := map[string]any{}, map[string]any{}
	visited := map[*Role]bool{r: true}
	var walk func(refs []*RoleRef)
	walk = func(refs []*RoleRef) {
		for _, d := range refs {
			if d.Role == nil || visited[d.Role] {
				continue
			}
			visited[d.Role] = true
			walk(d.Role.Deps)
			defaults, vars = mergeVars(defaults, d.Role.Defaults), mergeVars(vars, d.Role.Vars)
		}
	}
	walk(r.Deps)
	r.Defaults, r.Vars = mergeVars(defaults, r.Defaults), mergeVars(vars, r.Vars)
	return append(tasks, own...), append(handlers, r.Handlers...)
}

// seedRoleSeen marks the play's roles (and their dependencies) as applied,
// with the keys expandRole uses.
func seedRoleSeen(seen map[string]bool, refs []*RoleRef) {
	for _, ref := range refs {
		if ref.Role == nil || seen[roleKey(ref)] {
			continue
		}
		seen[roleKey(ref)] = true
		seedRoleSeen(seen, ref.Role.Deps)
	}
}
