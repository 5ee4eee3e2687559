package engine

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// compileRegex compiles a Python-style pattern (RE2 accepts (?P<name>...))
// with Ansible's ignorecase and multiline keyword flags.
func compileRegex(pattern string, kw map[string]any) (*regexp.Regexp, error) {
	flags := ""
	if truthy(kw["ignorecase"]) {
		flags += "i"
	}
	if truthy(kw["multiline"]) {
		flags += "m"
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	return regexp.Compile(pattern)
}

// pyReplacement converts a Python replacement string (\1, \g<1>, \g<name>)
// into Go's ($1 -> ${1}), escaping a literal $.
func pyReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
		case c == '\\' && strings.HasPrefix(s[i+1:], "g<") && strings.Contains(s[i+1:], ">"):
			end := strings.Index(s[i+1:], ">") + i + 1
			b.WriteString("${" + s[i+3:end] + "}")
			i = end
		case c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// regexReplace is regex_replace(value, pattern, replacement="", count=0).
func regexReplace(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 2, 4); err != nil {
		return nil, err
	}
	re, err := compileRegex(toString(pos[1]), kw)
	if err != nil {
		return nil, err
	}
	repl := pyReplacement(toString(optArg(pos, kw, 2, "replacement", "")))
	count, _ := asInt(optArg(pos, kw, 3, "count", 0))
	s := toString(pos[0])
	if count <= 0 {
		return re.ReplaceAllString(s, repl), nil
	}
	n := 0
	return re.ReplaceAllStringFunc(s, func(m string) string {
		if n >= count {
			return m
		}
		n++
		return re.ReplaceAllString(m, repl)
	}), nil
}

// regexSearch is regex_search(value, pattern, '\\1'...): the first match
// (nil when none), or the list of the requested groups.
func regexSearch(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 2, -1); err != nil {
		return nil, err
	}
	re, err := compileRegex(toString(pos[1]), kw)
	if err != nil {
		return nil, err
	}
	s := toString(pos[0])
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return nil, nil
	}
	if len(pos) == 2 {
		return s[m[0]:m[1]], nil
	}
	var out []any
	for _, g := range pos[2:] {
		ref := pyReplacement(toString(g))
		if !strings.HasPrefix(ref, "${") {
			return nil, errors.New("group arguments look like '\\1' or '\\g<name>'")
		}
		out = append(out, string(re.ExpandString(nil, ref, s, m)))
	}
	return out, nil
}

// regexFindall is regex_findall(value, pattern): every match, or with one
// group every group's text, or with several groups a list per match.
func regexFindall(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 2, 2); err != nil {
		return nil, err
	}
	re, err := compileRegex(toString(pos[1]), kw)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, m := range re.FindAllStringSubmatch(toString(pos[0]), -1) {
		switch len(m) {
		case 1:
			out = append(out, m[0])
		case 2:
			out = append(out, m[1])
		default:
			groups := make([]any, len(m)-1)
			for i, g := range m[1:] {
				groups[i] = g
			}
			out = append(out, groups)
		}
	}
	return out, nil
}

// formatFilter is Python's "%s:%d" % (a, b), written `"%s:%d" | format(a, b)`.
// Verbs: s (string form), d/i (integer), f/e/g (float), x/X/o, %%; flags,
// width and precision as in printf.
func formatFilter(args ...any) (any, error) {
	if err := need(args, 1, -1); err != nil {
		return nil, err
	}
	f, vals := toString(args[0]), args[1:]
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("-+ #0123456789.", f[j]) >= 0 {
			j++
		}
		if j >= len(f) {
			return nil, errors.New("format ends inside a % verb")
		}
		spec, verb := f[i:j], f[j]
		i = j
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		if len(vals) == 0 {
			return nil, errors.New("not enough arguments for format")
		}
		v := vals[0]
		vals = vals[1:]
		switch verb {
		case 's', 'r':
			b.WriteString(fmt.Sprintf(spec+"s", toString(v)))
		case 'd', 'i', 'x', 'X', 'o':
			n, _ := intFilter(v)
			if verb == 'i' {
				verb = 'd'
			}
			b.WriteString(fmt.Sprintf(spec+string(verb), n))
		case 'f', 'e', 'g', 'F', 'E', 'G':
			x, _ := floatFilter(v)
			b.WriteString(fmt.Sprintf(spec+string(verb), x))
		default:
			return nil, fmt.Errorf("unknown format verb %%%c", verb)
		}
	}
	if len(vals) > 0 {
		return nil, errors.New("not all arguments converted by format")
	}
	return b.String(), nil
}
