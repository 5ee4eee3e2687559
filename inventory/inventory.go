// Package inventory reads Ansible inventories (YAML and INI, with
// group_vars/ and host_vars/ beside them), merges each host's inventory
// variables with Ansible's precedence, and selects hosts with Ansible's host
// patterns, so that kubeasz and kubespray inventories work unchanged.
//
// The package is pure: it parses and computes, it never connects to a host.
// Differences from Ansible are listed in docs/inventory.md.
package inventory

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Inventory is a parsed inventory: hosts, groups and each host's merged
// inventory variables. It is read-only after Load or Parse, so it may be
// shared by goroutines.
type Inventory struct {
	Path   string // the inventory file
	Dir    string // its folder (group_vars/, host_vars/, overrides live here)
	Hosts  map[string]*Host
	Order  []string // host names in inventory order (first appearance)
	Groups map[string]*Group
	// Warnings are the things Ansible only warns about (unknown keys in a
	// YAML group, a name used for both a host and a group), with positions,
	// for the CLI to print.
	Warnings []string

	implicit map[string]*Host // implicit localhost, 127.0.0.1, ::1
	index    map[string]int   // host name -> position in Order
}

// Group is an inventory group as written: its direct hosts and children and
// its own variables from the inventory file (not group_vars/).
type Group struct {
	Name     string
	Hosts    []string // direct hosts, in the order written
	Children []string
	Parents  []string
	Vars     map[string]any // vars from the inventory file only
	Pos      string         // file:line of the first definition ("" for implicit groups)

	depth    int // longest path from "all"
	priority int // ansible_group_priority, default 1
}

// Host is one inventory host with its merged inventory variables; the
// engine adds play and task variables on top of Vars.
type Host struct {
	Name   string
	Groups []string       // every group the host is in, ancestors included, excluding "all"; sorted as Ansible's group_names
	Vars   map[string]any // merged inventory vars with the precedence above
	Layers []Layer        // the same vars as ordered layers, lowest first, for `kplay vars --explain`
}

// Layer is one source of a host's variables, so that `kplay vars --explain`
// can say where a value comes from and what it overrides.
type Layer struct {
	Source string // e.g. "hosts.yaml group all", "group_vars/etcd.yaml"
	Vars   map[string]any
}

// Load reads the inventory file at path and the group_vars/ and host_vars/
// folders beside it. YAML or INI is chosen by extension (.yaml, .yml, .json
// are YAML; .ini is INI) and otherwise by content.
func Load(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse parses inventory data named name (used in errors and layer names);
// dir is the folder searched for group_vars/ and host_vars/ ("" = none). It
// exists apart from Load for tests and fuzzing.
func Parse(name string, data []byte, dir string) (*Inventory, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	b := newBuilder(name)
	var err error
	if isYAML(name, data) {
		err = parseYAML(b, data)
	} else {
		err = parseINI(b, data)
	}
	if err != nil {
		return nil, err
	}
	inv, err := b.finish()
	if err != nil {
		return nil, err
	}
	inv.Path, inv.Dir = name, dir
	if err := inv.computeVars(b, dir); err != nil {
		return nil, err
	}
	return inv, nil
}

// isYAML decides the format: by extension first, then by content. Content
// is YAML when its first significant line is not an INI section header and
// it decodes to a mapping whose values are all mappings or empty (a list of
// bare host names decodes to a string, "host:22" to a number).
func isYAML(name string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	case ".ini":
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			return false
		}
		break
	}
	var top map[string]any
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&top); err != nil || len(top) == 0 {
		return false
	}
	for _, v := range top {
		if _, ok := v.(map[string]any); !ok && v != nil {
			return false
		}
	}
	return true
}

// Host returns the named host; as in Ansible, "localhost", "127.0.0.1" and
// "::1" exist implicitly (ansible_connection=local, not in "all") when the
// inventory does not define them.
func (inv *Inventory) Host(name string) (*Host, bool) {
	if h, ok := inv.Hosts[name]; ok {
		return h, true
	}
	h, ok := inv.implicit[name]
	return h, ok
}

// GroupMap returns the "groups" magic variable: every group, "all" and
// "ungrouped" included, mapped to its hosts (its own and its descendants'),
// in inventory order.
func (inv *Inventory) GroupMap() map[string][]string {
	m := make(map[string][]string, len(inv.Groups))
	for name := range inv.Groups {
		m[name] = inv.groupHosts(name)
	}
	return m
}

// groupHosts lists the hosts of a group and of all its descendants, in
// inventory order.
func (inv *Inventory) groupHosts(name string) []string {
	seen := map[string]bool{}
	var walk func(g string)
	visited := map[string]bool{}
	walk = func(g string) {
		if visited[g] {
			return
		}
		visited[g] = true
		grp := inv.Groups[g]
		for _, h := range grp.Hosts {
			seen[h] = true
		}
		for _, c := range grp.Children {
			walk(c)
		}
	}
	walk(name)
	return inv.inOrder(seen)
}

// inOrder turns a set of host names into a list in inventory order.
func (inv *Inventory) inOrder(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return inv.rank(out[i]) < inv.rank(out[j]) })
	return out
}

// rank is a host's position in inventory order; implicit hosts come last.
func (inv *Inventory) rank(name string) int {
	if i, ok := inv.index[name]; ok {
		return i
	}
	return len(inv.Order)
}
