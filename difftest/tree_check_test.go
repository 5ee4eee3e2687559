package difftest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The comparison itself is tested without ansible-playbook, so a harness
// that compares nothing cannot pass unnoticed.

func TestBackupOf(t *testing.T) {
	tests := []struct{ name, want string }{
		{"a.txt.20261123T021913Z.kplay~", "a.txt"},
		{"d/a.txt.20261123T021913Z.1.kplay~", "d/a.txt"},
		{"old-dir.20261123T021913Z.kplay~.tar", "old-dir"},
		{"a.txt.2424.2026-11-23@02:19:08~", "a.txt"},
		{"a.txt", ""},
		{"a.txt~", ""},
		{"a.kplay~", ""},
	}
	for _, tt := range tests {
		if got := backupOf(tt.name); got != tt.want {
			t.Errorf("backupOf(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseRecap(t *testing.T) {
	out := "TASK [x]\nok: [h1]\n\nPLAY RECAP *****\n" +
		"h1                         : ok=7    changed=2    unreachable=0    failed=1    skipped=3    rescued=0    ignored=4   \n" +
		"h2 : ok=1    changed=0    unreachable=0    failed=0    skipped=0    rescued=1    ignored=0\n\nTotal time: 1s\n"
	got := parseRecap(out)
	want := map[string]recapLine{
		"h1": {ok: 7, changed: 2, failed: 1, skipped: 3, ignored: 4},
		"h2": {ok: 1, rescued: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("parseRecap: got %+v, want %+v", got, want)
	}
	for h, w := range want {
		if got[h] != w {
			t.Errorf("parseRecap %s: got %+v, want %+v", h, got[h], w)
		}
	}
	if n := len(parseRecap("no recap here")); n != 0 {
		t.Errorf("parseRecap without a recap: %d hosts", n)
	}
}

// writeTree makes a tree from path -> content ("->x" makes a link to x,
// a trailing "/" a folder).
func writeTree(t *testing.T, files map[string]string) snapshot {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(p, "/"):
			err = os.MkdirAll(full, 0o755)
		case strings.HasPrefix(c, "->"):
			err = os.Symlink(c[2:], full)
		default:
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := readSnapshot(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDiffTrees(t *testing.T) {
	base := map[string]string{"a.txt": "new\n", "l": "->a.txt", "d/": ""}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	ansBackup := map[string]string{"a.txt.99.2026-11-23@02:19:08~": "old\n"}
	kpBackup := map[string]string{"a.txt.20261123T021913Z.kplay~": "old\n"}
	tests := []struct {
		name   string
		a, k   map[string]string
		exact  bool
		ndiffs int
	}{
		{"same", base, base, true, 0},
		{"content", base, with(map[string]string{"a.txt": "other\n"}), false, 1},
		{"link target", base, with(map[string]string{"l": "->b"}), false, 1},
		{"extra path", base, with(map[string]string{"x": "1"}), false, 1},
		{"backups match", with(ansBackup), with(kpBackup), true, 0},
		{"kplay backup only, not exact", base, with(kpBackup), false, 0},
		{"kplay backup only, exact", base, with(kpBackup), true, 1},
		{"ansible backup missing in kplay", with(ansBackup), base, false, 1},
		{"backup content differs", with(ansBackup), with(map[string]string{"a.txt.20261123T021913Z.kplay~": "x\n"}), false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := diffTrees(writeTree(t, tt.a), writeTree(t, tt.k), tt.exact)
			if len(d) != tt.ndiffs {
				t.Errorf("diffTrees: %d differences, want %d:%s", len(d), tt.ndiffs, joinLines(d))
			}
		})
	}
}

func TestDiffSameSeesModes(t *testing.T) {
	root := t.TempDir()
	f := filepath.Join(root, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := readSnapshot(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f, 0o600); err != nil {
		t.Fatal(err)
	}
	after, err := readSnapshot(root)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSame(before, after); len(d) != 1 {
		t.Errorf("diffSame after chmod: %q, want one difference", d)
	}
}
