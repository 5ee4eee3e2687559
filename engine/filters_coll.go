package engine

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// maxRange bounds range() so that no expression can exhaust memory.
const maxRange = 1 << 20

func collectionFilters() map[string]exprFunc {
	return map[string]exprFunc{
		"length":     lengthFilter,
		"first":      func(a ...any) (any, error) { return endFilter(a, true) },
		"last":       func(a ...any) (any, error) { return endFilter(a, false) },
		"min":        func(a ...any) (any, error) { return minMax(a, -1) },
		"max":        func(a ...any) (any, error) { return minMax(a, 1) },
		"sort":       sortFilter,
		"unique":     func(a ...any) (any, error) { return setOp(a, 1, "unique") },
		"union":      func(a ...any) (any, error) { return setOp(a, 2, "union") },
		"intersect":  func(a ...any) (any, error) { return setOp(a, 2, "intersect") },
		"difference": func(a ...any) (any, error) { return setOp(a, 2, "difference") },
		"flatten":    flattenFilter,
		"join":       joinFilter,
		"list":       listFilter,
		"dict2items": dict2items,
		"items2dict": items2dict,
		"combine":    combineFilter,
		"dict":       dictFilter,
		"zip":        zipFilter,
		"range":      rangeFilter,
		"map_attr":   mapAttr,
		"extract":    extractFilter,
		"select":     selectFilter(false, false),
		"reject":     selectFilter(true, false),
		"selectattr": selectFilter(false, true),
		"rejectattr": selectFilter(true, true),
		"indent":     indentFilter,
	}
}

// toList accepts any list (or array) value.
func toList(v any) ([]any, error) {
	switch l := v.(type) {
	case []any:
		return l, nil
	case nil:
		return nil, errors.New("value is none, not a list")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, fmt.Errorf("want a list, got %s", typeName(v))
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, nil
}

func toMap(v any) (map[string]any, error) {
	switch m := v.(type) {
	case map[string]any:
		return m, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map {
		return nil, fmt.Errorf("want a map, got %s", typeName(v))
	}
	out := make(map[string]any, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		out[toString(iter.Key().Interface())] = iter.Value().Interface()
	}
	return out, nil
}

func lengthFilter(args ...any) (any, error) {
	if err := need(args, 1, 1); err != nil {
		return nil, err
	}
	switch v := args[0].(type) {
	case string:
		return len([]rune(v)), nil
	case nil:
		return 0, nil
	}
	rv := reflect.ValueOf(args[0])
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len(), nil
	}
	return nil, fmt.Errorf("a %s has no length", typeName(args[0]))
}

func endFilter(args []any, first bool) (any, error) {
	if err := need(args, 1, 1); err != nil {
		return nil, err
	}
	if s, ok := args[0].(string); ok {
		args[0] = strings.Split(s, "")
	}
	l, err := toList(args[0])
	if err != nil || len(l) == 0 {
		return nil, err
	}
	if first {
		return l[0], nil
	}
	return l[len(l)-1], nil
}

// compare orders numbers numerically and strings lexically.
func compare(a, b any) (int, error) {
	if fa, ok := number(a); ok {
		if fb, ok := number(b); ok {
			switch {
			case fa < fb:
				return -1, nil
			case fa > fb:
				return 1, nil
			}
			return 0, nil
		}
	}
	sa, oka := a.(string)
	sb, okb := b.(string)
	if oka && okb {
		return strings.Compare(sa, sb), nil
	}
	return 0, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
}

// attrOf returns item[attr] where attr may be dotted ("a.b").
func attrOf(item any, attr string) (any, bool) {
	v := item
	for _, k := range strings.Split(attr, ".") {
		var ok bool
		if v, ok = index(v, k); !ok {
			return nil, false
		}
	}
	return v, true
}

// sortKeys returns each item's sort key (the item or its attribute).
func sortKeys(l []any, attr any) ([]any, error) {
	keys := make([]any, len(l))
	for i, it := range l {
		keys[i] = it
		if attr != nil {
			v, ok := attrOf(it, toString(attr))
			if !ok {
				return nil, fmt.Errorf("item %d has no attribute %q", i, toString(attr))
			}
			keys[i] = v
		}
	}
	return keys, nil
}

func minMax(args []any, sign int) (any, error) {
	pos, kw := splitKw(args)
	l := pos
	if len(pos) == 1 {
		var err error
		if l, err = toList(pos[0]); err != nil {
			return nil, err
		}
	}
	if len(l) == 0 {
		return nil, errors.New("empty list")
	}
	keys, err := sortKeys(l, kw["attribute"])
	if err != nil {
		return nil, err
	}
	best := 0
	for i := 1; i < len(l); i++ {
		c, err := compare(keys[i], keys[best])
		if err != nil {
			return nil, err
		}
		if c*sign > 0 {
			best = i
		}
	}
	return l[best], nil
}

// sortFilter is sort(list, reverse=false, attribute=none); stable.
func sortFilter(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 2); err != nil {
		return nil, err
	}
	l, err := toList(pos[0])
	if err != nil {
		return nil, err
	}
	keys, err := sortKeys(l, kw["attribute"])
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	var cmpErr error
	sort.SliceStable(idx, func(i, j int) bool {
		c, err := compare(keys[idx[i]], keys[idx[j]])
		if err != nil && cmpErr == nil {
			cmpErr = err
		}
		return c < 0
	})
	if cmpErr != nil {
		return nil, cmpErr
	}
	out := make([]any, len(l))
	for i, k := range idx {
		out[i] = l[k]
	}
	if truthy(optArg(pos, kw, 1, "reverse", false)) {
		slices.Reverse(out)
	}
	return out, nil
}

