package engine

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// exprFunc is the shape of every kplay filter, test and helper: expr-lang
// calls it with evaluated arguments; text/template calls it variadically.
type exprFunc = func(args ...any) (any, error)

// filterTable lists the Ansible-style filters. A filter is an ordinary
// function whose first argument is the value left of the pipe, so
// `x | join(",")` and `join(x, ",")` are the same call.
func filterTable() map[string]exprFunc {
	t := map[string]exprFunc{
		"default":       defaultFilter,
		"mandatory":     mandatoryFilter,
		"ternary":       ternaryFilter,
		"upper":         str1(strings.ToUpper),
		"lower":         str1(strings.ToLower),
		"capitalize":    str1(capitalize),
		"trim":          trimFilter,
		"replace":       replaceFilter,
		"split":         splitFilter,
		"int":           intFilter,
		"float":         floatFilter,
		"string":        func(a ...any) (any, error) { return toString(arg(a, 0)), nil },
		"bool":          boolFilter,
		"regex_replace": regexReplace,
		"regex_search":  regexSearch,
		"regex_findall": regexFindall,
		"regex_escape":  str1(regexp.QuoteMeta),
		"format":        formatFilter,
	}
	for _, m := range []map[string]exprFunc{collectionFilters(), dataFilters(), ipFilters()} {
		for k, v := range m {
			t[k] = v
		}
	}
	t["jmap"] = jmapFilter(t)
	return t
}

// exprFuncs is everything installed into expr-lang: filters (with their
// errors prefixed by the filter's name), tests as test_NAME, and the
// internal helpers of the rewrite.
func exprFuncs() map[string]exprFunc {
	out := internalFuncs()
	for name, f := range filterTable() {
		out[name] = named(name, f)
	}
	for name := range jinjaTests {
		if !isIdent(name) {
			continue
		}
		out["test_"+name] = named("test "+name, testFunc(name))
	}
	return out
}

// keywords lists the keyword arguments each filter takes ("*": any).
var keywords = map[string]string{
	"default": "default_value boolean", "int": "default base", "float": "default",
	"regex_replace": "replacement count ignorecase multiline", "regex_search": "ignorecase multiline",
	"regex_findall": "ignorecase multiline", "min": "attribute", "max": "attribute",
	"sort": "reverse attribute", "flatten": "levels", "dict2items": "key_name value_name",
	"items2dict": "key_name value_name", "combine": "recursive", "map_attr": "attribute default",
	"jmap": "attribute default", "to_nice_json": "indent", "to_nice_yaml": "indent",
	"indent": "width first", "dict": "*", "test match": "ignorecase multiline",
	"test search": "ignorecase multiline", "test regex": "ignorecase multiline", "test version": "operator",
}

// checkKeywords rejects a keyword argument the filter does not take.
func checkKeywords(name string, args []any) error {
	for _, a := range args {
		k, ok := a.(kwarg)
		if !ok || keywords[name] == "*" {
			continue
		}
		if !slices.Contains(strings.Fields(keywords[name]), k.name) {
			return fmt.Errorf("unexpected keyword argument %q", k.name)
		}
	}
	return nil
}

// named prefixes f's errors with its name, checks keyword arguments and
// turns a panic into an error.
func named(name string, f exprFunc) exprFunc {
	return func(args ...any) (out any, err error) {
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, fmt.Errorf("%w: %s: %v", errInternal, name, r)
			}
		}()
		if err := checkKeywords(name, args); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out, err = f(args...)
		var undef *UndefinedError
		if err != nil && !errors.As(err, &undef) {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return out, err
	}
}

// splitKw separates keyword arguments (name=value) from positional ones.
func splitKw(args []any) ([]any, map[string]any) {
	var pos []any
	kw := map[string]any{}
	for _, a := range args {
		if k, ok := a.(kwarg); ok {
			kw[k.name] = k.value
			continue
		}
		pos = append(pos, a)
	}
	return pos, kw
}

// need checks the count of positional arguments.
func need(args []any, min, max int) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		switch {
		case min == max:
			return fmt.Errorf("want %d arguments, got %d", min, len(args))
		case max < 0:
			return fmt.Errorf("want at least %d arguments, got %d", min, len(args))
		}
		return fmt.Errorf("want %d to %d arguments, got %d", min, max, len(args))
	}
	return nil
}

// optArg returns the positional argument i, else the keyword name, else def.
func optArg(pos []any, kw map[string]any, i int, name string, def any) any {
	if i < len(pos) {
		return pos[i]
	}
	if v, ok := kw[name]; ok {
		return v
	}
	return def
}

