package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
)

// TestProfileSlowest: each task is listed once with its slowest host,
// longest first (ties in run order), at most ten.
func TestProfileSlowest(t *testing.T) {
	var p profile
	res := func(task string, line int, host string, d time.Duration) engine.Event {
		return engine.Event{Type: engine.EventHostResult, Task: task, TaskPos: &engine.Pos{File: "site.yaml", Line: line, Col: 7},
			Host: host, Duration: d}
	}
	p.note(res("a", 1, "h1", 2*time.Second))
	p.note(res("a", 1, "h2", 3*time.Second))
	p.note(res("a", 1, "h3", time.Second))
	p.note(engine.Event{Type: engine.EventItem, Task: "a", Host: "h4", Duration: time.Hour})
	p.note(res("b", 5, "h1", 90*time.Second))
	p.note(res("tie1", 6, "h1", time.Second))
	p.note(res("tie2", 7, "h1", time.Second))
	for i := range 12 {
		p.note(res(fmt.Sprintf("quick%d", i), 10+i, "h1", time.Millisecond))
	}
	var out bytes.Buffer
	p.write(&out, func(title string) { fmt.Fprintf(&out, "== %s\n", title) })
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{
		"== SLOWEST TASKS",
		"    1m30s  b (site.yaml:5:7) on h1",
		"    3.00s  a (site.yaml:1:7) on h2",
		"    1.00s  tie1 (site.yaml:6:7) on h1",
		"    1.00s  tie2 (site.yaml:7:7) on h1",
		"    0.00s  quick0 (site.yaml:10:7) on h1",
	}
	if len(lines) != 1+slowTaskCount {
		t.Fatalf("got %d lines, want the banner and %d tasks:\n%s", len(lines), slowTaskCount, out.String())
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	var empty profile
	out.Reset()
	empty.write(&out, func(string) { out.WriteString("banner") })
	if out.Len() != 0 {
		t.Errorf("a run without results wrote %q", out.String())
	}
}
