package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRunVerdictOverrides(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: ignored
      command: "false"
      ignore_errors: true
    - name: not failed
      shell: exit 3
      register: r
      failed_when: r.rc != 3
      changed_when: false
    - name: failed by condition
      command: echo ERROR
      register: r2
      failed_when: "'ERROR' in r2.stdout"
`})
	rep := f.run(t)
	want := map[string][]string{"ignored": {"h1:ignored"}, "not failed": {"h1:ok"}, "failed by condition": {"h1:failed"}}
	for task, w := range want {
		if got := f.rec.results(task); !equal(got, w) {
			t.Errorf("%s = %v, want %v", task, got, w)
		}
	}
	s := rep.Stats["h1"]
	if s.Ignored != 1 || s.Failed != 1 || s.OK != 2 || s.Changed != 1 {
		t.Errorf("stats = %+v", *s)
	}
}

func TestRunLoopControl(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: items
      debug: {msg: "{{ idx }}:{{ pkg.name }}"}
      loop: "{{ [{'name': 'a'}, {'name': 'b'}] }}"
      loop_control: {loop_var: pkg, index_var: idx, label: "{{ pkg.name }}"}
      register: out
    - name: flat
      debug: {msg: "{{ item }}"}
      with_items: [[1, 2], 3]
    - name: count
      debug: {msg: "{{ out.results | length }} {{ out.results[1].msg }}"}
`})
	f.run(t)
	var labels, flat []string
	for _, e := range f.rec.events {
		if e.Type == EventItem && e.Task == "items" {
			labels = append(labels, fmt.Sprint(e.Item)+"="+e.Result.Msg)
		}
		if e.Type == EventItem && e.Task == "flat" {
			flat = append(flat, e.Result.Msg)
		}
	}
	if !equal(labels, []string{"a=0:a", "b=1:b"}) {
		t.Errorf("labels = %v", labels)
	}
	if !equal(flat, []string{"1", "2", "3"}) {
		t.Errorf("with_items = %v", flat)
	}
	if got := f.rec.msgs("count"); !equal(got, []string{"h1=2 1:b"}) {
		t.Errorf("count = %v", got)
	}
}

