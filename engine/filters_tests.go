package engine

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// testFn is a Jinja test: `v is name(args)`, or select("name", args).
type testFn func(v any, args []any) (bool, error)

// jinjaTests are the tests `is` and select/reject understand. An undefined
// value reaches them as undefined{} (never as an error).
var jinjaTests map[string]testFn

func init() {
	cmp := func(want func(int) bool) testFn {
		return func(v any, a []any) (bool, error) {
			c, err := compare(v, arg(a, 0))
			return err == nil && want(c), err
		}
	}
	jinjaTests = map[string]testFn{
		"defined":   func(v any, _ []any) (bool, error) { _, u := v.(undefined); return !u, nil },
		"undefined": func(v any, _ []any) (bool, error) { _, u := v.(undefined); return u, nil },
		"none":      func(v any, _ []any) (bool, error) { return v == nil, nil },
		"truthy":    func(v any, _ []any) (bool, error) { return truthy(v), nil },
		"falsy":     func(v any, _ []any) (bool, error) { return !truthy(v), nil },
		"string":    func(v any, _ []any) (bool, error) { _, ok := v.(string); return ok, nil },
		"boolean":   func(v any, _ []any) (bool, error) { _, ok := v.(bool); return ok, nil },
		"number":    func(v any, _ []any) (bool, error) { _, ok := number(v); return ok, nil },
		"integer":   func(v any, _ []any) (bool, error) { _, ok := number(v); return ok && !isFloat(v), nil },
		"float":     func(v any, _ []any) (bool, error) { return isFloat(v), nil },
		"mapping":   func(v any, _ []any) (bool, error) { return kindOf(v) == reflect.Map, nil },
		"sequence":  isSequence,
		"iterable":  isSequence,
		"eq":        func(v any, a []any) (bool, error) { return looseEqual(v, arg(a, 0)), nil },
		"ne":        func(v any, a []any) (bool, error) { return !looseEqual(v, arg(a, 0)), nil },
		"lt":        cmp(func(c int) bool { return c < 0 }),
		"le":        cmp(func(c int) bool { return c <= 0 }),
		"gt":        cmp(func(c int) bool { return c > 0 }),
		"ge":        cmp(func(c int) bool { return c >= 0 }),
		"in":        func(v any, a []any) (bool, error) { r, err := inFunc(v, arg(a, 0)); return r == true, err },
		"contains":  func(v any, a []any) (bool, error) { r, err := inFunc(arg(a, 0), v); return r == true, err },
		"match":     regexTest(true),
		"search":    regexTest(false),
		"regex":     regexTest(false),
		"version":   versionTest,
		"failed":    resultTest("failed", true),
		"succeeded": resultTest("failed", false),
		"changed":   resultTest("changed", true),
		"skipped":   resultTest("skipped", true),
	}
	for alias, name := range map[string]string{"equalto": "eq", "==": "eq", "!=": "ne", "<": "lt",
		"<=": "le", ">": "gt", ">=": "ge", "greaterthan": "gt", "lessthan": "lt", "failure": "failed",
		"success": "succeeded", "change": "changed", "skip": "skipped", "version_compare": "version"} {
		jinjaTests[alias] = jinjaTests[name]
	}
}

// testFunc adapts a test to a function: test_defined(x) -> bool.
func testFunc(name string) exprFunc {
	t := jinjaTests[name]
	return func(args ...any) (any, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("needs a value")
		}
		return t(args[0], args[1:])
	}
}

func kindOf(v any) reflect.Kind {
	if v == nil {
		return reflect.Invalid
	}
	return reflect.TypeOf(v).Kind()
}

func isFloat(v any) bool {
	k := kindOf(v)
	return k == reflect.Float32 || k == reflect.Float64
}

func isSequence(v any, _ []any) (bool, error) {
	switch kindOf(v) {
	case reflect.Slice, reflect.Array, reflect.String, reflect.Map:
		return true, nil
	}
	return false, nil
}

func regexTest(anchored bool) testFn {
	return func(v any, a []any) (bool, error) {
		pos, kw := splitKw(a)
		if len(pos) != 1 {
			return false, fmt.Errorf("want a pattern")
		}
		pat := toString(pos[0])
		if anchored {
			pat = `\A(?:` + pat + `)`
		}
		re, err := compileRegex(pat, kw)
		if err != nil {
			return false, err
		}
		return re.MatchString(toString(v)), nil
	}
}

// resultTest reads a registered result: `r is failed` is r.failed == true.
func resultTest(key string, want bool) testFn {
	return func(v any, _ []any) (bool, error) {
		x, ok := index(v, key)
		if !ok {
			if _, isMap := v.(map[string]any); !isMap {
				return false, fmt.Errorf("want a registered result, got %s", typeName(v))
			}
		}
		return truthy(x) == want, nil
	}
}

// versionTest is `v is version("1.28", ">=")`: dotted numeric comparison;
// a leading "v" and a "-suffix" are ignored.
func versionTest(v any, a []any) (bool, error) {
	pos, kw := splitKw(a)
	if len(pos) < 1 {
		return false, fmt.Errorf("want a version to compare with")
	}
	op := toString(optArg(pos, kw, 1, "operator", "=="))
	c := compareVersions(toString(v), toString(pos[0]))
	switch op {
	case "==", "=", "eq":
		return c == 0, nil
	case "!=", "<>", "ne":
		return c != 0, nil
	case "<", "lt":
		return c < 0, nil
	case "<=", "le":
		return c <= 0, nil
	case ">", "gt":
		return c > 0, nil
	case ">=", "ge":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionParts(s string) []int {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	s, _, _ = strings.Cut(s, "-")
	s, _, _ = strings.Cut(s, "+")
	var out []int
	for _, p := range strings.Split(s, ".") {
		n, _ := strconv.Atoi(p)
		out = append(out, n)
	}
	return out
}
