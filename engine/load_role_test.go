package engine

import (
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// names lists the display names of tasks, for order checks.
func names(tasks []*Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.DisplayName())
	}
	return out
}

func TestLoadRoleLayout(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"site.yaml": `
- hosts: all
  roles:
    - {role: web, when: y, tags: [w], port: 80, become: true}
  tasks:
    - name: play task
      debug: msg=p
`,
		"roles/web/tasks/main.yaml":          "- name: web task\n  template: {src: site.conf.tmpl, dest: /etc/site.conf}\n  notify: reload web\n- import_tasks: extra.yaml\n  when: z\n",
		"roles/web/tasks/extra.yaml":         "- name: extra\n  debug: msg=e\n",
		"roles/web/tasks/rollback.yaml":      "- name: undo\n  debug: msg=u\n",
		"roles/web/handlers/main.yml":        "- name: reload web\n  debug: msg=r\n",
		"roles/web/defaults/main.yaml":       "port: 8080\nname: web\n",
		"roles/web/vars/main.yaml":           "user: www\n",
		"roles/web/meta/main.yaml":           "galaxy_info: {author: me}\ndependencies:\n  - common\n  - {role: dbclient, vars: {db: main}, when: x}\n",
		"roles/web/templates/site.conf.tmpl": "listen {{ .port }}\n",
		"roles/common/tasks/main.yaml":       "- name: common task\n  debug: msg=c\n",
		"roles/dbclient/tasks/main.yaml":     "- name: db task\n  debug: msg=d\n",
	}
	pb := mustLoad(t, files, LoadOptions{})
	p := pb.Plays[0]
	want := []string{"common : common task", "dbclient : db task", "web : web task", "web : extra", "play task"}
	if got := names(p.Tasks); !reflect.DeepEqual(got, want) {
		t.Fatalf("tasks = %q, want %q", got, want)
	}
	web := p.Tasks[2].Role
	checks := []struct {
		what      string
		got, want any
	}{
		{"common when", p.Tasks[0].When, []string{"y"}},
		{"dbclient when", p.Tasks[1].When, []string{"y", "x"}},
		{"dbclient params", p.Tasks[1].Role.Params, map[string]any{"db": "main"}},
		{"web tags", p.Tasks[2].Tags, []string{"w"}},
		{"web become", *p.Tasks[2].Become, true},
		{"dep inherits become", *p.Tasks[1].Become, true},
		{"imported when", p.Tasks[3].When, []string{"y", "z"}},
		{"play task untouched", p.Tasks[4].When, []string(nil)},
		{"defaults", web.Defaults, map[string]any{"port": 8080, "name": "web"}},
		{"vars", web.Vars, map[string]any{"user": "www"}},
		{"params", web.Params, map[string]any{"port": 80}},
		{"deps", len(web.Deps), 2},
		{"rollback", names(web.Rollback), []string{"web : undo"}},
		{"handlers", names(p.Handlers), []string{"web : reload web"}},
		{"role path", web.Path, filepath.Join(pb.Dir, "roles", "web")},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
	fsys, name, err := FindFile(pb, p.Tasks[2], "templates", "site.conf.tmpl")
	if err != nil || displayName(fsys, name) != filepath.Join(web.Path, "templates", "site.conf.tmpl") {
		t.Errorf("FindFile = %v, %q, %v", fsys, name, err)
	}
}

func TestLoadRoleOncePerPlay(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"site.yaml":                    "- hosts: all\n  roles: [common, web, common, {role: twice}, {role: twice}, {role: common, vars: {v: 2}}]\n",
		"roles/web/meta/main.yaml":     "dependencies: [common]\n",
		"roles/web/tasks/main.yaml":    "- name: web\n  debug: msg=w\n",
		"roles/common/tasks/main.yaml": "- name: common\n  debug: msg=c\n",
		"roles/twice/meta/main.yaml":   "allow_duplicates: true\n",
		"roles/twice/tasks/main.yaml":  "- name: twice\n  debug: msg=t\n",
	}
	pb := mustLoad(t, files, LoadOptions{})
	want := []string{"common : common", "web : web", "twice : twice", "twice : twice", "common : common"}
	if got := names(pb.Plays[0].Tasks); !reflect.DeepEqual(got, want) {
		t.Fatalf("tasks = %q, want %q", got, want)
	}
}

