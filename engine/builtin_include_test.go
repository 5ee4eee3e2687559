package engine

import "testing"

// roleDepFiles are a role app depending on base (whose defaults app's
// tasks use), for include_role tests.
func roleDepFiles(site string) map[string]string {
	return map[string]string{
		"site.yaml":                     site,
		"roles/base/defaults/main.yaml": "base_port: 7\n",
		"roles/base/tasks/main.yaml":    "- name: base-task\n  debug: {msg: \"base {{ base_port }}\"}\n",
		"roles/app/meta/main.yaml":      "dependencies: [base]\n",
		"roles/app/defaults/main.yaml":  "app_port: \"{{ base_port + 1 }}\"\n",
		"roles/app/tasks/main.yaml":     "- name: app-main\n  debug: {msg: \"main {{ app_port }}\"}\n",
		"roles/app/tasks/extra.yaml":    "- name: app-extra\n  debug: {msg: \"extra {{ base_port }} {{ app_port }}\"}\n",
	}
}

// TestIncludeRoleRunsDependencies checks that include_role, with or without
// tasks_from, applies the role's meta dependencies (their tasks run first,
// their defaults are visible), once per play unless allow_duplicates.
func TestIncludeRoleRunsDependencies(t *testing.T) {
	tests := []struct {
		name, site  string
		task, msg   string
		baseResults []string
	}{
		{"tasks_from", `
- hosts: h1
  gather_facts: false
  tasks:
    - include_role: {name: app, tasks_from: extra}
`, "app-extra", "h1=extra 7 8", []string{"h1:ok"}},
		{"main", `
- hosts: h1
  gather_facts: false
  tasks:
    - include_role: {name: app}
`, "app-main", "h1=main 8", []string{"h1:ok"}},
		{"dependency already run by the play", `
- hosts: h1
  gather_facts: false
  roles: [base]
  tasks:
    - include_role: {name: app, tasks_from: extra}
`, "app-extra", "h1=extra 7 8", []string{"h1:ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", roleDepFiles(tt.site))
			f.run(t)
			if got := f.rec.msgs(tt.task); !equal(got, []string{tt.msg}) {
				t.Errorf("%s = %v, want [%s]", tt.task, got, tt.msg)
			}
			if got := f.rec.results("base-task"); !equal(got, tt.baseResults) {
				t.Errorf("base-task = %v, want %v", got, tt.baseResults)
			}
		})
	}
}
