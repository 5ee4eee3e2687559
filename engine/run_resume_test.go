package engine

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// journalSink keeps, per host and task id, the last done result, as a
// journal would for --resume.
type journalSink struct {
	mu   sync.Mutex
	rec  *recorder
	done map[string]map[string]any
}

func (j *journalSink) Event(e Event) {
	j.rec.Event(e)
	if e.Type != EventHostResult || (e.Status != StatusOK && e.Status != StatusChanged) {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.done[e.Host+"|"+e.TaskID+"|"+e.ArgsHash] = e.Result.Map()
}

func (j *journalSink) resume(host, id, hash string) (map[string]any, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	m, ok := j.done[host+"|"+id+"|"+hash]
	return m, ok
}

func TestRunResume(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: web
  gather_facts: false
  tasks:
    - name: a
      shell: echo {{ inventory_hostname }} >> @DIR@/a.log; echo out-{{ inventory_hostname }}
      register: ra
      notify: h
    - name: b
      shell: test -f @DIR@/fixed -o {{ inventory_hostname }} = h2 && echo b >> @DIR@/b.log
    - name: use
      debug: {msg: "{{ ra.stdout }}"}
  handlers:
    - name: h
      shell: echo {{ inventory_hostname }} >> @DIR@/h.log
`})
	j := &journalSink{rec: f.rec, done: map[string]map[string]any{}}
	f.opts.Sink = j
	if rep := f.run(t); !equal(rep.Failed, []string{"h1"}) {
		t.Fatalf("first run failed = %v", rep.Failed)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "fixed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.rec.events = nil
	f.opts.Resume = j.resume
	if rep := f.run(t); rep.ExitCode() != 0 {
		t.Fatalf("resumed run exit %d", rep.ExitCode())
	}
	for name, want := range map[string]string{"a.log": "h1 h2", "b.log": "b b"} {
		lines := strings.Fields(f.read(t, name))
		sort.Strings(lines)
		if got := strings.Join(lines, " "); got != want {
			t.Errorf("%s = %q, want %q (each task once per host across both runs)", name, got, want)
		}
	}
	if got := f.rec.msgs("use"); !equal(got, []string{"h1=out-h1", "h2=out-h2"}) {
		t.Errorf("registered after resume = %v", got)
	}
	if got := strings.Fields(f.read(t, "h.log")); len(got) != 3 {
		t.Errorf("handler ran %v: want h2 in the first run, h1 and h2 (renotified) in the second", got)
	}
}
