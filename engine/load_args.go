package engine

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kplay/kplay/modules"
	yaml "go.yaml.in/yaml/v3"
)

// rawExtractable are the key=value words Ansible takes out of a free-form
// command line ("cmd arg chdir=/tmp creates=/x").
var rawExtractable = []string{"chdir", "creates", "removes", "executable", "stdin", "stdin_add_newline", "strip_empty_ends"}

// freeFormKey names the argument a built-in's free-form string fills.
var freeFormKey = map[string]string{
	"meta": "_raw_params", "include_tasks": "file", "import_tasks": "file",
	"include_vars": "file", "include_role": "name", "import_role": "name",
}

var kvKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// moduleArgs reads the module's arguments: the value of the module key (a
// mapping, a free-form or key=value string, or nothing), merged over args:.
func (l *loader) moduleArgs(c *taskCtx, t *Task, rt *rawTask) map[string]any {
	rt.argPos, rt.argVal = map[string]*yaml.Node{}, map[string]*yaml.Node{}
	args := map[string]any{}
	if kv, ok := rt.keys["args"]; ok {
		l.argMap(c, t, kv.Value, args, rt, "args")
	}
	v := rt.action.Value
	if rt.action.Key == "action" || rt.action.Key == "local_action" {
		v = l.actionValue(c, t, rt)
		if v == nil {
			return args
		}
	}
	r := resolve(v)
	switch {
	case isNull(r):
	case r.Kind == yaml.MappingNode:
		l.argMap(c, t, v, args, rt, t.Module)
	case r.Kind == yaml.ScalarNode:
		for k, val := range l.argString(c, t, r) {
			args[k] = val
			rt.argPos[k] = r
			delete(rt.argVal, k)
		}
		l.checkTemplated(c.src, r, t.Module)
	default:
		l.errorf(c.src, v, "%s: %s: arguments must be a mapping or a key=value string, got %s", label(t), t.Module, kindName(v))
	}
	return args
}

// argMap copies a mapping of arguments into args, remembering positions.
func (l *loader) argMap(c *taskCtx, t *Task, n *yaml.Node, args map[string]any, rt *rawTask, what string) {
	if resolve(n).Kind != yaml.MappingNode {
		l.errorf(c.src, n, "%s: %s: want a mapping, got %s", label(t), what, kindName(n))
		return
	}
	v, ok := l.value(c.src, n)
	if !ok {
		return
	}
	for k, x := range v.(map[string]any) {
		args[k] = x
	}
	for _, kv := range l.pairs(c.src, n) {
		rt.argPos[kv.Key], rt.argVal[kv.Key] = kv.KeyN, kv.Value
	}
	l.checkTemplated(c.src, n, what)
}

// actionValue reads "action: module args" (string or mapping with a
// module: key) and sets the task's module; it returns the args node.
func (l *loader) actionValue(c *taskCtx, t *Task, rt *rawTask) *yaml.Node {
	r := resolve(rt.action.Value)
	var name string
	var args *yaml.Node
	switch {
	case isString(r):
		word, rest, _ := strings.Cut(strings.TrimSpace(r.Value), " ")
		name = word
		args = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.TrimSpace(rest), Line: r.Line, Column: r.Column}
	case r.Kind == yaml.MappingNode:
		args = &yaml.Node{Kind: yaml.MappingNode, Line: r.Line, Column: r.Column}
		for i := 0; i+1 < len(r.Content); i += 2 {
			if resolve(r.Content[i]).Value == "module" {
				name, _ = l.str(c.src, r.Content[i+1], "module")
				continue
			}
			args.Content = append(args.Content, r.Content[i], r.Content[i+1])
		}
	}
	name = canonicalModule(name)
	if name == "" || !isAction(name) {
		l.errorf(c.src, rt.action.Value, "%s: %s: unknown module %q%s", label(t), rt.action.Key, name, suggest(name, actionNames()))
		t.Module = ""
		return nil
	}
	t.Module, rt.module = name, name
	return args
}