func TestRunStartAtTaskAndLimit(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - {name: first, debug: {msg: x}}
    - {name: second step, debug: {msg: x}}
    - {name: third, debug: {msg: x}}
`})
	f.opts.StartAtTask = "second*"
	f.opts.Limit = "web:!h2"
	f.run(t)
	var ran []string
	for _, e := range f.rec.events {
		if e.Type == EventHostResult {
			ran = append(ran, e.Task+"@"+e.Host)
		}
	}
	if got, want := strings.Join(ran, ","), "second step@h1,third@h1"; got != want {
		t.Errorf("ran %s, want %s", got, want)
	}
}

func TestRunNoHostsMatched(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": "- hosts: nosuch\n  tasks: [{debug: {msg: x}}]\n"})
	rep := f.run(t)
	if rep.ExitCode() != 0 || f.rec.count(EventWarning) != 1 {
		t.Errorf("exit %d warnings %d", rep.ExitCode(), f.rec.count(EventWarning))
	}
}

func TestRunErrors(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": "- hosts: all\n  tasks: [{nosuchmodule: {}}]\n"})
	_, err := Run(t.Context(), f.opts)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Errorf("unknown module: err = %v, want a *LoadError", err)
	}
	f.opts.Inventory = nil
	_, err = Run(t.Context(), f.opts)
	var oe *OptionsError
	if !errors.As(err, &oe) {
		t.Errorf("no inventory: err = %v, want *OptionsError", err)
	}
	f = newFixture(t, "", map[string]string{"site.yaml": "- hosts: all\n  tasks: [{debug: {msg: x}}]\n"})
	f.opts.Limit = "["
	_, err = Run(t.Context(), f.opts)
	if !errors.As(err, &oe) {
		t.Errorf("bad limit: err = %v, want *OptionsError", err)
	}
}

func TestRunIncludeRoleAndPause(t *testing.T) {
	f := newFixture(t, "", map[string]string{
		"roles/r/defaults/main.yaml": "who: default\n",
		"roles/r/tasks/main.yaml":    "- name: role main\n  shell: echo {{ who }} >> @DIR@/{{ inventory_hostname }}.r\n  notify: role handler\n",
		"roles/r/tasks/other.yaml":   "- name: role other\n  debug: {msg: 'other {{ who }} {{ role_name }}'}\n",
		"roles/r/handlers/main.yaml": "- name: role handler\n  shell: echo handled >> @DIR@/{{ inventory_hostname }}.r\n",
		"site.yaml": `
- hosts: web
  gather_facts: false
  tasks:
    - include_role: {name: r}
    - include_role: {name: r, tasks_from: other}
      vars: {who: param}
    - name: wait
      pause: {seconds: 0}
    - name: empty loop
      debug: {msg: x}
      loop: []
`})
	if rep := f.run(t); rep.ExitCode() != 0 {
		t.Fatalf("exit %d: %+v", rep.ExitCode(), f.rec.events)
	}
	if got := f.read(t, "h1.r"); got != "default\nhandled\n" {
		t.Errorf("h1.r = %q", got)
	}
	if got := f.rec.msgs("role other"); !equal(got, []string{"h1=other param r", "h2=other param r"}) {
		t.Errorf("role other = %v", got)
	}
	if got := f.rec.results("empty loop"); !equal(got, []string{"h1:skipped", "h2:skipped"}) {
		t.Errorf("empty loop = %v", got)
	}
}

func TestRunPauseInterrupted(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: long pause
      pause: {minutes: 10}
`})
	ctx, cancel := context.WithCancel(t.Context())
	f.opts.Sink = SinkFunc(func(e Event) {
		if e.Type == EventHostStart {
			cancel()
		}
	})
	rep := f.runCtx(t, ctx)
	if rep.ExitCode() != 99 {
		t.Errorf("exit %d, want 99", rep.ExitCode())
	}
}

