// Package hostile_test runs hostile variable values through whole
// playbooks: the engine renders them into module arguments (and into a
// shell command through the quote filter), on the local connection and
// on a real OpenSSH server, and the test reads back what landed. The
// module-level suite is modules/hostile_test.go.
package hostile_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/internal/sshtest"
	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/transport"
)

// values are given as extra vars, so they reach the engine as Go strings
// whatever YAML can spell.
var values = []struct{ name, v string }{
	{"single-quote", `it's 'quoted' '\''`},
	{"double-quote", `say "hi" \"x\"`},
	{"newline", "a\nb\n\nc\n"},
	{"subst", "$(touch canary)"},
	{"backtick", "`touch canary`"},
	{"separators", "x; touch canary | touch canary && touch canary"},
	{"quote-break", `'; touch canary; '"; touch canary; "`},
	{"glob", "*?[a-z]{x,y}~"},
	{"dash", "-rf --help"},
	{"dollar", `$HOME ${IFS} $1 \ \\ %s %n`},
	{"non-utf8", "\xff\xfe\x80 abc"},
	{"unicode", "ünïcødé ✓ 日本 \u202e 🙂"},
	{"big", strings.Repeat("0123456789'\"$`\\\n", 1<<16)}, // 1 MiB
}

// The playbook writes the value five ways into the host's folder (root):
// a shell command with the quote filter, command argv, copy content to a
// file named by the value, a template, and lineinfile; then it reads the
// copy back with stat and slurp and writes what slurp returned.
const playbook = `
- hosts: all
  gather_facts: false
  tasks:
    - name: shell through the quote filter
      shell: printf '%s' {{ v | quote }} > {{ (root + '/shell.out') | quote }}
      when: v | length < 100000
    - name: command argv
      command:
        argv: [sh, -c, 'printf "%s" "$1" > "$2"', sh, "{{ v }}", "{{ root }}/argv.out"]
      when: v | length < 100000
    - name: copy to a file named by the value
      copy:
        content: "{{ v }}"
        dest: "{{ root }}/{{ fname }}"
    - name: template
      template:
        src: t.j2
        dest: "{{ root }}/template.out"
    - name: lineinfile
      lineinfile:
        path: "{{ root }}/line.out"
        line: "{{ v }}"
        create: true
    - name: stat
      stat:
        path: "{{ root }}/{{ fname }}"
      register: st
    - name: slurp
      slurp:
        src: "{{ root }}/{{ fname }}"
      register: sl
    - name: write what slurp read
      copy:
        content: "{{ sl.content | b64decode }}"
        dest: "{{ root }}/slurp.out"
    - name: write what stat said
      copy:
        content: "{{ st.stat.checksum }}"
        dest: "{{ root }}/stat.out"
`

func TestHostileValuesThroughPlaybooks(t *testing.T) {
	dir := t.TempDir()
	roots := map[string]string{"local": filepath.Join(dir, "local")}
	inv, known := hostsFor(t, dir, roots)
	write(t, filepath.Join(dir, "hosts.yaml"), inv)
	write(t, filepath.Join(dir, "site.yaml"), playbook)
	write(t, filepath.Join(dir, "templates", "t.j2"), "<{{ .v }}>")
	invp, err := inventory.Load(filepath.Join(dir, "hosts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range values {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range roots {
				os.RemoveAll(r)
				if err := os.MkdirAll(r, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			fname := tc.v
			if strings.ContainsAny(fname, "/") || len(fname) > 200 {
				fname = "plain"
			}
			opts := engine.Options{Inventory: invp, Playbooks: []string{filepath.Join(dir, "site.yaml")},
				ExtraVars: map[string]any{"v": tc.v, "fname": fname},
				SSH:       transport.Options{KnownHosts: known, SSHConfigFile: "none", AgentSocket: "none", ConnectTimeout: 5 * time.Second}}
			rep, err := engine.Run(t.Context(), opts)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if rep.ExitCode() != 0 {
				t.Fatalf("run exit %d: %v", rep.ExitCode(), rep)
			}
			for host, root := range roots {
				checkHost(t, host, root, tc.v, fname)
			}
		})
	}
}

