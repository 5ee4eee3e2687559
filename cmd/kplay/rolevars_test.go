package main

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kplay/kplay/roles"
	"go.yaml.in/yaml/v3"
)

// uncomment turns every setting of a generated group_vars file back on:
// a "#" directly followed by a setting ("#name: ...") or by the indentation
// of its continuation ("#  - item"); explanations read "# text".
var settingLine = regexp.MustCompile(`(?m)^#([^ #\n]|  |\t)`)

func uncomment(s string) string { return settingLine.ReplaceAllString(s, "$1") }

// TestGroupVarsAllEmbedded checks the file kplay init writes against the
// embedded roles: once uncommented it is valid YAML holding every default
// of every role with the same value, and each role's comments are kept.
func TestGroupVarsAllEmbedded(t *testing.T) {
	rs, err := listRoles(roles.FS)
	if err != nil {
		t.Fatal(err)
	}
	text := groupVarsAll(rs, "test")
	var got map[string]any
	if err := yaml.Unmarshal([]byte(uncomment(text)), &got); err != nil {
		t.Fatalf("uncommented group_vars is not YAML: %v\n%s", err, uncomment(text))
	}
	var commented map[string]any
	if err := yaml.Unmarshal([]byte(text), &commented); err != nil || len(commented) != 0 {
		t.Errorf("as written, group_vars sets %v (err %v), want nothing", commented, err)
	}
	n := 0
	for _, r := range rs {
		for _, v := range r.Defaults {
			n++
			if _, ok := got[v.Name]; !ok {
				t.Errorf("role %s: %s missing from group_vars", r.Name, v.Name)
			}
		}
		for _, line := range strings.Split(r.DefaultsText, "\n") {
			if strings.HasPrefix(line, "#") && !strings.Contains(text, "# "+strings.TrimLeft(line[1:], " \t")) {
				t.Errorf("role %s: comment %q not in group_vars", r.Name, line)
			}
		}
	}
	if n == 0 {
		t.Fatal("the embedded roles have no defaults at all")
	}
}

// TestGroupVarsAll covers the shapes of a defaults file: block values,
// a key two roles share, a document marker, a role without defaults.
func TestGroupVarsAll(t *testing.T) {
	fsys := fstest.MapFS{
		"b/defaults/main.yaml":  {Data: []byte("---\n# shared port\nport: 1\nlist:\n  - a\n  # inner\n  - b\nmap:\n  k: v\n")},
		"b/README.md":           {Data: []byte("# b\n\nThe b role.\nMore.\n")},
		"a/defaults/main.yaml":  {Data: []byte("# a's port\nport: 2\n#   odd comment\n#\nonly_a: \"x\"\n")},
		"c/tasks/main.yaml":     {Data: []byte("- debug: {msg: hi}\n")},
		"common/README.md":      {Data: []byte("Shared things.\n")},
		"common/meta/main.yaml": {Data: []byte("dependencies: []\n")},
		"helpers/doc.go":        {Data: []byte("package helpers\n")},
	}
	rs, err := listRoles(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	if want := []string{"common", "a", "b", "c"}; !reflect.DeepEqual(names, want) {
		t.Errorf("roles %v, want %v (common first)", names, want)
	}
	if rs[2].Summary != "The b role." || rs[0].Summary != "Shared things." {
		t.Errorf("summaries %q, %q", rs[2].Summary, rs[0].Summary)
	}
	text := groupVarsAll(rs, "v")
	for _, want := range []string{"# role b: The b role.\n", "#port: 2\n", "# port: also a default of role a, see above\n", "#list:\n#  - a\n#  # inner\n", "#map:\n#  k: v\n", "\n# odd comment\n#\n#only_a"} {
		if !strings.Contains(text, want) {
			t.Errorf("group_vars lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "role c") || strings.Contains(text, "---") && !strings.Contains(text, "# ---") {
		t.Errorf("unexpected section or marker:\n%s", text)
	}
	var got map[string]any
	if err := yaml.Unmarshal([]byte(uncomment(text)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"port": 2, "only_a": "x", "list": []any{"a", "b"}, "map": map[string]any{"k": "v"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("uncommented = %v, want %v", got, want)
	}
}

func TestSummaryLine(t *testing.T) {
	long := strings.Repeat("word ", 40)
	tests := []struct{ readme, want string }{
		{"# Role `etcd`\n\nRuns an etcd\ncluster. Then more.\n\nNext paragraph.\n", "Runs an etcd cluster."},
		{"Runs it\n# Heading\nother\n", "Runs it"},
		{"\n\n", ""},
		{"# only a title\n", ""},
		{long, strings.TrimSpace(strings.Repeat("word ", 32)) + " ..."},
	}
	for _, tt := range tests {
		if got := summaryLine(tt.readme); got != tt.want {
			t.Errorf("summaryLine(%q) = %q, want %q", tt.readme, got, tt.want)
		}
	}
}

func TestDecodeDefaultsErrors(t *testing.T) {
	for _, in := range []string{"- a\n- b\n", "a: [\n", "a: !!int x\n"} {
		if _, err := decodeDefaults([]byte(in)); err == nil {
			t.Errorf("decodeDefaults(%q): no error", in)
		}
	}
	if vars, err := decodeDefaults([]byte("# none\n")); err != nil || vars != nil {
		t.Errorf("comments only: %v, %v", vars, err)
	}
}
