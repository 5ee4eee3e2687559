package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/journal"
)

// resumeBook appends one line per task to the host's log; task 7 fails on
// h2 and h3 until the file "fixed" exists.
const resumeBook = `
- hosts: all
  gather_facts: false
  tasks:
    - {name: t1, shell: "echo t1 >> @DIR@/{{ inventory_hostname }}.log"}
    - {name: t2, shell: "echo t2-{{ inventory_hostname }} | tee -a @DIR@/{{ inventory_hostname }}.log", register: out}
    - {name: t3, shell: "echo t3 >> @DIR@/{{ inventory_hostname }}.log"}
    - {name: t4, copy: {content: "x\n", dest: "@DIR@/{{ inventory_hostname }}.conf"}}
    - {name: t5, shell: "echo t5 >> @DIR@/{{ inventory_hostname }}.log"}
    - {name: t6, shell: "echo t6 >> @DIR@/{{ inventory_hostname }}.log"}
    - {name: t7, shell: "test -e @DIR@/fixed || test {{ inventory_hostname }} = h1"}
    - {name: t8, shell: "echo t8 {{ out.stdout }} >> @DIR@/{{ inventory_hostname }}.log"}
`

func TestJournalAndResume(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": resumeBook})
	runs := filepath.Join(f.dir, "runs")
	f.opts.JournalDir = runs
	rep := f.run(t)
	if !equal(rep.Failed, []string{"h2", "h3"}) {
		t.Fatalf("failed hosts %v, want h2 h3", rep.Failed)
	}
	meta, entries, err := journal.Read(runs, rep.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Status != journal.StatusFailed || !equal(meta.Failed, []string{"h2", "h3"}) {
		t.Errorf("meta: status %q failed %v", meta.Status, meta.Failed)
	}
	// 8 tasks on h1, 7 on h2 and h3; t4 created a file on each host.
	if len(entries) != 22 || meta.Changes != 3 {
		t.Errorf("%d entries, %d changes; want 22 and 3", len(entries), meta.Changes)
	}
	for _, e := range entries {
		if e.Task == "t4" && (len(e.Changes) != 1 || e.Changes[0].Existed) {
			t.Errorf("t4 on %s: changes %+v", e.Host, e.Changes)
		}
		if e.TaskID == "" || e.ArgsHash == "" {
			t.Errorf("%s on %s: no task id or args hash", e.Task, e.Host)
		}
	}

	// Fix the cause and resume: only h2 and h3, only from t7.
	if err := os.WriteFile(filepath.Join(f.dir, "fixed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h1Before := f.read(t, "h1.log")
	f.opts.Resume = ResumeFrom(entries)
	f.opts.Only = meta.Failed
	f.rec.events = nil
	rep = f.run(t)
	if len(rep.Failed) != 0 {
		t.Fatalf("resumed run failed on %v", rep.Failed)
	}
	if got := f.read(t, "h1.log"); got != h1Before {
		t.Errorf("h1 was touched by the resumed run:\n%s", got)
	}
	for _, h := range []string{"h2", "h3"} {
		want := "t1\nt2-" + h + "\nt3\nt5\nt6\nt8 t2-" + h + "\n"
		if got := f.read(t, h+".log"); got != want {
			t.Errorf("%s.log after resume:\n%s\nwant:\n%s", h, got, want)
		}
	}
	for _, m := range f.rec.msgs("t3") {
		if !strings.Contains(m, "resumed") {
			t.Errorf("t3 not resumed: %s", m)
		}
	}
	if got := f.rec.results("t1"); !equal(got, []string{"h2:ok", "h3:ok"}) && !equal(got, []string{"h2:changed", "h3:changed"}) {
		t.Errorf("t1 results %v", got)
	}
}

func TestJournalChangedArgsRunAgain(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - {name: w, shell: "echo {{ word }} >> @DIR@/w.log"}
`})
	f.opts.JournalDir = filepath.Join(f.dir, "runs")
	f.opts.ExtraVars = map[string]any{"word": "one"}
	rep := f.run(t)
	_, entries, err := journal.Read(f.opts.JournalDir, rep.RunID)
	if err != nil {
		t.Fatal(err)
	}
	f.opts.Resume = ResumeFrom(entries)
	f.opts.ExtraVars = map[string]any{"word": "two"}
	f.run(t)
	if got := f.read(t, "w.log"); got != "one\ntwo\n" {
		t.Errorf("a task whose arguments changed must run again on resume: w.log = %q", got)
	}
}
