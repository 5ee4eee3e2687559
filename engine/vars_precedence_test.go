package engine

import (
	"testing"
)

// TestVarsPrecedence checks each precedence level against the one below
// it: every case sets "level" at two adjacent levels and expects the
// higher one on host h1.
func TestVarsPrecedence(t *testing.T) {
	role := func(defaults, vars string) map[string]string {
		m := map[string]string{"roles/r/tasks/main.yaml": "- name: show\n  debug: {msg: '{{ level }}'}\n"}
		if defaults != "" {
			m["roles/r/defaults/main.yaml"] = "level: " + defaults + "\n"
		}
		if vars != "" {
			m["roles/r/vars/main.yaml"] = "level: " + vars + "\n"
		}
		return m
	}
	const invNoGroupLevel = `
all:
  vars: {ansible_connection: local}
  hosts:
    h1: {}
`
	tests := []struct {
		name  string
		inv   string
		files map[string]string
		extra map[string]any
		want  string
	}{
		{name: "role default alone", inv: invNoGroupLevel, files: role("role_default", ""), want: "role_default"},
		{name: "group vars over role default", files: role("role_default", ""), want: "group_web"},
		{name: "host vars over group vars", inv: `
all:
  vars: {ansible_connection: local, level: group_all}
  hosts:
    h1: {level: host}
`, files: role("", ""), want: "host"},
		{name: "host_vars file over inventory", inv: invNoGroupLevel,
			files: mergeFiles(role("", ""), map[string]string{"host_vars/h1.yaml": "level: host_vars_file\n"}), want: "host_vars_file"},
		{name: "play vars over inventory", files: map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  vars: {level: play}
  tasks:
    - name: show
      debug: {msg: '{{ level }}'}
`}, want: "play"},
		{name: "vars_files over play vars", files: map[string]string{"v.yaml": "level: vars_file\n", "site.yaml": `
- hosts: h1
  gather_facts: false
  vars: {level: play}
  vars_files: [v.yaml]
  tasks:
    - name: show
      debug: {msg: '{{ level }}'}
`}, want: "vars_file"},
		{name: "role vars over play vars", files: mergeFiles(role("role_default", "role_vars"), map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  vars: {level: play}
  roles: [r]
`}), want: "role_vars"},
		{name: "block vars over play vars", files: map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  vars: {level: play}
  tasks:
    - block:
        - name: show
          debug: {msg: '{{ level }}'}
      vars: {level: block}
`}, want: "block"},
		{name: "task vars over block vars", files: map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - block:
        - name: show
          debug: {msg: '{{ level }}'}
          vars: {level: task}
      vars: {level: block}
`}, want: "task"},
		{name: "include_vars over task vars", files: map[string]string{"iv.yaml": "level: include_vars\n", "site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - include_vars: iv.yaml
    - name: show
      debug: {msg: '{{ level }}'}
      vars: {level: task}
`}, want: "include_vars"},
		{name: "set_fact over include_vars", files: map[string]string{"iv.yaml": "level: include_vars\n", "site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - include_vars: iv.yaml
    - set_fact: {level: set_fact}
    - name: show
      debug: {msg: '{{ level }}'}
`}, want: "set_fact"},
		{name: "register over task vars", files: map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - command: echo hi
      register: level
    - name: show
      debug: {msg: '{{ level.stdout }}'}
      vars: {level: {stdout: task}}
`}, want: "hi"},
		{name: "extra vars over set_fact", extra: map[string]any{"level": "extra"}, files: map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - set_fact: {level: set_fact}
    - name: show
      debug: {msg: '{{ level }}'}
`}, want: "extra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := tc.files
			if _, ok := files["site.yaml"]; !ok {
				files = mergeFiles(files, map[string]string{"site.yaml": "- hosts: h1\n  gather_facts: false\n  roles: [r]\n"})
			}
			f := newFixture(t, tc.inv, files)
			f.opts.ExtraVars = tc.extra
			rep := f.run(t)
			if rep.ExitCode() != 0 {
				t.Fatalf("exit %d: %v", rep.ExitCode(), f.rec.msgs("show"))
			}
			if got, want := f.rec.msgs("show"), []string{"h1=" + tc.want}; !equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func mergeFiles(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
