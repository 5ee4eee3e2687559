package inventory

import (
	"reflect"
	"strings"
	"testing"
)

// precedenceInventory has every inventory-file level set for host h1:
// all -> parent (depth 1) -> child (depth 2), plus siblings a and b (depth
// 1) and the host itself.
const precedenceInventory = `all:
  vars: {v: all-inv, only_all: 1}
  children:
    parent:
      vars: {v: parent-inv}
      children:
        child:
          vars: {v: child-inv}
          hosts:
            h1: {v: host-inv}
    a:
      vars: {s: a-inv}
      hosts: {h1: }
    b:
      vars: {s: b-inv}
      hosts: {h1: }
`

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		inv     string            // replaces precedenceInventory when set
		files   map[string]string // group_vars/, host_vars/ files
		key     string
		want    any
		wantSrc string // the layer that supplied it
	}{
		{name: "all group vars in the inventory file", key: "only_all", want: 1, wantSrc: "hosts.yaml group all"},
		{name: "child group over parent", inv: strings.Replace(precedenceInventory, "h1: {v: host-inv}", "h1:", 1), key: "v", want: "child-inv", wantSrc: "hosts.yaml group child"},
		{name: "parent group over all", inv: strings.NewReplacer("h1: {v: host-inv}", "h1:", "{v: child-inv}", "{}").Replace(precedenceInventory), key: "v", want: "parent-inv", wantSrc: "hosts.yaml group parent"},
		{name: "same depth: alphabetical, b wins", key: "s", want: "b-inv", wantSrc: "hosts.yaml group b"},
		{name: "ansible_group_priority: higher wins", inv: strings.Replace(precedenceInventory, "{s: a-inv}", "{s: a-inv, ansible_group_priority: 10}", 1), key: "s", want: "a-inv", wantSrc: "hosts.yaml group a"},
		{
			name: "group_vars/all over every inventory group var", key: "s", want: "gv-all", wantSrc: "group_vars/all.yaml",
			files: map[string]string{"group_vars/all.yaml": "s: gv-all\n"},
		},
		{
			name: "group_vars/GROUP over group_vars/all", key: "s", want: "gv-a", wantSrc: "group_vars/a.yml",
			files: map[string]string{"group_vars/all.yaml": "s: gv-all\n", "group_vars/a.yml": "s: gv-a\n"},
		},
		{
			name: "group_vars in group order: child over parent, b over a", key: "s", want: "gv-child", wantSrc: "group_vars/child",
			files: map[string]string{"group_vars/parent": "s: gv-parent\n", "group_vars/child": "s: gv-child\n", "group_vars/b.yaml": "s: gv-b\n", "group_vars/a.yaml": "s: gv-a\n"},
		},
		{
			name: "inventory host vars over group_vars", key: "v", want: "host-inv", wantSrc: "hosts.yaml host h1",
			files: map[string]string{"group_vars/child.yaml": "v: gv-child\n"},
		},
		{
			name: "host_vars over inventory host vars", key: "v", want: "hv", wantSrc: "host_vars/h1.yaml",
			files: map[string]string{"host_vars/h1.yaml": "v: hv\n"},
		},
		{
			name: "directory files merged in lexical order", key: "v", want: "second", wantSrc: "host_vars/h1/20-b.yaml",
			files: map[string]string{"host_vars/h1/20-b.yaml": "v: second\n", "host_vars/h1/10-a.yml": "v: first\nw: 1\n", "host_vars/h1/00sub/5.json": `{"v": "nested"}`},
		},
		{
			name: "directory wins over NAME.yaml (first found only)", key: "s", want: "dir", wantSrc: "group_vars/all/main.yaml",
			files: map[string]string{"group_vars/all/main.yaml": "s: dir\n", "group_vars/all.yaml": "s: file\n"},
		},
		{
			name: "hidden, backup and other extensions skipped", key: "s", want: "kept", wantSrc: "group_vars/all/main",
			files: map[string]string{"group_vars/all/main": "s: kept\n", "group_vars/all/.hidden.yaml": "s: hidden\n", "group_vars/all/x.yaml~": "s: backup\n", "group_vars/all/z.txt": "s: txt\n"},
		},
		{
			name: "replace, not deep merge", key: "m", want: map[string]any{"y": 2}, wantSrc: "group_vars/b.yaml",
			files: map[string]string{"group_vars/all.yaml": "m: {x: 1}\n", "group_vars/b.yaml": "m: {y: 2}\n"},
		},
		{
			name: "empty and comment-only files are fine", key: "s", want: "b-inv", wantSrc: "hosts.yaml group b",
			files: map[string]string{"group_vars/all.yaml": "", "host_vars/h1.yaml": "# nothing\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := precedenceInventory
			if tt.inv != "" {
				src = tt.inv
			}
			files := map[string]string{"hosts.yaml": src}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeTree(t, files)
			inv, err := Load(dir + "/hosts.yaml")
			if err != nil {
				t.Fatal(err)
			}
			h := inv.Hosts["h1"]
			if got := h.Vars[tt.key]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.key, got, tt.want)
			}
			src = ""
			for _, l := range h.Layers {
				if v, ok := l.Vars[tt.key]; ok && reflect.DeepEqual(v, tt.want) {
					src = l.Source
				}
			}
			if src != tt.wantSrc {
				t.Errorf("source of %s = %q, want %q (layers %v)", tt.key, src, tt.wantSrc, h.Layers)
			}
		})
	}
}

