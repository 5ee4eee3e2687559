package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/transport"
)

// fakeTools returns a Conn whose PATH finds the given scripts first (then
// /usr/bin and /bin), with env added, and the folder holding the scripts'
// state (exported to them as FAKE_DIR).
func fakeTools(t *testing.T, tools map[string]string, env ...string) (Conn, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	state := filepath.Join(dir, "state")
	for _, d := range []string{bin, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range tools {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := append([]string{"PATH=" + bin + ":/usr/bin:/bin:/usr/sbin:/sbin", "FAKE_DIR=" + state}, env...)
	return &transport.Local{Env: e}, state
}

// fakeSysctl writes "sysctl -q -w k=v" into $FAKE_DIR/proc; a key with a
// NAME.ro file next to it fails as a read-only /proc/sys does.
const fakeSysctl = `d=$FAKE_DIR/proc
echo "$*" >> "$FAKE_DIR/sysctl.log"
[ "$1" = -q ] && shift
[ "$1" = -w ] || { echo "fake sysctl: want -w" >&2; exit 2; }
k=${2%%=*}; v=${2#*=}; p=$d/$(printf %s "$k" | tr './' '/.')
if [ -e "$p.ro" ]; then echo "sysctl: setting key \"$k\": Read-only file system" >&2; exit 255; fi
[ -f "$p" ] || { echo "sysctl: cannot stat $p: No such file or directory" >&2; exit 255; }
printf '%s\n' "$v" > "$p"
`

func sysctlEnv(t *testing.T) (Sysctl, Conn, string) {
	t.Helper()
	conn, state := fakeTools(t, map[string]string{"sysctl": fakeSysctl})
	proc := filepath.Join(state, "proc")
	for k, v := range map[string]string{"net/ipv4/ip_forward": "0", "net/ipv4/tcp_rmem": "4096\t131072\t6291456", "kernel/pid_max": "4194304"} {
		os.MkdirAll(filepath.Dir(filepath.Join(proc, k)), 0o755)
		os.WriteFile(filepath.Join(proc, k), []byte(v+"\n"), 0o644)
	}
	return Sysctl{procSys: proc}, conn, state
}

func runSysctl(t *testing.T, m Sysctl, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := m.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check, BackupSuffix: ".bak"})
	if err != nil {
		t.Fatalf("sysctl %v: %v", args, err)
	}
	return res
}

func TestSysctlSetIdempotent(t *testing.T) {
	m, conn, state := sysctlEnv(t)
	file := filepath.Join(t.TempDir(), "sysctl.d", "95-kplay-k8s.conf")
	args := map[string]any{"name": "net.ipv4.ip_forward", "value": 1, "sysctl_file": file}

	res := runSysctl(t, m, conn, true, args)
	if !res.Changed || len(res.Changes) != 1 || res.Changes[0].Kind != KindSysctl {
		t.Fatalf("check: want a predicted runtime change, got %+v", res)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("check mode wrote the file")
	}
	if got := readProc(t, state, "net/ipv4/ip_forward"); got != "0" {
		t.Fatalf("check mode set the value: %q", got)
	}
	res = runSysctl(t, m, conn, false, args)
	if !res.Changed || res.Failed {
		t.Fatalf("first run: %+v", res)
	}
	if data, _ := os.ReadFile(file); string(data) != "net.ipv4.ip_forward=1\n" {
		t.Errorf("file = %q", data)
	}
	if got := readProc(t, state, "net/ipv4/ip_forward"); got != "1" {
		t.Errorf("runtime value = %q, want 1", got)
	}
	want := []Change{
		{Kind: KindFile, Path: filepath.Dir(file), Action: "created"},
		{Kind: KindFile, Path: file, Action: "created"},
		{Kind: KindSysctl, Name: "net.ipv4.ip_forward", Action: "set", Old: "0", New: "1"},
	}
	if len(res.Changes) != len(want) {
		t.Fatalf("changes = %+v, want %+v", res.Changes, want)
	}
	for i, c := range want {
		if res.Changes[i] != c {
			t.Errorf("change %d = %+v, want %+v", i, res.Changes[i], c)
		}
	}
	if res := runSysctl(t, m, conn, false, args); res.Changed {
		t.Errorf("second run changed: %+v", res)
	}
	if res := runSysctl(t, m, conn, true, args); res.Changed {
		t.Errorf("check after converging predicts a change: %+v", res)
	}
}

