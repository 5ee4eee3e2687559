package engine

import (
	"fmt"
	"strings"
)

// pyMethods are the Python string and dict methods that Ansible playbooks
// call on values (`x.split(",")`, `d.get("k", 1)`); the patch turns such a
// call into __method("split", x, ",").
var pyMethods = map[string]bool{
	"split": true, "strip": true, "lstrip": true, "rstrip": true, "lower": true, "upper": true,
	"startswith": true, "endswith": true, "replace": true, "join": true, "splitlines": true,
	"keys": true, "values": true, "items": true, "get": true,
}

// callMethod runs a Python method on its receiver.
func callMethod(args ...any) (any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("method call without receiver")
	}
	name, _ := args[0].(string)
	recv, rest := args[1], args[2:]
	out, err := method(name, recv, rest)
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", name, err)
	}
	return out, nil
}

func method(name string, recv any, a []any) (any, error) {
	switch name {
	case "split":
		return splitFilter(append([]any{recv}, a...)...)
	case "strip", "lstrip", "rstrip":
		return stripMethod(name, toString(recv), a)
	case "lower":
		return strings.ToLower(toString(recv)), need(a, 0, 0)
	case "upper":
		return strings.ToUpper(toString(recv)), need(a, 0, 0)
	case "startswith":
		return strings.HasPrefix(toString(recv), toString(arg(a, 0))), need(a, 1, 1)
	case "endswith":
		return strings.HasSuffix(toString(recv), toString(arg(a, 0))), need(a, 1, 1)
	case "replace":
		return replaceFilter(append([]any{recv}, a...)...)
	case "join":
		if err := need(a, 1, 1); err != nil {
			return nil, err
		}
		return joinFilter(a[0], recv)
	case "splitlines":
		out := []any{}
		for _, l := range strings.Split(strings.TrimSuffix(toString(recv), "\n"), "\n") {
			out = append(out, strings.TrimSuffix(l, "\r"))
		}
		return out, need(a, 0, 0)
	case "keys":
		return dictKeys(recv)
	case "values", "items":
		return mapMethod(name, recv)
	case "get":
		if err := need(a, 1, 2); err != nil {
			return nil, err
		}
		if _, err := toMap(recv); err != nil {
			return nil, err
		}
		if v, ok := index(recv, a[0]); ok {
			return v, nil
		}
		return arg(a, 1), nil
	}
	return nil, fmt.Errorf("unknown method")
}

func stripMethod(name, s string, a []any) (any, error) {
	if err := need(a, 0, 1); err != nil {
		return nil, err
	}
	cut := " \t\n\r\v\f"
	if len(a) == 1 && a[0] != nil {
		cut = toString(a[0])
	}
	switch name {
	case "lstrip":
		return strings.TrimLeft(s, cut), nil
	case "rstrip":
		return strings.TrimRight(s, cut), nil
	}
	return strings.Trim(s, cut), nil
}

// mapMethod is d.values() / d.items() in key order.
func mapMethod(name string, recv any) (any, error) {
	m, err := toMap(recv)
	if err != nil {
		return nil, err
	}
	keys, _ := dictKeys(m)
	out := []any{}
	for _, k := range keys.([]any) {
		if name == "values" {
			out = append(out, m[k.(string)])
		} else {
			out = append(out, []any{k, m[k.(string)]})
		}
	}
	return out, nil
}