func TestLoadRoleOverrideLayering(t *testing.T) {
	t.Parallel()
	embedded := fstest.MapFS{
		"etcd/tasks/main.yaml":          {Data: []byte("- name: conf\n  template: {src: etcd.conf.tmpl, dest: /etc/etcd.conf}\n")},
		"etcd/templates/etcd.conf.tmpl": {Data: []byte("embedded conf\n")},
		"etcd/templates/unit.tmpl":      {Data: []byte("embedded unit\n")},
		"etcd/defaults/main.yaml":       {Data: []byte("etcd_port: 2379\n")},
	}
	dir := writeTree(t, map[string]string{
		"site.yaml": "- hosts: etcd\n  roles: [etcd]\n",
		"inv/roles/etcd/templates/etcd.conf.tmpl": "override conf\n",
		"inv/roles/etcd/templates/extra.tmpl":     "only in override\n",
	})
	opts := LoadOptions{RolesFS: embedded, OverrideDir: filepath.Join(dir, "inv")}
	pb, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	task := pb.Plays[0].Tasks[0]
	r := task.Role
	if got, want := task.Pos.File, "embedded:roles/etcd/tasks/main.yaml"; got != want {
		t.Errorf("task file = %q, want %q", got, want)
	}
	reads := map[string]string{"templates/etcd.conf.tmpl": "override conf\n", "templates/unit.tmpl": "embedded unit\n", "templates/extra.tmpl": "only in override\n"}
	for name, want := range reads {
		if got, err := fs.ReadFile(r.FS, name); err != nil || string(got) != want {
			t.Errorf("read %s = %q, %v; want %q", name, got, err, want)
		}
	}
	entries, err := fs.ReadDir(r.FS, "templates")
	var listed []string
	for _, e := range entries {
		listed = append(listed, e.Name())
	}
	if want := []string{"etcd.conf.tmpl", "extra.tmpl", "unit.tmpl"}; err != nil || !reflect.DeepEqual(listed, want) {
		t.Errorf("ReadDir = %q, %v; want %q", listed, err, want)
	}
	if err := fstest.TestFS(r.FS, "templates/etcd.conf.tmpl", "templates/unit.tmpl", "templates/extra.tmpl", "tasks/main.yaml"); err != nil {
		t.Errorf("layered FS: %v", err)
	}
	if got, want := displayName(r.FS, "templates/etcd.conf.tmpl"), filepath.Join(dir, "inv/roles/etcd/templates/etcd.conf.tmpl"); got != want {
		t.Errorf("override display name = %q, want %q", got, want)
	}
	if r.Defaults["etcd_port"] != 2379 {
		t.Errorf("defaults = %v", r.Defaults)
	}
}

func TestLoadHandlersListen(t *testing.T) {
	t.Parallel()
	site := `
- hosts: all
  roles: [svc]
  tasks:
    - command: ls
      notify: [restart all, 'svc : restart svc', plain]
  handlers:
    - name: plain
      debug: msg=p
    - name: one
      debug: msg=1
      listen: restart all
    - name: two
      debug: msg=2
      listen: [restart all]
`
	pb := mustLoad(t, map[string]string{
		"site.yaml":                    site,
		"roles/svc/handlers/main.yaml": "- name: restart svc\n  debug: msg=s\n",
	}, LoadOptions{})
	h := pb.Plays[0].Handlers
	if got, want := names(h), []string{"plain", "one", "two", "svc : restart svc"}; !reflect.DeepEqual(got, want) {
		t.Errorf("handlers = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(h[1].Listen, []string{"restart all"}) {
		t.Errorf("listen = %q", h[1].Listen)
	}
}

func TestLoadEmbeddedPlaybookAndImports(t *testing.T) {
	t.Parallel()
	pbs := fstest.MapFS{
		"site.yaml": {Data: []byte("- import_playbook: etcd.yaml\n  vars: {a: 1}\n  tags: [e]\n- hosts: all\n  tasks: [{debug: msg=x}]\n")},
		"etcd.yaml": {Data: []byte("- hosts: etcd\n  vars: {a: 2, b: 3}\n")},
	}
	pb, err := LoadPlaybook("site", LoadOptions{PlaybooksFS: pbs})
	if err != nil {
		t.Fatal(err)
	}
	if pb.Path != "embedded:playbooks/site.yaml" || len(pb.Plays) != 2 {
		t.Fatalf("path %q, %d plays", pb.Path, len(pb.Plays))
	}
	p := pb.Plays[0]
	if p.Hosts != "etcd" || !reflect.DeepEqual(p.Vars, map[string]any{"a": 2, "b": 3}) || !reflect.DeepEqual(p.Tags, []string{"e"}) {
		t.Errorf("imported play = %q %v %v", p.Hosts, p.Vars, p.Tags)
	}
	if got := pb.Plays[1].Tasks[0].Pos.String(); got != "embedded:playbooks/site.yaml:5:11" {
		t.Errorf("pos = %s", got)
	}
}

func TestLoadRoleAtRunTime(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"roles/app/meta/main.yaml":     "dependencies: [{role: base, when: ok, tags: b}]\n",
		"roles/app/tasks/main.yaml":    "- name: app\n  debug: msg=a\n",
		"roles/app/tasks/other.yaml":   "- name: other\n  debug: msg=o\n",
		"roles/app/handlers/main.yaml": "- name: h\n  debug: msg=h\n",
		"roles/base/tasks/main.yaml":   "- name: base\n  debug: msg=b\n",
	})
	r, err := LoadRole("app", Pos{File: "x.yaml", Line: 3}, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks, handlers := ExpandRole(r)
	if got, want := names(tasks), []string{"base : base", "app : app"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tasks = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(tasks[0].When, []string{"ok"}) || !reflect.DeepEqual(tasks[0].Tags, []string{"b"}) {
		t.Errorf("dep when/tags = %q %q", tasks[0].When, tasks[0].Tags)
	}
	if len(handlers) != 1 {
		t.Errorf("handlers = %d", len(handlers))
	}
	fsys, name, ok := IncludePath(tasks[1], "other.yaml")
	if !ok {
		t.Fatal("IncludePath: role tasks/other.yaml not found")
	}
	if more, err := LoadTasks(fsys, name, r, LoadOptions{}); err != nil || names(more)[0] != "app : other" {
		t.Errorf("LoadTasks = %q, %v", names(more), err)
	}
	_, err = LoadRole("nope", Pos{File: "x.yaml", Line: 3, Col: 5}, dir, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), `x.yaml:3:5: role "nope" not found (looked in `+filepath.Join(dir, "roles", "nope")) {
		t.Errorf("missing role error = %v", err)
	}
}