func readProc(t *testing.T, state, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "proc", key))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestSysctlEdit(t *testing.T) {
	tests := []struct {
		name, old, key, value string
		absent                bool
		want                  string
	}{
		{"append", "# c\nvm.swappiness=10\n", "net.ipv4.ip_forward", "1", false, "# c\nvm.swappiness=10\nnet.ipv4.ip_forward=1\n"},
		{"append no final newline", "a=1", "b", "2", false, "a=1\nb=2\n"},
		{"replace", "net.ipv4.ip_forward = 0\n", "net.ipv4.ip_forward", "1", false, "net.ipv4.ip_forward=1\n"},
		{"same value other spacing", "net.ipv4.tcp_rmem = 4096  131072\t6291456\n", "net.ipv4.tcp_rmem", "4096 131072 6291456", false,
			"net.ipv4.tcp_rmem = 4096  131072\t6291456\n"},
		{"duplicates dropped", "k=1\nk=2\n", "k", "1", false, "k=1\n"},
		{"commented kept", "# k=0\n", "k", "1", false, "# k=0\nk=1\n"},
		{"absent", "a=1\nk=2\nb=3\n", "k", "", true, "a=1\nb=3\n"},
		{"absent missing", "a=1\n", "k", "", true, "a=1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(sysctlEdit([]byte(tt.old), tt.key, tt.value, tt.absent)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSysctlWhitespaceAndBackup(t *testing.T) {
	m, conn, state := sysctlEnv(t)
	file := filepath.Join(t.TempDir(), "sysctl.conf")
	os.WriteFile(file, []byte("# keep\nnet.ipv4.tcp_rmem = 1 2 3\n"), 0o644)
	args := map[string]any{"name": "net.ipv4.tcp_rmem", "value": "4096   131072 6291456", "sysctl_file": file}
	res := runSysctl(t, m, conn, false, args)
	if !res.Changed || len(res.Changes) != 1 || res.Changes[0].Kind != KindFile || res.Changes[0].Backup != file+".bak" {
		t.Fatalf("want only a file change with a backup (runtime already equal), got %+v", res)
	}
	if b, _ := os.ReadFile(file + ".bak"); string(b) != "# keep\nnet.ipv4.tcp_rmem = 1 2 3\n" {
		t.Errorf("backup = %q", b)
	}
	if log, _ := os.ReadFile(filepath.Join(state, "sysctl.log")); len(log) != 0 {
		t.Errorf("sysctl -w ran though the runtime value matched: %q", log)
	}
	if res := runSysctl(t, m, conn, false, map[string]any{"name": "net.ipv4.tcp_rmem", "state": "absent", "sysctl_file": file}); !res.Changed {
		t.Errorf("absent: %+v", res)
	}
	if b, _ := os.ReadFile(file); string(b) != "# keep\n" {
		t.Errorf("after absent: %q", b)
	}
}

func TestSysctlReadOnlyAndUnknown(t *testing.T) {
	m, conn, state := sysctlEnv(t)
	os.WriteFile(filepath.Join(state, "proc", "kernel", "pid_max.ro"), nil, 0o644)
	file := filepath.Join(t.TempDir(), "k.conf")
	args := map[string]any{"name": "kernel.pid_max", "value": "65536", "sysctl_file": file}
	res := runSysctl(t, m, conn, false, args)
	if !res.Failed || !strings.Contains(res.Msg, "read-only in this environment") {
		t.Fatalf("want a read-only failure, got %+v", res)
	}
	args["ignoreerrors"] = true
	if res := runSysctl(t, m, conn, false, args); res.Failed || strings.Contains(res.Msg, "set from") {
		t.Errorf("ignoreerrors: %+v", res)
	}
	res = runSysctl(t, m, conn, false, map[string]any{"name": "net.nosuch", "value": "1", "sysctl_file": file})
	if !res.Failed || !strings.Contains(res.Msg, "no such key") {
		t.Errorf("unknown key: %+v", res)
	}
	// Check mode predicts a change (as Ansible's): a module the run loads
	// may bring the key; only the real run can tell.
	checkFile := filepath.Join(t.TempDir(), "c.conf")
	res = runSysctl(t, m, conn, true, map[string]any{"name": "net.nosuch", "value": "1", "sysctl_file": checkFile})
	if res.Failed || !res.Changed || !strings.Contains(res.Msg, "not in the running kernel now") {
		t.Errorf("unknown key in check mode: %+v", res)
	}
	if _, err := os.Stat(checkFile); err == nil {
		t.Errorf("check mode wrote %s", checkFile)
	}
	res = runSysctl(t, m, conn, false, map[string]any{"name": "net.nosuch", "value": "1", "sysctl_file": file, "reload": false})
	if res.Failed {
		t.Errorf("reload: no must not touch the kernel: %+v", res)
	}
}

func TestSysctlBadArgs(t *testing.T) {
	m, conn, _ := sysctlEnv(t)
	for _, args := range []map[string]any{
		{"name": "a.b"},
		{"name": "a.b", "value": 1, "state": "gone"},
		{"name": "a b", "value": 1},
		{"value": 1},
		{"name": "a.b", "value": 1, "reload": "maybe"},
		{"name": "a.b", "value": 1, "sysctl_fle": "/x"},
	} {
		if _, err := m.Run(context.Background(), &Request{Conn: conn, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}
