package inventory

import (
	"errors"
	"strings"
)

// splitHostLine splits an INI host line as Python's shlex.split(line,
// comments=True) does: POSIX quoting (quotes are removed, backslash escapes
// outside single quotes) and a '#' outside quotes ends the line, even in
// the middle of a word.
func splitHostLine(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			flush()
		case c == '#':
			flush()
			return words, nil
		case c == '\\':
			inWord = true
			if i+1 < len(line) {
				i++
				cur.WriteByte(line[i])
			}
		case c == '\'' || c == '"':
			inWord = true
			j, err := quoted(line, i, &cur)
			if err != nil {
				return nil, err
			}
			i = j
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	flush()
	return words, nil
}

// quoted copies the quoted section starting at line[i] into cur and
// returns the index of the closing quote. Inside double quotes a backslash
// escapes only \ and ", as in shlex's POSIX mode.
func quoted(line string, i int, cur *strings.Builder) (int, error) {
	q := line[i]
	for j := i + 1; j < len(line); j++ {
		c := line[j]
		switch {
		case c == q:
			return j, nil
		case q == '"' && c == '\\' && j+1 < len(line) && (line[j+1] == '\\' || line[j+1] == '"'):
			j++
			cur.WriteByte(line[j])
		default:
			cur.WriteByte(c)
		}
	}
	return 0, errors.New("no closing quotation")
}

// iniValue turns an INI value into a typed value as Ansible's _parse_value
// does with Python's ast.literal_eval: 5 -> int, 1.5 -> float, True/False
// -> bool, None -> nil, 'a'/"a" -> string, [..] (..) -> list, {..} -> map;
// anything else (true, yes, /etc/x, a b) stays the string as written.
func iniValue(s string) any {
	p := &pyParser{s: s}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return s
	}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '#' {
		p.i = len(p.s) // a Python comment
	}
	if p.i != len(p.s) {
		return s
	}
	return v
}
