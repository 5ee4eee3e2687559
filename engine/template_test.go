package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRenderKeepsType(t *testing.T) {
	e := NewEvaluator()
	cases := []struct {
		in   any
		want any
	}{
		{"{{ nums }}", []any{3, 1, 2}},
		{"  {{ nums }}\n", "  [3,1,2]\n"}, // text around: a string, as in Ansible
		{"{{ cfg.a }}", map[string]any{"b": 7}},
		{"{{ port }}", 2379},
		{"{{ ratio }}", 0.5},
		{"{{ enabled }}", true},
		{"{{ nothing }}", nil},
		{"{{ port + 1 }}", 2380},
		{"{{ {'a': [1, 2]} }}", map[string]any{"a": []any{1, 2}}},
		{"{{ \"}}\" }}", "}}"},
		{"{{ '{{' }}", "{{"},
		{"plain", "plain"},
		{"", ""},
		{42, 42},
		{nil, nil},
		{true, true},
		{"{{ port }}{{ port }}", "23792379"},
		{"x{{ nums }}", "x[3,1,2]"},
		{"{{ cfg.a }} ", `{"b":7} `},
		{"{{ name }}\n", "etcd\n"}, // a block scalar's newline stays
		{"{{ cfg }} and {{ nothing }}", `{"a":{"b":7},"list":["x","y"]} and `},
		{"{{ ratio * 4 }}/{{ enabled }}", "2/true"},
		{"{{ '<&>' }} {{ {'k': '<v>'} }}", `<&> {"k":"<v>"}`},
		{"{{ name }}-{{ '}' }}", "etcd-}"},
		{[]any{"{{ port }}", "a{{ name }}", 1}, []any{2379, "aetcd", 1}},
		{map[string]any{"{{ name }}_key": "{{ hosts }}", "n": map[string]any{"x": "{{ port }}"}},
			map[string]any{"etcd_key": []any{"m1", "m2"}, "n": map[string]any{"x": 2379}}},
		{[]string{"{{ port }}"}, []any{2379}},
		{map[string]string{"a": "{{ name }}"}, map[string]any{"a": "etcd"}},
	}
	for _, c := range cases {
		got, err := e.Render(c.in, testVars())
		if err != nil {
			t.Errorf("Render(%#v): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Render(%#v) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestRenderDoesNotMutate(t *testing.T) {
	e := NewEvaluator()
	in := map[string]any{"a": "{{ port }}", "l": []any{"{{ name }}"}}
	if _, err := e.Render(in, testVars()); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "{{ port }}", "l": []any{"{{ name }}"}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("input changed to %#v", in)
	}
}

func TestRenderString(t *testing.T) {
	e := NewEvaluator()
	cases := []struct{ in, want string }{
		{"{{ nums }}", "[3,1,2]"},
		{"{{ port }}", "2379"},
		{"ip -4 addr show dev {{ host }}", "ip -4 addr show dev m1"},
		{"{{ hosts | join(' ') }}", "m1 m2"},
		{"{{ 1e21 }}", "1e+21"},
		{"{{ 3.0 }}", "3"},
		{"no braces { } here", "no braces { } here"},
		{"{ {{ name }} }", "{ etcd }"},
		{"{{ nope | default('x') }}", "x"},
		{"{%raw%}", "{%raw%}"},
	}
	for _, c := range cases {
		got, err := e.RenderString(c.in, testVars())
		if err != nil || got != c.want {
			t.Errorf("RenderString(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	e := NewEvaluator()
	cases := []struct{ in, want string }{
		{"{{ nope }}", `expression ` + "`nope`" + `: undefined variable "nope"`},
		{"a {{ cfg.zz }} b", `undefined variable "cfg.zz"`},
		{"{{ name", "unclosed {{ at offset 0"},
		{"x {{ '}} }}", "unterminated string"},
		{"{{ }}", "empty expression"},
		{"{{ a } }}", "unbalanced }"},
		{"{{ 1 + }}", "expression `1 +`"},
	}
	for _, c := range cases {
		_, err := e.Render(c.in, testVars())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Render(%q) error = %v, want it to contain %q", c.in, err, c.want)
		}
		var xe *ExprError
		if !errors.As(err, &xe) {
			t.Errorf("Render(%q) error is %T, want *ExprError", c.in, err)
		}
		if err2 := e.CheckString(c.in); c.in != "{{ nope }}" && c.in != "a {{ cfg.zz }} b" && err2 == nil {
			t.Errorf("CheckString(%q): no error", c.in)
		}
	}
	if err := e.CheckString("ok {{ x | default(1) }} {{ y is defined }}"); err != nil {
		t.Errorf("CheckString: %v", err)
	}
	if err := e.CheckString("plain"); err != nil {
		t.Errorf("CheckString(plain): %v", err)
	}
}

func TestIsTemplated(t *testing.T) {
	for s, want := range map[string]bool{"{{ x }}": true, "a{{": true, "{ {": false, "": false, "}}": false} {
		if got := IsTemplated(s); got != want {
			t.Errorf("IsTemplated(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestRenderFile(t *testing.T) {
	e := NewEvaluator()
	vars := testVars()
	vars["inventory_hostname"] = "m1"
	vars["groups"] = map[string]any{"etcd": []any{"m1", "m2"}}
	vars["service_cidr"] = "10.96.0.0/12"
	cases := []struct{ tmpl, want string }{
		{`{{ .inventory_hostname }}`, "m1"},
		{`{{ range .groups.etcd }}{{ . }}={{ (index $.hostvars .).ip }},{{ end }}`, "m1=10.0.0.11,m2=10.0.0.12,"},
		{`{{ index .hostvars "m2" "ip" }}`, "10.0.0.12"},
		{`{{ (hostvars "m2").ip }}`, "10.0.0.12"},
		{`{{ .cfg | to_yaml }}`, "a:\n  b: 7\nlist:\n  - x\n  - \"y\""},
		{`{{ .cfg.a | to_json }}`, `{"b":7}`},
		{`{{ .cfg.a | to_nice_json }}`, "{\n    \"b\": 7\n}"},
		{"k:{{ .cfg.a | toYaml | nindent 2 }}", "k:\n  b: 7"},
		{`{{ .cfg.a | toYaml | indent 2 }}`, "  b: 7"},
		{`{{ "it's" | quote }} {{ "x" | dquote }} {{ "x" | squote }}`, `'it'\''s' "x" 'x'`},
		{`{{ nthhost .service_cidr 10 }} {{ ipaddr .service_cidr "prefix" }} {{ network "10.1.2.3/16" }}`, "10.96.0.10 12 10.1.0.0"},
		{`{{ .name | upper }} {{ default "x" .nothing }} {{ join "," .hosts }}`, "ETCD x m1,m2"},
		{`{{ if .enabled }}on{{ else }}off{{ end }}`, "on"},
		{`{{ sha256 "abc" | trunc 8 }}`, "ba7816bf"},
		{`{{ if hasKey . "name" }}y{{ end }}{{ if hasKey . "nope" }}n{{ end }}`, "y"},
		{`{{ has "m2" .hosts }} {{ contains "tc" .name }} {{ print .name .port }}`, "true true etcd2379"},
		{`{{/* comment */}}x`, "x"},
	}
	for _, c := range cases {
		got, err := e.RenderFile("t.tmpl", []byte(c.tmpl), vars)
		if err != nil || string(got) != c.want {
			t.Errorf("RenderFile(%q) = %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
}

func TestRenderFileErrors(t *testing.T) {
	e := NewEvaluator()
	cases := []struct{ tmpl, want string }{
		{"a\n{{ .nope }}", `template: kubelet.conf.tmpl:2:3: executing "kubelet.conf.tmpl" at <.nope>: map has no entry for key "nope"`},
		{"{{ .cfg.zz }}", `map has no entry for key "zz"`},
		{"{{ hostvars \"m9\" }}", `hostvars: unknown host "m9"`},
		{"{{ nthhost \"x\" 1 }}", `nthhost: "x" is not an address or network`},
		{"x\n{{ if }}", "template: kubelet.conf.tmpl:2: missing value for if"},
		{"{{ nofunc 1 }}", `function "nofunc" not defined`},
	}
	for _, c := range cases {
		_, err := e.RenderFile("kubelet.conf.tmpl", []byte(c.tmpl), testVars())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RenderFile(%q) error = %v, want it to contain %q", c.tmpl, err, c.want)
		}
	}
	if err := e.CheckTemplate("a.tmpl", []byte("{{ if }}")); err == nil || !strings.Contains(err.Error(), "a.tmpl:1") {
		t.Errorf("CheckTemplate error = %v, want one naming a.tmpl:1", err)
	}
	if err := e.CheckTemplate("a.tmpl", []byte("{{ .x | to_yaml | indent 2 }}")); err != nil {
		t.Errorf("CheckTemplate: %v", err)
	}
}

func TestWhitespaceControl(t *testing.T) {
	e := NewEvaluator()
	cases := []struct{ in, want string }{
		{"a  {{- name }}  b", "aetcd  b"},
		{"a  {{ name -}}  \n b", "a  etcdb"},
		{"a \n{{- name -}}\n b", "aetcdb"},
		{"{{ port - 1 }}", "2378"},
		{"{{ port -1 }}", "2378"},
		{"{{-port }}", "2379"},
	}
	for _, c := range cases {
		got, err := e.RenderString(c.in, testVars())
		if err != nil || got != c.want {
			t.Errorf("RenderString(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestEvalAcceptsWrappedExpression(t *testing.T) {
	e := NewEvaluator()
	for src, want := range map[string]bool{"{{ enabled }}": true, " {{ empty }} ": false, "{{ port > 1 }}": true} {
		got, err := e.EvalBool(src, testVars())
		if err != nil || got != want {
			t.Errorf("EvalBool(%q) = %v, %v; want %v", src, got, err, want)
		}
	}
	if err := e.Check("{{ a }} and {{ b }}"); err == nil {
		t.Error("Check of two {{ }} in a bare expression: no error")
	}
}

// TestDocExamples runs examples quoted in docs/expressions.md.
func TestDocExamples(t *testing.T) {
	e := NewEvaluator()
	vars := testVars()
	vars["name-with-dash"] = "d"
	for src, want := range map[string]any{
		`{{ if enabled { "x" } else { "y" } }}`: "x",
		`{{ enabled ? "x" : "y" }}`:             "x",
		`{{ $env["name-with-dash"] }}`:          "d",
		`{{ any(hosts, # startsWith "m") }}`:    true,
		`{{ 7 / 2 }}`:                           3.5,
		`{{ int(7 / 2) }}`:                      3,
		`{{ reduce(nums, #acc + #, 0) }}`:       6,
	} {
		got, err := e.Render(src, vars)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Render(%s) = %#v, %v; want %#v", src, got, err, want)
		}
	}
	vars = map[string]any{
		"inventory_hostname": "lb1", "lb_interface": "eth0", "vip": "10.0.0.100", "lb_cidr": "10.0.0.0/24",
		"groups":   map[string]any{"lb": []any{"lb1", "lb2"}},
		"hostvars": map[string]any{"lb1": map[string]any{"ip": "10.0.0.1"}, "lb2": map[string]any{"ip": "10.0.0.2"}},
	}
	tmpl := `vrrp_instance VI_1 {
    interface {{ .lb_interface }}
    priority {{ if eq .inventory_hostname (index .groups.lb 0) }}150{{ else }}100{{ end }}
    unicast_peer {
{{- range .groups.lb }}{{ if ne . $.inventory_hostname }}
        {{ (hostvars .).ip }}
{{- end }}{{ end }}
    }
    virtual_ipaddress { {{ .vip }}/{{ prefix .lb_cidr }} }
}`
	want := `vrrp_instance VI_1 {
    interface eth0
    priority 150
    unicast_peer {
        10.0.0.2
    }
    virtual_ipaddress { 10.0.0.100/24 }
}`
	got, err := e.RenderFile("keepalived.conf.tmpl", []byte(tmpl), vars)
	if err != nil || string(got) != want {
		t.Errorf("keepalived example = %q, %v; want %q", got, err, want)
	}
}

func TestRenderResultIsACopy(t *testing.T) {
	e := NewEvaluator()
	vars := testVars()
	got, err := e.Render("{{ cfg }}", vars)
	if err != nil {
		t.Fatal(err)
	}
	got.(map[string]any)["a"].(map[string]any)["b"] = 99
	got.(map[string]any)["list"].([]any)[0] = "changed"
	if b := vars["cfg"].(map[string]any)["a"].(map[string]any)["b"]; b != 7 {
		t.Errorf("vars changed through the rendered value: b = %v", b)
	}
	if x := vars["cfg"].(map[string]any)["list"].([]any)[0]; x != "x" {
		t.Errorf("vars changed through the rendered value: list[0] = %v", x)
	}
}
