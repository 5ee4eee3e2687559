package engine

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// badCase is a broken input and the error it must give: want is
// "file:line[:col]: message", the file relative to the test folder.
type badCase struct {
	name  string
	site  string
	extra map[string]string
	want  string
}

var badCases = []badCase{
	{"yaml syntax", "- hosts: all\n  tasks: [\n", nil, "site.yaml:3: yaml: did not find expected node content"},
	{"yaml bad indent", "- hosts: all\n tasks: []\n", nil, "site.yaml:2: yaml: did not find expected '-' indicator"},
	{"not a list", "hosts: all\n", nil, "site.yaml:1:1: playbook must be a list of plays, got a mapping"},
	{"empty playbook", "# nothing\n", nil, "site.yaml: playbook is empty"},
	{"play not a mapping", "- all\n", nil, `site.yaml:1:3: play must be a mapping, got a string ("all")`},
	{"unknown play key", "- hots: all\n", nil, `site.yaml:1:3: unknown play key "hots" (did you mean "hosts"?)`},
	{"play key transposed", "- hosts: all\n  taks: []\n", nil, `site.yaml:2:3: unknown play key "taks" (did you mean "tasks"?)`},
	{"hosts bad regex", "- hosts: ~(\n  tasks: []\n", nil, `site.yaml:1:10: hosts: invalid host list pattern "~(": `},
	{"hosts unclosed subscript", "- hosts: 'web[0,db'\n  tasks: []\n", nil, `site.yaml:1:10: hosts: host pattern "web[0": unclosed [`},
	{"no hosts", "- name: x\n  tasks: []\n", nil, `site.yaml:1:3: play "x" has no hosts`},
	{"vars_prompt", "- hosts: all\n  vars_prompt: [{name: pw}]\n", nil, `site.yaml:2:3: play key "vars_prompt" is not supported`},
	{"order", "- hosts: all\n  order: sorted\n", nil, `site.yaml:2:3: play key "order" is not supported`},
	{"strategy free", "- hosts: all\n  strategy: free\n", nil, `site.yaml:2:13: strategy "free" is not supported (only linear)`},
	{"serial bad percent", "- hosts: all\n  serial: x%\n", nil, `site.yaml:2:11: serial: want a number or "N%", got a string ("x%")`},
	{"serial in list", "- hosts: all\n  serial: [1, {a: b}]\n", nil, `site.yaml:2:15: serial: want a number or "N%", got a mapping`},
	{"max_fail_percentage", "- hosts: all\n  max_fail_percentage: 200\n", nil, "site.yaml:2:24: max_fail_percentage: want a number from 0 to 100"},
	{"bad bool", "- hosts: all\n  become: maybe\n", nil, `site.yaml:2:11: become: want a boolean (true/false), got a string ("maybe")`},
	{"templated no_log", "- hosts: all\n  tasks:\n    - command: ls\n      no_log: '{{ x }}'\n", nil, `site.yaml:4:15: no_log: kplay does not support a templated value for this keyword yet (want true or false, got "{{ x }}"; tasks and blocks may template ignore_errors`},
	{"templated gather_facts", "- hosts: all\n  gather_facts: '{{ x }}'\n", nil, `site.yaml:2:17: gather_facts: kplay does not support a templated value for this keyword yet`},
	{"templated ignore_errors broken", "- hosts: all\n  tasks:\n    - command: ls\n      ignore_errors: '{{ x'\n", nil, `site.yaml:4:22: ignore_errors: `},
	{"duplicate key", "- hosts: all\n  hosts: web\n", nil, `site.yaml:2:3: duplicate key "hosts"`},
	{"empty task", "- hosts: all\n  tasks:\n    -\n", nil, "site.yaml:3:6: empty task"},
	{"task not a mapping", "- hosts: all\n  tasks: [ls]\n", nil, `site.yaml:2:11: task must be a mapping, got a string ("ls")`},
	{"no module", "- hosts: all\n  tasks:\n    - name: x\n", nil, `site.yaml:3:7: task "x": no module or action given`},
	{"unknown task key typo", "- hosts: all\n  tasks:\n    - command: ls\n      whn: a\n", nil, `site.yaml:4:7: task: unknown task key "whn" (did you mean "when"?)`},
	{"unknown task key alone", "- hosts: all\n  tasks:\n    - regster: x\n", nil, `site.yaml:3:7: task: unknown task key "regster" (did you mean "register"?)`},
	{"unknown module", "- hosts: all\n  tasks:\n    - name: n\n      comand: ls\n", nil, `site.yaml:4:7: task "n": unknown module "comand" (did you mean "command"?)`},
	{"two modules", "- hosts: all\n  tasks:\n    - command: ls\n      shell: ls\n", nil, `site.yaml:4:7: task: conflicting action statements: "command" and "shell" (one module per task)`},
	{"unknown argument", "- hosts: all\n  tasks:\n    - command: {foo: 1}\n", nil, `site.yaml:3:17: task: command: unknown argument "foo"`},
	{"argument typo", "- hosts: all\n  tasks:\n    - command: {chdr: /}\n", nil, `site.yaml:3:17: task: command: unknown argument "chdr" (did you mean "chdir"?)`},
	{"args a list", "- hosts: all\n  tasks:\n    - command: [ls]\n", nil, "site.yaml:3:16: task: command: arguments must be a mapping or a key=value string, got a list"},
	{"not key=value", "- hosts: all\n  tasks:\n    - debug: hello\n", nil, `site.yaml:3:14: task: debug: "hello" is not key=value`},
	{"bad when", "- hosts: all\n  tasks:\n    - command: ls\n      when: a ==\n", nil, "site.yaml:4:13: when: "},
	{"unclosed braces", "- hosts: all\n  tasks:\n    - command: echo {{ x\n", nil, "site.yaml:3:16: command: "},
	{"unclosed braces in vars", "- hosts: all\n  vars:\n    a: '{{ b'\n", nil, "site.yaml:3:8: vars: "},
	{"retries abc", "- hosts: all\n  tasks:\n    - command: ls\n      until: true\n      retries: abc\n", nil, `site.yaml:5:16: retries: want a number or an expression, got a string ("abc")`},
	{"delay bad", "- hosts: all\n  tasks:\n    - command: ls\n      delay: soon\n", nil, `site.yaml:4:14: delay: want seconds, a duration such as 2s, or an expression`},
	{"loop number", "- hosts: all\n  tasks:\n    - command: ls\n      loop: 5\n", nil, "site.yaml:4:13: loop: want a list or an expression string, got a number"},
	{"two loops", "- hosts: all\n  tasks:\n    - command: ls\n      loop: [1]\n      with_items: [2]\n", nil, `site.yaml:5:7: task: more than one loop keyword`},
	{"with_fileglob", "- hosts: all\n  tasks:\n    - command: ls\n      with_fileglob: '*'\n", nil, `site.yaml:4:7: task key "with_fileglob" is not supported`},
	{"loop_control key", "- hosts: all\n  tasks:\n    - command: ls\n      loop: [1]\n      loop_control: {loop_vr: x}\n", nil, `site.yaml:5:22: loop_control: unknown key "loop_vr" (did you mean "loop_var"?)`},
	{"register name", "- hosts: all\n  tasks:\n    - command: ls\n      register: a-b\n", nil, `site.yaml:4:17: register: "a-b" is not a valid variable name`},
	{"listen outside handlers", "- hosts: all\n  tasks:\n    - command: ls\n      listen: x\n", nil, "site.yaml:4:7: task: listen is only valid on handlers"},
	{"notify unknown handler", "- hosts: all\n  tasks:\n    - command: ls\n      notify: restart nginx\n  handlers:\n    - name: restart ngnix\n      command: ls\n", nil, `site.yaml:4:15: notify: no handler named "restart nginx" (did you mean "restart ngnix"?)`},
	{"block with loop", "- hosts: all\n  tasks:\n    - block: [{command: ls}]\n      loop: [1]\n", nil, "site.yaml:4:7: task: loop is not allowed on a block"},
	{"rescue without block", "- hosts: all\n  tasks:\n    - command: ls\n      rescue: []\n", nil, "site.yaml:4:7: task: rescue needs a block"},
	{"block and module", "- hosts: all\n  tasks:\n    - block: []\n      command: ls\n", nil, `site.yaml:4:7: task: a block cannot also run module "command"`},
	{"meta unknown", "- hosts: all\n  tasks:\n    - meta: flush_handler\n", nil, `site.yaml:3:13: task: meta: unknown action "flush_handler" (did you mean "flush_handlers"?)`},
	{"pause prompt", "- hosts: all\n  tasks:\n    - pause: {prompt: 'ok?'}\n", nil, "site.yaml:3:23: task: pause: prompt is not supported"},
	{"debug msg and var", "- hosts: all\n  tasks:\n    - debug: {msg: a, var: b}\n", nil, "site.yaml:3:7: task: debug: msg and var are mutually exclusive"},
	{"assert without that", "- hosts: all\n  tasks:\n    - assert: {msg: a}\n", nil, `site.yaml:3:7: task: assert: missing required argument "that"`},
	{"bad assert expression", "- hosts: all\n  tasks:\n    - assert: {that: [a >]}\n", nil, "site.yaml:3:23: assert.that: expression `a >`: unexpected token EOF"},
	{"action unknown module", "- hosts: all\n  tasks:\n    - action: nosuch a=b\n", nil, `site.yaml:3:15: task: action: unknown module "nosuch"`},
	{"import_tasks missing", "- hosts: all\n  tasks:\n    - import_tasks: nope.yaml\n", nil, `site.yaml:3:21: task: import_tasks: no such file "nope.yaml"`},
	{"import_tasks templated", "- hosts: all\n  tasks:\n    - import_tasks: '{{ x }}.yaml'\n", nil, `site.yaml:3:21: task: import_tasks: file "{{ x }}.yaml" cannot hold {{ }}`},
	{"import_tasks with loop", "- hosts: all\n  tasks:\n    - import_tasks: t.yaml\n      loop: [1]\n", map[string]string{"t.yaml": "[]\n"}, "site.yaml:4:7: task: loop cannot be used on import_tasks (a static import); use include_tasks"},
	{"include_tasks missing", "- hosts: all\n  tasks:\n    - include_tasks: nope.yaml\n", nil, `site.yaml:3:22: task: include_tasks: no such file "nope.yaml"`},
	{"error inside imported file", "- hosts: all\n  tasks:\n    - import_tasks: t.yaml\n", map[string]string{"t.yaml": "- command: ls\n  whn: x\n"}, `t.yaml:2:3: task: unknown task key "whn"`},
	{"import_playbook missing", "- import_playbook: other.yaml\n", nil, `site.yaml:1:20: import_playbook: no such file "other.yaml"`},
	{"import_playbook self", "- import_playbook: site.yaml\n", nil, `site.yaml:1:20: import_playbook: "site.yaml" imports itself`},
	{"missing role", "- hosts: all\n  roles: [nope]\n", nil, `site.yaml:2:11: role "nope" not found (looked in `},
	{"missing dependency", "- hosts: all\n  roles: [a]\n", map[string]string{"roles/a/meta/main.yaml": "dependencies: [b]\n"}, `roles/a/meta/main.yaml:1:16: role "b" not found`},
	{"role cycle", "- hosts: all\n  roles: [a]\n", map[string]string{"roles/a/meta/main.yaml": "dependencies: [b]\n", "roles/b/meta/main.yaml": "dependencies: [a]\n"}, "roles/b/meta/main.yaml:1:16: role dependency cycle: a -> b -> a"},
	{"role task error", "- hosts: all\n  roles: [a]\n", map[string]string{"roles/a/tasks/main.yaml": "- shel: ls\n"}, `roles/a/tasks/main.yaml:1:3: task: unknown module "shel" (did you mean "shell"?)`},
	{"templated role name", "- hosts: all\n  roles: ['{{ r }}']\n", nil, `site.yaml:2:11: roles: role name "{{ r }}" cannot hold {{ }} (use include_role)`},
	{"include_role missing", "- hosts: all\n  tasks:\n    - include_role: {name: nope}\n", nil, `site.yaml:3:7: role "nope" not found`},
	{"missing template", "- hosts: all\n  tasks:\n    - template: {src: a.tmpl, dest: /a}\n", nil, `site.yaml:3:23: task: template: src "a.tmpl" not found (looked in `},
	{"broken template", "- hosts: all\n  tasks:\n    - template: {src: a.tmpl, dest: /a}\n", map[string]string{"templates/a.tmpl": "{{ if }}\n"}, "site.yaml:3:23: task: template: "},
	{"missing vars file", "- hosts: all\n  vars_files: [nope.yaml]\n", nil, `site.yaml:2:16: vars_files: no such file "nope.yaml"`},
	{"bad vars file", "- hosts: all\n  vars_files: [v.yaml]\n", map[string]string{"v.yaml": "a: [\n"}, "v.yaml:2: yaml: "},
	{"vars name", "- hosts: all\n  vars: {a-b: 1}\n", nil, `site.yaml:2:10: vars: invalid variable name "a-b"`},
	{"two documents", "- hosts: all\n---\n- hosts: b\n", nil, "site.yaml:2:1: more than one YAML document in the file"},
	{"unsupported tag", "- hosts: all\n  vars: {a: !vault x}\n", nil, "site.yaml:2:13: unsupported YAML tag !vault"},
	{"free form on map module", "- hosts: all\n  tasks:\n    - set_fact: '{{ x }}'\n", nil, `site.yaml:3:17: task: set_fact: "{{ x }}" is not key=value`},
	{"copy dst", "- hosts: all\n  tasks:\n    - copy: {content: x, dst: /b}\n", nil, `site.yaml:3:26: task: copy: unknown argument "dst" (did you mean "dest"?)`},
	{"missing copy src", "- hosts: all\n  tasks:\n    - copy: src=nope.txt dest=/b\n", nil, `site.yaml:3:13: task: copy: src "nope.txt" not found (looked in `},
	{"import_role tasks_from missing", "- hosts: all\n  tasks:\n    - import_role: {name: a, tasks_from: nope}\n", map[string]string{"roles/a/tasks/main.yaml": "[]\n"}, `site.yaml:3:7: role "a" has no tasks file "nope"`},
	{"import_tasks self", "- hosts: all\n  tasks:\n    - import_tasks: t.yaml\n", map[string]string{"t.yaml": "- import_tasks: t.yaml\n"}, "t.yaml: tasks file imports itself"},
	{"required argument", "- hosts: all\n  tasks:\n    - template: {src: a.tmpl}\n", map[string]string{"templates/a.tmpl": "x\n"}, `site.yaml:3:7: task: template: missing required argument "dest"`},
	{"missing script", "- hosts: all\n  tasks:\n    - script: nope.sh --fast\n", nil, `site.yaml:3:15: task: script: script "nope.sh" not found (looked in `},
	{"keyword on role entry", "- hosts: all\n  roles: [{role: a, delegate_to: x}]\n", map[string]string{"roles/a/tasks/main.yaml": "[]\n"}, `site.yaml:2:21: keyword "delegate_to" is not supported on a role reference`},
	{"when a mapping", "- hosts: all\n  tasks:\n    - command: ls\n      when: {a: 1}\n", nil, "site.yaml:4:13: when: want an expression (string or boolean), got a mapping"},
}

