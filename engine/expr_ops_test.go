package engine

import (
	"strings"
	"testing"
)

// TestListConcat checks that + joins two lists as Jinja does, while numbers
// and strings still add.
func TestListConcat(t *testing.T) {
	vars := testVars()
	vars["strs"] = []string{"a", "b"}
	runEvalCasesWith(t, vars, []evalCase{
		{"['keepalived'] + hosts", []any{"keepalived", "m1", "m2"}},
		{"hosts + ['m3']", []any{"m1", "m2", "m3"}},
		{"map(users, .name) + ['cy']", []any{"ann", "bob", "cy"}},
		{"{{ hosts + nums }}", []any{"m1", "m2", 3, 1, 2}},
		{"strs + hosts", []any{"a", "b", "m1", "m2"}},
		{"[] + []", []any{}},
		{"port + 1", 2380},
		{"1 + 2", 3},
		{"ratio + 1", 1.5},
		{"name + '-x'", "etcd-x"},
		{"'a' + 'b'", "ab"},
	})
	e := NewEvaluator()
	if _, err := e.Eval("hosts + 1", testVars()); err == nil {
		t.Errorf("Eval(hosts + 1): no error, want one")
	}
}

// TestCoalesceChain checks that every operand of a ?? chain but the last
// may be undefined.
func TestCoalesceChain(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"nope ?? name", "etcd"},
		{"nope ?? hostvars.m1.node_name ?? host", "m1"},
		{"a.b ?? c.d ?? e.f ?? 5", 5},
		{"nope ?? (hostvars.m9.x ?? 'z')", "z"},
		{"nothing ?? hostvars.m1.ip ?? 'q'", "10.0.0.11"},
	})
	e := NewEvaluator()
	if _, err := e.Eval("nope ?? other ?? last", testVars()); err == nil {
		t.Errorf("Eval(nope ?? other ?? last): no error, want undefined last")
	}
}

// TestMapLiteralPredicate checks a map literal built per element in map().
func TestMapLiteralPredicate(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"map(users, ({'k': .name}))", []any{map[string]any{"k": "ann"}, map[string]any{"k": "bob"}}},
		{"map(hosts, ({'k': #}))", []any{map[string]any{"k": "m1"}, map[string]any{"k": "m2"}}},
	})
	// expr-lang reads `{` right after the list as a predicate block, so a
	// bare map literal cannot parse; the error must say how to write it.
	_, err := NewEvaluator().Eval("map(hosts, {'k': #})", testVars())
	if err == nil || !strings.Contains(err.Error(), "({") {
		t.Errorf("Eval(map(hosts, {'k': #})) error = %v, want a hint about ({...})", err)
	}
}
