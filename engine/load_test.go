package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeTree writes files (slash paths -> content) under a new temp folder
// and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadTree writes files and loads their site.yaml.
func loadTree(t *testing.T, files map[string]string, opts LoadOptions) (*Playbook, error) {
	t.Helper()
	dir := writeTree(t, files)
	return LoadPlaybook(filepath.Join(dir, "site.yaml"), opts)
}

func mustLoad(t *testing.T, files map[string]string, opts LoadOptions) *Playbook {
	t.Helper()
	pb, err := loadTree(t, files, opts)
	if err != nil {
		t.Fatalf("LoadPlaybook: %v", err)
	}
	return pb
}

// taskFields lists the non-zero model fields of a task (no positions or
// links), so that a table names only the fields it cares about.
func taskFields(t *Task) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(t).Elem()
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		switch name {
		case "Pos", "FS", "Dir", "Role", "Parent", "Block", "Rescue", "Always":
			continue
		}
		if f := v.Field(i); !f.IsZero() {
			if f.Kind() == reflect.Pointer {
				out[name] = f.Elem().Interface()
			} else {
				out[name] = f.Interface()
			}
		}
	}
	return out
}

// handlersYAML gives the keyword tests handlers to notify.
const handlersYAML = "  handlers:\n  - name: h1\n    debug: msg=h\n  - debug: msg=t\n    listen: topic\n"

