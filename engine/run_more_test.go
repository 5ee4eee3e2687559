package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/transport"
)

// recordingConn records every command and fails the hosts listed in down
// as unreachable.
type recordingConn struct {
	mu    *sync.Mutex
	host  string
	cmds  *[]string
	down  bool
	inner transport.Conn
}

func (c *recordingConn) Exec(ctx context.Context, cmd string, in io.Reader, out, errw io.Writer) error {
	c.mu.Lock()
	*c.cmds = append(*c.cmds, c.host+": "+cmd)
	c.mu.Unlock()
	if c.down {
		return transport.Unreachable(c.host, errors.New("connection refused"))
	}
	return c.inner.Exec(ctx, cmd, in, out, errw)
}

func recordConns(f *fixture, down ...string) *[]string {
	var cmds []string
	mu := &sync.Mutex{}
	f.opts.Connect = func(h *inventory.Host) (transport.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		isDown := false
		for _, d := range down {
			isDown = isDown || d == h.Name
		}
		return &recordingConn{mu: mu, host: h.Name, cmds: &cmds, down: isDown, inner: &transport.Local{}}, nil
	}
	return &cmds
}

func TestRunUnreachable(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: first
      command: echo hi
      register: r
      until: r.rc == 0
      retries: 3
      delay: 0
    - name: second
      debug: {msg: x}
- hosts: all
  gather_facts: false
  tasks:
    - name: third
      debug: {msg: x}
`})
	cmds := recordConns(f, "h2")
	rep := f.run(t)
	if got := f.rec.results("first"); !equal(got, []string{"h1:changed", "h2:unreachable", "h3:changed"}) {
		t.Errorf("first = %v", got)
	}
	if got := f.rec.results("third"); !equal(got, []string{"h1:ok", "h3:ok"}) {
		t.Errorf("third = %v", got)
	}
	n := 0
	for _, c := range *cmds {
		if strings.HasPrefix(c, "h2:") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("h2 got %d commands, want 1 (no retry when unreachable)", n)
	}
	if rep.ExitCode() != 3 || !equal(rep.Unreachable, []string{"h2"}) || rep.Stats["h2"].Unreachable != 1 {
		t.Errorf("exit %d unreachable %v stats %+v", rep.ExitCode(), rep.Unreachable, rep.Stats["h2"])
	}
}

func TestRunBecomeAndEnvironment(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  become: true
  become_user: deploy
  environment: {PLAY_ENV: p}
  tasks:
    - name: as deploy
      command: id
      ignore_errors: true
      environment: {TASK_ENV: "{{ inventory_hostname }}"}
    - name: no become
      shell: "echo $PLAY_ENV"
      become: false
      register: e
    - name: env seen
      debug: {msg: "{{ e.stdout }}"}
`})
	cmds := recordConns(f)
	f.opts.Check = false
	f.run(t)
	all := strings.Join(*cmds, "\n")
	if !strings.Contains(all, "sudo -n -u deploy") {
		t.Errorf("no sudo to deploy in commands:\n%s", all)
	}
	if got := f.rec.msgs("env seen"); !equal(got, []string{"h1=p"}) {
		t.Errorf("env seen = %v\ncommands:\n%s", got, all)
	}
}

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
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(f.dir, name))
		return err == nil
	}
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

// panicConn stands for a buggy connection or module.
type panicConn struct{}

func (panicConn) Exec(context.Context, string, io.Reader, io.Writer, io.Writer) error {
	panic("boom")
}

func TestRunPanicIsHostFailure(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: web
  gather_facts: false
  tasks:
    - name: call
      command: "true"
`})
	f.opts.Connect = func(h *inventory.Host) (transport.Conn, error) {
		if h.Name == "h1" {
			return panicConn{}, nil
		}
		return &transport.Local{}, nil
	}
	rep := f.run(t)
	if got := f.rec.results("call"); !equal(got, []string{"h1:failed", "h2:changed"}) {
		t.Errorf("call = %v", got)
	}
	if msgs := f.rec.msgs("call"); !strings.Contains(msgs[0], "internal error") {
		t.Errorf("msg = %v", msgs)
	}
	if rep.ExitCode() != 2 {
		t.Errorf("exit %d", rep.ExitCode())
	}
}
