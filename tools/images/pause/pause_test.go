package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the pause program itself when the test binary is started
// with PAUSE_TEST_MAIN=1, so the tests below exercise the real main.
func TestMain(m *testing.M) {
	if os.Getenv("PAUSE_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// waitExit waits (bounded) for cmd and returns its error.
func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("pause did not exit within 20s")
		return nil
	}
}

func TestExitsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "PAUSE_TEST_MAIN=1")
			pipe, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// main prints its warning (not PID 1) once its handler is
			// installed; a signal sent earlier would kill the process.
			stderr := bufio.NewReader(pipe)
			first, _ := stderr.ReadString('\n')
			if !strings.Contains(first, "first process") {
				t.Fatalf("first stderr line %q, want the PID 1 warning", first)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(stderr)
			if err := waitExit(t, cmd); err != nil {
				t.Fatalf("pause exited with %v after %v, want 0 (stderr %q)", err, sig, rest)
			}
		})
	}
}

// TestReapsOrphans runs pause as PID 1 of a new PID namespace, leaves an
// orphan there that exits, and checks pause collected it (no zombie).
func TestReapsOrphans(t *testing.T) {
	unshare, err1 := exec.LookPath("unshare")
	nsenter, err2 := exec.LookPath("nsenter")
	if os.Geteuid() != 0 || err1 != nil || err2 != nil {
		t.Skip("needs root, unshare and nsenter (a PID namespace)")
	}
	cmd := exec.Command(unshare, "--pid", "--fork", "--kill-child", os.Args[0])
	cmd.Env = append(os.Environ(), "PAUSE_TEST_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pausePID := childOf(t, cmd.Process.Pid)
	// The subshell exits at once; its background sleep is reparented to
	// pause (PID 1 of the namespace) and exits a second later.
	out, err := exec.Command(nsenter, "-t", strconv.Itoa(pausePID), "-p", "sh", "-c", "(sleep 1 >/dev/null 2>&1 &); exit 0").CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter: %v: %s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	sawChild := false
	for time.Now().Before(deadline) {
		kids := children(pausePID)
		if len(kids) > 0 {
			sawChild = true
		}
		if sawChild && len(kids) == 0 {
			return // the orphan came to pause and was reaped
		}
		time.Sleep(50 * time.Millisecond)
	}
	var stats []string
	for _, c := range children(pausePID) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(c) + "/stat")
		stats = append(stats, string(b))
	}
	t.Fatalf("pause (pid %d) still has children %q (zombies?) or never got the orphan (saw one: %v)", pausePID, stats, sawChild)
}

// childOf waits (bounded) for the first child of pid.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if kids := children(pid); len(kids) > 0 {
			return kids[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no child of %d", pid)
	return 0
}

// children lists the PIDs whose parent is pid (from /proc).
func children(pid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndex(s, ")")
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			out = append(out, n)
		}
	}
	return out
}
