package modules

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileAbsentFolderWithBackslash: removing a folder whose name holds
// backslashes archives it first (tar -C); GNU tar reads backslash escapes
// in -C unless --no-unquote is given.
func TestFileAbsentFolderWithBackslash(t *testing.T) {
	d := filepath.Join(t.TempDir(), `a \\ b \n`)
	writeFile(t, filepath.Join(d, "f"), "x", 0o644)
	res, err := File{}.Run(t.Context(), newReq(map[string]any{"path": d, "state": "absent"}, nil, nil))
	if err != nil || res.Failed || !res.Changed {
		t.Fatalf("state=absent: %v %+v", err, res)
	}
	if _, err := os.Lstat(d); err == nil {
		t.Errorf("%q still there", d)
	}
	if len(res.Changes) != 1 || !strings.HasSuffix(res.Changes[0].Backup, ".tar") {
		t.Fatalf("changes = %+v, want the folder's archive", res.Changes)
	}
	out, err := exec.Command("tar", "-tf", res.Changes[0].Backup).Output()
	if err != nil || !strings.Contains(string(out), "f") {
		t.Errorf("archive lists %q (%v), want f", out, err)
	}
}
