package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func taskStarts(r *recorder, task string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type == EventTaskStart && e.Task == task {
			out = append(out, strings.Join(e.Hosts, ","))
		}
	}
	return out
}

func TestRunSerialBatches(t *testing.T) {
	for _, tc := range []struct {
		serial string
		want   []string
	}{
		{"1", []string{"h1", "h2", "h3"}},
		{"[1, 2]", []string{"h1", "h2,h3"}},
		{"'67%'", []string{"h1,h2", "h3"}},
	} {
		t.Run(tc.serial, func(t *testing.T) {
			f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  serial: ` + tc.serial + `
  tasks:
    - name: t
      debug: {msg: x}
`})
			f.run(t)
			if got := taskStarts(f.rec, "t"); !equal(got, tc.want) {
				t.Errorf("batches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunAnyErrorsFatal(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: fail one
      command: "false"
      when: inventory_hostname == 'h2'
    - name: second
      debug: {msg: x}
- hosts: all
  gather_facts: false
  tasks:
    - name: next play
      debug: {msg: x}
`})
	rep := f.run(t)
	if got := f.rec.results("second"); len(got) != 0 {
		t.Errorf("second ran on %v", got)
	}
	if got := f.rec.results("next play"); len(got) != 0 {
		t.Errorf("next play ran on %v", got)
	}
	if rep.ExitCode() != 2 || !equal(rep.Failed, []string{"h2"}) {
		t.Errorf("exit %d failed %v, want 2 [h2]", rep.ExitCode(), rep.Failed)
	}
}

func TestRunMaxFailPercentage(t *testing.T) {
	for _, tc := range []struct {
		pct  string
		want []string
	}{
		{"30", nil},
		{"34", []string{"h1:ok", "h3:ok"}},
	} {
		t.Run(tc.pct, func(t *testing.T) {
			f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  max_fail_percentage: ` + tc.pct + `
  tasks:
    - name: fail one
      fail: {}
      when: inventory_hostname == 'h2'
    - name: second
      debug: {msg: x}
`})
			f.run(t)
			if got := f.rec.results("second"); !equal(got, tc.want) {
				t.Errorf("second = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunTags(t *testing.T) {
	const pb = `
- hosts: h1
  gather_facts: false
  tasks:
    - {name: untagged, debug: {msg: x}}
    - {name: x, debug: {msg: x}, tags: [x]}
    - {name: always, debug: {msg: x}, tags: [always]}
    - {name: never, debug: {msg: x}, tags: [never]}
    - {name: never-y, debug: {msg: x}, tags: [never, y]}
    - block:
        - {name: in-block, debug: {msg: x}}
      tags: [b]
`
	for _, tc := range []struct {
		tags, skip []string
		want       string
	}{
		{nil, nil, "untagged,x,always,in-block"},
		{[]string{"x"}, nil, "x,always"},
		{[]string{"y"}, nil, "always,never-y"},
		{[]string{"b"}, nil, "always,in-block"},
		{nil, []string{"always"}, "untagged,x,in-block"},
		{[]string{"never"}, nil, "always,never,never-y"},
		{[]string{"tagged"}, nil, "x,always,in-block"},
		{[]string{"untagged"}, nil, "untagged,always"},
	} {
		t.Run(fmt.Sprint(tc.tags, tc.skip), func(t *testing.T) {
			f := newFixture(t, "", map[string]string{"site.yaml": pb})
			f.opts.Tags, f.opts.SkipTags = tc.tags, tc.skip
			f.run(t)
			var ran []string
			for _, e := range f.rec.events {
				if e.Type == EventHostResult {
					ran = append(ran, e.Task)
				}
			}
			if got := strings.Join(ran, ","); got != tc.want {
				t.Errorf("ran %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRunOnceAndDelegate(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: once
      shell: echo {{ inventory_hostname }} >> @DIR@/once
      register: r
      run_once: true
    - name: see
      debug: {msg: "{{ r.cmd is defined }}"}
    - name: delegated
      shell: echo {{ inventory_hostname }} >> @DIR@/deleg
      delegate_to: localhost
`})
	if rep := f.run(t); rep.ExitCode() != 0 {
		t.Fatalf("exit %d", rep.ExitCode())
	}
	if got := f.read(t, "once"); got != "h1\n" {
		t.Errorf("once = %q", got)
	}
	if got := f.rec.msgs("see"); !equal(got, []string{"h1=true", "h2=true", "h3=true"}) {
		t.Errorf("see = %v", got)
	}
	if got := f.read(t, "deleg"); len(strings.Fields(got)) != 3 {
		t.Errorf("deleg = %q", got)
	}
	for _, e := range f.rec.events {
		if e.Type == EventHostResult && e.Task == "delegated" && e.Delegate != "localhost" {
			t.Errorf("delegate of %s = %q", e.Host, e.Delegate)
		}
	}
}

func TestRunCheckMode(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: would touch
      shell: touch @DIR@/checked
      register: w
    - name: really touch
      shell: touch @DIR@/forced
      check_mode: false
    - name: mode
      debug: {msg: "{{ ansible_check_mode }} {{ w.unknown }}"}
`})
	f.opts.Check = true
	if rep := f.run(t); rep.ExitCode() != 0 {
		t.Fatalf("exit %d", rep.ExitCode())
	}
	if _, err := os.Stat(filepath.Join(f.dir, "checked")); err == nil {
		t.Error("check mode ran the command")
	}
	if _, err := os.Stat(filepath.Join(f.dir, "forced")); err != nil {
		t.Error("check_mode: false did not run the command")
	}
	if got := f.rec.results("would touch"); !equal(got, []string{"h1:ok"}) {
		t.Errorf("would touch = %v", got)
	}
	if got := f.rec.msgs("mode"); !equal(got, []string{"h1=true true"}) {
		t.Errorf("mode = %v", got)
	}
}

func TestRunBuiltins(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: web
  gather_facts: false
  tasks:
    - set_fact: {n: 2, word: "w-{{ inventory_hostname }}"}
    - name: assert ok
      assert: {that: ["n == 2", "word is defined"]}
    - name: debug var
      debug: {var: word}
    - name: quiet
      debug: {msg: hidden, verbosity: 2}
    - name: assert bad
      assert: {that: "n == 3", fail_msg: "n is {{ n }}"}
      when: inventory_hostname == 'h1'
    - name: fail
      fail: {msg: "stop {{ inventory_hostname }}"}
    - name: unreached
      debug: {msg: x}
`})
	rep := f.run(t)
	want := map[string][]string{
		"assert ok":  {"h1=All assertions passed", "h2=All assertions passed"},
		"debug var":  {"h1=word: w-h1", "h2=word: w-h2"},
		"quiet":      {"h1=verbosity threshold not met", "h2=verbosity threshold not met"},
		"assert bad": {"h1=n is 2", "h2=Conditional result was False"},
		"fail":       {"h2=stop h2"},
		"unreached":  nil,
	}
	for task, w := range want {
		if got := f.rec.msgs(task); !equal(got, w) {
			t.Errorf("%s = %v, want %v", task, got, w)
		}
	}
	if rep.ExitCode() != 2 || !equal(rep.Failed, []string{"h1", "h2"}) {
		t.Errorf("exit %d failed %v", rep.ExitCode(), rep.Failed)
	}
}

