package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kplay/kplay/engine"
)

// failure is the last failure seen on a host, for the end-of-run summary.
type failure struct {
	task        string
	msg         string
	unreachable bool
}

// noteFailure remembers why a host failed (the last failure wins: earlier
// ones were rescued or the host would have stopped).
func (r *textSink) noteFailure(e engine.Event, unreachable bool) {
	if r.failures == nil {
		r.failures = map[string]failure{}
	}
	task := e.Task
	if task == "" {
		task = r.task
	}
	if e.TaskPos != nil && e.TaskPos.File != "" {
		task += " (" + e.TaskPos.String() + ")"
	}
	msg := failMsg(e.Result)
	if last := logText(lastLine(e.Result.Stderr)); last != "" && !strings.Contains(msg, last) {
		msg += ": " + last
	}
	r.failures[e.Host] = failure{task: task, msg: msg, unreachable: unreachable}
}

// logPrefix is a syslog/journal line's time and host ("Nov 23 03:44:34
// h2 "): it differs from host to host and would split a group of failures
// that have one cause.
var logPrefix = regexp.MustCompile(`^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \S+ `)

// logText is line without a journal line's time and host.
func logText(line string) string { return logPrefix.ReplaceAllString(line, "") }

// lastLine is the last non-blank line of s, the usual place of the reason.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// failureSummary prints, after the recap, each cause of failure once with
// the hosts it hit: the same error on twelve hosts is one line, not twelve
// to compare. failed and unreachable are the report's hosts.
func (r *textSink) failureSummary(failed, unreachable []string) {
	type group struct {
		f     failure
		hosts []string
	}
	var groups []*group
	for _, h := range append(slices.Clone(unreachable), failed...) {
		f, ok := r.failures[h]
		if !ok {
			continue
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return g.f == f })
		if i < 0 {
			groups = append(groups, &group{f: f})
			i = len(groups) - 1
		}
		if !slices.Contains(groups[i].hosts, h) {
			groups[i].hosts = append(groups[i].hosts, h)
		}
	}
	if len(groups) == 0 {
		return
	}
	r.banner("FAILURES")
	for _, g := range groups {
		kind := "FAILED"
		if g.f.unreachable {
			kind = "UNREACHABLE"
		}
		noun := "hosts"
		if len(g.hosts) == 1 {
			noun = "host"
		}
		r.pal.fail.Fprintf(r.out, "%s on %d %s: %s\n", kind, len(g.hosts), noun, strings.Join(g.hosts, ", "))
		fmt.Fprintf(r.out, "  task: %s\n  error: %s\n", g.f.task, g.f.msg)
	}
}
