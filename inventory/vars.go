package inventory

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// localNames are the names Ansible resolves to the implicit localhost.
var localNames = []string{"localhost", "127.0.0.1", "::1"}

// varsExts are the suffixes tried for group_vars/NAME and host_vars/NAME,
// in Ansible's order; the first that exists is used.
var varsExts = []string{"", ".yml", ".yaml", ".json"}

// varsFiles loads group_vars/ and host_vars/ files once each.
type varsFiles struct {
	dir   string
	cache map[string][]Layer
}

// computeVars fills every host's Layers and Vars with Ansible's inventory
// precedence, and creates the implicit localhost entries.
func (inv *Inventory) computeVars(b *builder, dir string) error {
	vf := &varsFiles{dir: dir, cache: map[string][]Layer{}}
	file := filepath.Base(inv.Path)
	for _, name := range inv.Order {
		h := inv.Hosts[name]
		own := Layer{Source: file + " host " + name, Vars: b.hostVars[name]}
		if err := inv.fillVars(h, own, vf, file); err != nil {
			return err
		}
	}
	inv.implicit = map[string]*Host{}
	for _, name := range localNames {
		if _, ok := inv.Hosts[name]; ok {
			continue
		}
		h := &Host{Name: name, Groups: []string{}}
		own := Layer{Source: "implicit localhost", Vars: map[string]any{"ansible_connection": "local"}}
		if err := inv.fillVars(h, own, vf, file); err != nil {
			return err
		}
		inv.implicit[name] = h
	}
	return nil
}

// fillVars stacks, lowest first: the inventory file's "all" vars, its vars
// of the host's other groups (sorted as Ansible's sort_groups), the
// group_vars/ files in the same order, the file's host vars, then
// host_vars/ files; later layers replace whole keys.
func (inv *Inventory) fillVars(h *Host, own Layer, vf *varsFiles, file string) error {
	groups := inv.sortGroups(h.Groups)
	var layers []Layer
	for _, g := range append([]string{"all"}, groups...) {
		layers = addLayer(layers, Layer{Source: file + " group " + g, Vars: inv.Groups[g].Vars})
	}
	for _, g := range append([]string{"all"}, groups...) {
		ls, err := vf.load("group_vars", g)
		if err != nil {
			return err
		}
		layers = append(layers, ls...)
	}
	layers = addLayer(layers, own)
	ls, err := vf.load("host_vars", h.Name)
	if err != nil {
		return err
	}
	h.Layers = append(layers, ls...)
	h.Vars = map[string]any{}
	for _, l := range h.Layers {
		maps.Copy(h.Vars, l.Vars)
	}
	return nil
}

// addLayer appends a layer unless it is empty.
func addLayer(layers []Layer, l Layer) []Layer {
	if len(l.Vars) == 0 {
		return layers
	}
	return append(layers, l)
}

// sortGroups orders group names as Ansible's sort_groups: by depth (parents
// first), then ansible_group_priority (higher wins, so later), then name.
func (inv *Inventory) sortGroups(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "all" {
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := inv.Groups[out[i]], inv.Groups[out[j]]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		return a.Name < b.Name
	})
	return out
}

// load returns the layers of sub/NAME: the first of NAME, NAME.yml,
// NAME.yaml, NAME.json that exists; a directory contributes its files
// (recursively, in lexical order, hidden and ~ backup files skipped).
func (vf *varsFiles) load(sub, name string) ([]Layer, error) {
	if vf.dir == "" {
		return nil, nil
	}
	key := sub + "/" + name
	if ls, ok := vf.cache[key]; ok {
		return ls, nil
	}
	var paths []string
	for _, ext := range varsExts {
		p := filepath.Join(vf.dir, sub, name+ext)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.IsDir() {
			if paths, err = dirVarsFiles(p); err != nil {
				return nil, err
			}
		} else {
			paths = []string{p}
		}
		break
	}
	var ls []Layer
	for _, p := range paths {
		vars, err := loadVarsFile(p)
		if err != nil {
			return nil, err
		}
		src, err := filepath.Rel(vf.dir, p)
		if err != nil {
			src = p
		}
		ls = addLayer(ls, Layer{Source: filepath.ToSlash(src), Vars: vars})
	}
	vf.cache[key] = ls
	return ls, nil
}

// dirVarsFiles lists a group_vars/NAME/ directory as Ansible does.
func dirVarsFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("read vars directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		p, ext := filepath.Join(dir, n), filepath.Ext(n)
		if e.IsDir() {
			if ext == "" {
				sub, err := dirVarsFiles(p)
				if err != nil {
					return nil, err
				}
				out = append(out, sub...)
			}
			continue
		}
		if ext == "" || ext == ".yml" || ext == ".yaml" || ext == ".json" {
			out = append(out, p)
		}
	}
	return out, nil
}

// loadVarsFile reads one vars file: a YAML (or JSON) mapping, or nothing.
func loadVarsFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read vars file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	if len(doc.Content) == 0 || isNull(deref(doc.Content[0])) {
		return nil, nil
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d:%d: vars file must be a mapping, got %s", path, root.Line, root.Column, kindName(root))
	}
	v, err := decodeNode(path, root)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}
