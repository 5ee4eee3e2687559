package engine

import (
	"path/filepath"
	"strings"
	"sync"

	"github.com/kplay/kplay/inventory"
)

// hostState is what a run knows of a host beyond the inventory: gathered
// facts, include_vars, set_fact and registered results. They last for the
// whole run (across plays), as Ansible's host facts. Maps are replaced,
// never changed in place, so a reader may keep one after unlocking.
type hostState struct {
	name string
	host *inventory.Host

	mu       sync.RWMutex
	facts    map[string]any
	gathered bool
	incVars  map[string]any
	setFacts map[string]any
}

// hostState returns the run's state of the named host, creating it.
func (r *runner) hostState(name string) *hostState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h, ok := r.hosts[name]; ok {
		return h
	}
	h := &hostState{name: name, host: r.lookupHost(name)}
	r.hosts[name] = h
	return h
}

// lookupHost finds an inventory host. A name the inventory does not know
// (a delegate_to target given by address) is reached with the default
// connection, except localhost and its addresses, which are local, as in
// Ansible.
func (r *runner) lookupHost(name string) *inventory.Host {
	if r.inv != nil {
		if h, ok := r.inv.Host(name); ok {
			return h
		}
	}
	switch name {
	case "localhost", "127.0.0.1", "::1":
		return &inventory.Host{Name: name, Vars: map[string]any{"ansible_connection": "local"}}
	}
	return &inventory.Host{Name: name, Vars: map[string]any{}}
}

// snapshot returns the host's run-time variable maps.
func (h *hostState) snapshot() (facts, inc, set map[string]any) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.facts, h.incVars, h.setFacts
}

// setVars adds set_fact or registered values (set == true) or include_vars
// values to the host.
func (h *hostState) setVars(vars map[string]any, set bool) {
	if len(vars) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if set {
		h.setFacts = mergeVars(h.setFacts, vars)
	} else {
		h.incVars = mergeVars(h.incVars, vars)
	}
}

// setFacts stores gathered facts.
func (h *hostState) setGathered(facts map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.facts = facts
	h.gathered = true
}

// layers lists the variables of host h for task t in precedence order,
// lowest first: role defaults, inventory, facts, play vars and vars_files,
// role vars and params, block vars, task vars, include vars, include_vars,
// set_fact and register, extra vars, magic variables.
func (p *playRun) layers(h *hostState, t *Task, f *frame) []layer {
	facts, inc, set := h.snapshot()
	ls := make([]layer, 0, 16)
	ls = append(ls, layer{"role defaults", p.roleDefaults, true})
	if t != nil && t.Role != nil {
		ls = append(ls, layer{"role " + t.Role.Name + " defaults", t.Role.Defaults, true})
	}
	ls = append(ls, layer{"inventory", h.host.Vars, true},
		layer{"facts", facts, false},
		layer{"play vars", p.play.Vars, true},
		layer{"vars_files", p.varsFiles, true},
		layer{"role vars", p.roleVars, true})
	if t != nil && t.Role != nil {
		ls = append(ls, layer{"role " + t.Role.Name + " vars", t.Role.Vars, true},
			layer{"role " + t.Role.Name + " params", t.Role.Params, true})
	}
	if f != nil {
		for _, b := range f.blocks {
			ls = append(ls, layer{"block vars", b.Vars, true})
		}
	}
	if t != nil {
		ls = append(ls, layer{"task vars", t.Vars, true})
	}
	if f != nil && f.inc != nil {
		ls = append(ls, layer{"include vars", f.inc[h.name], true})
	}
	ls = append(ls, layer{"include_vars", inc, true},
		layer{"set_fact/register", set, false},
		layer{"extra vars", p.r.extra, true})
	return append(ls, p.magic(h, t)...)
}

// scope builds the lazily rendered variables of host h for task t.
func (p *playRun) scope(h *hostState, t *Task, f *frame, tr *taskRun) *scope {
	s := newScopeCached(p.r.ev, p.layers(h, t, f), &p.r.tc)
	s.lazy["hostvars"] = func() any {
		if tr == nil {
			return p.hostvars()
		}
		tr.hvOnce.Do(func() { tr.hv = p.hostvars() })
		return tr.hv
	}
	return s
}

// magic returns the variables the engine defines for host h and task t:
// the play's (shared, see playMagic) and the host's own.
func (p *playRun) magic(h *hostState, t *Task) []layer {
	short, _, _ := strings.Cut(h.name, ".")
	m := map[string]any{
		"inventory_hostname":       h.name,
		"inventory_hostname_short": short,
		"group_names":              stringsToAny(h.host.Groups),
	}
	for k, v := range p.r.invMagic() {
		m[k] = v
	}
	if t != nil && t.Role != nil {
		m["role_name"] = t.Role.Name
		m["role_path"] = t.Role.Path
	}
	return []layer{{"magic", p.playMagic(), false}, {"magic", m, false}}
}

