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
