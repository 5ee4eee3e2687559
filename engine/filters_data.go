package engine

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"path"
	"strings"

	"github.com/kplay/kplay/shell"
	"go.yaml.in/yaml/v3"
)

func dataFilters() map[string]exprFunc {
	return map[string]exprFunc{
		"to_json":      func(a ...any) (any, error) { return toJSON(a, false) },
		"to_nice_json": func(a ...any) (any, error) { return toJSON(a, true) },
		"from_json":    fromJSON,
		"to_yaml":      func(a ...any) (any, error) { return toYAML(a, 2) },
		"to_nice_yaml": toNiceYAML,
		"from_yaml":    fromYAML,
		"b64encode":    str1(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }),
		"b64decode":    b64decode,
		"basename":     str1(path.Base),
		"dirname":      str1(path.Dir),
		"quote":        str1(shell.Quote),
		"hash":         hashFilter,
		"sha1":         hashOf("sha1"),
		"sha256":       hashOf("sha256"),
		"md5":          hashOf("md5"),
		"checksum":     hashOf("sha1"),
	}
}

// jsonString is v as compact JSON with keys sorted and no HTML escaping.
func jsonString(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func toJSON(args []any, nice bool) (any, error) {
	pos, kw := splitKw(args)
	if err := need(pos, 1, 1); err != nil {
		return nil, err
	}
	if !nice {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(pos[0]); err != nil {
			return nil, err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	}
	n, ok := asInt(optArg(nil, kw, 0, "indent", 4))
	if !ok || n < 0 || n > 16 {
		return nil, fmt.Errorf("indent must be 0 to 16")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", strings.Repeat(" ", n))
	if err := enc.Encode(pos[0]); err != nil {
		return nil, err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func fromJSON(args ...any) (any, error) {
	if err := need(args, 1, 1); err != nil {
		return nil, err
	}
	var v any
	d := json.NewDecoder(strings.NewReader(toString(args[0])))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return normalizeNumbers(v), nil
}

// normalizeNumbers turns json.Number into int when integral, else float64,
// so that decoded data looks like YAML-loaded variables.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

func toNiceYAML(args ...any) (any, error) {
	pos, kw := splitKw(args)
	n, ok := asInt(optArg(nil, kw, 0, "indent", 2))
	if !ok || n < 1 || n > 16 {
		return nil, fmt.Errorf("indent must be 1 to 16")
	}
	return toYAML(pos, n)
}

// toYAML is v as block YAML, keys sorted, without the final newline (as
// Helm's toYaml), so that `{{ x | to_yaml | indent(4) }}` composes.
func toYAML(args []any, indent int) (any, error) {
	if err := need(args, 1, 1); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indent)
	if err := enc.Encode(args[0]); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func fromYAML(args ...any) (any, error) {
	if err := need(args, 1, 1); err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal([]byte(toString(args[0])), &v); err != nil {
		return nil, err
	}
	return normalizeYAML(v), nil
}

// normalizeYAML turns map[any]any (non-string keys) into map[string]any.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[toString(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
	}
	return v
}

func b64decode(args ...any) (any, error) {
	if err := need(args, 1, 1); err != nil {
		return nil, err
	}
	s := strings.TrimSpace(toString(args[0]))
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return nil, err
		}
	}
	return string(b), nil
}

var hashes = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New,
}

// hashFilter is hash(value, algorithm="sha1"): the hex digest.
func hashFilter(args ...any) (any, error) {
	if err := need(args, 1, 2); err != nil {
		return nil, err
	}
	algo := "sha1"
	if len(args) == 2 {
		algo = toString(args[1])
	}
	h, ok := hashes[algo]
	if !ok {
		return nil, fmt.Errorf("unknown algorithm %q (md5, sha1, sha256, sha512)", algo)
	}
	d := h()
	d.Write([]byte(toString(args[0])))
	return hex.EncodeToString(d.Sum(nil)), nil
}

func hashOf(algo string) exprFunc {
	return func(a ...any) (any, error) {
		if err := need(a, 1, 1); err != nil {
			return nil, err
		}
		return hashFilter(a[0], algo)
	}
}
