package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/modules"
)

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func render(t *testing.T, verbosity int, diff bool, events ...engine.Event) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	s := newTextSink(&out, &errOut, verbosity, diff, false)
	for _, e := range events {
		s.Event(e)
	}
	return out.String(), errOut.String()
}

func TestRenderLines(t *testing.T) {
	res := func(st engine.Status) *engine.TaskResult { return &engine.TaskResult{Status: st} }
	tests := []struct {
		name  string
		verb  int
		event engine.Event
		want  string
	}{
		{"ok", 0, engine.Event{Type: engine.EventHostResult, Host: "h1", Result: res(engine.StatusOK)}, "ok: [h1]\n"},
		{"changed delegated", 0, engine.Event{Type: engine.EventHostResult, Host: "h1", Delegate: "localhost", Result: res(engine.StatusChanged)}, "changed: [h1 -> localhost]\n"},
		{"skipping", 0, engine.Event{Type: engine.EventHostResult, Host: "h2", Result: res(engine.StatusSkipped)}, "skipping: [h2]\n"},
		{"unreachable", 0, engine.Event{Type: engine.EventHostResult, Host: "h3", Result: &engine.TaskResult{Status: engine.StatusUnreachable, Err: "dial tcp: refused"}}, "fatal: [h3]: UNREACHABLE! => dial tcp: refused\n"},
		{"item", 0, engine.Event{Type: engine.EventItem, Host: "h1", Item: "x", Result: res(engine.StatusChanged)}, "changed: [h1] => (item=x)\n"},
		{"retry", 0, engine.Event{Type: engine.EventRetry, Host: "h1", Task: "wait", Attempt: 1, Retries: 2}, "FAILED - RETRYING: [h1]: wait (2 retries left).\n"},
		{"failed", 0, engine.Event{Type: engine.EventHostResult, Host: "h1", Task: "ls", TaskPos: &engine.Pos{File: "site.yaml", Line: 3, Col: 7}, Result: &engine.TaskResult{
			Status: engine.StatusFailed, Failed: true, Msg: "non-zero return code", RC: 2, Cmd: "ls /nope", Stderr: "ls: /nope: No such file\n"}},
			"fatal: [h1]: FAILED! => non-zero return code\n  task: ls (site.yaml:3:7)\n  rc: 2\n  cmd: ls /nope\n  stderr:\n    ls: /nope: No such file\n"},
		{"ignored", 0, engine.Event{Type: engine.EventHostResult, Host: "h1", Result: &engine.TaskResult{Status: engine.StatusIgnored, Msg: "boom"}},
			"fatal: [h1]: FAILED! => boom\n...ignoring\n"},
		{"verbose ok", 1, engine.Event{Type: engine.EventHostResult, Host: "h1", Result: &engine.TaskResult{Status: engine.StatusChanged, Cmd: "echo hi", Stdout: "hi\n"}},
			"changed: [h1]\n  rc: 0\n  stdout:\n    hi\n"},
		{"very verbose ok", 2, engine.Event{Type: engine.EventHostResult, Host: "h1", Result: &engine.TaskResult{Status: engine.StatusChanged, Cmd: "echo hi", Stdout: "hi\n"}},
			"changed: [h1]\n  rc: 0\n  cmd: echo hi\n  stdout:\n    hi\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := render(t, tt.verb, false, tt.event)
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestRenderFailureTail(t *testing.T) {
	var lines []string
	for i := range 30 {
		lines = append(lines, "line"+string(rune('a'+i%26)))
	}
	got, _ := render(t, 0, false, engine.Event{Type: engine.EventHostResult, Host: "h", Result: &engine.TaskResult{
		Status: engine.StatusFailed, Msg: "x", Stderr: strings.Join(lines, "\n")}})
	if !strings.Contains(got, "stderr (last 20 of 30 lines):") || strings.Count(got, "\n    line") != 20 {
		t.Errorf("want the last 20 stderr lines, got:\n%s", got)
	}
}

func TestRenderBannersAndRecap(t *testing.T) {
	got, _ := render(t, 0, false,
		engine.Event{Type: engine.EventPlayStart, Play: "web"},
		engine.Event{Type: engine.EventTaskStart, Task: "role : install"},
		engine.Event{Type: engine.EventTaskStart, Task: "restart", IsHandler: true},
		engine.Event{Type: engine.EventRecap, Recap: map[string]*engine.Stats{
			"web10": {OK: 12, Changed: 1},
			"db":    {OK: 3, Failed: 1},
		}},
	)
	want := "\nPLAY [web] " + strings.Repeat("*", 69) + "\n" +
		"\nTASK [role : install] " + strings.Repeat("*", 58) + "\n" +
		"\nRUNNING HANDLER [restart] " + strings.Repeat("*", 54) + "\n" +
		"\nPLAY RECAP " + strings.Repeat("*", 69) + "\n" +
		"db    : ok=3    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0\n" +
		"web10 : ok=12   changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0\n"
	if got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

func TestRenderDebugAndDiff(t *testing.T) {
	got, _ := render(t, 0, true,
		engine.Event{Type: engine.EventTaskStart, Task: "say", Module: "debug"},
		engine.Event{Type: engine.EventHostResult, Host: "h1", Result: &engine.TaskResult{Status: engine.StatusOK, Msg: "hello <x>"}},
		engine.Event{Type: engine.EventTaskStart, Task: "write", Module: "copy"},
		engine.Event{Type: engine.EventHostResult, Host: "h1", Result: &engine.TaskResult{Status: engine.StatusChanged,
			Diff: []modules.Diff{{Path: "/etc/motd", Before: "a\nb\n", After: "a\nc\n"}}}},
	)
	for _, want := range []string{
		"ok: [h1] => {\n    \"msg\": \"hello <x>\"\n}\n",
		"changed: [h1]\n--- before: /etc/motd\n+++ after: /etc/motd\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; got:\n%s", want, got)
		}
	}
}

func TestUnifiedDiffEqual(t *testing.T) {
	if d := unifiedDiff("f", "same\n", "same\n"); d != nil {
		t.Errorf("equal contents gave a diff: %q", d)
	}
}

func TestRenderFailedItem(t *testing.T) {
	got, _ := render(t, 0, false, engine.Event{Type: engine.EventItem, Host: "h1", Item: "b",
		Result: &engine.TaskResult{Status: engine.StatusFailed, RC: 1, Cmd: "test b = a"}})
	want := "failed: [h1] (item=b) => non-zero return code 1\n  rc: 1\n  cmd: test b = a\n"
	if got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

// TestFailureSummaryGroups: one line per cause, with every host it hit;
// ignored failures and hosts the report does not list as failed are left
// out.
func TestFailureSummaryGroups(t *testing.T) {
	var out bytes.Buffer
	s := newTextSink(&out, &out, 0, false, false)
	pos := &engine.Pos{File: "site.yaml", Line: 4, Col: 7}
	fail := func(host, stderr string, st engine.Status) engine.Event {
		return engine.Event{Type: engine.EventHostResult, Host: host, Task: "check", TaskPos: pos,
			Result: &engine.TaskResult{Status: st, RC: 1, Stderr: stderr, Err: "dial: refused"}}
	}
	for _, e := range []engine.Event{
		fail("h2", "disk full\n", engine.StatusFailed),
		fail("h3", "disk full\n", engine.StatusFailed),
		fail("h4", "other\n", engine.StatusFailed),
		fail("h5", "x\n", engine.StatusIgnored),
		fail("h6", "", engine.StatusUnreachable),
		fail("rescued", "disk full\n", engine.StatusFailed),
	} {
		s.Event(e)
	}
	out.Reset()
	s.failureSummary([]string{"h2", "h3", "h4", "h5"}, []string{"h6"})
	want := "\nFAILURES " + strings.Repeat("*", 71) + "\n" +
		"UNREACHABLE on 1 host: h6\n  task: check (site.yaml:4:7)\n  error: dial: refused\n" +
		"FAILED on 2 hosts: h2, h3\n  task: check (site.yaml:4:7)\n  error: dial: refused: disk full\n" +
		"FAILED on 1 host: h4\n  task: check (site.yaml:4:7)\n  error: dial: refused: other\n"
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderVerboseMsg(t *testing.T) {
	got, _ := render(t, 1, false, engine.Event{Type: engine.EventHostResult, Host: "h1",
		Result: &engine.TaskResult{Status: engine.StatusChanged, Msg: "file written"}})
	if want := "changed: [h1]\n  msg: file written\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