func TestRunIncludeTasksLoop(t *testing.T) {
	f := newFixture(t, "", map[string]string{
		"inc.yaml": "- name: inc show\n  debug: {msg: '{{ item }}-{{ inventory_hostname }}-{{ extra }}'}\n",
		"site.yaml": `
- hosts: web
  gather_facts: false
  tasks:
    - include_tasks: inc.yaml
      loop: [a, b]
      vars: {extra: e}
`})
	if rep := f.run(t); rep.ExitCode() != 0 {
		t.Fatalf("exit %d: %v", rep.ExitCode(), f.rec.events)
	}
	want := []string{"h1=a-h1-e", "h2=a-h2-e", "h1=b-h1-e", "h2=b-h2-e"}
	if got := f.rec.msgs("inc show"); !equal(got, want) {
		t.Errorf("included = %v, want %v", got, want)
	}
}

func TestRunMetaEndHost(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - meta: end_host
      when: inventory_hostname == 'h2'
    - name: after
      debug: {msg: x}
`})
	rep := f.run(t)
	if got := f.rec.results("after"); !equal(got, []string{"h1:ok", "h3:ok"}) {
		t.Errorf("after = %v", got)
	}
	if rep.ExitCode() != 0 {
		t.Errorf("exit %d", rep.ExitCode())
	}
}

func TestRunInterrupted(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: slow
      command: sleep 30
    - name: after
      debug: {msg: x}
`})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	started := 0
	f.opts.Sink = SinkFunc(func(e Event) {
		f.rec.Event(e)
		if e.Type == EventHostStart {
			if started++; started == 3 {
				cancel()
			}
		}
	})
	rep := f.runCtx(t, ctx)
	if !rep.Interrupted || rep.ExitCode() != 99 {
		t.Errorf("interrupted %v exit %d, want true 99", rep.Interrupted, rep.ExitCode())
	}
	if f.rec.count(EventInterrupted) != 1 {
		t.Errorf("interrupted events = %d", f.rec.count(EventInterrupted))
	}
	if got := f.rec.results("after"); len(got) != 0 {
		t.Errorf("after ran: %v", got)
	}
}

func TestRunForksLimit(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: one at a time
      shell: echo start >> @DIR@/log; sleep 0.05; echo end >> @DIR@/log
`})
	f.opts.Forks = 1
	f.run(t)
	if got, want := f.read(t, "log"), strings.Repeat("start\nend\n", 3); got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
}

func TestRunEventsDeterministic(t *testing.T) {
	pb := map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: uneven
      shell: "sleep {{ {'h1': '0.2', 'h2': '0.1', 'h3': '0'}[inventory_hostname] }}"
    - name: loop
      debug: {msg: "{{ item }}"}
      loop: [1, 2]
`}
	var seqs []string
	for range 2 {
		f := newFixture(t, "", pb)
		f.run(t)
		var seq []string
		for _, e := range f.rec.events {
			if e.Type != EventHostStart && e.Type != EventRetry && e.Type != EventHostDone { // the live ones
				seq = append(seq, fmt.Sprintf("%s/%s/%s/%v", e.Type, e.Task, e.Host, e.Item))
			}
		}
		seqs = append(seqs, strings.Join(seq, "\n"))
	}
	if seqs[0] != seqs[1] {
		t.Errorf("event order differs:\n%s\n---\n%s", seqs[0], seqs[1])
	}
	if !strings.Contains(seqs[0], "host_result/uneven/h1/<nil>\nhost_result/uneven/h2/<nil>\nhost_result/uneven/h3") {
		t.Errorf("results not in host order:\n%s", seqs[0])
	}
}
