package engine

import (
	"strings"
	"testing"
)

func TestRunUntilRetries(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: count
      shell: echo x >> @DIR@/n; wc -l < @DIR@/n
      register: n
      until: n.stdout | int >= 3
      retries: 5
      delay: 0
    - name: never
      command: "false"
      register: r
      until: r.rc == 0
      retries: 2
      delay: 0s
`})
	rep := f.run(t)
	if got := f.rec.results("count"); !equal(got, []string{"h1:changed"}) {
		t.Errorf("count = %v", got)
	}
	if got := f.rec.results("never"); !equal(got, []string{"h1:failed"}) {
		t.Errorf("never = %v", got)
	}
	if got, want := f.rec.count(EventRetry), 2+2; got != want {
		t.Errorf("retry events = %d, want %d", got, want)
	}
	if got := strings.TrimSpace(f.read(t, "n")); strings.Count(got, "x") != 3 {
		t.Errorf("attempts on count = %q, want 3", got)
	}
	if rep.ExitCode() != 2 {
		t.Errorf("exit = %d, want 2", rep.ExitCode())
	}
}

func TestRunBlockRescueAlways(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: maybe fail
          command: "false"
          when: inventory_hostname != 'h3'
        - name: after fail
          debug: {msg: ran}
      rescue:
        - name: rescue
          debug: {msg: "{{ ansible_failed_task.name }}"}
      always:
        - name: always
          debug: {msg: always}
    - name: next
      debug: {msg: next}
    - block:
        - name: fail again
          fail: {msg: boom}
          when: inventory_hostname == 'h2'
      always:
        - name: always2
          debug: {msg: always2}
    - name: last
      debug: {msg: last}
`})
	rep := f.run(t)
	checks := map[string][]string{
		"maybe fail": {"h1:failed", "h2:failed", "h3:skipped"},
		"after fail": {"h3:ok"},
		"rescue":     {"h1:ok", "h2:ok"},
		"always":     {"h1:ok", "h2:ok", "h3:ok"},
		"next":       {"h1:ok", "h2:ok", "h3:ok"},
		"always2":    {"h1:ok", "h2:ok", "h3:ok"},
		"last":       {"h1:ok", "h3:ok"},
	}
	for task, want := range checks {
		if got := f.rec.results(task); !equal(got, want) {
			t.Errorf("%s = %v, want %v", task, got, want)
		}
	}
	if got := f.rec.msgs("rescue"); !equal(got, []string{"h1=maybe fail", "h2=maybe fail"}) {
		t.Errorf("rescue msgs = %v", got)
	}
	if s := rep.Stats["h1"]; s.Rescued != 1 || s.Failed != 0 {
		t.Errorf("h1 stats = %+v, want rescued 1 failed 0", *s)
	}
	if !equal(rep.Failed, []string{"h2"}) || rep.ExitCode() != 2 {
		t.Errorf("failed = %v exit %d, want [h2] 2", rep.Failed, rep.ExitCode())
	}
}

func TestRunHandlers(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: change twice
      shell: echo change
      loop: [1, 2]
      notify: [h-a, topic]
    - name: unchanged
      shell: echo nothing
      changed_when: false
      notify: h-b
    - name: change h1 only
      shell: echo x
      changed_when: inventory_hostname == 'h1'
      notify: h-b
  handlers:
    - name: h-b
      shell: echo b >> @DIR@/{{ inventory_hostname }}.log
    - name: h-a
      shell: echo a >> @DIR@/{{ inventory_hostname }}.log
    - name: listener
      shell: echo l >> @DIR@/{{ inventory_hostname }}.log
      listen: topic
`})
	rep := f.run(t)
	if rep.ExitCode() != 0 {
		t.Fatalf("exit %d", rep.ExitCode())
	}
	// Definition order, once each; h-b only where it was notified by a change.
	if got, want := f.read(t, "h1.log"), "b\na\nl\n"; got != want {
		t.Errorf("h1.log = %q, want %q", got, want)
	}
	if got, want := f.read(t, "h2.log"), "a\nl\n"; got != want {
		t.Errorf("h2.log = %q, want %q", got, want)
	}
	if got := f.rec.results("h-b"); !equal(got, []string{"h1:changed"}) {
		t.Errorf("h-b = %v", got)
	}
}

func TestRunHandlersFlushAndFailedHost(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: web
  gather_facts: false
  tasks:
    - name: change
      shell: echo c
      notify: h
    - name: fail h2
      fail: {}
      when: inventory_hostname == 'h2'
    - meta: flush_handlers
    - name: after flush
      shell: test -f @DIR@/{{ inventory_hostname }}.h
  handlers:
    - name: h
      shell: touch @DIR@/{{ inventory_hostname }}.h
`})
	f.run(t)
	if got := f.rec.results("h"); !equal(got, []string{"h1:changed"}) {
		t.Errorf("handler = %v, want h1 only (h2 failed)", got)
	}
	if got := f.rec.results("after flush"); !equal(got, []string{"h1:changed"}) {
		t.Errorf("after flush = %v", got)
	}
}
