package engine

import (
	"fmt"
)

// HostVars returns a host's merged variables as a play of playbook would
// see them before its first task (no facts, nothing registered), rendered,
// and for each variable the source its value came from. It serves `kplay
// vars HOST [--explain]`. With playbook "", only inventory and extra vars
// count; otherwise the first play whose hosts include the host adds its
// role defaults, vars, vars_files and role vars. A value that cannot be
// rendered is shown as written.
func HostVars(opts Options, host string, playbook string) (map[string]any, map[string]string, error) {
	if opts.Inventory == nil {
		return nil, nil, &OptionsError{Msg: "no inventory"}
	}
	h, ok := opts.Inventory.Host(host)
	if !ok {
		return nil, nil, &OptionsError{Msg: fmt.Sprintf("host %q is not in the inventory", host)}
	}
	r := newRunner(opts)
	p := &playRun{r: r, pb: &Playbook{}, play: &Play{}, hosts: []string{host}, batch: []string{host},
		state: map[string]string{}}
	if playbook != "" {
		pb, err := LoadPlaybook(playbook, loadOptions(opts))
		if err != nil {
			return nil, nil, err
		}
		p.pb = pb
		if play := r.firstPlayOf(pb, host); play != nil {
			p.play = play
		}
	}
	p.collectRoleVars()
	if err := p.loadVarsFiles(); err != nil {
		return nil, nil, err
	}
	hs := &hostState{name: host, host: h}
	s := newScope(r.ev, p.explainLayers(hs, playbook))
	raw := map[string]any{}
	for k, v := range s.templ {
		raw[k] = v
	}
	vars := s.all()
	for k, v := range raw {
		if _, ok := vars[k]; !ok {
			vars[k] = v
		}
	}
	return vars, s.src, nil
}

// firstPlayOf returns the first play of pb whose hosts include host.
func (r *runner) firstPlayOf(pb *Playbook, host string) *Play {
	for _, play := range pb.Plays {
		hosts, err := r.playHosts(pb, play)
		if err != nil {
			continue
		}
		for _, h := range hosts {
			if h == host {
				return play
			}
		}
	}
	return nil
}

// explainLayers are the layers of HostVars, with the inventory split into
// its sources (inventory file groups, group_vars/, host_vars/).
func (p *playRun) explainLayers(h *hostState, playbook string) []layer {
	ls := []layer{{"role defaults", p.roleDefaults, true}}
	if len(h.host.Layers) > 0 {
		for _, l := range h.host.Layers {
			ls = append(ls, layer{l.Source, l.Vars, true})
		}
	} else {
		ls = append(ls, layer{"inventory", h.host.Vars, true})
	}
	where := "play"
	if playbook != "" {
		where = playbook + " play " + playName(p.play)
	}
	ls = append(ls,
		layer{where + " vars", p.play.Vars, true},
		layer{where + " vars_files", p.varsFiles, true},
		layer{"role vars", p.roleVars, true},
		layer{"extra vars", p.r.extra, true})
	magic := p.magic(h, nil)[1].vars
	if playbook != "" {
		magic["playbook_dir"] = p.pb.Dir
	}
	return append(ls, layer{"magic", magic, false})
}
