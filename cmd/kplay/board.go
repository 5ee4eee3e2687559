package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kplay/kplay/engine"
)

// board is what the live progress board knows of a run, fed by the
// engine's events; lines renders it. It holds no terminal: liveSink draws
// it. The engine reports a host's result only once the task has ended on
// every host of the batch, so while a task runs its hosts are "running"
// (begun) or "queued" (waiting for a fork); done, failed and unreachable
// fill in when the task ends.
type board struct {
	total   int // tasks the run is expected to have (0: unknown)
	done    int // tasks ended
	start   time.Time
	active  bool // a task is running
	handler bool
	task    string // display name
	pos     string // file:line:col
	since   time.Time
	batch   int // hosts the task runs on
	begun   map[string]time.Time
	result  map[string]engine.Status
	retries map[string]retry
	// Hosts that failed or were unreachable anywhere in the run so far.
	runFailed, runUnreachable map[string]bool
}

// retry is the last failed attempt of an until-loop on a host.
type retry struct{ attempt, left int }

// boardHeight bounds the board, so that it always fits a small terminal
// and never scrolls into the scrollback.
const boardHeight = 5

// event updates the board with one engine event.
func (b *board) event(e engine.Event) {
	if b.start.IsZero() && !e.Time.IsZero() {
		b.start = e.Time
	}
	switch e.Type {
	case engine.EventTaskStart:
		b.endTask()
		b.active, b.handler, b.task, b.since, b.batch = true, e.IsHandler, e.Task, e.Time, len(e.Hosts)
		b.pos = ""
		if e.TaskPos != nil && e.TaskPos.File != "" {
			b.pos = e.TaskPos.String()
		}
		b.begun, b.result, b.retries = map[string]time.Time{}, map[string]engine.Status{}, map[string]retry{}
	case engine.EventHostStart:
		if b.begun != nil {
			b.begun[e.Host] = e.Time
		}
	case engine.EventRetry:
		if b.retries != nil {
			b.retries[e.Host] = retry{attempt: e.Attempt, left: max(e.Retries, 0)}
		}
	case engine.EventHostResult, engine.EventHostDone:
		b.hostResult(e)
	case engine.EventPlayEnd, engine.EventRecap:
		b.endTask()
	}
}

func (b *board) hostResult(e engine.Event) {
	if b.result != nil {
		b.result[e.Host] = e.Status
	}
	mark := func(m *map[string]bool) {
		if *m == nil {
			*m = map[string]bool{}
		}
		(*m)[e.Host] = true
	}
	switch e.Status {
	case engine.StatusFailed:
		mark(&b.runFailed)
	case engine.StatusUnreachable:
		mark(&b.runUnreachable)
	}
}

// endTask counts the running task as done.
func (b *board) endTask() {
	if b.active {
		b.done++
		b.active = false
	}
}

// lines renders the board at time now, each line at most width-1 columns
// (a full last column would make some terminals wrap).
func (b *board) lines(now time.Time, width int) []string {
	var out []string
	if b.active {
		out = append(out, b.taskLine(now), b.hostsLine())
		if l := b.slowLine(now); l != "" {
			out = append(out, l)
		}
		if l := b.retryLine(); l != "" {
			out = append(out, l)
		}
	}
	out = append(out, b.barLine(now, width))
	if len(out) > boardHeight {
		out = out[:boardHeight]
	}
	for i, l := range out {
		out[i] = clip(l, width-1)
	}
	return out
}

func (b *board) taskLine(now time.Time) string {
	l := "running: " + b.task
	if b.handler {
		l = "running handler: " + b.task
	}
	if b.pos != "" {
		l += " (" + b.pos + ")"
	}
	return l + " for " + clock(now.Sub(b.since))
}

// hostsLine counts the task's hosts by state.
func (b *board) hostsLine() string {
	var failed, unreachable int
	for _, s := range b.result {
		switch s {
		case engine.StatusFailed:
			failed++
		case engine.StatusUnreachable:
			unreachable++
		}
	}
	running, seen := 0, len(b.result)
	for h := range b.begun {
		if _, ok := b.result[h]; !ok {
			running++
			seen++
		}
	}
	queued := max(b.batch-seen, 0)
	return fmt.Sprintf("  hosts: %d/%d done · %d running · %d queued · %d failed · %d unreachable",
		len(b.result), b.batch, running, queued, failed, unreachable)
}

