package modules

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// LineinfileArgs are the arguments of lineinfile.
type LineinfileArgs struct {
	Path         string   `arg:"path|dest|destfile|name,required"`
	Regexp       *string  `arg:"regexp|regex"`
	SearchString *string  `arg:"search_string"`
	Line         *string  `arg:"line|value"`
	State        string   `arg:"state"`
	InsertAfter  string   `arg:"insertafter"`
	InsertBefore string   `arg:"insertbefore"`
	Create       bool     `arg:"create"`
	Backup       bool     `arg:"backup"`
	Backrefs     bool     `arg:"backrefs"`
	FirstMatch   bool     `arg:"firstmatch"`
	Mode         FileMode `arg:"mode"`
	Owner        string   `arg:"owner"`
	Group        string   `arg:"group"`
	Validate     string   `arg:"validate"`
}

// Lineinfile makes sure one line is present in (or absent from) a text
// file, with Ansible's rules for where it goes and which line it replaces.
type Lineinfile struct{}

// lineEdit is a parsed lineinfile request: the pure part of the module.
type lineEdit struct {
	re           *regexp.Regexp
	search       *string
	line         string
	insertAfter  string // "", "EOF" or a pattern
	insertBefore string // "", "BOF" or a pattern
	insRe        *regexp.Regexp
	backrefs     bool
	firstMatch   bool
}

// Run implements Module.
func (Lineinfile) Run(ctx context.Context, req *Request) (Result, error) {
	var a LineinfileArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	e, err := newLineEdit(a)
	if err != nil {
		return Result{}, fmt.Errorf("lineinfile %s: %w", a.Path, err)
	}
	absent := a.State == "absent"
	edit := func(old []byte) ([]byte, string, error) {
		if absent {
			out, n := lineAbsent(old, e)
			return out, fmt.Sprintf("%d line(s) removed", n), nil
		}
		out, msg := linePresent(old, e)
		return out, msg, nil
	}
	return editFile(ctx, req, editSpec{path: a.Path, create: a.Create && !absent, absent: absent, mode: a.Mode,
		owner: a.Owner, group: a.Group, backup: a.Backup, validate: a.Validate, edit: edit})
}

// newLineEdit checks the argument combinations Ansible rejects and
// compiles the patterns (Go RE2 syntax).
func newLineEdit(a LineinfileArgs) (lineEdit, error) {
	e := lineEdit{search: a.SearchString, backrefs: a.Backrefs, firstMatch: a.FirstMatch,
		insertAfter: a.InsertAfter, insertBefore: a.InsertBefore}
	switch {
	case a.State != "" && a.State != "present" && a.State != "absent":
		return e, fmt.Errorf("unsupported state %q (present, absent)", a.State)
	case a.InsertAfter != "" && a.InsertBefore != "":
		return e, errors.New("insertafter and insertbefore are mutually exclusive")
	case a.Regexp != nil && a.SearchString != nil:
		return e, errors.New("regexp and search_string are mutually exclusive")
	case a.Backrefs && a.SearchString != nil:
		return e, errors.New("backrefs and search_string are mutually exclusive")
	}
	if a.Line != nil {
		e.line = *a.Line
	}
	if a.State == "absent" {
		if a.Regexp == nil && a.SearchString == nil && a.Line == nil {
			return e, errors.New("one of line, search_string, or regexp is required with state=absent")
		}
	} else {
		if a.Backrefs && a.Regexp == nil {
			return e, errors.New("regexp is required with backrefs=true")
		}
		if a.Line == nil {
			return e, errors.New("line is required with state=present")
		}
		if e.insertAfter == "" && e.insertBefore == "" {
			e.insertAfter = "EOF"
		}
	}
	var err error
	if a.Regexp != nil {
		if e.re, err = regexp.Compile(*a.Regexp); err != nil {
			return e, fmt.Errorf("regexp: %w", err)
		}
	}
	if p := e.insertAfter; p != "" && p != "EOF" && p != "BOF" {
		e.insRe, err = regexp.Compile(p)
	} else if p := e.insertBefore; p != "" && p != "BOF" {
		e.insRe, err = regexp.Compile(p)
	}
	if err != nil {
		return e, fmt.Errorf("insertafter/insertbefore: %w", err)
	}
	return e, nil
}

