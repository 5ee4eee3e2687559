package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/shell"
	"go.yaml.in/yaml/v3"
)

// parseExtraVars merges the -e values in order, a later value replacing an
// earlier one of the same name, as ansible-playbook does. Each value is
// @FILE (YAML or JSON), an inline JSON/YAML mapping, or k=v pairs (values
// stay strings, as in Ansible).
func parseExtraVars(values []string) (map[string]any, error) {
	out := map[string]any{}
	for _, v := range values {
		m, err := parseExtraVar(v)
		if err != nil {
			return nil, usageErrorf("-e %s: %w", v, err)
		}
		for k, val := range m {
			out[k] = val
		}
	}
	return out, nil
}

func parseExtraVar(v string) (map[string]any, error) {
	s := strings.TrimSpace(v)
	switch {
	case s == "":
		return nil, fmt.Errorf("empty value")
	case strings.HasPrefix(s, "@"):
		name := s[1:]
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read vars file: %w", err)
		}
		return decodeVarsDoc(name, data)
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "---"), !strings.Contains(s, "="):
		return decodeVarsDoc("inline", []byte(s))
	}
	return parseKeyValues(s)
}

// decodeVarsDoc decodes a YAML (or JSON) mapping; an empty document is an
// empty mapping.
func decodeVarsDoc(name string, data []byte) (map[string]any, error) {
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// parseKeyValues reads "a=1 b='two words'".
func parseKeyValues(s string) (map[string]any, error) {
	words, err := shell.Split(s)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	for _, w := range words {
		k, val, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("want key=value, @file or a JSON/YAML mapping, got %q", w)
		}
		if !validVarName(k) {
			return nil, fmt.Errorf("invalid variable name %q", k)
		}
		m[k] = val
	}
	return m, nil
}

// validVarName reports whether k is an identifier, as variable names must be.
func validVarName(k string) bool {
	for i, r := range k {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return k != ""
}

// redactCommand is the command line as a journal records it: an -e value
// that sets a secret variable (journal.SecretVarName) is replaced by its
// names with "***" values, so that no password reaches meta.json.
func redactCommand(args []string) []string {
	out := append([]string(nil), args...)
	for i := 0; i < len(out); i++ {
		a := out[i]
		switch {
		case a == "-e" || a == "--extra-vars" || a == "-extra-vars" || a == "--e":
			if i+1 < len(out) {
				out[i+1] = redactExtraVar(out[i+1])
				i++
			}
		default:
			for _, p := range []string{"-e=", "--e=", "-extra-vars=", "--extra-vars="} {
				if v, ok := strings.CutPrefix(a, p); ok {
					out[i] = p + redactExtraVar(v)
				}
			}
		}
	}
	return out
}

// redactExtraVar hides the secret values of one -e value; @FILE stays.
func redactExtraVar(v string) string {
	if strings.HasPrefix(strings.TrimSpace(v), "@") {
		return v
	}
	m, err := parseExtraVar(v)
	if err != nil {
		return v
	}
	if _, withheld := journal.SplitExtraVars(m); len(withheld) == 0 {
		return v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=***"
	}
	return strings.Join(keys, " ")
}
