package engine

import (
	"fmt"
	"strings"
	"testing"
)

func TestRunOmitAndLazyVars(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  vars:
    base: "{{ inventory_hostname }}-base"
    derived: "{{ base }}-derived"
    listy: "{{ [1, 2, 3] }}"
    loop_a: "{{ loop_b }}"
    loop_b: "{{ loop_a }}"
    unused_broken: "{{ nowhere_defined }}"
  tasks:
    - name: omit
      command:
        cmd: pwd
        chdir: "{{ omit }}"
    - name: chain
      debug: {msg: "{{ derived }} {{ listy | length }}"}
    - name: loop
      debug: {msg: "{{ loop_a }}"}
`})
	f.run(t)
	if got := f.rec.results("omit"); !equal(got, []string{"h1:changed"}) {
		t.Errorf("omit = %v (%v)", got, f.rec.msgs("omit"))
	}
	if got := f.rec.msgs("chain"); !equal(got, []string{"h1=h1-base-derived 3"}) {
		t.Errorf("chain = %v", got)
	}
	if got := f.rec.msgs("loop"); len(got) != 1 || !strings.Contains(got[0], "refers to itself") {
		t.Errorf("loop = %v, want a loop error", got)
	}
}

func TestRunFactsAndHostvars(t *testing.T) {
	f := newFixture(t, `
all:
  vars: {ansible_connection: local, ansible_hostname: from-inventory}
  hosts:
    h1: {color: red}
    h2: {color: blue}
`, map[string]string{"site.yaml": `
- hosts: all
  gather_facts: true
  tasks:
    - name: facts
      debug: {msg: "{{ ansible_hostname != 'from-inventory' and ansible_processor_vcpus > 0 and ansible_architecture != '' }}"}
    - set_fact: {late: "{{ color }}-fact"}
- hosts: h1
  gather_facts: false
  tasks:
    - name: other
      debug: {msg: "{{ hostvars['h2'].color }} {{ hostvars['h2'].late }} {{ late }}"}
`})
	if rep := f.run(t); rep.ExitCode() != 0 {
		t.Fatalf("exit %d: %v", rep.ExitCode(), f.rec.msgs("facts"))
	}
	if got := f.rec.msgs("facts"); !equal(got, []string{"h1=true", "h2=true"}) {
		t.Errorf("facts = %v", got)
	}
	if got := f.rec.msgs("other"); !equal(got, []string{"h1=blue blue-fact red-fact"}) {
		t.Errorf("other = %v", got)
	}
}

func TestHostVars(t *testing.T) {
	f := newFixture(t, "", map[string]string{
		"roles/r/defaults/main.yaml": "rdef: 1\nlevel: role\n",
		"roles/r/tasks/main.yaml":    "- debug: {msg: x}\n",
		"site.yaml":                  "- hosts: web\n  vars: {pv: '{{ level }}-p'}\n  roles: [r]\n",
	})
	f.opts.ExtraVars = map[string]any{"ev": "e"}
	vars, src, err := HostVars(f.opts, "h1", f.opts.Playbooks[0])
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{"rdef": 1, "level": "group_web", "pv": "group_web-p", "ev": "e", "inventory_hostname": "h1"}
	for k, want := range checks {
		if got := vars[k]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if src["rdef"] != "role defaults" || src["ev"] != "extra vars" || !strings.Contains(src["level"], "web") {
		t.Errorf("sources = %v", src)
	}
	if _, _, err := HostVars(f.opts, "nosuch", ""); err == nil {
		t.Error("unknown host: no error")
	}
}

func TestRunSecretsAndNoLog(t *testing.T) {
	f := newFixture(t, "", map[string]string{
		"secret.yaml": "db_password: s3cr3t-pw\n",
		"site.yaml": `
- hosts: h1
  gather_facts: false
  secrets: [secret.yaml]
  tasks:
    - name: uses secret
      command: echo pw={{ db_password }}
      register: r
    - name: registered keeps value
      debug: {msg: "{{ r.stdout == 'pw=s3cr3t-pw' }}"}
    - name: hidden
      debug: {msg: "{{ db_password }}"}
      no_log: true
`})
	f.run(t)
	for _, e := range f.rec.events {
		if e.Result == nil {
			continue
		}
		if strings.Contains(e.Result.Stdout+e.Result.Cmd+e.Result.Msg+e.Msg, "s3cr3t") {
			t.Errorf("secret shown in %s event of %q: %+v", e.Type, e.Task, *e.Result)
		}
	}
	if got := f.rec.msgs("registered keeps value"); !equal(got, []string{"h1=true"}) {
		t.Errorf("registered = %v", got)
	}
}
