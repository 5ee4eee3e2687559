package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/transport"
)

// fakeApt returns a Conn whose PATH finds stand-ins for apt-get and
// dpkg-query that keep installed packages as files in a temp dir.
func fakeApt(t *testing.T, installed ...string) (Conn, string) {
	t.Helper()
	dir := t.TempDir()
	bin, db := filepath.Join(dir, "bin"), filepath.Join(dir, "db")
	os.Mkdir(bin, 0o755)
	os.Mkdir(db, 0o755)
	for _, p := range installed {
		os.WriteFile(filepath.Join(db, p), []byte("1.0"), 0o644)
	}
	os.WriteFile(filepath.Join(bin, "dpkg-query"), []byte(`#!/bin/sh
for a; do p=$a; done
[ -f "$DB/$p" ] || exit 1
printf 'installed %s' "$(cat "$DB/$p")"
`), 0o755)
	os.WriteFile(filepath.Join(bin, "apt-get"), []byte(`#!/bin/sh
echo "apt-get $*" >> "$DB/../calls.log"
sim=; verb=
for a; do
  case $a in
    -s) sim=1 ;;
    -*) ;;
    install|remove|update) verb=$a ;;
    *) case $verb in
         install) if [ -n "$sim" ]; then [ -f "$DB/$a" ] && [ "$(cat "$DB/$a")" = 2.0 ] || echo "Inst $a (2.0 Debian)"; else echo 2.0 > "$DB/$a"; fi ;;
         remove) rm -f "$DB/$a" ;;
       esac ;;
  esac
done
`), 0o755)
	return &transport.Local{Env: []string{"PATH=" + bin + ":/usr/bin:/bin", "DB=" + db}}, db
}

func runPackage(t *testing.T, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := Package{}.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check})
	if err != nil {
		t.Fatalf("package %v: %v", args, err)
	}
	if res.Failed {
		t.Fatalf("package %v failed: %+v", args, res)
	}
	return res
}

func TestPackagePresentAbsent(t *testing.T) {
	conn, db := fakeApt(t, "curl")
	args := map[string]any{"name": []any{"nginx", "curl", "keepalived"}, "state": "present"}
	res := runPackage(t, conn, true, args)
	if !res.Changed || len(res.Changes) != 2 {
		t.Fatalf("check: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(db, "nginx")); err == nil {
		t.Fatal("check mode installed a package")
	}
	res = runPackage(t, conn, false, args)
	if !res.Changed || len(res.Changes) != 2 || res.Changes[0].Name != "keepalived" || res.Changes[0].Action != "installed" {
		t.Fatalf("first run: %+v", res)
	}
	if res := runPackage(t, conn, false, args); res.Changed {
		t.Errorf("second run changed: %+v", res)
	}
	res = runPackage(t, conn, false, map[string]any{"name": "curl", "state": "absent"})
	if !res.Changed || res.Changes[0].Old != "1.0" {
		t.Errorf("remove: %+v", res)
	}
	if res := runPackage(t, conn, false, map[string]any{"name": "curl", "state": "absent"}); res.Changed {
		t.Errorf("second remove changed: %+v", res)
	}
}

func TestPackageLatest(t *testing.T) {
	conn, _ := fakeApt(t, "etcd")
	args := map[string]any{"name": "etcd", "state": "latest"}
	if res := runPackage(t, conn, true, args); !res.Changed {
		t.Errorf("check: an upgrade is available, want a predicted change: %+v", res)
	}
	res := runPackage(t, conn, false, args)
	if !res.Changed || res.Changes[0].Old != "1.0" || res.Changes[0].New != "2.0" {
		t.Fatalf("upgrade: %+v", res)
	}
	if res := runPackage(t, conn, false, args); res.Changed {
		t.Errorf("second latest changed: %+v", res)
	}
	if res := runPackage(t, conn, true, args); res.Changed {
		t.Errorf("check after upgrade predicts a change: %+v", res)
	}
}

func TestPackageBadArgs(t *testing.T) {
	conn, _ := fakeApt(t)
	for _, args := range []map[string]any{
		{"name": "x", "state": "purged"},
		{"name": "a b"},
		{"nme": "x"},
	} {
		if _, err := (Package{}).Run(context.Background(), &Request{Conn: conn, Args: args}); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
	_, err := Package{}.Run(context.Background(), &Request{Conn: &transport.Local{Env: []string{"PATH=/nonexistent"}}, Args: map[string]any{"name": "x"}})
	if err == nil || !strings.Contains(err.Error(), "no supported package manager") {
		t.Errorf("no manager: %v", err)
	}
}