func TestLayerOrder(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"hosts.yaml":            precedenceInventory,
		"group_vars/all.yaml":   "x: 1\n",
		"group_vars/child.yaml": "x: 2\n",
		"group_vars/a.yaml":     "x: 3\n",
		"group_vars/b.yaml":     "x: 4\n",
		"group_vars/parent":     "x: 5\n",
		"group_vars/unused.yml": "not: [valid\n", // no host in this group: never read
		"host_vars/h1.yml":      "x: 6\n",
	})
	inv, err := Load(dir + "/hosts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range inv.Hosts["h1"].Layers {
		got = append(got, l.Source)
	}
	want := []string{
		"hosts.yaml group all", "hosts.yaml group a", "hosts.yaml group b", "hosts.yaml group parent", "hosts.yaml group child",
		"group_vars/all.yaml", "group_vars/a.yaml", "group_vars/b.yaml", "group_vars/parent", "group_vars/child.yaml",
		"hosts.yaml host h1", "host_vars/h1.yml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layers\n got %v\nwant %v", got, want)
	}
}

func TestVarsFileErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"bad yaml", map[string]string{"group_vars/all.yaml": "a: 1\nb: [\n"}, "group_vars/all.yaml:"},
		{"not a mapping", map[string]string{"host_vars/h1.yaml": "\n- a\n"}, "host_vars/h1.yaml:2:1: vars file must be a mapping, got a list"},
		{"duplicate key", map[string]string{"group_vars/a/x.yaml": "k: 1\nk: 2\n"}, `group_vars/a/x.yaml:2: mapping key "k" already defined at line 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"hosts.yaml": precedenceInventory}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeTree(t, files)
			_, err := Load(dir + "/hosts.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestImplicitLocalhostVarsFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"hosts":                    "[web]\nw1\n[all:vars]\nx=inv\n",
		"group_vars/all.yml":       "y: gv\n",
		"group_vars/web.yml":       "z: web-only\n",
		"host_vars/localhost.yaml": "ansible_connection: ssh\n",
	})
	inv, err := Load(dir + "/hosts")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := inv.Host("localhost")
	want := map[string]any{"x": "inv", "y": "gv", "ansible_connection": "ssh"}
	if !reflect.DeepEqual(h.Vars, want) {
		t.Errorf("localhost vars = %v, want %v", h.Vars, want)
	}
}
