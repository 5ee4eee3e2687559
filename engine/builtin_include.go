package engine

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sync"
)

// include is one dynamic include on one host (one per loop item): the
// tasks it loaded and the variables its tasks see (loop variable, the
// include's vars).
type include struct {
	key   string
	name  string
	tasks []*Task
	role  *Role
	vars  map[string]any
}

// loaded caches what an include loaded, shared by the hosts that include
// the same file.
type loaded struct {
	once  sync.Once
	tasks []*Task
	role  *Role
	err   error
}

// builtinInclude loads the file (include_tasks) or role (include_role) the
// task names and queues it for the host; the included tasks run after the
// include task finished on every host, for the hosts that included them.
func builtinInclude(_ context.Context, tr *taskRun, o *outcome, s *scope) *TaskResult {
	args, err := tr.args(s)
	if err != nil {
		return errResult(err)
	}
	var inc include
	if tr.t.Module == "include_role" {
		name := rawArg(args, "name")
		if name == "" {
			return errResult(fmt.Errorf("include_role: name is required"))
		}
		from := rawArg(args, "tasks_from")
		inc.key, inc.name = "role\x00"+name+"\x00"+from, name
		inc.role, inc.tasks, err = tr.p.loadRoleInclude(tr.t, name, from)
	} else {
		file := rawArg(args, "file")
		if file == "" {
			return errResult(fmt.Errorf("include_tasks: file is required"))
		}
		inc.key, inc.name = "tasks\x00"+tr.incBase()+"\x00"+file, file
		inc.tasks, err = tr.p.loadTasksInclude(tr.t, file)
	}
	if err != nil {
		return errResult(fmt.Errorf("%s: %w", tr.t.Module, err))
	}
	inc.vars = tr.includeVars(s)
	o.includes = append(o.includes, inc)
	return &TaskResult{Msg: "included: " + inc.name}
}

func (tr *taskRun) incBase() string {
	return fmt.Sprintf("%p\x00%s", tr.t.FS, tr.t.Dir)
}

// includeVars are the variables an include passes to its tasks: the loop
// variables of the current item and the include task's vars.
func (tr *taskRun) includeVars(s *scope) map[string]any {
	vars := map[string]any{}
	for k, v := range tr.t.Vars {
		vars[k] = v
	}
	names := []string{tr.t.LoopVar, tr.t.IndexVar, "ansible_loop_var"}
	if tr.t.Loop != nil && tr.t.LoopVar == "" {
		names[0] = "item"
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		if v, ok := s.out[n]; ok {
			vars[n] = v
		}
	}
	return vars
}

func (p *playRun) loadCached(key string, load func() ([]*Task, *Role, error)) ([]*Task, *Role, error) {
	p.includeMu.Lock()
	l, ok := p.included[key]
	if !ok {
		l = &loaded{}
		p.included[key] = l
	}
	p.includeMu.Unlock()
	l.once.Do(func() { l.tasks, l.role, l.err = load() })
	return l.tasks, l.role, l.err
}

// loadTasksInclude loads an include_tasks file, found relative to the
// including task's file, then in its role's tasks/ folder.
func (p *playRun) loadTasksInclude(t *Task, file string) ([]*Task, error) {
	fsys, name, ok := IncludePath(t, file)
	if !ok {
		return nil, fmt.Errorf("tasks file %q not found", file)
	}
	key := fmt.Sprintf("tasks\x00%p\x00%s", fsys, name)
	tasks, _, err := p.loadCached(key, func() ([]*Task, *Role, error) {
		tasks, err := LoadTasks(fsys, name, t.Role, loadOptions(p.r.opts))
		return tasks, nil, err
	})
	return tasks, err
}

// loadRoleInclude loads a role for include_role: its dependencies' tasks
// (each once per play unless allow_duplicates) and its own (or those of
// tasks_from).
func (p *playRun) loadRoleInclude(t *Task, name, from string) (*Role, []*Task, error) {
	key := "role\x00" + name + "\x00" + from
	tasks, role, err := p.loadCached(key, func() ([]*Task, *Role, error) {
		opts := loadOptions(p.r.opts)
		role, err := LoadRole(name, t.Pos, p.pb.Dir, opts)
		if err != nil {
			return nil, nil, err
		}
		role.Includer = t.Role
		own := role.Tasks
		if from != "" && from != "main" {
			if own, err = tasksFrom(role, from, opts); err != nil {
				return nil, nil, err
			}
		}
		p.includeMu.Lock()
		defer p.includeMu.Unlock()
		if p.roleSeen == nil {
			p.roleSeen = map[string]bool{}
			seedRoleSeen(p.roleSeen, p.play.Roles)
		}
		tasks, handlers := expandIncluded(role, own, p.roleSeen)
		role.Handlers = handlers
		return tasks, role, nil
	})
	return role, tasks, err
}

// tasksFrom loads the tasks file of include_role's tasks_from.
func tasksFrom(role *Role, from string, opts LoadOptions) ([]*Task, error) {
	for _, cand := range []string{from, from + ".yaml", from + ".yml"} {
		name := path.Join("tasks", cand)
		if st, err := fs.Stat(role.FS, name); err == nil && !st.IsDir() {
			return LoadTasks(role.FS, name, role, opts)
		}
	}
	return nil, fmt.Errorf("role %s: tasks_from %q not found", role.Name, from)
}

// runIncludes runs what the hosts of a task included. Includes are taken
// slot by slot (the n-th include of each host: one per loop item), and
// within a slot hosts that included the same file run it together.
func (p *playRun) runIncludes(ctx context.Context, tr *taskRun, outs []*outcome) {
	slots := 0
	for _, o := range outs {
		if o != nil && !o.interrupted && p.live(o.host) {
			slots = max(slots, len(o.includes))
		}
	}
	for slot := 0; slot < slots; slot++ {
		var keys []string
		groups := map[string][]*outcome{}
		for _, o := range outs {
			if o == nil || o.interrupted || slot >= len(o.includes) {
				continue
			}
			k := o.includes[slot].key
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], o)
		}
		for _, k := range keys {
			if p.stopped(ctx) {
				return
			}
			p.runInclude(ctx, tr, slot, groups[k])
		}
	}
}

func (p *playRun) runInclude(ctx context.Context, tr *taskRun, slot int, group []*outcome) {
	first := group[0].includes[slot]
	if first.role != nil {
		p.handlers.add(first.role.Handlers)
	}
	var hosts []string
	add := map[string]map[string]any{}
	for _, o := range group {
		hosts = append(hosts, o.host)
		add[o.host] = o.includes[slot].vars
	}
	p.runTasks(ctx, first.tasks, hosts, tr.f.withInc(add))
}
