package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/fatih/color"
	"github.com/kplay/kplay/engine"
)

// bannerWidth is the width of PLAY/TASK banners, as ansible-playbook's when
// not on a terminal.
const bannerWidth = 79

// textSink renders events the way ansible-playbook prints them: banners, one
// line per host and task, readable failure details, the recap.
type textSink struct {
	out, errOut io.Writer
	verbosity   int
	diff        bool
	pal         palette
	task        string // display name of the running task, for retries
	module      string
	failures    map[string]failure // by host, for failureSummary
	prof        profile            // slowest host per task, for SLOWEST TASKS
}

// newTextSink returns a sink writing to out (warnings to errOut).
func newTextSink(out, errOut io.Writer, verbosity int, diff, colored bool) *textSink {
	return &textSink{out: out, errOut: errOut, verbosity: verbosity, diff: diff, pal: newPalette(colored)}
}

// Event implements engine.Sink.
func (r *textSink) Event(e engine.Event) {
	switch e.Type {
	case engine.EventPlayStart:
		r.banner("PLAY [" + e.Play + "]")
	case engine.EventTaskStart:
		r.task, r.module = e.Task, e.Module
		if e.IsHandler {
			r.banner("RUNNING HANDLER [" + e.Task + "]")
		} else {
			r.banner("TASK [" + e.Task + "]")
		}
		if r.verbosity >= 3 && e.TaskPos != nil {
			fmt.Fprintf(r.out, "task path: %s\n", e.TaskPos)
		}
	case engine.EventRetry:
		r.retry(e)
	case engine.EventItem:
		r.item(e)
	case engine.EventHostResult:
		r.prof.note(e)
		r.hostResult(e)
	case engine.EventWarning:
		r.pal.warn.Fprintf(r.errOut, "[WARNING]: %s\n", e.Msg)
	case engine.EventInterrupted:
		msg := e.Msg
		if !strings.HasPrefix(msg, "interrupted") {
			msg = strings.TrimSuffix("interrupted: "+msg, ": ")
		}
		r.pal.fail.Fprintf(r.errOut, "[ERROR]: %s\n", msg)
	case engine.EventRecap:
		r.recap(e.Recap)
		r.prof.write(r.out, r.banner)
	}
}

// banner prints "\nTITLE ****" padded to bannerWidth.
func (r *textSink) banner(title string) {
	n := bannerWidth - len(title)
	if n < 3 {
		n = 3
	}
	fmt.Fprintf(r.out, "\n%s %s\n", title, strings.Repeat("*", n))
}

func (r *textSink) retry(e engine.Event) {
	name := e.Task
	if name == "" {
		name = r.task
	}
	// The engine sets Retries to the retries left after this attempt.
	r.pal.fail.Fprintf(r.out, "FAILED - RETRYING: [%s]: %s (%d retries left).\n", e.Host, name, max(e.Retries, 0))
}

// hostLabel is "h1" or "h1 -> delegate".
func hostLabel(e engine.Event) string {
	if e.Delegate != "" && e.Delegate != e.Host {
		return e.Host + " -> " + e.Delegate
	}
	return e.Host
}

func (r *textSink) item(e engine.Event) {
	res := e.Result
	if res == nil {
		return
	}
	host, item := hostLabel(e), itemLabel(e.Item, res.Item)
	switch res.Status {
	case engine.StatusFailed, engine.StatusRescued, engine.StatusIgnored:
		r.pal.fail.Fprintf(r.out, "failed: [%s] (item=%s) => %s\n", host, item, failMsg(res))
		r.details(res, true)
		return
	case engine.StatusUnreachable:
		r.pal.unreach.Fprintf(r.out, "fatal: [%s] (item=%s): UNREACHABLE! => %s\n", host, item, failMsg(res))
		return
	}
	r.statusLine(res, fmt.Sprintf("[%s] => (item=%s)", host, item))
}

