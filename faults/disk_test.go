package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
)

// TestDiskFull gives h1 a 256 KiB tmpfs as its folder and copies a 1 MiB
// file: h1 fails with "No space left on device" and keeps its old file;
// the others get the new one.
func TestDiskFull(t *testing.T) {
	gate(t)
	full := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", full).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", full).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", full, err, out)
		}
	})
	// Mounted before sshd starts: the sshd hosts run in their own mount
	// namespace, a copy of this one taken at start.
	fr := newFaultRun(t, 3, map[string]string{"h1": full}, nil)
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	fr.f.write(t, "files/big.bin", big)
	fr.f.write(t, "site.yaml", `
- hosts: all
  gather_facts: false
  tasks:
    - name: big
      copy: {src: big.bin, dest: "{{ root }}/app.conf"}
    - name: after
      copy: {content: "after\n", dest: "{{ root }}/after"}
`)
	start := time.Now()
	fr.run(t, nil, nil)
	fr.at = start
	bad := fr.rec.bad("h1")
	if len(bad) != 1 || bad[0].Status != engine.StatusFailed || !strings.Contains(bad[0].Msg, "No space left on device") {
		t.Errorf("h1 reported %+v, want one failure saying No space left on device", bad)
	}
	for _, h := range fr.f.names[1:] {
		if b := fr.rec.bad(h); len(b) > 0 {
			t.Errorf("%s failed too: %+v", h, b)
		}
		checkVersion(t, fr.after[h], h, "app.conf", big)
		checkVersion(t, fr.after[h], h, "after", "after\n")
	}
	checkVersion(t, fr.after["h1"], "h1", "app.conf", "old\n")
	checkVersion(t, fr.after["h1"], "h1", "after", absent)
	files := checkNoTemp(t, fr.after)
	entries := readJournal(t, filepath.Join(fr.f.dir, "runs"), fr.rep.RunID)
	changes := fr.f.checkJournal(t, entries, fr.before, fr.after)
	took := time.Duration(0)
	if len(bad) == 1 {
		took = bad[0].Time.Sub(start)
	}
	summary(t, "disk full while writing a file (256 KiB tmpfs, 1 MiB file)", "h1 failed: "+firstLine(msgOf(bad)),
		took, filesLine(3, files)+"; h1 keeps the old file", journalLine(changes, len(entries)))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
