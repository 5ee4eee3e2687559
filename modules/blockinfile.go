package modules

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// BlockinfileArgs are the arguments of blockinfile.
type BlockinfileArgs struct {
	Path           string   `arg:"path|dest|destfile|name,required"`
	Block          string   `arg:"block|content"`
	Marker         *string  `arg:"marker"`
	MarkerBegin    *string  `arg:"marker_begin"`
	MarkerEnd      *string  `arg:"marker_end"`
	InsertAfter    string   `arg:"insertafter"`
	InsertBefore   string   `arg:"insertbefore"`
	State          string   `arg:"state"`
	Create         bool     `arg:"create"`
	Backup         bool     `arg:"backup"`
	AppendNewline  bool     `arg:"append_newline"`
	PrependNewline bool     `arg:"prepend_newline"`
	Mode           FileMode `arg:"mode"`
	Owner          string   `arg:"owner"`
	Group          string   `arg:"group"`
	Validate       string   `arg:"validate"`
}

// Blockinfile keeps a block of lines between two marker lines in a text
// file. The default marker is Ansible's, so files managed by Ansible
// playbooks keep working when the playbook moves to kplay.
type Blockinfile struct{}

// DefaultBlockMarker is Ansible's marker; {mark} becomes BEGIN or END.
const DefaultBlockMarker = "# {mark} ANSIBLE MANAGED BLOCK"

// blockEdit is a parsed blockinfile request.
type blockEdit struct {
	begin, end     string // full marker lines with "\n"
	block          string
	present        bool
	insertAfter    string // "", "EOF" or a pattern
	insertBefore   string // "", "BOF" or a pattern
	insRe          *regexp.Regexp
	appendNewline  bool
	prependNewline bool
}

// Run implements Module.
func (Blockinfile) Run(ctx context.Context, req *Request) (Result, error) {
	var a BlockinfileArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	e, err := newBlockEdit(a)
	if err != nil {
		return Result{}, fmt.Errorf("blockinfile %s: %w", a.Path, err)
	}
	edit := func(old []byte) ([]byte, string, error) {
		out := blockApply(old, e)
		switch {
		case old == nil:
			return out, "File created", nil
		case !e.present || e.block == "":
			return out, "Block removed", nil
		}
		return out, "Block inserted", nil
	}
	res, err := editFile(ctx, req, editSpec{path: a.Path, create: a.Create, absent: !e.present && a.Create, mode: a.Mode,
		owner: a.Owner, group: a.Group, backup: a.Backup, validate: a.Validate, edit: edit})
	if err == nil && res.Failed && res.RC == 257 {
		res.Msg = fmt.Sprintf("Path %s does not exist !", a.Path)
	}
	return res, err
}

func newBlockEdit(a BlockinfileArgs) (blockEdit, error) {
	e := blockEdit{block: a.Block, present: a.State != "absent", insertAfter: a.InsertAfter, insertBefore: a.InsertBefore,
		appendNewline: a.AppendNewline, prependNewline: a.PrependNewline}
	if a.State != "" && a.State != "present" && a.State != "absent" {
		return e, fmt.Errorf("unsupported state %q (present, absent)", a.State)
	}
	if a.InsertAfter != "" && a.InsertBefore != "" {
		return e, errors.New("insertafter and insertbefore are mutually exclusive")
	}
	marker, begin, end := DefaultBlockMarker, "BEGIN", "END"
	if a.Marker != nil {
		marker = *a.Marker
	}
	if a.MarkerBegin != nil {
		begin = *a.MarkerBegin
	}
	if a.MarkerEnd != nil {
		end = *a.MarkerEnd
	}
	e.begin = strings.ReplaceAll(marker, "{mark}", begin) + "\n"
	e.end = strings.ReplaceAll(marker, "{mark}", end) + "\n"
	if e.begin == e.end {
		return e, errors.New("marker must contain {mark}, or marker_begin and marker_end must differ")
	}
	if e.insertAfter == "" && e.insertBefore == "" {
		e.insertAfter = "EOF"
	}
	var err error
	if p := e.insertAfter; p != "EOF" && p != "" {
		e.insRe, err = regexp.Compile(p)
	} else if p := e.insertBefore; p != "BOF" && p != "" {
		e.insRe, err = regexp.Compile(p)
	}
	if err != nil {
		return e, fmt.Errorf("insertafter/insertbefore: %w", err)
	}
	return e, nil
}

// blockApply is blockinfile as a pure function, following Ansible: an
// existing block (last begin and last end marker) is replaced in place;
// otherwise the block goes after the last line matching insertafter (or
// before the last matching insertbefore), at BOF, or at EOF. A pattern
// starting with (?m) is matched against the whole text.
func blockApply(old []byte, e blockEdit) []byte {
	lines := splitLines(old)
	var blockLines []string
	if e.present && e.block != "" {
		b := e.block
		if !strings.HasSuffix(b, "\n") {
			b += "\n"
		}
		blockLines = append(append([]string{e.begin}, splitLines([]byte(b))...), e.end)
	}
	n0, n1 := -1, -1
	for i, l := range lines {
		if l == e.begin {
			n0 = i
		}
		if l == e.end {
			n1 = i
		}
	}
	switch {
	case n0 < 0 || n1 < 0:
		n0 = blockPosition(lines, string(old), e)
	case n0 < n1:
		lines = append(lines[:n0], lines[n1+1:]...)
	default:
		lines = append(lines[:n1], lines[n0+1:]...)
		n0 = n1
	}
	if n0 > 0 && !strings.HasSuffix(lines[n0-1], "\n") {
		lines[n0-1] += "\n"
	}
	if e.prependNewline && e.present && n0 != 0 && lines[n0-1] != "\n" {
		lines = insertAt(lines, n0, "\n")
		n0++
	}
	rest := append([]string{}, lines[n0:]...)
	lines = append(append(lines[:n0], blockLines...), rest...)
	if after := n0 + len(blockLines); e.appendNewline && e.present && after < len(lines) && lines[after] != "\n" {
		lines = insertAt(lines, after, "\n")
	}
	return []byte(strings.Join(lines, ""))
}

// blockPosition is where a new block goes.
func blockPosition(lines []string, text string, e blockEdit) int {
	if e.insRe == nil {
		if e.insertBefore == "BOF" {
			return 0
		}
		return len(lines)
	}
	n0 := -1
	if strings.HasPrefix(e.insRe.String(), "(?m") {
		if m := e.insRe.FindStringIndex(text); m != nil {
			if e.insertAfter != "" {
				n0 = strings.Count(text[:m[1]], "\n")
			} else {
				n0 = strings.Count(text[:m[0]], "\n")
			}
		}
	} else {
		for i, l := range lines {
			if e.insRe.MatchString(body(l)) {
				n0 = i
			}
		}
	}
	switch {
	case n0 < 0:
		return len(lines)
	case e.insertAfter != "":
		return n0 + 1
	}
	return n0
}