func TestLoadTaskKeywords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		task string // one task, indented for a tasks: list
		want map[string]any
	}{
		{"module map", "command: {cmd: ls, chdir: /tmp}", map[string]any{"Module": "command", "Args": map[string]any{"cmd": "ls", "chdir": "/tmp"}}},
		{"free form with trailing k=v", "command: ls -l /x chdir=/tmp creates=/y", map[string]any{"Module": "command", "Args": map[string]any{"_raw_params": "ls -l /x", "chdir": "/tmp", "creates": "/y"}}},
		{"free form quotes kept", `shell: echo "a  b" | tr a c`, map[string]any{"Module": "shell", "Args": map[string]any{"_raw_params": `echo "a  b" | tr a c`}}},
		{"free form jinja kept", `shell: echo {{ x | default('a b') }} chdir=/`, map[string]any{"Module": "shell", "Args": map[string]any{"_raw_params": `echo {{ x | default('a b') }}`, "chdir": "/"}}},
		{"free form quotes in jinja", `shell: echo {{ "}} x" }} creates=/x`, map[string]any{"Args": map[string]any{"_raw_params": `echo {{ "}} x" }}`, "creates": "/x"}}},
		{"free form odd quote kept whole", `shell: echo it's creates=/x`, map[string]any{"Args": map[string]any{"_raw_params": `echo it's creates=/x`}}},
		{"kv with jinja spaces", `debug: msg="{{ 'a b' }} c" verbosity=0`, map[string]any{"Args": map[string]any{"msg": "{{ 'a b' }} c", "verbosity": "0"}}},
		{"kv string", `debug: msg="v 2" verbosity=1`, map[string]any{"Module": "debug", "Args": map[string]any{"msg": "v 2", "verbosity": "1"}}},
		{"args merged", "command: ls\n  args: {chdir: /tmp}", map[string]any{"Module": "command", "Args": map[string]any{"_raw_params": "ls", "chdir": "/tmp"}}},
		{"collection prefix", "ansible.builtin.command: ls", map[string]any{"Module": "command", "Args": map[string]any{"_raw_params": "ls"}}},
		{"action string", "action: shell echo hi", map[string]any{"Module": "shell", "Args": map[string]any{"_raw_params": "echo hi"}}},
		{"action map", "action: {module: command, cmd: ls}", map[string]any{"Module": "command", "Args": map[string]any{"cmd": "ls"}}},
		{"local_action", "local_action: command hostname", map[string]any{"Module": "command", "Args": map[string]any{"_raw_params": "hostname"}, "DelegateTo": "localhost"}},
		{"name", "name: say hi\n  debug: msg=hi", map[string]any{"Name": "say hi", "Module": "debug", "Args": map[string]any{"msg": "hi"}}},
		{"when string", "debug: msg=x\n  when: a == 1", map[string]any{"When": []string{"a == 1"}}},
		{"when bool", "debug: msg=x\n  when: false", map[string]any{"When": []string{"false"}}},
		{"when yes (YAML 1.1)", "debug: msg=x\n  when: yes", map[string]any{"When": []string{"true"}}},
		{"vars yes/no are booleans, quoted stay strings", "debug: msg=x\n  vars: {a: no, b: 'no', c: On}", map[string]any{"Vars": map[string]any{"a": false, "b": "no", "c": true}}},
		{"when list", "debug: msg=x\n  when: [a, 'b > 2']", map[string]any{"When": []string{"a", "b > 2"}}},
		{"loop list", "debug: msg=x\n  loop: [1, two]", map[string]any{"Loop": []any{1, "two"}}},
		{"loop expr", "debug: msg=x\n  loop: '{{ hosts }}'", map[string]any{"Loop": "{{ hosts }}"}},
		{"with_items flattened", "debug: msg=x\n  with_items: [[1, 2], 3]", map[string]any{"Loop": []any{1, 2, 3}, "LoopWith": "items"}},
		{"with_dict", "debug: msg=x\n  with_dict: {a: 1}", map[string]any{"Loop": map[string]any{"a": 1}, "LoopWith": "dict"}},
		{"loop_control", "debug: msg=x\n  loop: [1]\n  loop_control: {loop_var: h, index_var: i, label: '{{ h }}', pause: 2}", map[string]any{"Loop": []any{1}, "LoopVar": "h", "IndexVar": "i", "LoopLabel": "{{ h }}", "LoopPause": 2}},
		{"register until retries delay", "command: ls\n  register: out\n  until: out.rc == 0\n  retries: 10\n  delay: 2s", map[string]any{"Register": "out", "Until": "out.rc == 0", "Retries": 10, "Delay": "2s"}},
		{"retries expr delay number", "command: ls\n  until: true\n  retries: '{{ n }}'\n  delay: 1.5", map[string]any{"Until": "true", "Retries": "{{ n }}", "Delay": 1.5}},
		{"ignore flags", "command: ls\n  ignore_errors: yes\n  ignore_unreachable: true", map[string]any{"IgnoreErrs": true, "IgnoreUnrch": true}},
		{"failed/changed_when", "command: ls\n  failed_when: [rc > 1]\n  changed_when: false", map[string]any{"FailedWhen": []string{"rc > 1"}, "ChangedWhen": []string{"false"}}},
		{"notify string", "command: ls\n  notify: h1", map[string]any{"Notify": []string{"h1"}}},
		{"notify list", "command: ls\n  notify: [h1, topic]", map[string]any{"Notify": []string{"h1", "topic"}}},
		{"tags comma string", "command: ls\n  tags: 'a, b'", map[string]any{"Tags": []string{"a", "b"}}},
		{"tags list", "command: ls\n  tags: [always, 3]", map[string]any{"Tags": []string{"always", "3"}}},
		{"run_once delegate", "command: ls\n  run_once: true\n  delegate_to: '{{ groups.etcd[0] }}'", map[string]any{"RunOnce": true, "DelegateTo": "{{ groups.etcd[0] }}"}},
		{"check/diff", "command: ls\n  check_mode: false\n  diff: true", map[string]any{"CheckMode": false, "Diff": true}},
		{"environment vars", "command: ls\n  environment: {A: b}\n  vars: {x: 1}", map[string]any{"Environment": map[string]any{"A": "b"}, "Vars": map[string]any{"x": 1}}},
		{"become", "command: ls\n  become: yes\n  become_user: postgres\n  become_method: su", map[string]any{"Become": true, "BecomeUser": "postgres", "BecomeMethod": "su"}},
		{"no_log throttle", "command: ls\n  no_log: true\n  throttle: 2", map[string]any{"NoLog": true, "Throttle": 2}},
		{"set_fact cacheable dropped", "set_fact: {a: 1, cacheable: true}", map[string]any{"Module": "set_fact", "Args": map[string]any{"a": 1}}},
		{"assert", "assert: {that: [a == 1], fail_msg: nope}", map[string]any{"Module": "assert", "Args": map[string]any{"that": []any{"a == 1"}, "fail_msg": "nope"}}},
		{"meta", "meta: flush_handlers", map[string]any{"Module": "meta", "Args": map[string]any{"_raw_params": "flush_handlers"}}},
		{"include_tasks dynamic", "include_tasks: '{{ os }}.yaml'", map[string]any{"Module": "include_tasks", "Args": map[string]any{"file": "{{ os }}.yaml"}}},
		{"include_role dynamic", "include_role: {name: '{{ r }}', tasks_from: x}", map[string]any{"Module": "include_role", "Args": map[string]any{"name": "{{ r }}", "tasks_from": "x"}}},
		{"pause", "pause: seconds=3", map[string]any{"Module": "pause", "Args": map[string]any{"seconds": "3"}}},
		{"merge key on a task", "<<: {become: true, tags: [m]}\n  command: ls\n  tags: [own]", map[string]any{"Become": true, "Tags": []string{"own"}}},
		{"yaml anchors merge", "command: {<<: {chdir: /a}, cmd: ls}", map[string]any{"Args": map[string]any{"chdir": "/a", "cmd": "ls"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pb := mustLoad(t, map[string]string{"site.yaml": "- hosts: all\n  tasks:\n  - " + strings.ReplaceAll(tc.task, "\n", "\n  ") + "\n" + handlersYAML}, LoadOptions{})
			got := taskFields(pb.Plays[0].Tasks[0])
			for k, want := range tc.want {
				if !reflect.DeepEqual(got[k], want) {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
		})
	}
}

func TestLoadPlayKeywords(t *testing.T) {
	t.Parallel()
	site := `
- name: all keys
  hosts: [etcd, masters]
  vars: {a: 1}
  vars_files: [vars.yaml]
  secrets: secret.yaml
  serial: [1, "30%"]
  max_fail_percentage: 20
  any_errors_fatal: true
  gather_facts: no
  become: true
  become_user: root
  become_method: sudo
  tags: [deploy]
  environment: {PATH: /bin}
  rollback_on_failure: true
  strategy: linear
  check_mode: false
  diff: true
  no_log: true
  ignore_unreachable: true
  tasks: []
- hosts: all
`
	pb := mustLoad(t, map[string]string{"site.yaml": site, "vars.yaml": "x: 1\n", "secret.yaml": "pw: s\n"}, LoadOptions{})
	p := pb.Plays[0]
	f, no := 20.0, false
	checks := []struct {
		field     string
		got, want any
	}{
		{"Name", p.Name, "all keys"},
		{"Hosts", p.Hosts, "etcd,masters"},
		{"Vars", p.Vars, map[string]any{"a": 1}},
		{"VarsFiles", p.VarsFiles, []string{"vars.yaml"}},
		{"Secrets", p.Secrets, []string{"secret.yaml"}},
		{"Serial", p.Serial, []any{1, "30%"}},
		{"MaxFailPct", *p.MaxFailPct, f},
		{"AnyErrFatal", p.AnyErrFatal, true},
		{"GatherFacts", p.GatherFacts, false},
		{"Become", *p.Become, true},
		{"BecomeUser", p.BecomeUser, "root"},
		{"BecomeMethod", p.BecomeMethod, "sudo"},
		{"Tags", p.Tags, []string{"deploy"}},
		{"Environment", p.Environment, map[string]any{"PATH": "/bin"}},
		{"RollbackOnFailure", p.RollbackOnFailure, true},
		{"CheckMode", *p.CheckMode, no},
		{"Diff", *p.Diff, true},
		{"NoLog", p.NoLog, true},
		{"IgnoreUnreachable", p.IgnoreUnreachable, true},
		{"second play gathers facts by default", pb.Plays[1].GatherFacts, true},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.field, c.got, c.want)
		}
	}
}

