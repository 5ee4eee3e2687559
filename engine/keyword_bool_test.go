package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunTemplatedBoolKeywords: ignore_errors, check_mode and the like
// written as templates are rendered per host, on tasks and on blocks.
func TestRunTemplatedBoolKeywords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: web
  gather_facts: false
  vars:
    lenient: "{{ inventory_hostname == 'h1' }}"
  tasks:
    - name: dry
      shell: touch @DIR@/{{ inventory_hostname }}-dry
      check_mode: "{{ inventory_hostname == 'h1' }}"
    - name: breaks
      command: 'false'
      ignore_errors: "{{ lenient }}"
    - block:
        - name: breaks in block
          command: 'false'
      ignore_errors: "{{ lenient }}"
    - name: skipped with undefined
      command: 'false'
      ignore_errors: "{{ nosuch }}"
      when: false
`})
	f.run(t)
	if got := f.rec.results("breaks"); !equal(got, []string{"h1:ignored", "h2:failed"}) {
		t.Errorf("breaks = %v, want h1 ignored, h2 failed", got)
	}
	if got := f.rec.results("breaks in block"); !equal(got, []string{"h1:ignored"}) {
		t.Errorf("breaks in block = %v, want h1 ignored (h2 failed before)", got)
	}
	if got := f.rec.results("skipped with undefined"); !equal(got, []string{"h1:skipped"}) {
		t.Errorf("skipped with undefined = %v, want h1 skipped", got)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "h1-dry")); err == nil {
		t.Error("check_mode rendered true on h1 but the command ran")
	}
	if _, err := os.Stat(filepath.Join(f.dir, "h2-dry")); err != nil {
		t.Errorf("check_mode rendered false on h2 but the command did not run: %v", err)
	}
}

func TestRunTemplatedBoolKeywordErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: not a bool
      command: 'true'
      ignore_errors: "{{ 'maybe' }}"
`})
	f.run(t)
	msgs := strings.Join(f.rec.msgs("not a bool"), "\n")
	if got := f.rec.results("not a bool"); !equal(got, []string{"h1:failed"}) || !strings.Contains(msgs, `ignore_errors: "maybe" is not a boolean`) {
		t.Errorf("not a bool: %v %q", got, msgs)
	}
	// Per-host errors end the host: a second task with the same kind of
	// fault is checked in its own run.
	f2 := newFixture(t, "", map[string]string{"site.yaml": "- hosts: h1\n  gather_facts: false\n  tasks:\n    - name: undefined\n      command: 'true'\n      become: '{{ nosuch }}'\n"})
	f2.run(t)
	msgs = strings.Join(f2.rec.msgs("undefined"), "\n")
	if got := f2.rec.results("undefined"); !equal(got, []string{"h1:failed"}) || !strings.Contains(msgs, "become: ") || !strings.Contains(msgs, "nosuch") {
		t.Errorf("undefined: %v %q", got, msgs)
	}
}

func TestLoadTemplatedBoolKeywords(t *testing.T) {
	t.Parallel()
	site := "- hosts: all\n  tasks:\n    - command: ls\n      ignore_errors: '{{ a }}'\n      become: '{{ b }}'\n      check_mode: true\n" +
		"    - import_tasks: t.yaml\n      become: '{{ c }}'\n"
	dir := writeTree(t, map[string]string{"site.yaml": site, "t.yaml": "- command: ls\n- command: ls\n  become: false\n"})
	pb, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks := pb.Plays[0].Tasks
	if len(tasks) != 3 {
		t.Fatalf("%d tasks, want 3", len(tasks))
	}
	t0 := tasks[0]
	if t0.BoolExprs["ignore_errors"] != "{{ a }}" || t0.BoolExprs["become"] != "{{ b }}" || t0.Become != nil || t0.CheckMode == nil || !*t0.CheckMode {
		t.Errorf("task 0: BoolExprs %v, Become %v, CheckMode %v", t0.BoolExprs, t0.Become, t0.CheckMode)
	}
	if tasks[1].BoolExprs["become"] != "{{ c }}" || tasks[1].Become != nil {
		t.Errorf("imported task: BoolExprs %v, Become %v; want the import's become template", tasks[1].BoolExprs, tasks[1].Become)
	}
	if tasks[2].BoolExprs["become"] != "" || tasks[2].Become == nil || *tasks[2].Become {
		t.Errorf("imported task with its own become: BoolExprs %v, Become %v", tasks[2].BoolExprs, tasks[2].Become)
	}
}
