package modules

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ReplaceArgs are the arguments of replace.
type ReplaceArgs struct {
	Path     string   `arg:"path|dest|destfile|name,required"`
	Regexp   string   `arg:"regexp,required"`
	Replace  string   `arg:"replace"`
	After    string   `arg:"after"`
	Before   string   `arg:"before"`
	Backup   bool     `arg:"backup"`
	Validate string   `arg:"validate"`
	Mode     FileMode `arg:"mode"`
	Owner    string   `arg:"owner"`
	Group    string   `arg:"group"`
}

// Replace replaces every match of a pattern in a file (optionally only
// between the after and before patterns), as Ansible's replace does.
type Replace struct{}

// Run implements Module.
func (Replace) Run(ctx context.Context, req *Request) (Result, error) {
	var a ReplaceArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	re, section, err := compileReplace(a.Regexp, a.After, a.Before)
	if err != nil {
		return Result{}, fmt.Errorf("replace %s: %w", a.Path, err)
	}
	edit := func(old []byte) ([]byte, string, error) {
		out, n, ok := replaceText(string(old), re, a.Replace, section)
		if !ok {
			return old, "", nil
		}
		return []byte(out), fmt.Sprintf("%d replacements made", n), nil
	}
	res, err := editFile(ctx, req, editSpec{path: a.Path, mode: a.Mode, owner: a.Owner, group: a.Group,
		backup: a.Backup, validate: a.Validate, edit: edit})
	if err == nil && res.Failed && res.RC == 257 {
		res.Msg = fmt.Sprintf("Path %s does not exist !", a.Path)
	}
	return res, err
}

// compileReplace compiles the pattern in multi-line mode and, when after
// or before is set, the section pattern Ansible builds from them (dot
// matches newline, the shortest section between the two).
func compileReplace(pattern, after, before string) (re, section *regexp.Regexp, err error) {
	if re, err = regexp.Compile("(?m)" + pattern); err != nil {
		return nil, nil, fmt.Errorf("regexp: %w", err)
	}
	var sp string
	switch {
	case after != "" && before != "":
		sp = after + "(?P<subsection>.*?)" + before
	case after != "":
		sp = after + "(?P<subsection>.*)"
	case before != "":
		sp = "(?P<subsection>.*)" + before
	default:
		return re, nil, nil
	}
	if section, err = regexp.Compile("(?s)" + sp); err != nil {
		return nil, nil, fmt.Errorf("after/before: %w", err)
	}
	if section.SubexpIndex("subsection") < 0 {
		// \Q in after quotes the rest, section group included
		return nil, nil, fmt.Errorf("after/before: the pattern leaves no section between them (an unterminated \\Q?)")
	}
	return re, section, nil
}

// replaceText is the pure part of replace: it returns the new text, the
// number of replacements, and whether anything changed (false also when
// the after/before section is not found).
func replaceText(text string, re *regexp.Regexp, repl string, section *regexp.Regexp) (string, int, bool) {
	lo, hi := 0, len(text)
	if section != nil {
		m := section.FindStringSubmatchIndex(text)
		i := section.SubexpIndex("subsection")
		if m == nil || m[2*i] < 0 {
			return text, 0, false
		}
		lo, hi = m[2*i], m[2*i+1]
	}
	part := text[lo:hi]
	matches := re.FindAllStringSubmatchIndex(part, -1)
	if len(matches) == 0 {
		return text, 0, false
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		b.WriteString(part[last:m[0]])
		b.WriteString(pyExpand(repl, re, part, m))
		last = m[1]
	}
	b.WriteString(part[last:])
	if b.String() == part {
		return text, len(matches), false
	}
	return text[:lo] + b.String() + text[hi:], len(matches), true
}

// pyExpand expands a Python re replacement template (what Ansible users
// write): \1 .. \99 and \g<1> or \g<name> for groups (an unmatched group
// gives ""), \n \t \r \\ for those characters; any other backslash is
// kept as written.
func pyExpand(tmpl string, re *regexp.Regexp, src string, m []int) string {
	group := func(i int) string {
		if i < 0 || 2*i+1 >= len(m) || m[2*i] < 0 {
			return ""
		}
		return src[m[2*i]:m[2*i+1]]
	}
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '\\' || i+1 == len(tmpl) {
			b.WriteByte(c)
			continue
		}
		n := tmpl[i+1]
		switch {
		case n >= '0' && n <= '9':
			j := i + 2
			if j < len(tmpl) && tmpl[j] >= '0' && tmpl[j] <= '9' {
				j++
			}
			g, _ := strconv.Atoi(tmpl[i+1 : j])
			b.WriteString(group(g))
			i = j - 1
		case n == 'g' && i+2 < len(tmpl) && tmpl[i+2] == '<':
			end := strings.IndexByte(tmpl[i+3:], '>')
			if end < 0 {
				b.WriteString(tmpl[i:])
				return b.String()
			}
			name := tmpl[i+3 : i+3+end]
			g, err := strconv.Atoi(name)
			if err != nil {
				g = re.SubexpIndex(name)
			}
			b.WriteString(group(g))
			i += 3 + end
		case n == 'n':
			b.WriteByte('\n')
			i++
		case n == 't':
			b.WriteByte('\t')
			i++
		case n == 'r':
			b.WriteByte('\r')
			i++
		case n == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