func str1(f func(string) string) exprFunc {
	return func(a ...any) (any, error) {
		if err := need(a, 1, 1); err != nil {
			return nil, err
		}
		return f(toString(a[0])), nil
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r := []rune(strings.ToLower(s))
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// defaultFilter is Jinja's default(value, default="", boolean=false).
func defaultFilter(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 3); err != nil {
		return nil, err
	}
	def := optArg(pos, kw, 1, "default_value", "")
	boolean := truthy(optArg(pos, kw, 2, "boolean", false))
	v := pos[0]
	if _, undef := v.(undefined); undef || (boolean && !truthy(v)) {
		return def, nil
	}
	return v, nil
}

func mandatoryFilter(args ...any) (any, error) {
	if err := need(args, 1, 2); err != nil {
		return nil, err
	}
	if u, ok := args[0].(undefined); ok {
		if len(args) == 2 {
			return nil, errors.New(toString(args[1]))
		}
		return nil, fmt.Errorf("mandatory variable %q not defined", u.name)
	}
	return args[0], nil
}

func ternaryFilter(args ...any) (any, error) {
	if err := need(args, 3, 4); err != nil {
		return nil, err
	}
	if len(args) == 4 && args[0] == nil {
		return args[3], nil
	}
	if truthy(args[0]) {
		return args[1], nil
	}
	return args[2], nil
}

func trimFilter(args ...any) (any, error) {
	if err := need(args, 1, 2); err != nil {
		return nil, err
	}
	if len(args) == 2 {
		return strings.Trim(toString(args[0]), toString(args[1])), nil
	}
	return strings.TrimSpace(toString(args[0])), nil
}

func replaceFilter(args ...any) (any, error) {
	if err := need(args, 3, 4); err != nil {
		return nil, err
	}
	n := -1
	if len(args) == 4 {
		c, ok := asInt(args[3])
		if !ok {
			return nil, errors.New("count must be an integer")
		}
		n = c
	}
	return strings.Replace(toString(args[0]), toString(args[1]), toString(args[2]), n), nil
}

// splitFilter is Python's str.split(sep=None, maxsplit=-1).
func splitFilter(args ...any) (any, error) {
	if err := need(args, 1, 3); err != nil {
		return nil, err
	}
	s := toString(args[0])
	max := -1
	if len(args) == 3 {
		m, ok := asInt(args[2])
		if !ok {
			return nil, errors.New("maxsplit must be an integer")
		}
		max = m
	}
	var parts []string
	if len(args) < 2 || args[1] == nil {
		parts = strings.Fields(s)
		if max >= 0 && len(parts) > max+1 {
			parts = strings.SplitN(strings.TrimLeft(s, " \t\n\r\v\f"), " ", max+1)
		}
	} else {
		sep := toString(args[1])
		if sep == "" {
			return nil, errors.New("empty separator")
		}
		n := -1
		if max >= 0 {
			n = max + 1
		}
		parts = strings.SplitN(s, sep, n)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// intFilter is Ansible's int(value, default=0, base=10): a value that is not
// a number becomes the default instead of an error.
func intFilter(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 3); err != nil {
		return nil, err
	}
	def := optArg(pos, kw, 1, "default", 0)
	base, _ := asInt(optArg(pos, kw, 2, "base", 10))
	switch v := pos[0].(type) {
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		s := strings.TrimSpace(v)
		if base != 10 {
			s = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(s), "0x"), "0o")
		}
		if n, err := strconv.ParseInt(s, base, 64); err == nil {
			return int(n), nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && base == 10 && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return int(f), nil
		}
		return def, nil
	}
	if f, ok := number(pos[0]); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return int(f), nil
	}
	return def, nil
}

func floatFilter(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 2); err != nil {
		return nil, err
	}
	def := optArg(pos, kw, 1, "default", 0.0)
	switch v := pos[0].(type) {
	case bool:
		if v {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f, nil
		}
		return def, nil
	}
	if f, ok := number(pos[0]); ok {
		return f, nil
	}
	return def, nil
}

// boolFilter is Ansible's bool: yes/on/true/1/y/t (any case) are true.
func boolFilter(args ...any) (any, error) {
	if err := need(args, 1, 1); err != nil {
		return nil, err
	}
	switch v := args[0].(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "yes", "on", "true", "1", "y", "t":
			return true, nil
		}
		return false, nil
	case nil:
		return false, nil
	}
	if f, ok := number(args[0]); ok {
		return f == 1, nil
	}
	return false, nil
}
