package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kplay/kplay/modules"
	yaml "go.yaml.in/yaml/v3"
)

// This file holds the checks shared by plays, tasks and roles: value types
// of keywords, expressions compiled before any host is touched, and the
// "did you mean" suggestions.

// checkExpr compiles a bare expression (when, until, failed_when, ...). A
// value written as "{{ x }}" is compiled as a template string instead.
func (l *loader) checkExpr(s src, n *yaml.Node, what, expr string) {
	if l.eval == nil {
		return
	}
	var err error
	if IsTemplated(expr) {
		err = l.eval.CheckString(expr)
	} else {
		err = l.eval.Check(expr)
	}
	if err != nil {
		l.errorf(s, n, "%s: %v", what, err)
	}
}

// checkTemplated compiles every {{ }} of every string inside n.
func (l *loader) checkTemplated(s src, n *yaml.Node, what string) {
	l.walkStrings(n, 0, func(sn *yaml.Node) {
		if l.eval == nil || !IsTemplated(sn.Value) {
			return
		}
		if err := l.eval.CheckString(sn.Value); err != nil {
			l.errorf(s, sn, "%s: %v", what, err)
		}
	})
}

// walkStrings calls f on every string scalar under n (aliases once).
func (l *loader) walkStrings(n *yaml.Node, depth int, f func(*yaml.Node)) {
	if n == nil || depth > 200 {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			f(n)
		}
	case yaml.MappingNode, yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			l.walkStrings(c, depth+1, f)
		}
	}
}

// str reads a scalar as a string.
func (l *loader) str(s src, n *yaml.Node, what string) (string, bool) {
	r := resolve(n)
	if r == nil || r.Kind != yaml.ScalarNode {
		l.errorf(s, n, "%s: want a string, got %s", what, kindName(n))
		return "", false
	}
	if r.Tag == "!!null" {
		return "", true
	}
	return r.Value, true
}

// boolean reads a yes/no value. Templated booleans are refused: these
// keywords are decided before variables exist.
func (l *loader) boolean(s src, n *yaml.Node, what string) (bool, bool) {
	r := resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode && r.Tag != "!!null" {
		if b, err := modules.ToBool(r.Value); err == nil {
			return b, true
		}
		if r.Tag == "!!str" && IsTemplated(r.Value) {
			l.errorf(s, n, "%s: kplay does not support a templated value for this keyword yet (want true or false, got %q; tasks and blocks may template ignore_errors, ignore_unreachable, become, check_mode and diff)", what, shorten(r.Value))
			return false, false
		}
	}
	l.errorf(s, n, "%s: want a boolean (true/false), got %s", what, kindName(n))
	return false, false
}

func (l *loader) boolPtr(s src, n *yaml.Node, what string) *bool {
	b, ok := l.boolean(s, n, what)
	if !ok {
		return nil
	}
	return &b
}

// strList reads a string or a list of scalars.
func (l *loader) strList(s src, n *yaml.Node, what string) []string {
	r := resolve(n)
	if isNull(r) {
		return nil
	}
	if r.Kind == yaml.ScalarNode {
		return []string{r.Value}
	}
	if r.Kind != yaml.SequenceNode {
		l.errorf(s, n, "%s: want a string or a list of strings, got %s", what, kindName(n))
		return nil
	}
	var out []string
	for _, item := range r.Content {
		if v, ok := l.str(s, item, what); ok {
			out = append(out, v)
		}
	}
	return out
}

