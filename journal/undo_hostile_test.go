package journal

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// TestRollbackFolderWithBackslashes restores a removed folder from its tar
// archive when its name holds backslashes, quotes and a newline (GNU tar
// reads backslash escapes in -C unless told not to).
func TestRollbackFolderWithBackslashes(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a \\\\ b 'q' \n $(x)")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(root, "backup.tar")
	if out, err := exec.Command("tar", "-C", dir, "-cf", backup, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	entries := []Entry{{Host: "h1", Status: "changed", Changes: []modules.Change{{Kind: modules.KindFile, Path: dir,
		Action: "removed", Existed: true, Backup: backup, OldKind: "directory", OldMode: "0755"}}}}
	err := Rollback(t.Context(), entries, RollbackOptions{Conn: func(string) (modules.Conn, error) { return &transport.Local{}, nil }})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "kept\n" {
		t.Errorf("restored f = %q, %v", b, err)
	}
}

// TestRollbackNamesEndingInNewline restores a file whose folder and name
// end in a newline, keeping the rollback's own backup in the right place
// ($(dirname) would drop the newline and write next to another folder).
func TestRollbackNamesEndingInNewline(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "d\n")
	p := filepath.Join(dir, "x\n")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, p, "new\n")
	writeTestFile(t, p+".20260101T000000Z.kplay~", "old\n")
	j, err := Create(filepath.Join(root, "runs"), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Finish(StatusOK, nil, nil)
	bd := filepath.Join(root, "rb")
	entries := []Entry{{Host: "h1", Status: "changed", Changes: []modules.Change{{Kind: modules.KindFile, Path: p,
		Action: "modified", Existed: true, Backup: p + ".20260101T000000Z.kplay~", OldKind: "file"}}}}
	err = Rollback(t.Context(), entries, RollbackOptions{Journal: j, BackupDir: bd,
		Conn: func(string) (modules.Conn, error) { return &transport.Local{}, nil }})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old\n" {
		t.Errorf("restored %q", b)
	}
	if b, _ := os.ReadFile(bd + p); string(b) != "new\n" {
		t.Errorf("the rollback's backup %q holds %q", bd+p, b)
	}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if e.Name() == "d" {
			t.Errorf("a folder %q was made beside %q", filepath.Join(root, "d"), dir)
		}
	}
}

// TestRollbackLinkTargetEndingInNewline puts a link back to a target that
// ends in a newline, and a second rollback finds nothing to do.
func TestRollbackLinkTargetEndingInNewline(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "link")
	if err := os.Symlink("new", p); err != nil {
		t.Fatal(err)
	}
	entries := []Entry{{Host: "h1", Status: "changed", Changes: []modules.Change{{Kind: modules.KindFile, Path: p,
		Action: "modified", Existed: true, OldKind: "link", OldTarget: "old 'x'\n"}}}}
	changed := 0
	opts := RollbackOptions{Conn: func(string) (modules.Conn, error) { return &transport.Local{}, nil },
		Report: func(a Action) {
			if a.Err != nil {
				t.Errorf("%s: %v", a.What, a.Err)
			}
			if a.Changed {
				changed++
			}
		}}
	for range 2 {
		if err := Rollback(t.Context(), entries, opts); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.Readlink(p); got != "old 'x'\n" || changed != 1 {
		t.Errorf("target %q after %d changes, want %q after 1", got, changed, "old 'x'\n")
	}
}