// setOp implements unique/union/intersect/difference, keeping the order of
// first appearance; items are equal when their JSON forms are.
func setOp(args []any, n int, op string) (any, error) {
	if err := need(args, n, n); err != nil {
		return nil, err
	}
	a, err := toList(args[0])
	if err != nil {
		return nil, err
	}
	var b []any
	if n == 2 {
		if b, err = toList(args[1]); err != nil {
			return nil, err
		}
	}
	inB := map[string]bool{}
	for _, x := range b {
		inB[jsonString(x)] = true
	}
	seen := map[string]bool{}
	out := []any{}
	add := func(x any, keep bool) {
		k := jsonString(x)
		if keep && !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	for _, x := range a {
		k := jsonString(x)
		add(x, op == "unique" || op == "union" || (op == "intersect") == inB[k])
	}
	if op == "union" {
		for _, x := range b {
			add(x, true)
		}
	}
	return out, nil
}

// flattenFilter is flatten(list, levels=all); nulls are dropped, as Ansible does.
func flattenFilter(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 2); err != nil {
		return nil, err
	}
	l, err := toList(pos[0])
	if err != nil {
		return nil, err
	}
	levels, ok := asInt(optArg(pos, kw, 1, "levels", -1))
	if !ok {
		return nil, errors.New("levels must be an integer")
	}
	return flatten(l, levels), nil
}

func flatten(l []any, levels int) []any {
	out := []any{}
	for _, x := range l {
		if x == nil {
			continue
		}
		if sub, err := toList(x); err == nil && levels != 0 {
			out = append(out, flatten(sub, levels-1)...)
			continue
		}
		out = append(out, x)
	}
	return out
}

func joinFilter(args ...any) (any, error) {
	if err := need(args, 1, 2); err != nil {
		return nil, err
	}
	l, err := toList(args[0])
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = toString(x)
	}
	return strings.Join(parts, toString(arg(args, 1))), nil
}

// listFilter is Jinja's list: a list stays, a map gives its sorted keys,
// a string its characters.
func listFilter(args ...any) (any, error) {
	if err := need(args, 1, 1); err != nil {
		return nil, err
	}
	switch v := args[0].(type) {
	case string:
		out := []any{}
		for _, r := range v {
			out = append(out, string(r))
		}
		return out, nil
	case nil:
		return []any{}, nil
	}
	if reflect.ValueOf(args[0]).Kind() == reflect.Map {
		return dictKeys(args[0])
	}
	l, err := toList(args[0])
	if err != nil {
		return nil, err
	}
	return slices.Clone(l), nil
}

func dictKeys(args ...any) (any, error) {
	m, err := toMap(arg(args, 0))
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out, nil
}
