package engine

import (
	"errors"
	"testing"
)

// fuzzSeeds are the starting inputs of both fuzz tests.
var fuzzSeeds = []string{
	`name | upper`, `x | default(1)`, `a.b.c is defined`, `cfg.a.b | d(2) + 1`, `"}}" ~ x`,
	`hosts | map("upper") | join(",")`, `f(k=1, j=)`, `x is not`, `| |`, `((a)`, `{"a": [1, {"b": 2}]}`,
	`nums | select("gt", 1) | sort(reverse=True)`, `"10.0.0.0/8" | ipaddr(1)`, `let x = 1; x | string`,
	`filter(nums, # | int > 1)`, `"a" if x else "b" if y`, `[1 if a else 2, 3]`, `#index | string`, `.name | upper`, `None is none`, `1..5 | sum`,
}

// FuzzEval checks that no expression, however malformed, panics or trips
// an internal error (a recovered panic in kplay's own code).
func FuzzEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	e := NewEvaluator()
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 512 {
			return
		}
		_, err := e.Eval(src, testVars())
		if errors.Is(err, errInternal) {
			t.Fatalf("Eval(%q): %v", src, err)
		}
	})
}

// FuzzRenderString checks the `{{ }}` scanner and the evaluator together.
func FuzzRenderString(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add("a {{ " + s + " }} b")
	}
	for _, s := range []string{"{{", "}}", "{{ '}}' }}", "{{ {'a': {'b': 1}} }}", "x{{ \"\\\"}}\" }}", "{{}}{{"} {
		f.Add(s)
	}
	e := NewEvaluator()
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 512 {
			return
		}
		out, err := e.RenderString(s, testVars())
		if errors.Is(err, errInternal) {
			t.Fatalf("RenderString(%q): %v", s, err)
		}
		if err == nil && !IsTemplated(s) && out != s {
			t.Fatalf("RenderString(%q) = %q, want it unchanged", s, out)
		}
		if _, err := e.Render(s, testVars()); errors.Is(err, errInternal) {
			t.Fatalf("Render(%q): %v", s, err)
		}
	})
}
