package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/inventory"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// boardEvents is a run on three hosts: a fact-less play whose second task
// is an until-loop still running on two hosts, one of which retried.
func boardEvents() []engine.Event {
	pos := &engine.Pos{File: "site.yaml", Line: 7, Col: 7}
	hosts := []string{"web1", "web2", "web3"}
	return []engine.Event{
		{Type: engine.EventRunStart, Time: at(0)},
		{Type: engine.EventPlayStart, Time: at(0), Play: "deploy", Hosts: hosts},
		{Type: engine.EventTaskStart, Time: at(0), Task: "prepare", Hosts: hosts},
		{Type: engine.EventHostStart, Time: at(0), Task: "prepare", Host: "web1"},
		{Type: engine.EventHostResult, Time: at(1), Task: "prepare", Host: "web1", Status: engine.StatusOK,
			Result: &engine.TaskResult{Status: engine.StatusOK}},
		{Type: engine.EventTaskStart, Time: at(1), Task: "wait for api", TaskPos: pos, Hosts: hosts},
		{Type: engine.EventHostStart, Time: at(1), Task: "wait for api", Host: "web2"},
		{Type: engine.EventHostStart, Time: at(3), Task: "wait for api", Host: "web1"},
		{Type: engine.EventRetry, Time: at(4), Task: "wait for api", Host: "web2", Attempt: 2, Retries: 3},
	}
}

