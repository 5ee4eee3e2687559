package engine

import (
	"errors"
	"fmt"
	"strings"
)

// IsTemplated reports whether s holds a `{{`, so that callers can skip
// rendering plain strings.
func IsTemplated(s string) bool {
	return strings.Contains(s, "{{")
}

// segment is a piece of a templated string: literal text or an expression.
type segment struct {
	text   string
	isExpr bool
}

// scanString splits s into literal text and `{{ expr }}` pieces. Quotes and
// braces inside an expression are honoured, so `{{ "}}" }}` and
// `{{ {"a": {"b": 1}} }}` are single expressions.
func scanString(s string) ([]segment, error) {
	var segs []segment
	for {
		open := strings.Index(s, "{{")
		if open < 0 {
			if s != "" {
				segs = append(segs, segment{text: s})
			}
			return segs, nil
		}
		lit := s[:open]
		end, err := exprEnd(s, open+2)
		if err != nil {
			return nil, err
		}
		inner, trimLeft, trimRight := trimMarkers(s[open+2 : end])
		if trimLeft {
			lit = strings.TrimRight(lit, " \t\r\n")
		}
		if lit != "" {
			segs = append(segs, segment{text: lit})
		}
		e := strings.TrimSpace(inner)
		if e == "" {
			return nil, fmt.Errorf("empty expression {{ }} at offset %d", open)
		}
		segs = append(segs, segment{text: e, isExpr: true})
		s = s[end+2:]
		if trimRight {
			s = strings.TrimLeft(s, " \t\r\n")
		}
	}
}

// trimMarkers strips Jinja's whitespace-control dashes: `{{-` trims the
// whitespace before the expression, `-}}` the whitespace after it.
func trimMarkers(inner string) (string, bool, bool) {
	left := strings.HasPrefix(inner, "-")
	if left {
		inner = inner[1:]
	}
	right := strings.HasSuffix(inner, "-") && (len(inner) < 2 || inner[len(inner)-2] == ' ')
	if right {
		inner = inner[:len(inner)-1]
	}
	return inner, left, right
}

// exprEnd returns the offset of the `}}` closing the expression starting at i.
func exprEnd(s string, i int) (int, error) {
	start, depth := i-2, 0
	for i < len(s) {
		switch c := s[i]; c {
		case '"', '\'', '`':
			j, err := quoteEnd(s, i)
			if err != nil {
				return 0, fmt.Errorf("unterminated string in expression at offset %d", start)
			}
			i = j
		case '{':
			depth++
		case '}':
			if depth == 0 {
				if i+1 < len(s) && s[i+1] == '}' {
					return i, nil
				}
				return 0, fmt.Errorf("unbalanced } in expression at offset %d", start)
			}
			depth--
		}
		i++
	}
	return 0, fmt.Errorf("unclosed {{ at offset %d", start)
}

// quoteEnd returns the offset of the quote closing the string opened at i.
func quoteEnd(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			return j, nil
		}
	}
	return 0, errors.New("unterminated string")
}

// single returns the expression when s is exactly one `{{ expr }}` with
// nothing around it: such a value keeps the expression's type. Any text
// around it, even a space or the newline a YAML block scalar ends with,
// makes the value a string that keeps that text, as in Ansible.
func single(segs []segment) (string, bool) {
	expr, found := "", false
	for _, sg := range segs {
		switch {
		case sg.isExpr && !found:
			expr, found = sg.text, true
		case sg.isExpr:
			return "", false
		case sg.text != "":
			return "", false
		}
	}
	return expr, found
}

// CheckString compiles every `{{ }}` inside s, so that the loader reports
// syntax errors (and unclosed `{{`) before the run.
func (e *Evaluator) CheckString(s string) error {
	if !IsTemplated(s) {
		return nil
	}
	segs, err := scanString(s)
	if err != nil {
		return &ExprError{Expr: s, Err: err}
	}
	for _, sg := range segs {
		if sg.isExpr {
			if err := e.Check(sg.text); err != nil {
				return err
			}
		}
	}
	return nil
}

// RenderString replaces each `{{ expr }}` in s by the string form of its
// value: strings as they are, none as "", numbers in decimal, lists and
// maps as JSON.
func (e *Evaluator) RenderString(s string, vars map[string]any) (string, error) {
	v, err := e.renderString(s, vars, false)
	if err != nil {
		return "", err
	}
	return toString(v), nil
}

func (e *Evaluator) renderString(s string, vars map[string]any, keepType bool) (any, error) {
	if !IsTemplated(s) {
		return s, nil
	}
	segs, err := scanString(s)
	if err != nil {
		return nil, &ExprError{Expr: s, Err: err}
	}
	if src, ok := single(segs); ok && keepType {
		v, err := e.Eval(src, vars)
		return copyValue(v), err
	}
	var b strings.Builder
	for _, sg := range segs {
		if !sg.isExpr {
			b.WriteString(sg.text)
			continue
		}
		v, err := e.Eval(sg.text, vars)
		if err != nil {
			return nil, err
		}
		b.WriteString(toString(v))
	}
	return b.String(), nil
}

// Render returns a copy of v with every string rendered: a string that is
// exactly `{{ x }}` becomes x's value (list, map, number, bool); other
// strings are interpolated. Maps (keys too) and lists are walked; v itself
// is never modified.
func (e *Evaluator) Render(v any, vars map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		return e.renderString(x, vars, true)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			rk, err := e.RenderString(k, vars)
			if err != nil {
				return nil, err
			}
			if out[rk], err = e.Render(val, vars); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			var err error
			if out[i], err = e.Render(val, vars); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = val
		}
		return e.Render(out, vars)
	case []string:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = val
		}
		return e.Render(out, vars)
	}
	return v, nil
}

// copyValue deep-copies maps and lists, so that a rendered value never
// shares memory with the variables it came from.
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}