func TestLoadBlockFoldsWhenAndTags(t *testing.T) {
	t.Parallel()
	site := `
- hosts: all
  tasks:
  - name: outer
    when: a
    tags: t1
    block:
    - command: ls
      when: b
    - block:
      - command: pwd
      when: c
    rescue:
    - debug: msg=rescued
    always:
    - debug: msg=always
`
	pb := mustLoad(t, map[string]string{"site.yaml": site}, LoadOptions{})
	outer := pb.Plays[0].Tasks[0]
	if !outer.IsBlock() || len(outer.Block) != 2 || len(outer.Rescue) != 1 || len(outer.Always) != 1 {
		t.Fatalf("block shape wrong: %d/%d/%d", len(outer.Block), len(outer.Rescue), len(outer.Always))
	}
	inner := outer.Block[1].Block[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"first child when", outer.Block[0].When, []string{"a", "b"}},
		{"nested child when", inner.When, []string{"a", "c"}},
		{"nested child tags", inner.Tags, []string{"t1"}},
		{"rescue when", outer.Rescue[0].When, []string{"a"}},
		{"always tags", outer.Always[0].Tags, []string{"t1"}},
		{"parent link", inner.Parent == outer.Block[1] && outer.Block[1].Parent == outer, true},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
}

func TestLoadPositionsAndFiles(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"site.yaml":      "- hosts: all\n  tasks:\n    - import_tasks: sub/more.yaml\n",
		"sub/more.yaml":  "- debug: msg=a\n- include_tasks: other.yaml\n",
		"sub/other.yaml": "- debug: msg=b\n",
	})
	pb, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks := pb.Plays[0].Tasks
	if len(tasks) != 2 {
		t.Fatalf("got %d tasks, want 2", len(tasks))
	}
	if got, want := tasks[0].Pos.String(), filepath.Join(dir, "sub/more.yaml")+":1:3"; got != want {
		t.Errorf("pos = %s, want %s", got, want)
	}
	if tasks[1].Dir != "sub" {
		t.Errorf("Dir = %q, want sub", tasks[1].Dir)
	}
	fsys, name, ok := IncludePath(tasks[1], "other.yaml")
	if !ok {
		t.Fatal("IncludePath did not find sub/other.yaml")
	}
	inc, err := LoadTasks(fsys, name, nil, LoadOptions{})
	if err != nil || len(inc) != 1 || inc[0].Args["msg"] != "b" {
		t.Fatalf("LoadTasks = %v, %v", inc, err)
	}
	if !strings.HasSuffix(inc[0].Pos.File, filepath.Join("sub", "other.yaml")) {
		t.Errorf("included pos file = %s", inc[0].Pos.File)
	}
}