// tags reads tags: a string (comma-separated) or a list.
func (l *loader) tags(s src, n *yaml.Node) []string {
	var out []string
	for _, t := range l.strList(s, n, "tags") {
		for _, part := range strings.Split(t, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// conds reads when/failed_when/changed_when: a string, a boolean or a list
// of them, each compiled as an expression.
func (l *loader) conds(s src, n *yaml.Node, what string) []string {
	r := resolve(n)
	if isNull(r) {
		return nil
	}
	items := []*yaml.Node{r}
	if r.Kind == yaml.SequenceNode {
		items = r.Content
	}
	var out []string
	for _, item := range items {
		ir := resolve(item)
		if ir == nil || ir.Kind != yaml.ScalarNode || ir.Tag == "!!null" {
			l.errorf(s, item, "%s: want an expression (string or boolean), got %s", what, kindName(item))
			continue
		}
		e := strings.TrimSpace(ir.Value)
		if b, ok := yaml11Bool(ir); ok {
			e = strconv.FormatBool(b)
		} else if ir.Tag == "!!bool" {
			b, _ := modules.ToBool(e)
			e = strconv.FormatBool(b)
		}
		if e == "" {
			l.errorf(s, item, "%s: empty expression", what)
			continue
		}
		l.checkExpr(s, item, what, e)
		out = append(out, e)
	}
	return out
}

// mapping reads a mapping as plain values and compiles the {{ }} in it.
func (l *loader) mapping(s src, n *yaml.Node, what string) map[string]any {
	if isNull(n) {
		return nil
	}
	if resolve(n).Kind != yaml.MappingNode {
		l.errorf(s, n, "%s: want a mapping, got %s", what, kindName(n))
		return nil
	}
	v, ok := l.value(s, n)
	if !ok {
		return nil
	}
	l.checkTemplated(s, n, what)
	m, _ := v.(map[string]any)
	return m
}

// vars reads a vars: mapping, checking the names.
func (l *loader) vars(s src, n *yaml.Node) map[string]any {
	m := l.mapping(s, n, "vars")
	if m == nil {
		return nil
	}
	for _, p := range l.pairs(s, n) {
		if !validVarName(p.Key) {
			l.errorf(s, p.KeyN, "vars: invalid variable name %q", p.Key)
		}
	}
	return m
}

// numberOrExpr reads retries/throttle-like values: a whole number or a
// string with {{ }}.
func (l *loader) numberOrExpr(s src, n *yaml.Node, what string, allowDuration bool) any {
	r := resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode {
		switch {
		case r.Tag == "!!int":
			v, _ := strconv.Atoi(r.Value)
			if v >= 0 {
				return v
			}
		case r.Tag == "!!float" && allowDuration:
			f, _ := strconv.ParseFloat(r.Value, 64)
			if f >= 0 {
				return f
			}
		case r.Tag == "!!str" && IsTemplated(r.Value):
			l.checkTemplated(s, r, what)
			return r.Value
		case r.Tag == "!!str":
			if v, err := strconv.Atoi(strings.TrimSpace(r.Value)); err == nil && v >= 0 {
				return v
			}
			if !allowDuration {
				break
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(r.Value), 64); err == nil && f >= 0 {
				return f
			}
			if d, err := time.ParseDuration(r.Value); err == nil && d >= 0 {
				return r.Value
			}
		}
	}
	want := "a number or an expression"
	if allowDuration {
		want = "seconds, a duration such as 2s, or an expression"
	}
	l.errorf(s, n, "%s: want %s, got %s", what, want, kindName(n))
	return nil
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to word,
// or "" when none is close.
func suggest(word string, candidates []string) string {
	best, _ := closest(word, candidates)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// closest returns the candidate nearest to word and its edit distance, or
// "" when none is near enough to be a typo. Distance counts a swap of two
// neighbouring letters as one edit; among equally near candidates the one
// sharing more letters with word wins ("taks" is "tasks", not "tags"),
// then the more common keyword, then the first in alphabetical order.
func closest(word string, candidates []string) (string, int) {
	best, bestD, bestShared := "", 1<<30, -1
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	lw := strings.ToLower(word)
	for _, c := range sorted {
		lc := strings.ToLower(c)
		d := editDistance(lw, lc)
		if d > bestD {
			continue
		}
		shared := sharedLetters(lw, lc)
		if d == bestD && (shared < bestShared || (shared == bestShared && keywordRank(c) >= keywordRank(best))) {
			continue
		}
		best, bestD, bestShared = c, d, shared
	}
	limit := 2
	if len(word) <= 3 {
		limit = 1
	}
	if len(word) >= 8 {
		limit = 3
	}
	if best == "" || bestD > limit {
		return "", bestD
	}
	return best, bestD
}

// commonKeywords are the keywords and modules playbooks use most, most
// used first: the tie-break between equally near suggestions.
var commonKeywords = []string{"name", "hosts", "tasks", "when", "become", "vars",
	"register", "loop", "tags", "notify", "handlers", "roles", "shell", "command",
	"copy", "template", "file", "service", "systemd", "debug", "set_fact",
	"ignore_errors", "changed_when", "failed_when", "gather_facts", "dest", "src",
	"state", "mode", "owner", "group", "msg"}

// keywordRank is name's place in commonKeywords, after all of them when
// absent.
func keywordRank(name string) int {
	for i, k := range commonKeywords {
		if k == name {
			return i
		}
	}
	return len(commonKeywords)
}

// sharedLetters counts the letters a and b have in common, with
// multiplicity.
func sharedLetters(a, b string) int {
	var counts [256]int
	for i := 0; i < len(b); i++ {
		counts[b[i]]++
	}
	n := 0
	for i := 0; i < len(a); i++ {
		if counts[a[i]] > 0 {
			counts[a[i]]--
			n++
		}
	}
	return n
}

// editDistance is the optimal-string-alignment distance of a and b
// (Levenshtein plus transposition of neighbours; bounded input).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(a); i++ {
		pp, prev, cur := rows[0], rows[1], rows[2]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		rows[0], rows[1], rows[2] = prev, cur, pp
	}
	return rows[1][len(b)]
}

// keysOf lists a set's keys.
func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