func TestLoadBadInputs(t *testing.T) {
	t.Parallel()
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"site.yaml": tc.site}
			for k, v := range tc.extra {
				files[k] = v
			}
			dir := writeTree(t, files)
			_, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), LoadOptions{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			want := dir + string(filepath.Separator) + filepath.FromSlash(tc.want[:strings.Index(tc.want, ":")]) + tc.want[strings.Index(tc.want, ":"):]
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error:\n%v\nwant it to contain:\n%s", err, want)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Errorf("error %T is not a *LoadError", err)
			}
		})
	}
}

func TestLoadReportsEveryProblemInOrder(t *testing.T) {
	t.Parallel()
	site := "- hosts: all\n  tasks:\n    - command: {foo: 1}\n    - shel: ls\n    - command: ls\n      retries: x\n"
	dir := writeTree(t, map[string]string{"site.yaml": site})
	_, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), LoadOptions{})
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v is not a joined error", err)
	}
	var lines []int
	for _, e := range joined.Unwrap() {
		var le *LoadError
		if !errors.As(e, &le) {
			t.Fatalf("%T is not a *LoadError", e)
		}
		lines = append(lines, le.Pos.Line)
	}
	if len(lines) != 3 || lines[0] != 3 || lines[1] != 4 || lines[2] != 6 {
		t.Errorf("error lines = %v, want [3 4 6]", lines)
	}
}

