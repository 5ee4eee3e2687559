package modules_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// TestJournalEntriesUndo runs the file modules on a tree, hands their
// journal entries to journal.Rollback, and expects the tree back as it was
// (content, kind, mode, link targets), apart from the backup files kept on
// the host. It proves the entries carry what rollback needs.
func TestJournalEntriesUndo(t *testing.T) {
	dir := t.TempDir()
	mk := func(p, content string, mode os.FileMode) {
		t.Helper()
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("etc/app.conf", "port=1\nname=x\n", 0o640)
	mk("etc/hosts", "127.0.0.1 localhost\n", 0o644)
	mk("etc/old.conf", "remove me\n", 0o600)
	mk("etc/conf.d/a.conf", "a\n", 0o600)
	mk("etc/conf.d/sub/b.conf", "b\n", 0o644)
	mk("etc/plain", "to be a link\n", 0o644)
	mk("tree/f", "f\n", 0o644)
	if err := os.Symlink("app.conf", filepath.Join(dir, "etc", "current")); err != nil {
		t.Fatal(err)
	}
	p := func(s string) string { return filepath.Join(dir, s) }
	files := fstest.MapFS{"files/new.conf": {Data: []byte("new\n")}, "templates/t.tmpl": {Data: []byte("v={{ .v }}\n")}}
	steps := []struct {
		m    modules.Module
		args map[string]any
	}{
		{modules.Copy{}, map[string]any{"src": "new.conf", "dest": p("etc/app.conf"), "mode": "0600"}},
		{modules.Copy{}, map[string]any{"src": "new.conf", "dest": p("opt/new dir/x") + "/"}},
		{modules.Template{}, map[string]any{"src": "t.tmpl", "dest": p("etc/hosts")}},
		{modules.Lineinfile{}, map[string]any{"path": p("etc/hosts"), "line": "10.0.0.1 m1"}},
		{modules.Blockinfile{}, map[string]any{"path": p("etc/hosts"), "block": "x"}},
		{modules.Replace{}, map[string]any{"path": p("etc/app.conf"), "regexp": "new", "replace": "newer"}},
		{modules.Lineinfile{}, map[string]any{"path": p("var/lib/created/f"), "line": "x", "create": true}},
		{modules.File{}, map[string]any{"path": p("etc/old.conf"), "state": "absent"}},
		{modules.File{}, map[string]any{"path": p("etc/conf.d"), "state": "absent"}},
		{modules.File{}, map[string]any{"path": p("etc/plain"), "state": "link", "src": "app.conf", "force": true}},
		{modules.File{}, map[string]any{"path": p("etc/current"), "state": "link", "src": "hosts"}},
		{modules.File{}, map[string]any{"path": p("tree"), "state": "directory", "mode": "0700", "recurse": true}},
		{modules.File{}, map[string]any{"path": p("srv/a/b"), "state": "directory"}},
	}
	before := tree(t, dir)
	var entries []journal.Entry
	for i, s := range steps {
		req := &modules.Request{Conn: &transport.Local{}, Host: "h1", Args: s.args, Files: files, BackupSuffix: ".RUN.kplay~",
			Render: func(string, []byte) ([]byte, error) { return []byte("v=1\n"), nil }}
		res, err := s.m.Run(t.Context(), req)
		if err != nil || res.Failed || !res.Changed {
			t.Fatalf("step %d %T: %v %+v", i, s.m, err, res)
		}
		entries = append(entries, journal.Entry{Seq: i, Host: "h1", Changes: res.Changes})
	}
	if tree(t, dir) == before {
		t.Fatal("the steps changed nothing")
	}
	opts := journal.RollbackOptions{Conn: func(string) (modules.Conn, error) { return &transport.Local{}, nil }}
	if err := journal.Rollback(t.Context(), entries, opts); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if after := tree(t, dir); after != before {
		t.Errorf("after rollback:\n%s\nwant:\n%s", after, before)
	}
}

// tree lists every path below dir with kind, mode and content digest or
// link target, skipping the backups modules leave on the host.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), ".kplay~") {
			return nil
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := st.Mode().String()
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case st.Mode().IsRegular():
			c, _ := os.ReadFile(p)
			sum := sha256.Sum256(c)
			desc += " " + hex.EncodeToString(sum[:6])
		}
		fmt.Fprintf(&b, "%s %s\n", strings.TrimPrefix(p, dir), desc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
