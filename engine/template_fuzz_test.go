package engine

import "testing"

// FuzzRenderFile: a user's template file (Go text/template with sprig and
// kplay helpers, missingkey=error) never panics, whatever its text.
func FuzzRenderFile(f *testing.F) {
	for _, s := range []string{
		"{{ .name }}", "{{ range .hosts }}{{ . }}\n{{ end }}", "{{ index .hostvars \"h1\" \"ip\" }}",
		"{{ .nosuch }}", "{{ template \"x\" }}", "{{ define \"x\" }}{{ template \"x\" }}{{ end }}{{ template \"x\" }}",
		"{{ toYaml .cfg | indent 2 }}", "{{ nthhost \"10.96.0.0/12\" 10 }}", "{{", "}}{{ .a.b.c }}",
	} {
		f.Add(s)
	}
	e := NewEvaluator()
	vars := map[string]any{"name": "etcd", "hosts": []any{"h1", "h2"}, "cfg": map[string]any{"a": 1},
		"hostvars": map[string]any{"h1": map[string]any{"ip": "10.0.0.1"}}}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 2000 {
			t.Skip("long templates only slow the fuzzer down")
		}
		_, _ = e.RenderFile("fuzz.tmpl", []byte(text), vars)
		_ = e.CheckTemplate("fuzz.tmpl", []byte(text))
	})
}
