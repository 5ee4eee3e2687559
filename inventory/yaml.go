package inventory

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseYAML reads Ansible's YAML inventory: a mapping of group names, each
// with optional hosts, vars and children mappings, children nesting the
// same shape.
func parseYAML(b *builder, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return yamlError(b.file, err)
	}
	if len(doc.Content) == 0 {
		b.warnings = append(b.warnings, b.file+": empty inventory")
		return nil
	}
	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		b.warnings = append(b.warnings, b.file+": empty inventory")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: inventory must be a mapping of group names, got %s", b.nodePos(root), kindName(root))
	}
	if err := b.noDuplicates(root); err != nil {
		return err
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if err := b.yamlGroup(root.Content[i], deref(root.Content[i+1])); err != nil {
			return err
		}
	}
	return nil
}

// noDuplicates rejects a mapping that repeats a key, as the yaml library
// does when it decodes values (Ansible only warns and keeps the last).
func (b *builder) noDuplicates(m *yaml.Node) error {
	seen := make(map[string]*yaml.Node, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if prev, ok := seen[k.Value]; ok {
			return fmt.Errorf("%s: mapping key %q already defined at line %d", b.nodePos(k), k.Value, prev.Line)
		}
		seen[k.Value] = k
	}
	return nil
}

// nodePos formats file:line:col for a YAML node.
func (b *builder) nodePos(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", b.file, n.Line, n.Column)
}

// yamlGroup reads one group definition (key: name, val: its body).
func (b *builder) yamlGroup(key, val *yaml.Node) error {
	name := key.Value
	pos := b.nodePos(key)
	if name == "" {
		return fmt.Errorf("%s: empty group name", pos)
	}
	if isNull(val) {
		b.addGroup(name, b.pos(key.Line))
		return nil
	}
	if val.Kind != yaml.MappingNode {
		b.warnings = append(b.warnings, fmt.Sprintf("%s: skipping %q: not a valid group definition (%s)", pos, name, kindName(val)))
		return nil
	}
	if err := b.noDuplicates(val); err != nil {
		return err
	}
	g := b.addGroup(name, b.pos(key.Line))
	for i := 0; i+1 < len(val.Content); i += 2 {
		k, v := val.Content[i], deref(val.Content[i+1])
		var err error
		switch k.Value {
		case "vars":
			err = b.yamlSection(g, k, v, b.yamlGroupVar)
		case "children":
			err = b.yamlSection(g, k, v, b.yamlChild)
		case "hosts":
			err = b.yamlSection(g, k, v, b.yamlHost)
		default:
			b.warnings = append(b.warnings, fmt.Sprintf("%s: skipping unexpected key %q in group %q, only \"vars\", \"children\" and \"hosts\" are valid", b.nodePos(k), k.Value, name))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// yamlSection walks the entries of a vars/children/hosts mapping; as in
// Ansible, a single string stands for a one-entry mapping with no value.
func (b *builder) yamlSection(g *Group, key, sec *yaml.Node, each func(g *Group, k, v *yaml.Node) error) error {
	switch {
	case isNull(sec):
		return nil
	case sec.Kind == yaml.ScalarNode:
		return each(g, sec, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"})
	case sec.Kind != yaml.MappingNode:
		return fmt.Errorf("%s: invalid %q entry for group %q: requires a mapping, found %s", b.nodePos(sec), key.Value, g.Name, kindName(sec))
	}
	if err := b.noDuplicates(sec); err != nil {
		return err
	}
	for i := 0; i+1 < len(sec.Content); i += 2 {
		if err := each(g, sec.Content[i], deref(sec.Content[i+1])); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) yamlGroupVar(g *Group, k, v *yaml.Node) error {
	val, err := b.decode(v)
	if err != nil {
		return err
	}
	return b.setGroupVar(g, k.Value, val, b.nodePos(k))
}

func (b *builder) yamlChild(g *Group, k, v *yaml.Node) error {
	if err := b.yamlGroup(k, v); err != nil {
		return err
	}
	return b.addChild(g.Name, k.Value, b.nodePos(k))
}

// yamlHost reads one "hosts:" entry: a host name or range pattern (with an
// optional :port) and a mapping of host vars.
func (b *builder) yamlHost(g *Group, k, v *yaml.Node) error {
	names, port, err := expandHostPattern(k.Value)
	if err != nil {
		return fmt.Errorf("%s: %w", b.nodePos(k), err)
	}
	vars := map[string]any{}
	if !isNull(v) {
		raw, err := b.decode(v)
		if err != nil {
			return err
		}
		m, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: host %q: vars must be a mapping, found %s", b.nodePos(v), k.Value, kindName(v))
		}
		vars = m
	}
	for _, h := range names {
		b.addHost(h, g.Name, b.pos(k.Line))
		if port != 0 {
			b.setHostVar(h, "ansible_port", port)
		}
		for key, val := range vars {
			b.setHostVar(h, key, val)
		}
	}
	return nil
}

// decode turns a YAML node into plain Go values (see normalize).
func (b *builder) decode(n *yaml.Node) (any, error) {
	return decodeNode(b.file, n)
}

func decodeNode(file string, n *yaml.Node) (any, error) {
	if err := retag(file, n); err != nil {
		return nil, err
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, yamlError(file, err)
	}
	return normalize(v), nil
}

// retag keeps timestamps as the text written (2024-01-01 stays a string,
// as the engine has no date type) and refuses Ansible's !vault (kplay
// cannot decrypt) and !unsafe (kplay cannot mark a value as not to be
// templated) rather than silently misreading them. Aliases are not followed: their anchors are
// visited where they are defined.
func retag(file string, n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp":
		n.Tag = "!!str"
	case n.Tag == "!vault" || n.Tag == "!unsafe":
		return fmt.Errorf("%s:%d:%d: %s values are not supported", file, n.Line, n.Column, n.Tag)
	}
	for _, c := range n.Content {
		if err := retag(file, c); err != nil {
			return err
		}
	}
	return nil
}

// normalize converts decoded YAML to the types the engine expects:
// map[string]any, []any, int, float64, bool, string, nil.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case int64:
		if x >= math.MinInt && x <= math.MaxInt {
			return int(x)
		}
		return float64(x)
	case uint64:
		if x <= math.MaxInt {
			return int(x)
		}
		return float64(x)
	}
	return v
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%s %q", strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return "an unexpected node"
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError rewrites a yaml library error as "file:line: message" (the
// library reports lines but not columns for syntax errors).
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var out []string
	for _, m := range msgs {
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			out = append(out, fmt.Sprintf("%s:%d: %s", file, n, sm[2]))
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s", file, strings.TrimPrefix(m, "yaml: ")))
	}
	return errors.New(strings.Join(out, "\n"))
}

// toInt reads an integer from an int, a whole float or a numeric string.
func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), true
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}
