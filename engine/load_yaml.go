package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// LoadError is one problem found while loading a playbook, a role or a
// vars file, with the place it was found so that the user can go there.
type LoadError struct {
	Pos Pos
	Msg string
}

// Error formats the error as file:line:col: msg (file: msg when the line is
// not known).
func (e *LoadError) Error() string {
	if e.Pos.File == "" {
		return e.Msg
	}
	if e.Pos.Line == 0 {
		return e.Pos.File + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// maxNodes bounds the work of converting one document, so that a small file
// of nested aliases cannot expand into gigabytes.
const maxNodes = 1_000_000

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses the first document of data. An empty document gives a
// nil node. Syntax errors become a LoadError at the line yaml reports.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &LoadError{Pos: Pos{File: file, Line: extra.Line, Col: extra.Column}, Msg: "more than one YAML document in the file"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(file, err)
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			line++ // yaml counts parser (not scanner) errors from 0
		}
		return &LoadError{Pos: Pos{File: file, Line: line}, Msg: "yaml: " + m[2]}
	}
	return &LoadError{Pos: Pos{File: file}, Msg: msg}
}

// parserProblems are yaml's parser messages, whose line it reports
// 0-based, unlike its scanner messages.
var parserProblems = map[string]bool{
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
}

// converter turns yaml nodes into plain Go values (map[string]any, []any,
// string, int, float64, bool, nil), counting nodes to bound alias bombs.
type converter struct {
	file  string
	nodes int
	depth int
}

func (c *converter) value(n *yaml.Node) (any, error) {
	c.nodes++
	if c.nodes > maxNodes || c.depth > 1000 {
		return nil, c.errAt(n, "document too large or too deeply nested (aliases?)")
	}
	c.depth++
	defer func() { c.depth-- }()
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0])
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, c.errAt(n, "unknown alias")
		}
		return c.value(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n)
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil, c.errAt(n, "unexpected YAML node")
}

func (c *converter) mapping(n *yaml.Node) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			if err := c.merge(out, v); err != nil {
				return nil, err
			}
			continue
		}
		key, err := c.key(k)
		if err != nil {
			return nil, err
		}
		val, err := c.value(v)
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	return out, nil
}

// merge applies a "<<: *alias" (or a list of them): keys already set win.
func (c *converter) merge(out map[string]any, v *yaml.Node) error {
	src := []*yaml.Node{v}
	if resolve(v).Kind == yaml.SequenceNode {
		src = resolve(v).Content
	}
	for _, s := range src {
		val, err := c.value(s)
		if err != nil {
			return err
		}
		m, ok := val.(map[string]any)
		if !ok {
			return c.errAt(s, "merge key << needs a mapping")
		}
		for k, x := range m {
			if _, set := out[k]; !set {
				out[k] = x
			}
		}
	}
	return nil
}

func (c *converter) key(k *yaml.Node) (string, error) {
	k = resolve(k)
	if k.Kind != yaml.ScalarNode {
		return "", c.errAt(k, "mapping key must be a scalar, got "+kindName(k))
	}
	v, err := c.scalar(k)
	if err != nil {
		return "", err
	}
	if v == nil {
		return "", nil
	}
	return fmt.Sprint(v), nil
}

func (c *converter) scalar(n *yaml.Node) (any, error) {
	if b, ok := yaml11Bool(n); ok {
		return b, nil
	}
	switch n.Tag {
	case "!!str", "!unsafe", "!!binary", "!!timestamp":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, c.errAt(n, fmt.Sprintf("bad boolean %q", n.Value))
		}
		return b, nil
	case "!!int":
		return c.integer(n)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, c.errAt(n, fmt.Sprintf("bad number %q", n.Value))
		}
		return f, nil
	}
	if strings.HasPrefix(n.Tag, "!!") || n.Tag == "" {
		return n.Value, nil
	}
	return nil, c.errAt(n, fmt.Sprintf("unsupported YAML tag %s", n.Tag))
}

func (c *converter) integer(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, c.errAt(n, fmt.Sprintf("bad number %q", n.Value))
	}
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		if x <= math.MaxInt64 {
			return int(x), nil
		}
		return float64(x), nil
	case float64:
		return x, nil
	}
	return n.Value, nil
}

func (c *converter) errAt(n *yaml.Node, msg string) error {
	return &LoadError{Pos: Pos{File: c.file, Line: n.Line, Col: n.Column}, Msg: msg}
}

// yaml11Bool reads the plain yes/no/on/off spellings that YAML 1.1 (and
// so Ansible) takes for booleans and YAML 1.2 leaves as strings, so that
// "enabled: no" is false in a kplay playbook as in an Ansible one.
func yaml11Bool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || n.Style != 0 {
		return false, false
	}
	switch n.Value {
	case "yes", "Yes", "YES", "on", "On", "ON":
		return true, true
	case "no", "No", "NO", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}

// resolve follows aliases to the node they name (bounded, for a cyclic
// alias yaml would already have refused).
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// isString reports whether n is a string scalar.
func isString(n *yaml.Node) bool {
	n = resolve(n)
	return n != nil && n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == "!unsafe")
}

// kindName names what a node holds, for "want X, got Y" messages.
func kindName(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return fmt.Sprintf("a string (%q)", shorten(n.Value))
	}
	return "an alias"
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// pair is one key/value of a mapping node, the key already a string.
type pair struct {
	Key   string
	KeyN  *yaml.Node
	Value *yaml.Node
}
