package engine

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
)

// dict2items is dict2items(map, key_name="key", value_name="value"), in key order.
func dict2items(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 1); err != nil {
		return nil, err
	}
	m, err := toMap(pos[0])
	if err != nil {
		return nil, err
	}
	kn := toString(optArg(nil, kw, 0, "key_name", "key"))
	vn := toString(optArg(nil, kw, 0, "value_name", "value"))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = map[string]any{kn: k, vn: m[k]}
	}
	return out, nil
}

// items2dict is items2dict(list, key_name="key", value_name="value").
func items2dict(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 1); err != nil {
		return nil, err
	}
	l, err := toList(pos[0])
	if err != nil {
		return nil, err
	}
	kn := toString(optArg(nil, kw, 0, "key_name", "key"))
	vn := toString(optArg(nil, kw, 0, "value_name", "value"))
	out := make(map[string]any, len(l))
	for i, it := range l {
		k, ok1 := index(it, kn)
		v, ok2 := index(it, vn)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("item %d has no %q and %q", i, kn, vn)
		}
		out[toString(k)] = v
	}
	return out, nil
}

// dictFilter is Python's dict: dict(pairs) from [key, value] lists (as zip
// makes them), and/or dict(k=v, ...).
func dictFilter(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 0, 1); err != nil {
		return nil, err
	}
	out := map[string]any{}
	if len(pos) == 1 {
		l, err := toList(pos[0])
		if err != nil {
			return nil, err
		}
		for i, it := range l {
			pair, err := toList(it)
			if err != nil || len(pair) != 2 {
				return nil, fmt.Errorf("item %d is not a [key, value] pair", i)
			}
			out[toString(pair[0])] = pair[1]
		}
	}
	maps.Copy(out, kw)
	return out, nil
}

// combineFilter is combine(map, more..., recursive=false): later maps win;
// with recursive, nested maps are merged instead of replaced. A list of
// maps as the first argument is combined in order.
func combineFilter(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if len(pos) == 1 {
		if l, err := toList(pos[0]); err == nil {
			pos = l
		}
	}
	if len(pos) > 1 {
		if b, ok := pos[len(pos)-1].(bool); ok {
			kw["recursive"], pos = b, pos[:len(pos)-1]
		}
	}
	recursive := truthy(kw["recursive"])
	out := map[string]any{}
	for i, p := range pos {
		m, err := toMap(p)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		mergeMap(out, m, recursive)
	}
	return out, nil
}

func mergeMap(dst, src map[string]any, recursive bool) {
	for k, v := range src {
		sm, sok := v.(map[string]any)
		dm, dok := dst[k].(map[string]any)
		if recursive && sok && dok {
			merged := maps.Clone(dm)
			mergeMap(merged, sm, true)
			dst[k] = merged
			continue
		}
		dst[k] = v
	}
}

// zipFilter is zip(a, b, ...): lists of the i-th items, as long as the shortest.
func zipFilter(args ...any) (any, error) {
	if err := need(args, 1, -1); err != nil {
		return nil, err
	}
	lists := make([][]any, len(args))
	n := -1
	for i, a := range args {
		l, err := toList(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		lists[i] = l
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	out := make([]any, n)
	for i := range n {
		row := make([]any, len(lists))
		for j, l := range lists {
			row[j] = l[i]
		}
		out[i] = row
	}
	return out, nil
}

// rangeFilter is Python's range(stop) / range(start, stop[, step]).
func rangeFilter(args ...any) (any, error) {
	if err := need(args, 1, 3); err != nil {
		return nil, err
	}
	n := make([]int, len(args))
	for i, a := range args {
		v, ok := asInt(a)
		if !ok {
			return nil, fmt.Errorf("argument %d must be an integer", i+1)
		}
		n[i] = v
	}
	start, stop, step := 0, n[0], 1
	if len(n) > 1 {
		start, stop = n[0], n[1]
	}
	if len(n) == 3 {
		step = n[2]
	}
	if step == 0 {
		return nil, errors.New("step must not be zero")
	}
	out := []any{}
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(out) >= maxRange {
			return nil, fmt.Errorf("more than %d items", maxRange)
		}
		out = append(out, i)
	}
	return out, nil
}

// mapAttr is Jinja's map(attribute="a.b"): each item's attribute.
func mapAttr(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 2); err != nil {
		return nil, err
	}
	l, err := toList(pos[0])
	if err != nil {
		return nil, err
	}
	attr := toString(optArg(pos, kw, 1, "attribute", ""))
	def, hasDef := kw["default"]
	out := make([]any, len(l))
	for i, it := range l {
		v, ok := attrOf(it, attr)
		switch {
		case ok:
			out[i] = v
		case hasDef:
			out[i] = def
		default:
			return nil, &UndefinedError{Name: fmt.Sprintf("item %d.%s", i, attr)}
		}
	}
	return out, nil
}

