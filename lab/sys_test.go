package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestTerminateChecksCmdline(t *testing.T) {
	cmd := exec.Command("sleep", "37")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	pid := cmd.Process.Pid
	// the new argv shows in /proc a moment after exec: wait for it, bounded
	for deadline := time.Now().Add(5 * time.Second); !pidMatches(pid, "sleep", "37") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !pidMatches(pid, "sleep", "37") {
		t.Fatalf("pidMatches(sleep 37) = false, argv %q", cmdlineOf(pid))
	}
	if err := terminate(pid, time.Second, "systemd-nspawn"); err != nil {
		t.Fatalf("terminate with other cmdline: %v", err)
	}
	select {
	case <-done:
		t.Fatal("terminate killed a process whose cmdline did not match")
	case <-time.After(200 * time.Millisecond):
	}
	if err := terminate(pid, 5*time.Second, "sleep", "37"); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("process still running after terminate")
	}
	if pidMatches(0, "") || pidMatches(1, "") {
		t.Error("pidMatches accepts pid 0 or 1")
	}
}

func TestRemoveTreeUnmountsFirst(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	dir := t.TempDir()
	a := filepath.Join(dir, "tree", "a")
	b := filepath.Join(a, "b")
	os.MkdirAll(a, 0o755)
	if err := syscall.Mount("tmpfs", a, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	os.MkdirAll(b, 0o755)
	if err := syscall.Mount("tmpfs", b, "tmpfs", 0, "size=1m"); err != nil {
		syscall.Unmount(a, 0)
		t.Skipf("mount tmpfs: %v", err)
	}
	if got := mountsUnder(filepath.Join(dir, "tree")); len(got) != 2 || got[0] != b {
		t.Errorf("mountsUnder = %q, want [%s %s]", got, b, a)
	}
	if err := removeTree(filepath.Join(dir, "tree")); err != nil {
		t.Fatalf("removeTree: %v", err)
	}
	if left := mountsUnder(dir); len(left) > 0 {
		t.Errorf("mounts left: %q", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "tree")); !os.IsNotExist(err) {
		t.Errorf("tree still there: %v", err)
	}
}