func (r *textSink) hostResult(e engine.Event) {
	res := e.Result
	if res == nil {
		return
	}
	label := "[" + hostLabel(e) + "]"
	switch res.Status {
	case engine.StatusFailed, engine.StatusRescued, engine.StatusIgnored:
		r.pal.fail.Fprintf(r.out, "fatal: %s: FAILED! => %s\n", label, failMsg(res))
		r.taskLine(e)
		if res.Status != engine.StatusIgnored {
			r.noteFailure(e, false)
		}
		if len(res.Items) == 0 {
			r.details(res, true)
		}
		if res.Status == engine.StatusIgnored {
			r.pal.skip.Fprintln(r.out, "...ignoring")
		}
		return
	case engine.StatusUnreachable:
		r.pal.unreach.Fprintf(r.out, "fatal: %s: UNREACHABLE! => %s\n", label, failMsg(res))
		r.noteFailure(e, true)
		return
	}
	if len(res.Items) > 0 {
		return // each item had its line
	}
	r.statusLine(res, label)
}

// taskLine names the failed task and where it is written, since with many
// hosts the TASK banner may be far above.
func (r *textSink) taskLine(e engine.Event) {
	name := e.Task
	if name == "" {
		name = r.task
	}
	if e.TaskPos != nil && e.TaskPos.File != "" {
		name += " (" + e.TaskPos.String() + ")"
	}
	if name != "" {
		fmt.Fprintf(r.out, "  task: %s\n", name)
	}
}

// statusLine prints ok/changed/skipping for a host or an item, with debug
// output, -v details and --diff.
func (r *textSink) statusLine(res *engine.TaskResult, label string) {
	var c = r.pal.ok
	word := "ok"
	switch res.Status {
	case engine.StatusChanged:
		c, word = r.pal.changed, "changed"
	case engine.StatusSkipped:
		c.Fprintf(r.out, "%s\n", "skipping: "+label)
		return
	}
	suffix := ""
	if res.Unknown {
		suffix = " (not run in check mode: outcome unknown)"
	}
	if resumed, _ := res.Data["resumed"].(bool); resumed {
		suffix = " (resumed: done in the earlier run)"
	}
	if r.module == "debug" && res.Status == engine.StatusOK {
		c.Fprintf(r.out, "%s: %s => %s\n", word, label, debugBody(res))
		return
	}
	c.Fprintf(r.out, "%s: %s%s\n", word, label, suffix)
	if r.verbosity >= 1 {
		r.details(res, false)
	}
	if r.diff {
		r.diffs(res)
	}
}

func (r *textSink) diffs(res *engine.TaskResult) {
	for _, d := range res.Diff {
		for _, line := range unifiedDiff(d.Path, d.Before, d.After) {
			switch {
			case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
				fmt.Fprintln(r.out, line)
			case strings.HasPrefix(line, "+"):
				r.pal.add.Fprintln(r.out, line)
			case strings.HasPrefix(line, "-"):
				r.pal.del.Fprintln(r.out, line)
			case strings.HasPrefix(line, "@@"):
				r.pal.hunk.Fprintln(r.out, line)
			default:
				fmt.Fprintln(r.out, line)
			}
		}
	}
}

func (r *textSink) recap(stats map[string]*engine.Stats) {
	r.banner("PLAY RECAP")
	hosts := make([]string, 0, len(stats))
	width := 0
	for h := range stats {
		hosts = append(hosts, h)
		width = max(width, len(h))
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		s := stats[h]
		hc := r.pal.ok
		switch {
		case s.Failed > 0 || s.Unreachable > 0:
			hc = r.pal.fail
		case s.Changed > 0:
			hc = r.pal.changed
		}
		hc.Fprintf(r.out, "%-*s", width, h)
		fmt.Fprint(r.out, " : ")
		r.counter("ok", s.OK, r.pal.ok, false)
		r.counter("changed", s.Changed, r.pal.changed, false)
		r.counter("unreachable", s.Unreachable, r.pal.unreach, false)
		r.counter("failed", s.Failed, r.pal.fail, false)
		r.counter("skipped", s.Skipped, r.pal.skip, false)
		r.counter("rescued", s.Rescued, r.pal.ok, false)
		r.counter("ignored", s.Ignored, r.pal.skip, true)
	}
}

func (r *textSink) counter(name string, n int, c *color.Color, last bool) {
	text := fmt.Sprintf("%s=%d", name, n)
	if n > 0 {
		c.Fprint(r.out, text)
	} else {
		fmt.Fprint(r.out, text)
	}
	if last {
		fmt.Fprintln(r.out)
		return
	}
	fmt.Fprint(r.out, strings.Repeat(" ", max(1, len(name)+6-len(text))))
}