func TestRunBlockInheritance(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - block:
        - name: inner fail
          command: "false"
        - name: inner env
          shell: echo $B
          register: e
      ignore_errors: true
      environment: {B: from-block}
      when: inventory_hostname == 'h1'
    - name: show
      debug: {msg: "{{ e.stdout }}"}
`})
	rep := f.run(t)
	if got := f.rec.results("inner fail"); !equal(got, []string{"h1:ignored"}) {
		t.Errorf("inner fail = %v", got)
	}
	if got := f.rec.msgs("show"); !equal(got, []string{"h1=from-block"}) {
		t.Errorf("show = %v", got)
	}
	if rep.ExitCode() != 0 {
		t.Errorf("exit %d", rep.ExitCode())
	}
}

func TestRunRollbackOnFailure(t *testing.T) {
	f := newFixture(t, "", map[string]string{
		"old.txt": "old\n",
		"roles/r/tasks/main.yaml": `
- name: new file
  copy: {content: "new\n", dest: "@DIR@/{{ inventory_hostname }}.new"}
- name: edit
  copy: {content: "edited\n", dest: "@DIR@/{{ inventory_hostname }}.old", backup: true}
- name: break h1
  fail: {}
  when: inventory_hostname == 'h1'
`,
		"roles/r/tasks/rollback.yaml": "- name: role undo\n  shell: touch @DIR@/{{ inventory_hostname }}.undone\n",
		"site.yaml": `
- hosts: web
  gather_facts: false
  rollback_on_failure: true
  pre_tasks:
    - shell: cp @DIR@/old.txt @DIR@/{{ inventory_hostname }}.old
      changed_when: false
  roles: [r]
`})
	rep := f.run(t)
	if !equal(rep.Failed, []string{"h1"}) {
		t.Fatalf("failed = %v", rep.Failed)
	}
	exists := f.exists
	if exists("h1.new") || !exists("h2.new") {
		t.Errorf("h1.new exists %v (want false), h2.new exists %v (want true)", exists("h1.new"), exists("h2.new"))
	}
	if got := f.read(t, "h1.old"); got != "old\n" {
		t.Errorf("h1.old = %q, want restored", got)
	}
	if got := f.read(t, "h2.old"); got != "edited\n" {
		t.Errorf("h2.old = %q", got)
	}
	if !exists("h1.undone") || exists("h2.undone") {
		t.Errorf("role rollback: h1 %v h2 %v", exists("h1.undone"), exists("h2.undone"))
	}
	if got := f.rec.results("rollback on failure"); !equal(got, []string{"h1:changed"}) {
		t.Errorf("rollback = %v", got)
	}
}

func TestRunModuleFiles(t *testing.T) {
	f := newFixture(t, "", map[string]string{
		"roles/r/templates/t.conf.tmpl": "host={{ .inventory_hostname }} v={{ .val }}\n",
		"roles/r/files/f.txt":           "role file\n",
		"roles/r/tasks/main.yaml": `
- template: {src: t.conf.tmpl, dest: "@DIR@/{{ inventory_hostname }}.conf"}
- copy: {src: f.txt, dest: "@DIR@/{{ inventory_hostname }}.f"}
`,
		"top.txt": "top file\n",
		"site.yaml": `
- hosts: h1
  gather_facts: false
  vars: {val: "{{ 40 + 2 }}"}
  roles: [r]
  tasks:
    - copy: {src: top.txt, dest: "@DIR@/h1.top"}
`})
	if rep := f.run(t); rep.ExitCode() != 0 {
		t.Fatalf("exit %d: %+v", rep.ExitCode(), f.rec.events)
	}
	for name, want := range map[string]string{"h1.conf": "host=h1 v=42\n", "h1.f": "role file\n", "h1.top": "top file\n"} {
		if got := f.read(t, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TestRunRollbackOnFailureIncludedRole: a host that fails in the tasks of
// a role another role include_role'd gets the including role's rollback
// tasks, which own what the included tasks changed.
func TestRunRollbackOnFailureIncludedRole(t *testing.T) {
	f := newFixture(t, "", map[string]string{
		"roles/outer/tasks/main.yaml":     "- include_role: {name: inner, tasks_from: host}\n",
		"roles/outer/tasks/rollback.yaml": "- name: outer undo\n  shell: touch @DIR@/{{ inventory_hostname }}.outer-undone\n",
		"roles/inner/tasks/host.yaml": `
- name: new file
  copy: {content: "new\n", dest: "@DIR@/{{ inventory_hostname }}.new"}
- name: break h1
  fail: {}
  when: inventory_hostname == 'h1'
`,
		"roles/inner/tasks/rollback.yaml": "- name: inner undo\n  shell: touch @DIR@/{{ inventory_hostname }}.inner-undone\n",
		"site.yaml": `
- hosts: web
  gather_facts: false
  rollback_on_failure: true
  roles: [outer]
`})
	rep := f.run(t)
	if !equal(rep.Failed, []string{"h1"}) {
		t.Fatalf("failed = %v", rep.Failed)
	}
	exists := f.exists
	if exists("h1.new") || !exists("h2.new") {
		t.Errorf("h1.new exists %v (want false: undone), h2.new exists %v (want true)", exists("h1.new"), exists("h2.new"))
	}
	if !exists("h1.outer-undone") || exists("h1.inner-undone") || exists("h2.outer-undone") {
		t.Errorf("rollback tasks: h1 outer %v inner %v, h2 outer %v; want the including role's on h1 only",
			exists("h1.outer-undone"), exists("h1.inner-undone"), exists("h2.outer-undone"))
	}
}