func TestLoadCapsErrors(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("- hosts: all\n  tasks:\n")
	for i := 0; i < 50; i++ {
		b.WriteString("    - nosuchmodule: x\n")
	}
	dir := writeTree(t, map[string]string{"site.yaml": b.String()})
	_, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), LoadOptions{})
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != maxErrors+1 || !strings.HasSuffix(err.Error(), "too many errors") {
		t.Fatalf("want %d errors then \"too many errors\", got %v", maxErrors, err)
	}
}

func TestLoadHostsTypoIsOneError(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"site.yaml": "- hots: all\n  tasks: []\n"})
	_, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), LoadOptions{})
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), `did you mean "hosts"?`) {
		t.Fatalf("error = %v; want the one typo error", err)
	}
}

// TestLoadOneErrorEach checks inputs that must give exactly one error: no
// follow-on noise after the first, clearer one.
func TestLoadOneErrorEach(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, site, want string }{
		{"rescue without block", "- hosts: all\n  tasks:\n    - rescue: [{command: ls}]\n", "site.yaml:3:7: task: rescue needs a block"},
		{"always without block", "- hosts: all\n  tasks:\n    - name: x\n      always: []\n", `site.yaml:4:7: task "x": always needs a block`},
		{"required argument misspelt", "- hosts: all\n  tasks:\n    - copy: {dst: /b, content: x}\n", `site.yaml:3:14: task: copy: unknown argument "dst" (did you mean "dest"?)`},
		{"required argument misspelt key=value", "- hosts: all\n  tasks:\n    - copy: content=x dets=/b\n", `task: copy: unknown argument "dets" (did you mean "dest"?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, map[string]string{"site.yaml": tc.site})
			_, err := LoadPlaybook(filepath.Join(dir, "site.yaml"), LoadOptions{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error:\n%v\nwant one error containing %q", err, tc.want)
			}
		})
	}
}
