package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/kplay/kplay/engine"
)

// slowTaskCount is how many tasks the end-of-run timing lists, as
// Ansible's profile_tasks callback does.
const slowTaskCount = 10

// taskTiming is one task's slowest host, for the end-of-run timing.
type taskTiming struct {
	name  string // display name with file:line:col
	host  string
	dur   time.Duration
	order int // first seen, to break ties in run order
}

// profile collects, per task, the host that took longest, so that a long
// run ends by saying where its time went.
type profile struct {
	tasks map[string]*taskTiming
}

// note records a host_result event's duration.
func (p *profile) note(e engine.Event) {
	if e.Type != engine.EventHostResult {
		return
	}
	name := e.Task
	if e.TaskPos != nil && e.TaskPos.File != "" {
		name += " (" + e.TaskPos.String() + ")"
	}
	if p.tasks == nil {
		p.tasks = map[string]*taskTiming{}
	}
	t, ok := p.tasks[name]
	if !ok {
		t = &taskTiming{name: name, order: len(p.tasks)}
		p.tasks[name] = t
	}
	if !ok || e.Duration > t.dur {
		t.host, t.dur = hostLabel(e), e.Duration
	}
}

// slowest returns up to n tasks, longest first.
func (p *profile) slowest(n int) []*taskTiming {
	out := make([]*taskTiming, 0, len(p.tasks))
	for _, t := range p.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].dur != out[j].dur {
			return out[i].dur > out[j].dur
		}
		return out[i].order < out[j].order
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// write prints the SLOWEST TASKS section: each task's slowest host and its
// time; nothing when no task ran on a host.
func (p *profile) write(w io.Writer, banner func(string)) {
	top := p.slowest(slowTaskCount)
	if len(top) == 0 {
		return
	}
	banner("SLOWEST TASKS")
	for _, t := range top {
		fmt.Fprintf(w, "%9s  %s on %s\n", shortDuration(t.dur), t.name, t.host)
	}
}

// shortDuration prints d for people: 0.42s, 12.30s, 3m07s, 1h02m05s.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm%02ds", int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second))
}
