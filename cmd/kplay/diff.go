package main

import (
	"strings"

	"github.com/rogpeppe/go-internal/diff"
)

// unifiedDiff returns the lines of a unified diff of a file's content,
// headed "--- before: PATH" / "+++ after: PATH" as ansible-playbook --diff
// shows them. Equal contents give no lines.
func unifiedDiff(path, before, after string) []string {
	out := diff.Diff("before: "+path, []byte(before), "after: "+path, []byte(after))
	text := strings.TrimRight(string(out), "\n")
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	if strings.HasPrefix(lines[0], "diff ") {
		lines = lines[1:]
	}
	return lines
}