func TestBoardLines(t *testing.T) {
	tests := []struct {
		name   string
		events int // how many of boardEvents
		total  int
		now    float64
		width  int
		want   string
	}{
		{"before any task", 2, 4, 0.5, 80, "[........................................] 0/4 tasks · 0s"},
		{"unknown total", 2, 0, 0.5, 80, "[........................................] 0 tasks done · 0s"},
		{"first task", 4, 4, 0.5, 80, "running: prepare for 0s\n" +
			"  hosts: 0/3 done · 1 running · 2 queued · 0 failed · 0 unreachable\n" +
			"  slowest: web1 0s\n" +
			"[........................................] 0/4 tasks · 0s"},
		{"retrying", 9, 4, 75, 80, "running: wait for api (site.yaml:7:7) for 1m14s\n" +
			"  hosts: 0/3 done · 2 running · 1 queued · 0 failed · 0 unreachable\n" +
			"  slowest: web2 1m14s, web1 1m12s\n" +
			"  retries: 2 failed, 3 left: web2\n" +
			"[##########..............................] 1/4 tasks · 1m15s"},
		{"more tasks than expected", 9, 1, 2, 80, "running: wait for api (site.yaml:7:7) for 1s\n" +
			"  hosts: 0/3 done · 2 running · 1 queued · 0 failed · 0 unreachable\n" +
			"  slowest: web2 1s, web1 0s\n" +
			"  retries: 2 failed, 3 left: web2\n" +
			"[####################....................] 1/2 tasks · 2s"},
		{"narrow terminal", 9, 4, 5, 30, "running: wait for api (site.…\n" +
			"  hosts: 0/3 done · 2 runnin…\n" +
			"  slowest: web2 4s, web1 2s\n" +
			"  retries: 2 failed, 3 left:…\n" +
			"[###.........] 1/4 tasks · 5s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := board{total: tt.total}
			for _, e := range boardEvents()[:tt.events] {
				b.event(e)
			}
			if got := strings.Join(b.lines(at(tt.now), tt.width), "\n"); got != tt.want {
				t.Errorf("board:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestBoardResults: when the task ends, its hosts' results fill done,
// failed and unreachable, and the run's lost hosts stay on the bar line.
func TestBoardResults(t *testing.T) {
	b := board{total: 3}
	for _, e := range boardEvents()[:7] {
		b.event(e)
	}
	for host, st := range map[string]engine.Status{"web1": engine.StatusFailed, "web2": engine.StatusOK, "web3": engine.StatusUnreachable} {
		b.event(engine.Event{Type: engine.EventHostResult, Time: at(2), Host: host, Status: st})
	}
	want := "running: wait for api (site.yaml:7:7) for 1s\n" +
		"  hosts: 3/3 done · 0 running · 0 queued · 1 failed · 1 unreachable\n" +
		"[###########........................] 1/3 tasks · 2s · 1 failed · 1 unreachable"
	if got := strings.Join(b.lines(at(2), 80), "\n"); got != want {
		t.Errorf("board:\n%s\nwant:\n%s", got, want)
	}
	b.event(engine.Event{Type: engine.EventPlayEnd, Time: at(2)})
	if got := b.lines(at(2), 80); len(got) != 1 || !strings.HasPrefix(got[0], "[#######################............] 2/3 tasks") {
		t.Errorf("after the play, board = %q, want the bar only at 2/3", got)
	}
}

// TestBoardHostDone: the live host_done events count hosts done while the
// task still runs on others, and take them off the slowest list.
func TestBoardHostDone(t *testing.T) {
	b := board{total: 3}
	for _, e := range boardEvents()[:7] {
		b.event(e)
	}
	b.event(engine.Event{Type: engine.EventHostDone, Time: at(2), Host: "web2", Status: engine.StatusOK})
	got := strings.Join(b.lines(at(2), 80), "\n")
	if !strings.Contains(got, "hosts: 1/3 done") {
		t.Errorf("after one host_done, board:\n%s", got)
	}
}

// up is the erasing of n board lines.
func up(n int) string { return strings.Repeat("\x1b[1A\x1b[2K", n) }

// fakeTerm records what liveSink writes to the terminal.
type fakeTerm struct{ out, err bytes.Buffer }

func newTestLive(clock *time.Time, width int) (*liveSink, *fakeTerm) {
	ft := &fakeTerm{}
	text := newTextSink(&ft.out, &ft.err, 0, false, false)
	l := newLiveSink(text, func() int { return width }, func() time.Time { return *clock }, 2, false)
	return l, ft
}

// TestLiveSinkFrames checks the bytes sent to the terminal: log lines are
// written where the board was (cursor up over its lines, clearing each)
// and the board is drawn again below them; a tick that changes
// nothing writes nothing; warnings go to stderr between the two; the recap
// comes after the board is erased for good.
func TestLiveSinkFrames(t *testing.T) {
	now := at(0)
	l, ft := newTestLive(&now, 60)
	step := func(e engine.Event, want string) {
		t.Helper()
		ft.out.Reset()
		if e.Type == "" {
			l.tick()
		} else {
			l.Event(e)
		}
		if got := ft.out.String(); got != want {
			t.Errorf("after %s wrote\n%q\nwant\n%q", e.Type, got, want)
		}
	}
	hosts := []string{"h1"}
	step(engine.Event{Type: engine.EventPlayStart, Time: at(0), Play: "p", Hosts: hosts},
		"\nPLAY [p] ***********************************************************************\n"+
			"[........................................] 0/2 tasks · 0s\n")
	step(engine.Event{Type: engine.EventTaskStart, Time: at(0), Task: "sleep", Hosts: hosts},
		"\r"+up(1)+
			"\nTASK [sleep] *******************************************************************\n"+
			"running: sleep for 0s\n"+
			"  hosts: 0/1 done · 0 running · 1 queued · 0 failed · 0 un…\n"+
			"[........................................] 0/2 tasks · 0s\n")
	step(engine.Event{}, "")
	now = at(1.5)
	step(engine.Event{},
		"\r"+up(3)+
			"running: sleep for 1s\n"+
			"  hosts: 0/1 done · 0 running · 1 queued · 0 failed · 0 un…\n"+
			"[........................................] 0/2 tasks · 1s\n")
	ft.err.Reset()
	step(engine.Event{Type: engine.EventWarning, Time: at(1.5), Msg: "careful"},
		"\r"+up(3)+
			"running: sleep for 1s\n"+
			"  hosts: 0/1 done · 0 running · 1 queued · 0 failed · 0 un…\n"+
			"[........................................] 0/2 tasks · 1s\n")
	if got := ft.err.String(); got != "[WARNING]: careful\n" {
		t.Errorf("stderr = %q", got)
	}
	now = at(2)
	step(engine.Event{Type: engine.EventHostResult, Time: at(2), Task: "sleep", Host: "h1", Status: engine.StatusOK,
		Result: &engine.TaskResult{Status: engine.StatusOK}},
		"\r"+up(3)+
			"ok: [h1]\n"+
			"running: sleep for 2s\n"+
			"  hosts: 1/1 done · 0 running · 0 queued · 0 failed · 0 un…\n"+
			"[........................................] 0/2 tasks · 2s\n")
	step(engine.Event{Type: engine.EventRecap, Time: at(2), Recap: map[string]*engine.Stats{"h1": {OK: 1}}},
		"\r"+up(3)+
			"\nPLAY RECAP *********************************************************************\n"+
			"h1 : ok=1    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0\n"+
			"\nSLOWEST TASKS ******************************************************************\n"+
			"    0.00s  sleep on h1\n")
	step(engine.Event{}, "")
	l.Close()
	l.Close()
	ft.out.Reset()
	l.text.failureSummary(nil, nil)
	l.text.banner("AFTER")
	if got := ft.out.String(); !strings.HasPrefix(got, "\nAFTER ***") {
		t.Errorf("after Close the text sink wrote %q, want it straight to the terminal", got)
	}
}

// TestLiveSinkColored: with colours on, the task line and the bar are
// cyan, the rest as is.
func TestLiveSinkColored(t *testing.T) {
	ft := &fakeTerm{}
	text := newTextSink(&ft.out, &ft.err, 0, false, false)
	l := newLiveSink(text, func() int { return 60 }, func() time.Time { return at(0) }, 1, true)
	l.Event(engine.Event{Type: engine.EventTaskStart, Time: at(0), Task: "t", Hosts: []string{"h1"}})
	want := "\nTASK [t] ***********************************************************************\n" +
		"\x1b[96mrunning: t for 0s\x1b[0m\n" +
		"  hosts: 0/1 done · 0 running · 1 queued · 0 failed · 0 un…\n" +
		"\x1b[36m[........................................] 0/1 tasks · 0s\x1b[0m\n"
	if got := ft.out.String(); got != want {
		t.Errorf("wrote\n%q\nwant\n%q", got, want)
	}
}

// TestLiveSinkCloseErases: a run that ends without a recap (an error)
// leaves no board on the screen, and the ticker goroutine ends.
func TestLiveSinkCloseErases(t *testing.T) {
	now := at(0)
	l, ft := newTestLive(&now, 60)
	l.Start()
	l.Event(engine.Event{Type: engine.EventPlayStart, Time: at(0), Play: "p"})
	ft.out.Reset()
	l.Close()
	if got := ft.out.String(); got != "\r"+up(1) {
		t.Errorf("Close wrote %q, want the board erased", got)
	}
	var none *liveSink
	none.Close()
}

func TestExpectedTasks(t *testing.T) {
	dir := t.TempDir()
	pb := filepath.Join(dir, "site.yaml")
	writeFile(t, pb, `- hosts: all
  tasks:
    - command: 'true'
    - block:
        - command: 'true'
        - command: 'true'
          tags: [web]
      rescue:
        - command: 'true'
      always:
        - command: 'true'
- hosts: all
  gather_facts: false
  serial: [1, "50%"]
  tasks:
    - command: 'true'
      tags: [web]
- hosts: nomatch
  tasks:
    - command: 'true'
`)
	inv, err := inventory.Parse("hosts.yaml", []byte("all:\n  hosts: {a: , b: , c: , d: }\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tags []string
		want int
	}{
		{nil, 1 + 4 + 3*1}, // serial 1, 2, 1 on four hosts: three batches
		{[]string{"web"}, 1 + 1 + 3*1},
	}
	for _, tt := range tests {
		f := &playFlags{tags: tt.tags}
		if got := expectedTasks(f, &engine.Options{Playbooks: []string{pb}, Inventory: inv}); got != tt.want {
			t.Errorf("tags %v: expectedTasks = %d, want %d", tt.tags, got, tt.want)
		}
	}
	if got := expectedTasks(&playFlags{}, &engine.Options{Playbooks: []string{filepath.Join(dir, "none.yaml")}, Inventory: inv}); got != 0 {
		t.Errorf("missing playbook: expectedTasks = %d, want 0", got)
	}
}

// TestStartBoardNotTerminal: a file or a pipe gets no board.
func TestStartBoardNotTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts := &engine.Options{}
	text := newTextSink(f, f, 0, false, false)
	if l := startBoard(&playFlags{}, opts, f, text); l != nil || opts.Sink != nil {
		t.Errorf("startBoard on a file started a board")
	}
}

func TestSerialBatchCount(t *testing.T) {
	tests := []struct {
		serial []any
		n      int
		want   int
	}{
		{nil, 10, 1},
		{[]any{3}, 10, 4},
		{[]any{"30%"}, 10, 4},
		{[]any{1, "50%"}, 10, 3},
		{[]any{"1%"}, 10, 10},
		{[]any{0}, 10, 1},
		{[]any{"x"}, 10, 1},
		{[]any{int64(2), 4.0}, 10, 3},
	}
	for _, tt := range tests {
		if got := serialBatchCount(tt.serial, tt.n); got != tt.want {
			t.Errorf("serialBatchCount(%v, %d) = %d, want %d", tt.serial, tt.n, got, tt.want)
		}
	}
}

func TestClipClock(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{clip("abcdef", 4), "abc…"},
		{clip("abc", 4), "abc"},
		{clip("abc", 0), "abc"},
		{clip("部署する", 6), "部署…"},
		{clip("a部署", 4), "a部…"},
		{clip("部署", 4), "部署"},
		{clock(-time.Second), "0s"},
		{clock(59 * time.Second), "59s"},
		{clock(61 * time.Second), "1m01s"},
		{clock(3725 * time.Second), "1h02m05s"},
		{shortDuration(420 * time.Millisecond), "0.42s"},
	} {
		if tt.in != tt.want {
			t.Errorf("got %q, want %q", tt.in, tt.want)
		}
	}
}