// extractFilter is extract(key, container, morekey): container[key][morekey].
func extractFilter(args ...any) (any, error) {
	if err := need(args, 2, 3); err != nil {
		return nil, err
	}
	v, ok := index(args[1], args[0])
	if !ok {
		return nil, &UndefinedError{Name: fmt.Sprintf("[%s]", jsonString(args[0]))}
	}
	if len(args) == 3 {
		keys := []any{args[2]}
		if l, err := toList(args[2]); err == nil {
			keys = l
		}
		for _, k := range keys {
			if v, ok = index(v, k); !ok {
				return nil, &UndefinedError{Name: fmt.Sprintf("[%s][%s]", jsonString(args[0]), jsonString(k))}
			}
		}
	}
	return v, nil
}

// jmapFilter is Jinja's map: map(attribute="x") or map("filter", args...),
// which calls the named filter on every item.
func jmapFilter(table map[string]exprFunc) exprFunc {
	return func(args ...any) (any, error) {
		pos, kw := splitKw(args)
		if _, ok := kw["attribute"]; ok {
			return mapAttr(args...)
		}
		if err := need(pos, 2, -1); err != nil {
			return nil, err
		}
		l, err := toList(pos[0])
		if err != nil {
			return nil, err
		}
		name := toString(pos[1])
		f, ok := table[name]
		if !ok {
			return nil, fmt.Errorf("unknown filter %q", name)
		}
		out := make([]any, len(l))
		for i, it := range l {
			if out[i], err = f(append([]any{it}, pos[2:]...)...); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return out, nil
	}
}

// selectFilter builds select/reject/selectattr/rejectattr: keep the items
// (or the items whose attribute) pass the named Jinja test.
func selectFilter(reject, byAttr bool) exprFunc {
	return func(args ...any) (any, error) {
		min := 1
		if byAttr {
			min = 2
		}
		if err := need(args, min, -1); err != nil {
			return nil, err
		}
		l, err := toList(args[0])
		if err != nil {
			return nil, err
		}
		rest := args[1:]
		attr := ""
		if byAttr {
			attr, rest = toString(args[1]), args[2:]
		}
		test, targs := "truthy", []any(nil)
		if len(rest) > 0 {
			test, targs = toString(rest[0]), rest[1:]
		}
		t, ok := jinjaTests[test]
		if !ok {
			return nil, fmt.Errorf("unknown test %q", test)
		}
		out := []any{}
		for _, it := range l {
			v := it
			if byAttr {
				if x, ok := attrOf(it, attr); ok {
					v = x
				} else {
					v = undefined{name: attr}
				}
			}
			pass, err := t(v, targs)
			if err != nil {
				return nil, err
			}
			if pass != reject {
				out = append(out, it)
			}
		}
		return out, nil
	}
}

// indentFilter is Jinja's indent(s, width=4, first=false): indents every
// line but the first (unless first), leaving blank lines alone.
func indentFilter(args ...any) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 3); err != nil {
		return nil, err
	}
	width := optArg(pos, kw, 1, "width", 4)
	pad, ok := width.(string)
	if !ok {
		n, ok := asInt(width)
		if !ok || n < 0 || n > 1000 {
			return nil, errors.New("width must be a small integer or a string")
		}
		pad = strings.Repeat(" ", n)
	}
	first := truthy(optArg(pos, kw, 2, "first", false))
	lines := strings.Split(toString(pos[0]), "\n")
	for i, l := range lines {
		if (i > 0 || first) && strings.TrimSpace(l) != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n"), nil
}
