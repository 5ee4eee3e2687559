package inventory

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	iniSection   = regexp.MustCompile(`^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$`)
	iniGroupName = regexp.MustCompile(`^([^:\]\s]+)\s*(?:#.*)?$`)
)

// iniParser is the state of one pass over an INI inventory, following
// Ansible's ini plugin: lines before any section belong to "ungrouped";
// [g] lists hosts, [g:children] groups, [g:vars] key=value lines.
type iniParser struct {
	b       *builder
	group   string
	state   string
	line    int
	pending map[string]*pendingDecl // groups referenced before being declared
	porder  []string
}

// pendingDecl remembers a [g:vars] or [g:children] reference to a group
// that must be declared somewhere in the file.
type pendingDecl struct {
	state   string
	line    int
	parents []string
}

// parseINI reads Ansible's INI inventory format.
func parseINI(b *builder, data []byte) error {
	p := &iniParser{b: b, group: "ungrouped", state: "hosts", pending: map[string]*pendingDecl{}}
	for _, raw := range strings.Split(string(data), "\n") {
		p.line++
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if err := p.parseLine(line); err != nil {
			return err
		}
	}
	for _, name := range p.porder {
		d, ok := p.pending[name]
		if !ok {
			continue
		}
		if d.state == "vars" {
			return fmt.Errorf("%s: section [%s:vars] not valid for undefined group: %s", b.pos(d.line), name, name)
		}
		return fmt.Errorf("%s: section [%s:children] includes undefined group: %s", b.pos(d.line), d.parents[len(d.parents)-1], name)
	}
	return nil
}

func (p *iniParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", p.b.pos(p.line), fmt.Sprintf(format, args...))
}

func (p *iniParser) parseLine(line string) error {
	if m := iniSection.FindStringSubmatch(line); m != nil {
		return p.section(m[1], m[2])
	}
	if line[0] == '[' && !strings.Contains(line, "]") {
		return p.errorf("unclosed section header: %q (want [name], [name:children] or [name:vars])", line)
	}
	if line[0] == '[' && line[len(line)-1] == ']' {
		return p.errorf("invalid section entry: %q: make sure that there are no spaces or other invalid characters in the section entry", line)
	}
	switch p.state {
	case "hosts":
		return p.hostLine(line)
	case "vars":
		return p.varLine(line)
	default:
		return p.childLine(line)
	}
}

// section starts a [name] / [name:children] / [name:vars] section.
func (p *iniParser) section(name, state string) error {
	if state == "" {
		state = "hosts"
	}
	if state != "hosts" && state != "children" && state != "vars" {
		return p.errorf("section [%s:%s] has unknown type: %s", name, state, state)
	}
	p.group, p.state = name, state
	if _, ok := p.b.groups[name]; !ok {
		if _, waiting := p.pending[name]; state == "vars" && !waiting {
			p.addPending(name, &pendingDecl{state: "vars", line: p.line})
		}
	}
	p.b.addGroup(name, p.b.pos(p.line))
	if d, ok := p.pending[name]; ok && state != "vars" {
		if d.state == "children" {
			return p.resolveChildren(name)
		}
		delete(p.pending, name)
	}
	return nil
}

func (p *iniParser) addPending(name string, d *pendingDecl) {
	p.pending[name] = d
	p.porder = append(p.porder, name)
}

// resolveChildren links a just-declared group to the parents that named it
// in [parent:children] before it was declared.
func (p *iniParser) resolveChildren(name string) error {
	d := p.pending[name]
	delete(p.pending, name)
	for _, parent := range d.parents {
		if err := p.b.addChild(parent, name, p.b.pos(d.line)); err != nil {
			return err
		}
		if pd, ok := p.pending[parent]; ok && pd.state == "children" {
			if err := p.resolveChildren(parent); err != nil {
				return err
			}
		}
	}
	return nil
}

// hostLine reads "name[:port] [key=value ...]" with shlex quoting.
func (p *iniParser) hostLine(line string) error {
	tokens, err := splitHostLine(line)
	if err != nil {
		return p.errorf("error parsing host definition %q: %v", line, err)
	}
	if len(tokens) == 0 {
		return nil
	}
	names, port, err := expandHostPattern(tokens[0])
	if err != nil {
		return p.errorf("%v", err)
	}
	type kv struct {
		k string
		v any
	}
	var vars []kv
	for _, t := range tokens[1:] {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return p.errorf("expected key=value host variable assignment, got: %s", t)
		}
		vars = append(vars, kv{k, iniValue(v)})
	}
	for _, h := range names {
		p.b.addHost(h, p.group, p.b.pos(p.line))
		if port != 0 {
			p.b.setHostVar(h, "ansible_port", port)
		}
		for _, e := range vars {
			p.b.setHostVar(h, e.k, e.v)
		}
	}
	return nil
}

// varLine reads "key = value" in a [group:vars] section; everything after
// the first '=' is the value.
func (p *iniParser) varLine(line string) error {
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return p.errorf("expected key=value, got: %s", line)
	}
	k = strings.TrimSpace(k)
	return p.b.setGroupVar(p.b.groups[p.group], k, iniValue(strings.TrimSpace(v)), p.b.pos(p.line))
}

// childLine reads one group name in a [group:children] section.
func (p *iniParser) childLine(line string) error {
	m := iniGroupName.FindStringSubmatch(line)
	if m == nil {
		return p.errorf("expected group name, got: %s", line)
	}
	child := m[1]
	if _, ok := p.b.groups[child]; ok {
		return p.b.addChild(p.group, child, p.b.pos(p.line))
	}
	if d, ok := p.pending[child]; ok {
		d.parents = append(d.parents, p.group)
		return nil
	}
	p.addPending(child, &pendingDecl{state: "children", line: p.line, parents: []string{p.group}})
	return nil
}
