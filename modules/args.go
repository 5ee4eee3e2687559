package modules

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ArgDecoder is implemented by argument types that decode themselves from a
// rendered value (file modes, durations).
type ArgDecoder interface {
	DecodeArg(v any) error
}

// Decode copies args into the struct that dst points to, strictly: every key
// must match a field tagged `arg:"name"` (aliases separated by "|", the first
// is the canonical name; ",required" marks required fields), and every value
// must convert to the field's type the way Ansible converts module args
// ("yes"/"true"/"1" to bool, "0644" stays a string, numbers from strings).
func Decode(args map[string]any, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode: want a pointer to a struct, got %T", dst)
	}
	fields := argFields(rv.Elem().Type())
	seen := map[int]string{}
	for _, key := range sortedKeys(args) {
		f, ok := fields.byName[key]
		if !ok {
			return fmt.Errorf("unsupported parameter %q (supported: %s)", key, strings.Join(fields.names, ", "))
		}
		if prev, dup := seen[f.index]; dup {
			return fmt.Errorf("parameters %q and %q are the same parameter", prev, key)
		}
		seen[f.index] = key
		if err := setValue(rv.Elem().Field(f.index), args[key]); err != nil {
			return fmt.Errorf("parameter %q: %w", key, err)
		}
	}
	for _, f := range fields.list {
		if _, ok := seen[f.index]; f.required && !ok {
			return fmt.Errorf("missing required parameter %q", f.name)
		}
	}
	return nil
}

// ArgNames lists the canonical and alias names a struct accepts, for the
// loader's check of task arguments before any host is touched.
func ArgNames(proto any) []string {
	t := reflect.TypeOf(proto)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return argFields(t).names
}

type argField struct {
	name     string
	index    int
	required bool
}

type fieldSet struct {
	byName map[string]argField
	list   []argField
	names  []string
}

func argFields(t reflect.Type) fieldSet {
	fs := fieldSet{byName: map[string]argField{}}
	for i := 0; i < t.NumField(); i++ {
		tag, ok := t.Field(i).Tag.Lookup("arg")
		if !ok || tag == "-" {
			continue
		}
		namesPart, opts, _ := strings.Cut(tag, ",")
		names := strings.Split(namesPart, "|")
		f := argField{name: names[0], index: i, required: opts == "required"}
		fs.list = append(fs.list, f)
		for _, n := range names {
			fs.byName[n] = f
			fs.names = append(fs.names, n)
		}
	}
	sort.Strings(fs.names)
	return fs
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func setValue(v reflect.Value, in any) error {
	if v.CanAddr() {
		if d, ok := v.Addr().Interface().(ArgDecoder); ok {
			return d.DecodeArg(in)
		}
	}
	if in == nil {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := setValue(p.Elem(), in); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Interface:
		v.Set(reflect.ValueOf(in))
		return nil
	case reflect.String:
		s, err := ToString(in)
		if err != nil {
			return err
		}
		v.SetString(s)
	case reflect.Bool:
		b, err := ToBool(in)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := toInt(in)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := toFloat(in)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Slice:
		return setSlice(v, in)
	case reflect.Map:
		return setMap(v, in)
	default:
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}

func setSlice(v reflect.Value, in any) error {
	var items []any
	switch x := in.(type) {
	case []any:
		items = x
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	case string:
		// Ansible accepts a comma-separated string for list arguments.
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
	default:
		items = []any{in}
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, it := range items {
		if err := setValue(out.Index(i), it); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	v.Set(out)
	return nil
}

func setMap(v reflect.Value, in any) error {
	m, ok := in.(map[string]any)
	if !ok {
		return fmt.Errorf("want a mapping, got %s", typeName(in))
	}
	out := reflect.MakeMapWithSize(v.Type(), len(m))
	for k, val := range m {
		ev := reflect.New(v.Type().Elem()).Elem()
		if err := setValue(ev, val); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		out.SetMapIndex(reflect.ValueOf(k), ev)
	}
	v.Set(out)
	return nil
}

// ToString converts a scalar to its string form; lists and maps are errors.
func ToString(in any) (string, error) {
	switch x := in.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("want a string, got %s", typeName(in))
}

// ToBool converts the boolean spellings Ansible accepts.
func ToBool(in any) (bool, error) {
	switch x := in.(type) {
	case bool:
		return x, nil
	case int:
		return x != 0, nil
	case int64:
		return x != 0, nil
	case float64:
		return x != 0, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "yes", "true", "on", "1", "y", "t":
			return true, nil
		case "no", "false", "off", "0", "n", "f", "":
			return false, nil
		}
		return false, fmt.Errorf("%q is not a boolean", x)
	}
	return false, fmt.Errorf("want a boolean, got %s", typeName(in))
}

func toInt(in any) (int64, error) {
	switch x := in.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case float64:
		if x != float64(int64(x)) {
			return 0, fmt.Errorf("%v is not a whole number", x)
		}
		return int64(x), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want a number, got %s", typeName(in))
}

func toFloat(in any) (float64, error) {
	switch x := in.(type) {
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("want a number, got %s", typeName(in))
}

func typeName(in any) string {
	switch in.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, uint64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", in)
}
