package engine

import (
	"path/filepath"
	"testing"
)

// TestPlayHostsSeesGroups checks that a play's hosts: is rendered with the
// magic variables known before a host is chosen (groups, playbook_dir,
// inventory_dir).
func TestPlayHostsSeesGroups(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: "{{ groups.db | default([]) | join(',') }}"
  gather_facts: false
  tasks:
    - name: by-groups
      debug: {msg: hi}
- hosts: "{{ 'h1' if playbook_dir == inventory_dir else 'h2' }}"
  gather_facts: false
  tasks:
    - name: by-dirs
      debug: {msg: hi}
`})
	f.run(t)
	if got := f.rec.results("by-groups"); !equal(got, []string{"h3:ok"}) {
		t.Errorf("by-groups = %v, want [h3:ok]", got)
	}
	if got := f.rec.results("by-dirs"); !equal(got, []string{"h1:ok"}) {
		t.Errorf("by-dirs = %v, want [h1:ok]", got)
	}
}

// TestInventoryMagicVars checks inventory_dir and inventory_file, in a run
// and in HostVars (kplay vars).
func TestInventoryMagicVars(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: inv
      debug: {msg: "{{ inventory_dir }} {{ inventory_file }}"}
`})
	f.run(t)
	dir := f.dir
	want := "h1=" + dir + " " + filepath.Join(dir, "hosts.yaml")
	if got := f.rec.msgs("inv"); !equal(got, []string{want}) {
		t.Errorf("inv = %v, want [%s]", got, want)
	}
	vars, src, err := HostVars(f.opts, "h2", "")
	if err != nil {
		t.Fatalf("HostVars: %v", err)
	}
	if vars["inventory_dir"] != dir || vars["inventory_file"] != filepath.Join(dir, "hosts.yaml") {
		t.Errorf("HostVars inventory_dir=%v inventory_file=%v", vars["inventory_dir"], vars["inventory_file"])
	}
	if src["inventory_dir"] != "magic" {
		t.Errorf("HostVars source of inventory_dir = %q, want magic", src["inventory_dir"])
	}
}

// TestTaskNameRendered checks that a task name with {{ }} is rendered at
// task start with play vars, extra vars and groups, and kept literal when
// it needs something only a host has.
func TestTaskNameRendered(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: web
  gather_facts: false
  vars:
    ver: "1.2"
  tasks:
    - name: "install {{ ver }} on {{ groups.web | length }} {{ mode }}"
      debug: {msg: hi}
    - name: "per host {{ inventory_hostname }}"
      debug: {msg: hi}
    - name: "templated keyword {{ ver }}"
      debug: {msg: hi}
      ignore_errors: "{{ ver == '1.2' }}"
`})
	f.opts.ExtraVars = map[string]any{"mode": "fast"}
	f.run(t)
	if got := f.rec.results("install 1.2 on 2 fast"); !equal(got, []string{"h1:ok", "h2:ok"}) {
		t.Errorf("rendered name results = %v", got)
	}
	if got := f.rec.results("per host {{ inventory_hostname }}"); !equal(got, []string{"h1:ok", "h2:ok"}) {
		t.Errorf("literal name results = %v", got)
	}
	if got := f.rec.results("templated keyword 1.2"); !equal(got, []string{"h1:ok", "h2:ok"}) {
		t.Errorf("templated keyword results = %v", got)
	}
	starts := 0
	for _, e := range f.rec.events {
		if e.Type == EventTaskStart && e.Task == "install 1.2 on 2 fast" {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("task_start with the rendered name: %d, want 1", starts)
	}
}
