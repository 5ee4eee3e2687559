package inventory

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// builder collects groups, hosts and inventory-file vars while a parser
// reads a file, then reconciles them as Ansible does (implicit "all" and
// "ungrouped", group depth, group_names).
type builder struct {
	file     string
	groups   map[string]*Group
	gorder   []string
	hosts    map[string]*Host
	order    []string
	hostVars map[string]map[string]any  // host vars from the inventory file
	inGroup  map[string]map[string]bool // group -> its direct hosts
	warnings []string
}

func newBuilder(file string) *builder {
	b := &builder{
		file:     file,
		groups:   map[string]*Group{},
		hosts:    map[string]*Host{},
		hostVars: map[string]map[string]any{},
		inGroup:  map[string]map[string]bool{},
	}
	b.addGroup("all", "")
	b.addGroup("ungrouped", "")
	return b
}

// pos formats a source position in the inventory file.
func (b *builder) pos(line int) string {
	return fmt.Sprintf("%s:%d", b.file, line)
}

// addGroup declares a group (again) and returns it.
func (b *builder) addGroup(name, pos string) *Group {
	if g, ok := b.groups[name]; ok {
		if g.Pos == "" {
			g.Pos = pos
		}
		return g
	}
	g := &Group{Name: name, Vars: map[string]any{}, Pos: pos, priority: 1}
	b.groups[name] = g
	b.gorder = append(b.gorder, name)
	return g
}

// addHost adds a host to a group, creating both if needed.
func (b *builder) addHost(name, group, pos string) {
	if _, ok := b.hosts[name]; !ok {
		b.hosts[name] = &Host{Name: name}
		b.order = append(b.order, name)
		b.hostVars[name] = map[string]any{}
	}
	g := b.addGroup(group, pos)
	if b.inGroup[group] == nil {
		b.inGroup[group] = map[string]bool{}
	}
	if !b.inGroup[group][name] {
		b.inGroup[group][name] = true
		g.Hosts = append(g.Hosts, name)
	}
}

// setHostVar sets an inventory-file host variable; a later value replaces
// an earlier one (hash_behaviour=replace).
func (b *builder) setHostVar(host, key string, v any) {
	b.hostVars[host][key] = v
}

// setGroupVar sets an inventory-file group variable; ansible_group_priority
// sets the group's priority instead, as in Ansible.
func (b *builder) setGroupVar(g *Group, key string, v any, pos string) error {
	if key == "ansible_group_priority" {
		n, ok := toInt(v)
		if !ok {
			return fmt.Errorf("%s: group %q: ansible_group_priority must be an integer, got %v", pos, g.Name, v)
		}
		g.priority = n
		return nil
	}
	g.Vars[key] = v
	return nil
}

// addChild makes child a child group of parent, refusing cycles.
func (b *builder) addChild(parent, child, pos string) error {
	p := b.addGroup(parent, pos)
	c := b.addGroup(child, pos)
	if path := b.pathDown(child, parent, map[string]bool{}); path != nil {
		cycle := append([]string{parent}, path...)
		return fmt.Errorf("%s: group %q as child of %q: cycle %s", pos, child, parent, strings.Join(cycle, " -> "))
	}
	if !slices.Contains(p.Children, child) {
		p.Children = append(p.Children, child)
	}
	if !slices.Contains(c.Parents, parent) {
		c.Parents = append(c.Parents, parent)
	}
	return nil
}

// pathDown returns the chain of groups from -> ... -> to following
// children, or nil when to is not from or one of its descendants.
func (b *builder) pathDown(from, to string, seen map[string]bool) []string {
	if from == to {
		return []string{from}
	}
	if seen[from] {
		return nil
	}
	seen[from] = true
	for _, c := range b.groups[from].Children {
		if p := b.pathDown(c, to, seen); p != nil {
			return append([]string{from}, p...)
		}
	}
	return nil
}

// finish reconciles the groups as Ansible's reconcile_inventory does and
// returns the inventory without variables.
func (b *builder) finish() (*Inventory, error) {
	all := b.groups["all"]
	for _, name := range b.gorder {
		if name != "all" && len(b.groups[name].Parents) == 0 {
			if err := b.addChild("all", name, b.groups[name].Pos); err != nil {
				return nil, err
			}
		}
	}
	if len(all.Parents) > 0 {
		return nil, fmt.Errorf("%s: group \"all\" cannot be a child of %q", b.file, all.Parents[0])
	}
	inv := &Inventory{
		Hosts: b.hosts, Order: b.order, Groups: b.groups,
		index: make(map[string]int, len(b.order)),
	}
	for i, h := range b.order {
		inv.index[h] = i
	}
	member := b.membership()
	b.reconcileUngrouped(member)
	member = b.membership()
	for _, name := range b.order {
		b.hosts[name].Groups = b.groupNames(member[name])
	}
	for _, name := range b.gorder {
		b.depth(b.groups[name], map[string]bool{})
		if _, ok := b.hosts[name]; ok {
			b.warnings = append(b.warnings, fmt.Sprintf("%s: found both group and host with same name: %s", b.file, name))
		}
	}
	inv.Warnings = b.warnings
	return inv, nil
}

// reconcileUngrouped puts hosts that belong to no group but "all" into
// "ungrouped" and takes hosts that do belong to one out of it.
func (b *builder) reconcileUngrouped(member map[string][]string) {
	ug := b.groups["ungrouped"]
	var keep []string
	for _, h := range b.order {
		other := false
		for _, g := range member[h] {
			if g != "all" && g != "ungrouped" {
				other = true
			}
		}
		if !other {
			keep = append(keep, h)
		}
	}
	ug.Hosts = keep
}

// membership maps each host to the groups that list it directly.
func (b *builder) membership() map[string][]string {
	member := map[string][]string{}
	for _, gname := range b.gorder {
		for _, h := range b.groups[gname].Hosts {
			member[h] = append(member[h], gname)
		}
	}
	return member
}

// groupNames returns the sorted names of the direct groups and all their
// ancestors, "all" excluded: Ansible's group_names.
func (b *builder) groupNames(direct []string) []string {
	set := map[string]bool{}
	var up func(g string)
	up = func(g string) {
		if set[g] {
			return
		}
		set[g] = true
		for _, p := range b.groups[g].Parents {
			up(p)
		}
	}
	for _, g := range direct {
		up(g)
	}
	delete(set, "all")
	names := make([]string, 0, len(set))
	for g := range set {
		names = append(names, g)
	}
	sort.Strings(names)
	return names
}

// depth computes the longest distance from "all" (0 for "all" itself),
// which orders group variables: parents before children.
func (b *builder) depth(g *Group, busy map[string]bool) int {
	if g.depth > 0 || g.Name == "all" || busy[g.Name] {
		return g.depth
	}
	busy[g.Name] = true
	d := 0
	for _, p := range g.Parents {
		d = max(d, b.depth(b.groups[p], busy)+1)
	}
	g.depth = d
	return d
}
