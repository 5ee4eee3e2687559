package journal

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// fakeTools puts stand-ins for dpkg-query, apt-get and sysctl on PATH; their
// state is files in a temp dir.
func fakeTools(t *testing.T) (*transport.Local, string) {
	t.Helper()
	dir := t.TempDir()
	bin, db := filepath.Join(dir, "bin"), filepath.Join(dir, "db")
	os.MkdirAll(bin, 0o755)
	os.MkdirAll(db, 0o755)
	scripts := map[string]string{
		"dpkg-query": "#!/bin/sh\nfor a; do p=$a; done\n[ -f \"$DB/pkg.$p\" ] && printf installed || exit 1\n",
		"apt-get":    "#!/bin/sh\nfor a; do p=$a; done\nrm -f \"$DB/pkg.$p\"\n",
		"sysctl":     "#!/bin/sh\ncase $1 in\n-n) cat \"$DB/sysctl.$3\" ;;\n-q) kv=$3; echo \"${kv#*=}\" > \"$DB/sysctl.${kv%%=*}\" ;;\nesac\n",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &transport.Local{Env: []string{"PATH=" + bin + ":/usr/bin:/bin", "DB=" + db}}, db
}

func TestRollbackPackageAndSysctl(t *testing.T) {
	conn, db := fakeTools(t)
	os.WriteFile(filepath.Join(db, "pkg.keepalived"), nil, 0o644)
	os.WriteFile(filepath.Join(db, "sysctl.net.ipv4.ip_forward"), []byte("1\n"), 0o644)
	entries := []Entry{{Host: "h1", Changes: []modules.Change{
		{Kind: modules.KindPackage, Name: "keepalived", Action: "installed"},
		{Kind: modules.KindSysctl, Name: "net.ipv4.ip_forward", Action: "set", Old: "0", New: "1"},
		{Kind: modules.KindPackage, Name: "etcd", Action: "upgraded", Old: "3.4"},
	}}}
	var acts []Action
	opts := RollbackOptions{Conn: func(string) (modules.Conn, error) { return conn, nil }, Report: func(a Action) { acts = append(acts, a) }}
	if err := Rollback(context.Background(), entries, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(db, "pkg.keepalived")); err == nil {
		t.Error("keepalived still installed after rollback")
	}
	if v, _ := os.ReadFile(filepath.Join(db, "sysctl.net.ipv4.ip_forward")); string(v) != "0\n" {
		t.Errorf("ip_forward = %q after rollback, want 0", v)
	}
	if n := countChanged(acts); n != 2 {
		t.Errorf("%d changes, want 2: %+v", n, acts)
	}
	if last := acts[0]; last.Changed || last.What != "package etcd upgraded: not undone automatically" {
		t.Errorf("the upgrade: %+v", last)
	}
	acts = nil
	if err := Rollback(context.Background(), entries, opts); err != nil || countChanged(acts) != 0 {
		t.Errorf("second rollback: %v, %+v", err, acts)
	}
}