// TestCommandLineRefused: a 1 MiB value put into a shell command line is
// over what one argument (128 KiB, Linux) or one SSH exec request (256
// KiB, OpenSSH, which drops the whole connection) may hold, and a NUL byte
// cannot be in a command line at all. The task must fail with a message
// that says so, on that host only (not "unreachable"); the next task runs.
func TestCommandLineRefused(t *testing.T) {
	for _, tc := range []struct{ name, v, want string }{
		{"1 MiB", strings.Repeat("x", 1<<20), "is over the 131071 a host takes in one argument"},
		{"NUL", "a\x00b", "holds a NUL byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runOne(t, tc.v, "    - shell: printf %s {{ v | quote }} | wc -c\n      ignore_errors: true\n"+
				"    - command: echo still here\n")
			for host, rs := range got {
				if len(rs) != 2 || !strings.HasPrefix(rs[0], "ignored: ") || !strings.Contains(rs[0], tc.want) || !strings.HasPrefix(rs[1], "changed") {
					t.Errorf("%s: want the command refused (%q) and the next task run, got %q", host, tc.want, rs)
				}
			}
		})
	}
}

// runOne runs tasks on every host with v as the extra var v and returns
// each host's results as "status: msg".
func runOne(t *testing.T, v, tasks string) map[string][]string {
	t.Helper()
	dir := t.TempDir()
	inv, known := hostsFor(t, dir, map[string]string{})
	write(t, filepath.Join(dir, "hosts.yaml"), inv)
	write(t, filepath.Join(dir, "site.yaml"), "- hosts: all\n  gather_facts: false\n  tasks:\n"+tasks)
	invp, err := inventory.Load(filepath.Join(dir, "hosts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string][]string{}
	sink := engine.SinkFunc(func(e engine.Event) {
		if e.Type == engine.EventHostResult && e.Result != nil {
			mu.Lock()
			got[e.Host] = append(got[e.Host], string(e.Result.Status)+": "+e.Result.Msg)
			mu.Unlock()
		}
	})
	opts := engine.Options{Inventory: invp, Playbooks: []string{filepath.Join(dir, "site.yaml")}, Sink: sink,
		ExtraVars: map[string]any{"v": v},
		SSH:       transport.Options{KnownHosts: known, SSHConfigFile: "none", AgentSocket: "none", ConnectTimeout: 5 * time.Second}}
	if _, err := engine.Run(t.Context(), opts); err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(got) == 0 {
		t.Fatal("no results")
	}
	return got
}

// checkHost reads back what the playbook wrote on one host.
func checkHost(t *testing.T, host, root, v, fname string) {
	t.Helper()
	want := map[string]string{"shell.out": v, "argv.out": v, fname: v, "template.out": "<" + v + ">",
		"line.out": v + "\n", "slurp.out": v}
	if len(v) >= 100000 {
		// Over the kernel's limit for one argument (TestHugeCommandLine).
		delete(want, "argv.out")
		delete(want, "shell.out")
	}
	for name, w := range want {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: %s: %v", host, name, err)
			continue
		}
		if string(b) != w {
			t.Errorf("%s: %s holds %d bytes %q..., want %d bytes", host, name, len(b), trunc(b), len(w))
		}
	}
	sum := sha256.Sum256([]byte(v))
	if b, _ := os.ReadFile(filepath.Join(root, "stat.out")); string(b) != hex.EncodeToString(sum[:]) {
		t.Errorf("%s: stat checksum %q, want the value's", host, b)
	}
	for _, p := range []string{filepath.Join(root, "canary"), "canary", filepath.Join(os.Getenv("HOME"), "canary")} {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s: %s exists: a value broke out of quoting", host, p)
		}
	}
}

// hostsFor is an inventory of this machine (local connection) and, when
// root may start OpenSSH, one real sshd host; roots gets each host's
// folder (the host variable root).
func hostsFor(t *testing.T, dir string, roots map[string]string) (string, []string) {
	t.Helper()
	roots["local"] = filepath.Join(dir, "local")
	inv := "all:\n  hosts:\n    local:\n      ansible_connection: local\n      root: " + roots["local"] + "\n"
	if os.Geteuid() != 0 || testing.Short() {
		t.Log("no real sshd (needs root and OpenSSH): local connection only")
		return inv, nil
	}
	if _, err := os.Stat(sshtest.SSHDPath); err != nil {
		t.Log("no real sshd (needs root and OpenSSH): local connection only")
		return inv, nil
	}
	h := sshtest.Start(t, 1)[0]
	roots["sshd"] = filepath.Join(dir, "sshd")
	inv += "    sshd:\n      ansible_host: " + h.Addr + "\n      ansible_port: " + strconv.Itoa(h.Port) +
		"\n      ansible_user: root\n      ansible_ssh_private_key_file: " + h.KeyFile + "\n      root: " + roots["sshd"] + "\n"
	return inv, []string{h.KnownHosts}
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
