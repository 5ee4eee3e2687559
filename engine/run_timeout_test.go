package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A task over its timeout: fails on the host with "timed out after", its
// command is killed (the marker it would write later never appears) and
// the next task still runs on hosts that did not time out.
func TestRunTaskTimeout(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: slow on h2
      shell: "if [ {{ inventory_hostname }} = h2 ]; then sleep 1.5; echo late > @DIR@/late; fi"
      timeout: "{{ 0.3 }}"
    - name: after
      shell: echo ok > @DIR@/{{ inventory_hostname }}.after
`})
	rep := f.run(t)
	if got, want := f.rec.results("slow on h2"), []string{"h1:changed", "h3:changed", "h2:failed"}; !sameSet(got, want) {
		t.Errorf("results = %v, want %v", got, want)
	}
	for _, m := range f.rec.msgs("slow on h2") {
		if strings.HasPrefix(m, "h2=") && !strings.Contains(m, "timed out after 300ms") {
			t.Errorf("h2 message = %q, want it to say timed out after 300ms", m)
		}
	}
	if !equal(rep.Failed, []string{"h2"}) {
		t.Errorf("failed = %v, want [h2]", rep.Failed)
	}
	for _, h := range []string{"h1", "h3"} {
		if _, err := os.Stat(filepath.Join(f.dir, h+".after")); err != nil {
			t.Errorf("%s did not run the next task: %v", h, err)
		}
	}
	time.Sleep(2 * time.Second) // past the time the command would have written
	if _, err := os.Stat(filepath.Join(f.dir, "late")); err == nil {
		t.Error("the timed out command was not killed: it wrote its marker")
	}
}

// Options.TaskTimeout applies to tasks without their own timeout:, and a
// task's timeout: 0 lifts it.
func TestRunTaskTimeoutDefault(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: unlimited
      command: sleep 0.5
      timeout: 0
    - name: limited
      command: sleep 5
`})
	f.opts.TaskTimeout = 200 * time.Millisecond
	rep := f.run(t)
	if got := f.rec.results("unlimited"); !equal(got, []string{"h1:changed"}) {
		t.Errorf("unlimited = %v, want changed", got)
	}
	if got := f.rec.msgs("limited"); len(got) != 1 || !strings.Contains(got[0], "command: timed out after 200ms") {
		t.Errorf("limited = %v, want command: timed out after 200ms", got)
	}
	if rep.ExitCode() != ExitFailed {
		t.Errorf("exit %d, want %d", rep.ExitCode(), ExitFailed)
	}
}

// A block's timeout: applies to its tasks; a task's own wins.
func TestRunTaskTimeoutBlock(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - block:
        - name: inherited
          command: sleep 5
        - name: own
          command: sleep 0.3
          timeout: 0
      always:
        - name: own too
          command: sleep 0.3
          timeout: 2
      timeout: 0.2
`})
	f.run(t)
	if got := f.rec.msgs("inherited"); len(got) != 1 || !strings.Contains(got[0], "timed out after 200ms") {
		t.Errorf("inherited = %v, want timed out after 200ms", got)
	}
	if got := f.rec.results("own too"); !equal(got, []string{"h1:changed"}) {
		t.Errorf("own too = %v, want changed", got)
	}
}

func TestRunTaskTimeoutBad(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: bad
      command: "true"
      timeout: "{{ 'soon' }}"
`})
	f.run(t)
	if got := f.rec.msgs("bad"); len(got) != 1 || !strings.Contains(got[0], "timeout:") {
		t.Errorf("bad = %v, want a timeout: error", got)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
