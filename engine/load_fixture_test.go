package engine

import (
	"io/fs"
	"reflect"
	"testing"
)

// TestLoadFixtureSite loads testdata/load/site, a playbook using most
// loader features, by a path relative to the working folder: positions
// keep that relative path.
func TestLoadFixtureSite(t *testing.T) {
	t.Parallel()
	opts := LoadOptions{OverrideDir: "testdata/load/site/inventory"}
	pb, err := LoadPlaybook("testdata/load/site/site.yaml", opts)
	if err != nil {
		t.Fatal(err)
	}
	p := pb.Plays[0]
	wantTasks := []string{"web : index page", "web : static file", "common packages", "common sysctl", "web : extra step", "later include", "motd"}
	if got := names(p.Tasks); !reflect.DeepEqual(got, wantTasks) {
		t.Fatalf("tasks = %q\nwant    %q", got, wantTasks)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"pre_tasks", names(p.PreTasks), []string{"banner"}},
		{"handlers", names(p.Handlers), []string{"restart all", "web : reload web"}},
		{"serial", p.Serial, []any{"50%"}},
		{"secrets", p.Secrets, []string{"vars/secrets.yaml"}},
		{"role tags", p.Tasks[0].Tags, []string{"web"}},
		{"import when", p.Tasks[2].When, []string{`ansible_os_family == "Debian"`}},
		{"pos", p.Tasks[6].Pos.String(), "testdata/load/site/site.yaml:23:7"},
		{"role pos", p.Tasks[0].Pos.String(), "testdata/load/site/roles/web/tasks/main.yaml:1:3"},
		{"imported pos", p.Tasks[2].Pos.String(), "testdata/load/site/tasks/common.yaml:1:3"},
		{"module prefix stripped", p.Tasks[6].Module, "template"},
		{"include_role kept", p.Tasks[5].Module, "include_role"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
	idx, err := fs.ReadFile(p.Tasks[0].Role.FS, "templates/index.tmpl")
	if string(idx) != "override index for this inventory {{ .web_port }}\n" || err != nil {
		t.Errorf("role template = %q, %v; want the inventory's override", idx, err)
	}
	if _, name, err := FindFile(pb, p.PreTasks[0], "files", "banner.txt"); err != nil || name != "files/banner.txt" {
		t.Errorf("FindFile(banner.txt) = %q, %v", name, err)
	}
	if _, name, err := FindFile(pb, p.Tasks[1], "files", "robots.txt"); err != nil || name != "files/robots.txt" {
		t.Errorf("FindFile(robots.txt) = %q, %v", name, err)
	}
}