func TestLoadVarsFile(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"ok.yaml":    {Data: []byte("a: 1\nb: [x, {c: true}]\n")},
		"empty.yaml": {Data: []byte("")},
		"list.yaml":  {Data: []byte("- 1\n")},
	}
	m, err := LoadVarsFile(fsys, "ok.yaml")
	if err != nil || !reflect.DeepEqual(m, map[string]any{"a": 1, "b": []any{"x", map[string]any{"c": true}}}) {
		t.Errorf("ok.yaml = %v, %v", m, err)
	}
	if m, err := LoadVarsFile(fsys, "empty.yaml"); err != nil || len(m) != 0 {
		t.Errorf("empty.yaml = %v, %v", m, err)
	}
	if _, err := LoadVarsFile(fsys, "list.yaml"); err == nil || !strings.Contains(err.Error(), "list.yaml:1:1: vars file must be a mapping") {
		t.Errorf("list.yaml error = %v", err)
	}
}

func TestLoadIncludeRoleNotifiesItsOwnHandlers(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"site.yaml":                    "- hosts: all\n  tasks:\n    - include_role: {name: svc}\n    - include_tasks: more.yaml\n",
		"more.yaml":                    "- command: ls\n  notify: nobody\n",
		"roles/svc/tasks/main.yaml":    "- command: ls\n  notify: restart svc\n",
		"roles/svc/handlers/main.yaml": "- name: restart svc\n  debug: msg=s\n",
	}
	_, err := loadTree(t, files, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), `more.yaml:2:11: notify: no handler named "nobody"`) || strings.Contains(err.Error(), "restart svc") {
		t.Fatalf("error = %v; want only the included file's unknown handler", err)
	}
}

func TestLoadImportRoleOfItself(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"site.yaml":                  "- hosts: all\n  roles: [a]\n",
		"roles/a/tasks/main.yaml":    "- import_role: {name: a, tasks_from: install}\n",
		"roles/a/tasks/install.yaml": "- name: install\n  debug: msg=i\n",
	}
	pb := mustLoad(t, files, LoadOptions{})
	if got := names(pb.Plays[0].Tasks); !reflect.DeepEqual(got, []string{"a : install"}) {
		t.Errorf("tasks = %q", got)
	}
}

func TestLoadOverrideTasksAndOverrideOnlyRole(t *testing.T) {
	t.Parallel()
	embedded := fstest.MapFS{
		"lb/tasks/main.yaml": {Data: []byte("- name: embedded\n  debug: msg=e\n")},
	}
	dir := writeTree(t, map[string]string{
		"site.yaml":                      "- hosts: all\n  roles: [lb, mine]\n",
		"inv/roles/lb/tasks/main.yaml":   "- name: overridden\n  debug: msg=o\n",
		"inv/roles/mine/tasks/main.yaml": "- name: mine\n  debug: msg=m\n",
	})
	pb, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), LoadOptions{RolesFS: embedded, OverrideDir: filepath.Join(dir, "inv")})
	if err != nil {
		t.Fatal(err)
	}
	tasks := pb.Plays[0].Tasks
	if got, want := names(tasks), []string{"lb : overridden", "mine : mine"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("tasks = %q, want %q", got, want)
	}
	if got, want := tasks[0].Pos.File, filepath.Join(dir, "inv/roles/lb/tasks/main.yaml"); got != want {
		t.Errorf("overridden task file = %q, want %q", got, want)
	}
}
