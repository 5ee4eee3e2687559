package inventory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pyParser reads the subset of Python literal syntax that ast.literal_eval
// accepts and INI inventories use: numbers, strings, True/False/None,
// lists, tuples, dicts and sets.
type pyParser struct {
	s string
	i int
}

var errNotLiteral = errors.New("not a python literal")

const maxLiteralDepth = 64

func (p *pyParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *pyParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// value parses one literal at p.i.
func (p *pyParser) value(depth int) (any, error) {
	if depth > maxLiteralDepth {
		return nil, errNotLiteral
	}
	p.space()
	c := p.peek()
	switch {
	case c == '[':
		return p.list(']', depth)
	case c == '(':
		return p.tuple(depth)
	case c == '{':
		return p.dict(depth)
	case c == '\'' || c == '"':
		return p.strings()
	case (c == 'u' || c == 'U' || c == 'r' || c == 'R') && p.i+1 < len(p.s) && (p.s[p.i+1] == '\'' || p.s[p.i+1] == '"'):
		return p.strings()
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		return p.number()
	}
	for word, v := range map[string]any{"True": true, "False": false, "None": nil} {
		if strings.HasPrefix(p.s[p.i:], word) && !identChar(p.s, p.i+len(word)) {
			p.i += len(word)
			return v, nil
		}
	}
	return nil, errNotLiteral
}

func identChar(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// items parses comma-separated values up to the closing byte; a trailing
// comma is allowed. It reports whether any comma was seen.
func (p *pyParser) items(closing byte, depth int, each func() error) (bool, error) {
	p.i++ // opening bracket
	comma := false
	for {
		p.space()
		if p.peek() == closing {
			p.i++
			return comma, nil
		}
		if err := each(); err != nil {
			return false, err
		}
		p.space()
		switch p.peek() {
		case ',':
			p.i++
			comma = true
		case closing:
		default:
			return false, errNotLiteral
		}
	}
}

func (p *pyParser) list(closing byte, depth int) (any, error) {
	out := []any{}
	_, err := p.items(closing, depth, func() error {
		v, err := p.value(depth + 1)
		out = append(out, v)
		return err
	})
	return out, err
}

// tuple parses (a, b) as a list; (a) is just a.
func (p *pyParser) tuple(depth int) (any, error) {
	var out []any
	comma, err := p.items(')', depth, func() error {
		v, err := p.value(depth + 1)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 1 && !comma {
		return out[0], nil
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// dict parses {k: v, ...} as a map with string keys, or {a, b} (a set) as
// a list.
func (p *pyParser) dict(depth int) (any, error) {
	m := map[string]any{}
	var set []any
	_, err := p.items('}', depth, func() error {
		k, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		p.space()
		if p.peek() != ':' {
			if len(m) > 0 {
				return errNotLiteral
			}
			set = append(set, k)
			return nil
		}
		if set != nil {
			return errNotLiteral
		}
		p.i++
		v, err := p.value(depth + 1)
		m[fmt.Sprint(k)] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	if set != nil {
		return set, nil
	}
	return m, nil
}

// strings parses one or more adjacent string literals ("a" 'b' is "ab").
func (p *pyParser) strings() (any, error) {
	var b strings.Builder
	for {
		raw := false
		if c := p.peek(); c == 'u' || c == 'U' {
			p.i++
		} else if c == 'r' || c == 'R' {
			raw = true
			p.i++
		}
		if err := p.str(&b, raw); err != nil {
			return nil, err
		}
		save := p.i
		p.space()
		c := p.peek()
		if c != '\'' && c != '"' {
			p.i = save
			return b.String(), nil
		}
	}
}

// str parses one quoted string (single-line, not triple-quoted).
func (p *pyParser) str(b *strings.Builder, raw bool) error {
	q := p.peek()
	if q != '\'' && q != '"' {
		return errNotLiteral
	}
	if strings.HasPrefix(p.s[p.i:], strings.Repeat(string(q), 3)) {
		return errNotLiteral // triple quotes: not supported, kept as text
	}
	for p.i++; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return nil
		case c == '\\' && p.i+1 < len(p.s):
			if raw {
				b.WriteByte(c)
				p.i++
				b.WriteByte(p.s[p.i])
				continue
			}
			if err := p.escape(b); err != nil {
				return err
			}
		default:
			b.WriteByte(c)
		}
	}
	return errNotLiteral
}

// escape decodes the backslash escape at p.i, leaving p.i on its last byte.
func (p *pyParser) escape(b *strings.Builder) error {
	p.i++
	c := p.s[p.i]
	simple := map[byte]string{'n': "\n", 't': "\t", 'r': "\r", '\\': "\\", '\'': "'", '"': "\"", '0': "\x00", 'a': "\a", 'b': "\b", 'f': "\f", 'v': "\v", '\n': ""}
	if s, ok := simple[c]; ok {
		b.WriteString(s)
		return nil
	}
	width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
	if width == 0 {
		b.WriteByte('\\') // unknown escapes stay as written in Python
		b.WriteByte(c)
		return nil
	}
	if p.i+width >= len(p.s) {
		return errNotLiteral
	}
	n, err := strconv.ParseUint(p.s[p.i+1:p.i+1+width], 16, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		return errNotLiteral
	}
	b.WriteRune(rune(n))
	p.i += width
	return nil
}

// number parses an optionally signed int (decimal, 0x, 0o, 0b, with _
// separators) or float. As in Python, one sign is allowed and a decimal
// int with a leading zero (0123) is not a literal.
func (p *pyParser) number() (any, error) {
	neg := false
	if c := p.peek(); c == '+' || c == '-' {
		neg = c == '-'
		p.i++
		p.space()
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		prev := byte(0)
		if p.i > start {
			prev = p.s[p.i-1]
		}
		if identChar(p.s, p.i) || c == '.' || (c == '+' || c == '-') && (prev == 'e' || prev == 'E') {
			p.i++
			continue
		}
		break
	}
	tok := p.s[start:p.i]
	if tok == "" || strings.Contains(tok, "__") || tok[0] == '_' || tok[len(tok)-1] == '_' {
		return nil, errNotLiteral
	}
	v, err := pyNumber(strings.ReplaceAll(tok, "_", ""))
	if err != nil {
		return nil, err
	}
	if !neg {
		return v, nil
	}
	if n, ok := v.(int); ok {
		return -n, nil
	}
	return -v.(float64), nil
}

// pyNumber converts one unsigned Python number token.
func pyNumber(tok string) (any, error) {
	lower := strings.ToLower(tok)
	if strings.HasPrefix(lower, "0x") || strings.HasPrefix(lower, "0o") || strings.HasPrefix(lower, "0b") {
		n, err := strconv.ParseInt(tok, 0, 0)
		if err != nil {
			return nil, errNotLiteral
		}
		return int(n), nil
	}
	if strings.Trim(tok, "0123456789") == "" {
		if len(tok) > 1 && tok[0] == '0' && strings.Trim(tok, "0") != "" {
			return nil, errNotLiteral
		}
		n, err := strconv.ParseInt(tok, 10, 0)
		if err != nil {
			return nil, errNotLiteral
		}
		return int(n), nil
	}
	if strings.Trim(lower, "0123456789.e+-") != "" || strings.Trim(lower, ".e+-") == "" {
		return nil, errNotLiteral
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return nil, errNotLiteral
	}
	return f, nil
}
