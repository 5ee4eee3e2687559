package engine

import "testing"

func TestRenderStringForms(t *testing.T) {
	t.Parallel()
	layers := []layer{{name: "play vars", templ: true, vars: map[string]any{
		"l": []any{"a", "b"}, "m": map[string]any{"k": 1}, "n": 3, "f": 1.5, "b": true, "s": "x",
		"ref": "{{ l }}",
	}}}
	tests := []struct{ text, want string }{
		{"{{ l }}", `["a","b"]`},
		{"{{ ref }}", `["a","b"]`},
		{"{{ m }}", `{"k":1}`},
		{"{{ n }}", "3"},
		{"{{ f }}", "1.5"},
		{"{{ b }}", "true"},
		{"{{ s }}", "x"},
		{"{{ none }}", ""},
		{"web-{{ l }}", `web-["a","b"]`},
	}
	for _, tc := range tests {
		s := newScope(NewEvaluator(), layers)
		s.set("none", nil, false, "test")
		got, err := s.renderString(tc.text)
		if err != nil {
			t.Errorf("renderString(%q): %v", tc.text, err)
			continue
		}
		if got != tc.want {
			t.Errorf("renderString(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// TestLoaderAndRunShareEvaluator: what the loader compiled while checking
// a playbook, the run finds compiled.
func TestLoaderAndRunShareEvaluator(t *testing.T) {
	t.Parallel()
	l := newLoader(LoadOptions{})
	r := newRunner(Options{})
	if l.eval == nil || l.eval != r.ev {
		t.Fatalf("loader evaluator %p, run evaluator %p: want the same", l.eval, r.ev)
	}
}
