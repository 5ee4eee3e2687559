package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeModprobe loads a module by adding it to $FAKE_DIR/root/proc/modules
// (and unloads with -r); a module with a NAME.fail file fails as in a
// container.
const fakeModprobe = `m=$FAKE_DIR/root/proc/modules
echo "$*" >> "$FAKE_DIR/modprobe.log"
if [ "$1" = -r ]; then shift; [ "$1" = -- ] && shift
  grep -v "^$1 " "$m" > "$m.new"; mv "$m.new" "$m"; exit 0; fi
[ "$1" = -- ] && shift
if [ -e "$FAKE_DIR/$1.fail" ]; then echo "modprobe: FATAL: Module $1 not found in directory /lib/modules/6.1.0" >&2; exit 1; fi
echo "$1 16384 0 - Live 0x0000000000000000" >> "$m"
`

func modprobeEnv(t *testing.T) (Modprobe, Conn, string) {
	t.Helper()
	conn, state := fakeTools(t, map[string]string{"modprobe": fakeModprobe})
	root := filepath.Join(state, "root")
	for _, d := range []string{"proc", "sys/module/unix", "etc/modules-load.d", "etc/modprobe.d"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "proc/modules"), []byte("overlay 151552 0 - Live 0x0\n"), 0o644)
	return Modprobe{root: root}, conn, state
}

func runModprobe(t *testing.T, m Modprobe, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := m.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check, BackupSuffix: ".bak"})
	if err != nil {
		t.Fatalf("modprobe %v: %v", args, err)
	}
	return res
}

func TestModprobeLoadPersistent(t *testing.T) {
	m, conn, state := modprobeEnv(t)
	args := map[string]any{"name": "br_netfilter", "persistent": "present", "params": "foo=1"}
	res := runModprobe(t, m, conn, true, args)
	if !res.Changed {
		t.Fatalf("check: %+v", res)
	}
	if b, _ := os.ReadFile(filepath.Join(m.root, "proc/modules")); strings.Contains(string(b), "br_netfilter") {
		t.Fatal("check mode loaded the module")
	}
	if _, err := os.Stat(filepath.Join(m.root, "etc/modules-load.d/br_netfilter.conf")); err == nil {
		t.Fatal("check mode wrote the file")
	}
	res = runModprobe(t, m, conn, false, args)
	if !res.Changed || res.Failed || len(res.Changes) != 3 {
		t.Fatalf("first run: %+v", res)
	}
	last := res.Changes[2]
	if last != (Change{Kind: KindOther, Name: "module br_netfilter", Action: "loaded", Old: "not loaded", New: "loaded"}) {
		t.Errorf("runtime change = %+v", last)
	}
	if b, _ := os.ReadFile(filepath.Join(m.root, "etc/modules-load.d/br_netfilter.conf")); string(b) != "br_netfilter\n" {
		t.Errorf("modules-load.d = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(m.root, "etc/modprobe.d/br_netfilter.conf")); string(b) != "options br_netfilter foo=1\n" {
		t.Errorf("modprobe.d = %q", b)
	}
	if log, _ := os.ReadFile(filepath.Join(state, "modprobe.log")); strings.TrimSpace(string(log)) != "-- br_netfilter foo=1" {
		t.Errorf("modprobe calls = %q", log)
	}
	if res := runModprobe(t, m, conn, false, args); res.Changed {
		t.Errorf("second run: %+v", res)
	}
	res = runModprobe(t, m, conn, false, map[string]any{"name": "br_netfilter", "state": "absent", "persistent": "absent"})
	if !res.Changed || len(res.Changes) != 3 || res.Changes[0].Action != "removed" || res.Changes[0].Backup == "" {
		t.Errorf("absent: %+v", res)
	}
	if res := runModprobe(t, m, conn, false, map[string]any{"name": "br_netfilter", "state": "absent", "persistent": "absent"}); res.Changed {
		t.Errorf("absent again: %+v", res)
	}
}

func TestModprobeBuiltinAndFailures(t *testing.T) {
	m, conn, state := modprobeEnv(t)
	if res := runModprobe(t, m, conn, false, map[string]any{"name": "unix"}); res.Changed || res.Failed {
		t.Errorf("built-in counts as loaded: %+v", res)
	}
	if res := runModprobe(t, m, conn, false, map[string]any{"name": "unix", "state": "absent"}); !res.Failed || !strings.Contains(res.Msg, "built into") {
		t.Errorf("built-in unload: %+v", res)
	}
	if res := runModprobe(t, m, conn, false, map[string]any{"name": "overlay"}); res.Changed {
		t.Errorf("loaded module: %+v", res)
	}
	os.WriteFile(filepath.Join(state, "ip_vs.fail"), nil, 0o644)
	res := runModprobe(t, m, conn, false, map[string]any{"name": "ip_vs"})
	if !res.Failed || !strings.Contains(res.Msg, "container") || !strings.Contains(res.Msg, "not found") || len(res.Changes) != 0 {
		t.Errorf("failing load: %+v", res)
	}
	noTool := Modprobe{root: m.root}
	conn2, _ := fakeTools(t, nil, "PATH=/nonexistent:/usr/bin:/bin")
	if res := runModprobe(t, noTool, conn2, false, map[string]any{"name": "ip_vs"}); !res.Failed || !strings.Contains(res.Msg, "not installed") {
		t.Errorf("no modprobe: %+v", res)
	}
}

func TestModprobeBadArgs(t *testing.T) {
	m, conn, _ := modprobeEnv(t)
	for _, args := range []map[string]any{
		{},
		{"name": "a b"},
		{"name": "x", "state": "loaded"},
		{"name": "x", "persistent": "yes"},
		{"name": "x", "params": "a=1; reboot"},
		{"name": "x", "state": "absent", "params": "a=1"},
	} {
		if _, err := m.Run(context.Background(), &Request{Conn: conn, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}
