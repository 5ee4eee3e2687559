package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadPlaybook loads arbitrary bytes as a playbook: any outcome but a
// panic (or a hang) is fine.
func FuzzLoadPlaybook(f *testing.F) {
	for _, tc := range badCases {
		f.Add([]byte(tc.site))
	}
	f.Add([]byte("- hosts: all\n  roles: [{role: r, when: a}]\n  tasks:\n  - block: [{command: ls chdir=/ creates=x}]\n    rescue: [{debug: {var: x}}]\n"))
	f.Add([]byte("- hosts: all\n  vars: &v {a: 1, <<: {b: 2}}\n  tasks:\n  - set_fact: {c: '{{ a }}'}\n    loop: *v\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "site.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "roles", "r", "tasks"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "roles", "r", "tasks", "main.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		pb, err := LoadPlaybook(p, LoadOptions{})
		if err == nil && pb == nil {
			t.Fatal("nil playbook without an error")
		}
	})
}
