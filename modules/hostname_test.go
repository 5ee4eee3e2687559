package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fakes keep the running name in $FAKE_DIR/name and log their calls.
const (
	fakeHostname    = "echo \"hostname $*\" >> \"$FAKE_DIR/calls\"\nif [ $# -eq 0 ]; then cat \"$FAKE_DIR/name\"; else echo \"$1\" > \"$FAKE_DIR/name\"; fi\n"
	fakeHostnamectl = "echo \"hostnamectl $*\" >> \"$FAKE_DIR/calls\"\n[ \"$1 $2\" = \"--transient set-hostname\" ] || exit 2\necho \"$3\" > \"$FAKE_DIR/name\"\n"
)

func hostnameEnv(t *testing.T, systemd bool) (Hostname, Conn, string) {
	t.Helper()
	conn, state := fakeTools(t, map[string]string{"hostname": fakeHostname, "hostnamectl": fakeHostnamectl})
	root := filepath.Join(state, "root")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	if systemd {
		os.MkdirAll(filepath.Join(root, "run/systemd/system"), 0o755)
	}
	os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("localhost\n"), 0o644)
	os.WriteFile(filepath.Join(state, "name"), []byte("localhost\n"), 0o644)
	return Hostname{root: root}, conn, state
}

func runHostname(t *testing.T, m Hostname, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := m.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check, BackupSuffix: ".bak"})
	if err != nil {
		t.Fatalf("hostname %v: %v", args, err)
	}
	return res
}

func TestHostname(t *testing.T) {
	for _, systemd := range []bool{true, false} {
		t.Run(map[bool]string{true: "systemd", false: "generic"}[systemd], func(t *testing.T) {
			m, conn, state := hostnameEnv(t, systemd)
			args := map[string]any{"name": "master-1"}
			if res := runHostname(t, m, conn, true, args); !res.Changed || len(res.Changes) != 1 {
				t.Fatalf("check: %+v", res)
			}
			if b, _ := os.ReadFile(filepath.Join(state, "name")); string(b) != "localhost\n" {
				t.Fatal("check mode renamed the host")
			}
			res := runHostname(t, m, conn, false, args)
			if !res.Changed || len(res.Changes) != 2 {
				t.Fatalf("first run: %+v", res)
			}
			if c := res.Changes[0]; c.Kind != KindFile || c.Path != m.root+"/etc/hostname" || c.Backup == "" {
				t.Errorf("file change = %+v", c)
			}
			if c := res.Changes[1]; c != (Change{Kind: KindOther, Name: "hostname", Action: "set", Old: "localhost", New: "master-1"}) {
				t.Errorf("runtime change = %+v", c)
			}
			if b, _ := os.ReadFile(filepath.Join(m.root, "etc/hostname")); string(b) != "master-1\n" {
				t.Errorf("/etc/hostname = %q", b)
			}
			calls, _ := os.ReadFile(filepath.Join(state, "calls"))
			if used := strings.Contains(string(calls), "hostnamectl --transient set-hostname master-1"); used != systemd {
				t.Errorf("hostnamectl used = %v, want %v (calls %q)", used, systemd, calls)
			}
			if res := runHostname(t, m, conn, false, args); res.Changed {
				t.Errorf("second run: %+v", res)
			}
		})
	}
}

func TestHostnameBadArgs(t *testing.T) {
	m, conn, _ := hostnameEnv(t, false)
	for _, args := range []map[string]any{
		{},
		{"name": "bad_name"},
		{"name": "-x"},
		{"name": "a b"},
		{"name": strings.Repeat("a", 65)},
		{"name": "ok", "use": "bsd"},
	} {
		if _, err := m.Run(context.Background(), &Request{Conn: conn, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}