// splitLines splits content after every "\n", keeping the line endings,
// as Python's readlines does on bytes.
func splitLines(b []byte) []string {
	var lines []string
	s := string(b)
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// body is a line without its "\n": patterns are matched against it, so
// that "$" anchors before the newline as in Python.
func body(l string) string { return strings.TrimSuffix(l, "\n") }

// linePresent is lineinfile's state=present as a pure function, following
// Ansible's algorithm step by step: a regexp (or search_string) match
// replaces the last matching line (the first with firstmatch); else an
// identical line means nothing to do; else the line is inserted after the
// last (first) insertafter match, before the insertbefore match, at BOF, or
// at EOF.
func linePresent(old []byte, e lineEdit) ([]byte, string) {
	lines := splitLines(old)
	idx0, m, matched := findMatch(lines, e)
	idx1 := -1
	if !matched {
		idx0, idx1 = scanInsert(lines, e)
	}
	if idx0 != -1 {
		newLine := e.line
		if e.backrefs && m != nil {
			newLine = pyExpand(e.line, e.re, body(lines[idx0]), m)
		}
		if !strings.HasSuffix(newLine, "\n") {
			newLine += "\n"
		}
		if lines[idx0] == newLine {
			return old, ""
		}
		lines[idx0] = newLine
		return []byte(strings.Join(lines, "")), "line replaced"
	}
	if e.backrefs {
		return old, "" // no match: nothing to expand the backrefs from
	}
	lines, added := insertLine(lines, e, idx1)
	if !added {
		return old, ""
	}
	return []byte(strings.Join(lines, "")), "line added"
}

// findMatch finds the line regexp or search_string picks: the last match,
// or the first with firstmatch. m holds the regexp's submatch indexes.
func findMatch(lines []string, e lineEdit) (idx int, m []int, matched bool) {
	idx = -1
	for i, l := range lines {
		var hit bool
		switch {
		case e.re != nil:
			loc := e.re.FindStringSubmatchIndex(body(l))
			hit = loc != nil
			if hit {
				m = loc
			}
		case e.search != nil:
			hit = strings.Contains(l, *e.search)
		}
		if hit {
			idx, matched = i, true
			if e.firstMatch {
				break
			}
		}
	}
	return idx, m, matched
}

// insertLine adds the line at BOF, after or before the insert position
// idx1 (-1: none found), or at EOF, unless it is already there.
func insertLine(lines []string, e lineEdit, idx1 int) ([]string, bool) {
	nl := e.line + "\n"
	switch {
	case e.insertBefore == "BOF" || e.insertAfter == "BOF":
		return append([]string{nl}, lines...), true
	case e.insertAfter == "EOF" || idx1 == -1:
		// Ansible also takes a final bare "\r" as a line end, which glues
		// the new line to it and breaks idempotence; kplay does not.
		endLast(lines)
		return append(lines, nl), true
	case e.insertAfter != "" && idx1 == len(lines):
		if trimEOL(lines[idx1-1]) == e.line {
			return lines, false
		}
		// Ansible appends here without ending the last line first, gluing
		// the two lines together; kplay ends it, as its other paths do.
		endLast(lines)
		return append(lines, nl), true
	case e.insertAfter != "" && trimEOL(lines[idx1]) == e.line:
		return lines, false
	}
	return insertAt(lines, idx1, nl), true
}

// endLast makes sure the last line ends with a newline.
func endLast(lines []string) {
	if n := len(lines); n > 0 && !strings.HasSuffix(lines[n-1], "\n") {
		lines[n-1] += "\n"
	}
}

// scanInsert finds an identical line (idx0) or the insertafter/insertbefore
// position (idx1).
func scanInsert(lines []string, e lineEdit) (idx0, idx1 int) {
	idx0, idx1 = -1, -1
	for i, l := range lines {
		if trimEOL(l) == e.line {
			idx0 = i
		} else if e.insRe != nil && e.insRe.MatchString(body(l)) {
			if e.insertAfter != "" {
				idx1 = i + 1
			} else {
				idx1 = i
			}
			if e.firstMatch {
				break
			}
		}
	}
	return idx0, idx1
}

func trimEOL(l string) string { return strings.TrimRight(l, "\r\n") }

func insertAt(lines []string, i int, l string) []string {
	lines = append(lines, "")
	copy(lines[i+1:], lines[i:])
	lines[i] = l
	return lines
}

// lineAbsent is lineinfile's state=absent: every line matching regexp,
// containing search_string, or equal to line is removed.
func lineAbsent(old []byte, e lineEdit) ([]byte, int) {
	var kept []string
	n := 0
	for _, l := range splitLines(old) {
		var hit bool
		switch {
		case e.re != nil:
			hit = e.re.MatchString(body(l))
		case e.search != nil:
			hit = strings.Contains(l, *e.search)
		default:
			hit = trimEOL(l) == e.line
		}
		if hit {
			n++
		} else {
			kept = append(kept, l)
		}
	}
	if n == 0 {
		return old, 0
	}
	return []byte(strings.Join(kept, "")), n
}