// argString parses a string of arguments: free-form for command-like
// modules and some built-ins, key=value pairs otherwise.
func (l *loader) argString(c *taskCtx, t *Task, n *yaml.Node) map[string]any {
	s := n.Value
	if key, ok := freeFormKey[t.Module]; ok {
		if strings.HasPrefix(strings.TrimSpace(s), key+"=") && key != "_raw_params" {
			return l.keyValues(c, t, n)
		}
		return map[string]any{key: strings.TrimSpace(s)}
	}
	if info, ok := modules.Lookup(t.Module); ok && info.FreeForm {
		return freeForm(s, modules.ArgNames(info.Args))
	}
	return l.keyValues(c, t, n)
}

// keyValues parses "k=v k2='v 2'"; words without = are errors.
func (l *loader) keyValues(c *taskCtx, t *Task, n *yaml.Node) map[string]any {
	out := map[string]any{}
	toks, err := splitArgs(n.Value)
	if err != nil {
		l.errorf(c.src, n, "%s: %s: %v", label(t), t.Module, err)
		return out
	}
	for _, tok := range toks {
		word := n.Value[tok.start:tok.end]
		k, v, ok := cutKV(word)
		if !ok {
			l.errorf(c.src, n, "%s: %s: %q is not key=value (give a mapping or key=value pairs)", label(t), t.Module, shorten(word))
			continue
		}
		out[k] = v
	}
	return out
}

// freeForm splits a command line into _raw_params and the known key=value
// words Ansible extracts from it. A line that cannot be split (an odd
// quote) is kept whole.
func freeForm(s string, names []string) map[string]any {
	allowed := map[string]bool{}
	for _, n := range names {
		allowed[n] = true
	}
	out := map[string]any{}
	toks, err := splitArgs(s)
	if err != nil {
		out["_raw_params"] = strings.TrimSpace(s)
		return out
	}
	raw := s
	for i := len(toks) - 1; i >= 0; i-- {
		k, v, ok := cutKV(s[toks[i].start:toks[i].end])
		if !ok || !allowed[k] || !contains(rawExtractable, k) {
			continue
		}
		if _, dup := out[k]; !dup {
			out[k] = v
		}
		raw = raw[:toks[i].start] + raw[toks[i].end:]
	}
	out["_raw_params"] = strings.TrimSpace(raw)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cutKV splits key=value, unquoting the value.
func cutKV(word string) (string, string, bool) {
	k, v, ok := strings.Cut(word, "=")
	if !ok || !kvKeyRe.MatchString(k) {
		return "", "", false
	}
	return k, unquote(v), true
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		inner := v[1 : len(v)-1]
		if v[0] == '"' {
			inner = strings.ReplaceAll(inner, `\"`, `"`)
		}
		return inner
	}
	return v
}

// span is a word of an argument string, as byte offsets.
type span struct{ start, end int }

// splitArgs splits at whitespace outside quotes and {{ }} / {% %} blocks,
// as Ansible's split_args does.
func splitArgs(s string) ([]span, error) {
	var out []span
	start, quote, depth := -1, byte(0), 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if start < 0 && !isSpace(ch) {
			start = i
		}
		switch {
		case quote != 0:
			if ch == '\\' && quote == '"' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '{' && i+1 < len(s) && strings.ContainsRune("{%#", rune(s[i+1])):
			depth++
			i++
		case depth > 0 && strings.ContainsRune("}%#", rune(ch)) && i+1 < len(s) && s[i+1] == '}':
			depth--
			i++
		case depth == 0 && isSpace(ch) && start >= 0:
			out = append(out, span{start, i})
			start = -1
		}
	}
	if quote != 0 || depth != 0 {
		return nil, fmt.Errorf("unbalanced quotes or {{ }} in arguments")
	}
	if start >= 0 {
		out = append(out, span{start, len(s)})
	}
	return out, nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// checkArgNames checks the argument names of a module task against the
// module's argument struct. It returns the names its suggestions offered,
// so that a required argument misspelt is reported once, as the typo.
func (l *loader) checkArgNames(c *taskCtx, t *Task, rt *rawTask, names []string, freeForm bool) map[string]bool {
	suggested := map[string]bool{}
	keys := make([]string, 0, len(t.Args))
	for k := range t.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "_raw_params" && freeForm {
			continue
		}
		if !contains(names, k) {
			at := rt.argPos[k]
			if at == nil {
				at = rt.action.KeyN
			}
			if best, _ := closest(k, names); best != "" {
				suggested[best] = true
			}
			l.errorf(c.src, at, "%s: %s: unknown argument %q%s", label(t), t.Module, k, suggest(k, names))
		}
	}
	return suggested
}