// playMagic returns the magic variables common to every host of the play
// (host lists, groups, modes), as refreshMagic last built them.
func (p *playRun) playMagic() map[string]any {
	if p.magicVars == nil {
		p.refreshMagic()
	}
	return p.magicVars
}

// refreshMagic rebuilds the play's magic variables. It runs before each
// task, when the set of live hosts may have changed, and never while a
// task runs, so goroutines read the map without locking.
func (p *playRun) refreshMagic() {
	live := p.liveOf(p.hosts)
	batch := stringsToAny(p.liveOf(p.batch))
	p.magicVars = map[string]any{
		"groups":                 p.r.groupMap(),
		"ansible_play_hosts_all": stringsToAny(p.hosts),
		"ansible_play_hosts":     stringsToAny(live),
		"ansible_play_batch":     batch,
		"play_hosts":             batch,
		"ansible_play_name":      p.play.Name,
		"playbook_dir":           p.pb.Dir,
		"ansible_check_mode":     p.r.opts.Check,
		"ansible_diff_mode":      p.r.opts.Diff,
		"ansible_verbosity":      p.r.opts.Verbosity,
		"ansible_run_tags":       stringsToAny(runTags(p.r.opts.Tags)),
		"ansible_skip_tags":      stringsToAny(p.r.opts.SkipTags),
		"omit":                   omitValue,
	}
}

// invMagic are Ansible's inventory_dir and inventory_file: the folder and
// path of the inventory the hosts come from (absolute when known).
func (r *runner) invMagic() map[string]any {
	if r.inv == nil || r.inv.Path == "" {
		return nil
	}
	file, dir := r.inv.Path, r.inv.Dir
	if abs, err := filepath.Abs(file); err == nil {
		file = abs
	}
	if dir == "" {
		dir = filepath.Dir(file)
	} else if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return map[string]any{"inventory_dir": dir, "inventory_file": file}
}

// preHostMagic are the magic variables that make sense before any host is
// chosen (play hosts:, task names): groups, playbook_dir and the
// inventory's paths.
func (r *runner) preHostMagic(pb *Playbook) map[string]any {
	m := map[string]any{"groups": r.groupMap()}
	if pb != nil && pb.Dir != "" {
		m["playbook_dir"] = pb.Dir
	}
	for k, v := range r.invMagic() {
		m[k] = v
	}
	return m
}

// taskName is the task's display name with {{ }} rendered as Ansible does
// at task start: with what every host shares (role defaults, play vars,
// vars_files, role vars, extra vars, the play's magic variables), not any
// host's own. A name that cannot be rendered so is shown as written.
func (p *playRun) taskName(t *Task) string {
	if !strings.Contains(t.Name, "{{") {
		return t.DisplayName()
	}
	magic := map[string]any{}
	for k, v := range p.playMagic() {
		magic[k] = v
	}
	for k, v := range p.r.invMagic() {
		magic[k] = v
	}
	s := newScope(p.r.ev, []layer{
		{"role defaults", p.roleDefaults, true},
		{"play vars", p.play.Vars, true},
		{"play vars_files", p.varsFiles, true},
		{"role vars", p.roleVars, true},
		{"extra vars", p.r.extra, true},
		{"magic", magic, false},
	})
	name, err := s.renderString(t.Name)
	if err != nil {
		return t.DisplayName()
	}
	if t.Role != nil {
		return t.Role.Name + " : " + name
	}
	return name
}

// displayName is the task name of this run's events (see taskName).
func (tr *taskRun) displayName() string {
	if tr.name != "" {
		return tr.name
	}
	return tr.t.DisplayName()
}

func runTags(tags []string) []string {
	if len(tags) == 0 {
		return []string{"all"}
	}
	return tags
}

// groupMap is the groups magic variable, computed once per run.
func (r *runner) groupMap() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups == nil {
		r.groups = map[string]any{}
		if r.inv != nil {
			for g, hosts := range r.inv.GroupMap() {
				r.groups[g] = stringsToAny(hosts)
			}
		}
	}
	return r.groups
}

// hostvars maps every inventory host (and every host seen in the run) to
// its variables at play level, rendered. It is built once per task that
// uses it and then only read, so goroutines may share it.
func (p *playRun) hostvars() map[string]any {
	names := []string{}
	if p.r.inv != nil {
		names = append(names, p.r.inv.Order...)
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for _, n := range p.hosts {
		if !seen[n] {
			names = append(names, n)
		}
	}
	hv := make(map[string]any, len(names))
	for _, n := range names {
		s := newScopeCached(p.r.ev, p.layers(p.r.hostState(n), nil, nil), &p.r.tc)
		hv[n] = s.all()
	}
	return hv
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
