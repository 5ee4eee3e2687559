package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fatih/color"
	"github.com/kplay/kplay/engine"
)

// tailLines is how many last lines of stdout/stderr a failure shows.
const tailLines = 20

// palette holds the colours of each kind of line; all plain when colour is
// off (the instances are ours, not fatih/color's global switch).
type palette struct {
	ok, changed, skip, fail, unreach, warn, add, del, hunk *color.Color
}

func newPalette(on bool) palette {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return palette{
		ok:      mk(color.FgGreen),
		changed: mk(color.FgYellow),
		skip:    mk(color.FgCyan),
		fail:    mk(color.FgRed),
		unreach: mk(color.FgHiRed),
		warn:    mk(color.FgHiMagenta),
		add:     mk(color.FgGreen),
		del:     mk(color.FgRed),
		hunk:    mk(color.FgCyan),
	}
}

// failMsg is the one-line reason shown after FAILED! or UNREACHABLE!.
func failMsg(res *engine.TaskResult) string {
	msg := res.Msg
	if msg == "" {
		msg = res.Err
	}
	if msg == "" && res.RC != 0 {
		msg = fmt.Sprintf("non-zero return code %d", res.RC)
	}
	if msg == "" {
		msg = "failed"
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i] + " ..."
	}
	return msg
}

// details prints the facts of a result under its line: the error, rc, the
// command and the last lines of stderr and stdout. Failures always show the
// command; successes only at -vv. Verbose successes show whole outputs.
func (r *textSink) details(res *engine.TaskResult, failed bool) {
	w := r.out
	if res.Err != "" && res.Msg != "" && res.Err != res.Msg {
		fmt.Fprintf(w, "  error: %s\n", res.Err)
	}
	if res.Cmd != "" || res.RC != 0 {
		fmt.Fprintf(w, "  rc: %d\n", res.RC)
	}
	if res.Cmd != "" && (failed || r.verbosity >= 2) {
		fmt.Fprintf(w, "  cmd: %s\n", oneLine(res.Cmd))
	}
	switch {
	case strings.Contains(res.Msg, "\n"):
		block(w, "msg", res.Msg, 0)
	case res.Msg != "" && !failed:
		fmt.Fprintf(w, "  msg: %s\n", res.Msg)
	}
	limit := 0
	if failed {
		limit = tailLines
	}
	block(w, "stderr", res.Stderr, limit)
	block(w, "stdout", res.Stdout, limit)
	if r.verbosity >= 3 && len(res.Data) > 0 {
		fmt.Fprintf(w, "  data: %s\n", compactJSON(res.Data))
	}
}

// block prints "  name:" and text indented, keeping only the last limit
// lines when limit > 0.
func block(w interface{ Write([]byte) (int, error) }, name, text string, limit int) {
	text = strings.TrimRight(text, "\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	lines := strings.Split(text, "\n")
	if limit > 0 && len(lines) > limit {
		fmt.Fprintf(w, "  %s (last %d of %d lines):\n", name, limit, len(lines))
		lines = lines[len(lines)-limit:]
	} else {
		fmt.Fprintf(w, "  %s:\n", name)
	}
	for _, l := range lines {
		fmt.Fprintf(w, "    %s\n", l)
	}
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\\n")
}

// debugBody renders a debug result as ansible-playbook does: a JSON object
// with msg, or the variables that var= asked for.
func debugBody(res *engine.TaskResult) string {
	var v any = map[string]any{"msg": res.Msg}
	if len(res.Data) > 0 {
		v = res.Data
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimRight(buf.String(), "\n")
}

// compactJSON renders v on one line, or with %v when it is not JSON.
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimRight(buf.String(), "\n")
}

// itemLabel is how a loop item is shown: scalars as they are, the rest as
// compact JSON. The event's label (loop_control.label) wins.
func itemLabel(label, item any) string {
	v := label
	if v == nil {
		v = item
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int, int64, float64, bool, uint64:
		return fmt.Sprint(x)
	}
	return compactJSON(v)
}
