package modules_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// snapshot lists every path under dir with its content, to compare a tree
// before a change and after its rollback.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + info.Mode().String()
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += " " + strconv.Quote(string(b))
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func rollback(t *testing.T, changes []modules.Change) {
	t.Helper()
	conn := &transport.Local{}
	err := journal.Rollback(context.Background(), []journal.Entry{{Host: "local", Status: "changed", Changes: changes}},
		journal.RollbackOptions{Conn: func(string) (modules.Conn, error) { return conn, nil }})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
}

// TestSystemModulesRollback runs unarchive (over a changed file), get_url
// from a controller file and sysctl's file part, then rolls the journal
// entries back and expects the folder exactly as before.
func TestSystemModulesRollback(t *testing.T) {
	dest := t.TempDir()
	os.MkdirAll(filepath.Join(dest, "app"), 0o755)
	os.WriteFile(filepath.Join(dest, "app", "bin"), []byte("old binary\n"), 0o755)
	os.WriteFile(filepath.Join(dest, "sysctl.conf"), []byte("# mine\nvm.swappiness=10\n"), 0o644)
	before := snapshot(t, dest)

	archive := filepath.Join(t.TempDir(), "app.tgz")
	f, _ := os.Create(archive)
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, m := range []struct{ name, body string }{{"app/bin", "new binary\n"}, {"app/lib/x.so", "lib\n"}} {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o755, Size: int64(len(m.body)), ModTime: time.Unix(1e9, 0), Typeflag: tar.TypeReg})
		tw.Write([]byte(m.body))
	}
	tw.Close()
	gz.Close()
	f.Close()
	src := filepath.Join(t.TempDir(), "tool")
	os.WriteFile(src, []byte("tool\n"), 0o644)

	var changes []modules.Change
	conn := &transport.Local{}
	for _, step := range []struct {
		m    modules.Module
		args map[string]any
	}{
		{modules.Unarchive{}, map[string]any{"src": archive, "dest": dest}},
		{modules.GetURL{}, map[string]any{"src": src, "dest": filepath.Join(dest, "app", "tool")}},
		{modules.Sysctl{}, map[string]any{"name": "kplay.test.key", "value": "1", "sysctl_file": filepath.Join(dest, "sysctl.conf"), "reload": false}},
	} {
		res, err := step.m.Run(context.Background(), &modules.Request{Conn: conn, Args: step.args, BackupSuffix: ".kplay~"})
		if err != nil || !res.Changed || res.Failed {
			t.Fatalf("%T: %+v %v", step.m, res, err)
		}
		changes = append(changes, res.Changes...)
	}
	if snapshot(t, dest) == before {
		t.Fatal("nothing changed")
	}
	rollback(t, changes)
	after := snapshot(t, dest)
	// Backups stay on the host as the journal's record; ignore them.
	var kept []string
	for _, l := range strings.Split(after, "\n") {
		if !strings.Contains(l, ".kplay~") {
			kept = append(kept, l)
		}
	}
	if got := strings.Join(kept, "\n"); got != before {
		t.Errorf("after rollback:\n%s\nwant:\n%s", got, before)
	}
}
