package engine

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm/runtime"
)

// undefined is the value a lenient lookup (inside default() or an `is`
// test) yields for a missing variable. It never escapes those functions.
type undefined struct{ name string }

// kwarg is a Jinja keyword argument (`recursive=true`) after rewriting.
type kwarg struct {
	name  string
	value any
}

// internalFuncs are the functions the rewrite and the patch insert.
func internalFuncs() map[string]exprFunc {
	return map[string]exprFunc{
		"__get":        getStrict,
		"__lookup":     getLenient,
		"__lookup_nil": getNil,
		"__in":         inFunc,
		"__span":       spanFunc,
		"__add":        addFunc,
		"__method":     callMethod,
		"kw":           kwFunc,
		"truthy":       func(a ...any) (any, error) { return truthy(arg(a, 0)), nil },
	}
}

// walkPath follows keys from env[root]; it returns the value, or the
// dotted path of the first missing piece.
func walkPath(args []any) (any, string, bool) {
	if len(args) < 2 {
		return nil, "", false
	}
	env, _ := args[0].(map[string]any)
	root, _ := args[1].(string)
	v, ok := env[root]
	path := root
	if !ok {
		return nil, path, false
	}
	for _, k := range args[2:] {
		path += pathSuffix(k)
		v, ok = index(v, k)
		if !ok {
			return nil, path, false
		}
	}
	return v, path, true
}

func pathSuffix(k any) string {
	if s, ok := k.(string); ok && isIdent(s) {
		return "." + s
	}
	return fmt.Sprintf("[%s]", jsonString(k))
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func getStrict(args ...any) (any, error) {
	v, path, ok := walkPath(args)
	if !ok {
		return nil, &UndefinedError{Name: path}
	}
	return v, nil
}

func getLenient(args ...any) (any, error) {
	v, path, ok := walkPath(args)
	if !ok {
		return undefined{name: path}, nil
	}
	return v, nil
}

func getNil(args ...any) (any, error) {
	v, _, _ := walkPath(args)
	return v, nil
}

// index returns v[k] for maps, lists and strings (negative indexes count
// from the end, as in Python).
func index(v, k any) (any, bool) {
	switch c := v.(type) {
	case map[string]any:
		s, ok := k.(string)
		if !ok {
			return nil, false
		}
		x, ok := c[s]
		return x, ok
	case []any:
		i, ok := intIndex(k, len(c))
		if !ok {
			return nil, false
		}
		return c[i], true
	case string:
		r := []rune(c)
		i, ok := intIndex(k, len(r))
		if !ok {
			return nil, false
		}
		return string(r[i]), true
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		kv := reflect.ValueOf(k)
		if !kv.IsValid() || !kv.Type().AssignableTo(rv.Type().Key()) {
			return nil, false
		}
		x := rv.MapIndex(kv)
		if !x.IsValid() {
			return nil, false
		}
		return x.Interface(), true
	case reflect.Slice, reflect.Array:
		i, ok := intIndex(k, rv.Len())
		if !ok {
			return nil, false
		}
		return rv.Index(i).Interface(), true
	}
	return nil, false
}

func intIndex(k any, n int) (int, bool) {
	i, ok := asInt(k)
	if !ok {
		return 0, false
	}
	if i < 0 {
		i += n
	}
	return i, i >= 0 && i < n
}

// asInt converts an integer-valued number (not a string) to int.
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case int32:
		return int(n), true
	case uint64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	return 0, false
}

// truthy is Jinja's truthiness: false, nil, "", 0, empty list or map are false.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array, reflect.String:
		return rv.Len() > 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() != 0
	case reflect.Float32:
		return rv.Float() != 0
	case reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	}
	return true
}

// inFunc is `x in y`: membership in a list, key of a map, or substring.
func inFunc(args ...any) (any, error) {
	x, y := arg(args, 0), arg(args, 1)
	switch c := y.(type) {
	case string:
		return strings.Contains(c, toString(x)), nil
	case nil:
		return false, nil
	}
	rv := reflect.ValueOf(y)
	switch rv.Kind() {
	case reflect.Map:
		_, ok := index(y, x)
		return ok, nil
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			if looseEqual(rv.Index(i).Interface(), x) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, fmt.Errorf("operator in: cannot search a %s", typeName(y))
}

// looseEqual compares numbers by value (1 == 1.0) and everything else deeply.
func looseEqual(a, b any) bool {
	if fa, ok := number(a); ok {
		if fb, ok := number(b); ok {
			return fa == fb
		}
		return false
	}
	return reflect.DeepEqual(a, b)
}

// number returns v as float64 if it is a Go number (not a string).
func number(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// spanFunc is expr-lang's `a..b` (both ends included), bounded by maxRange.
func spanFunc(args ...any) (any, error) {
	a, ok1 := asInt(arg(args, 0))
	b, ok2 := asInt(arg(args, 1))
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("operator ..: want integers")
	}
	return rangeFilter(a, b+1)
}

// addFunc is `+`: two lists concatenate into a new list (Jinja), anything
// else adds as expr-lang's own operator does (numbers, strings).
func addFunc(args ...any) (out any, err error) {
	a, b := arg(args, 0), arg(args, 1)
	if isList(a) && isList(b) {
		l, _ := toList(a)
		r, _ := toList(b)
		if len(l)+len(r) > maxRange {
			return nil, fmt.Errorf("operator +: more than %d items", maxRange)
		}
		return append(append(make([]any, 0, len(l)+len(r)), l...), r...), nil
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("operator +: cannot add %s and %s", typeName(a), typeName(b))
		}
	}()
	return runtime.Add(a, b), nil
}

// isList reports whether v is a list (any slice or array).
func isList(v any) bool {
	if _, ok := v.([]any); ok {
		return true
	}
	if v == nil {
		return false
	}
	k := reflect.ValueOf(v).Kind()
	return k == reflect.Slice || k == reflect.Array
}

func kwFunc(args ...any) (any, error) {
	name, _ := arg(args, 0).(string)
	return kwarg{name: name, value: arg(args, 1)}, nil
}

// arg returns args[i] or nil.
func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// typeName names v's kind the way a playbook author thinks of it.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "none"
	case undefined:
		return "undefined value"
	case string:
		return "string"
	case bool:
		return "bool"
	case map[string]any:
		return "map"
	case []any:
		return "list"
	}
	if _, ok := number(v); ok {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// toString is the string form of a value inside "...{{ x }}...": strings
// as they are, nil as "", numbers in decimal, lists and maps as JSON.
func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil, undefined:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return formatFloat(x)
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		return jsonString(v)
	case reflect.Float32:
		return formatFloat(rv.Float())
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64) string {
	if f == float64(int64(f)) && f < 1e21 && f > -1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