// slowLine names the hosts longest on the task.
func (b *board) slowLine(now time.Time) string {
	type run struct {
		host  string
		since time.Time
	}
	var runs []run
	for h, t := range b.begun {
		if _, ok := b.result[h]; !ok {
			runs = append(runs, run{h, t})
		}
	}
	if len(runs) == 0 {
		return ""
	}
	slices.SortFunc(runs, func(x, y run) int {
		if c := x.since.Compare(y.since); c != 0 {
			return c
		}
		return strings.Compare(x.host, y.host)
	})
	var parts []string
	for _, r := range runs[:min(len(runs), 3)] {
		parts = append(parts, r.host+" "+clock(now.Sub(r.since)))
	}
	return "  slowest: " + strings.Join(parts, ", ")
}

// retryLine shows the until-loops of the task that are retrying, hosts
// at the same attempt together: "1 failed, 4 left: web1, web2".
func (b *board) retryLine() string {
	if len(b.retries) == 0 {
		return ""
	}
	groups := map[retry][]string{}
	var keys []retry
	for h, r := range b.retries {
		if _, ok := groups[r]; !ok {
			keys = append(keys, r)
		}
		groups[r] = append(groups[r], h)
	}
	slices.SortFunc(keys, func(x, y retry) int { return y.attempt - x.attempt })
	var parts []string
	for _, k := range keys {
		hosts := groups[k]
		slices.Sort(hosts)
		parts = append(parts, fmt.Sprintf("%d failed, %d left: %s", k.attempt, k.left, strings.Join(hosts, ", ")))
	}
	return "  retries: " + strings.Join(parts, "; ")
}

// barLine is the run's progress: a bar of tasks done out of the expected
// total (grown when the run has more, as includes and handlers add some),
// the time so far and the hosts lost.
func (b *board) barLine(now time.Time, width int) string {
	total := max(b.total, b.done+boolInt(b.active))
	suffix := fmt.Sprintf(" %d/%d tasks · %s", b.done, total, clock(now.Sub(b.start)))
	if total == 0 || b.total == 0 {
		suffix = fmt.Sprintf(" %d tasks done · %s", b.done, clock(now.Sub(b.start)))
	}
	if n := len(b.runFailed); n > 0 {
		suffix += fmt.Sprintf(" · %d failed", n)
	}
	if n := len(b.runUnreachable); n > 0 {
		suffix += fmt.Sprintf(" · %d unreachable", n)
	}
	barW := min(40, width-1-columns(suffix)-2)
	if barW < 5 {
		return strings.TrimPrefix(suffix, " ")
	}
	fill := 0
	if total > 0 {
		fill = barW * b.done / total
	}
	return "[" + strings.Repeat("#", fill) + strings.Repeat(".", barW-fill) + "]" + suffix
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// clock is a duration on the board: 7s, 3m07s, 1h02m05s.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return shortDuration(d)
}

// clip cuts s to n terminal columns, marking the cut with "…", so that
// a board line never wraps (a wrapped line would escape the erasing).
func clip(s string, n int) string {
	if n <= 0 || columns(s) <= n {
		return s
	}
	var b strings.Builder
	w := 0
	for _, r := range s {
		if w+runeColumns(r) > n-1 {
			break
		}
		b.WriteRune(r)
		w += runeColumns(r)
	}
	return b.String() + "…"
}

// columns is how many terminal columns s takes.
func columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

// runeColumns is 2 for the East Asian wide and emoji ranges terminals draw
// in two columns, else 1.
func runeColumns(r rune) int {
	switch {
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf, r >= 0xac00 && r <= 0xd7a3,
		r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xff60,
		r >= 0xffe0 && r <= 0xffe6, r >= 0x1f300 && r <= 0x1f64f, r >= 0x1f900 && r <= 0x1f9ff,
		r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}
