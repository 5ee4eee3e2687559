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
	// The subshell prints its background sleep's PID (in the namespace)
	// and exits; the sleep is reparented to pause (PID 1 there) and exits
	// two seconds later. Reaped, it is gone from /proc; not reaped, it stays
	// a zombie as long as pause lives.
	out, err := exec.Command(nsenter, "-t", strconv.Itoa(pausePID), "-p", "sh", "-c", "sleep 2 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatalf("nsenter: %v: %s", err, out)
	}
	nsPID := strings.TrimSpace(string(out))
	hostPID := hostPIDOf(pausePID, nsPID)
	if hostPID == 0 {
		return // already gone: reaped (only pause could, its parent sh had exited)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat("/proc/" + strconv.Itoa(hostPID)); err != nil {
			return // gone: reaped
		}
		time.Sleep(50 * time.Millisecond)
	}
	stat, _ := os.ReadFile("/proc/" + strconv.Itoa(hostPID) + "/stat")
	t.Fatalf("orphan %d (pid %s in the namespace) still there 30s after it exited: %s", hostPID, nsPID, stat)
}

// hostPIDOf finds the host PID of the process with PID nsPID in the PID
// namespace of pausePID (from NSpid in /proc/*/status), 0 if none.
func hostPIDOf(pausePID int, nsPID string) int {
	ns, err := os.Readlink("/proc/" + strconv.Itoa(pausePID) + "/ns/pid")
	if err != nil {
		return 0
	}
	files, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, f := range files {
		dir := filepath.Dir(f)
		if other, err := os.Readlink(dir + "/ns/pid"); err != nil || other != ns {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 3 && fields[0] == "NSpid:" && fields[2] == nsPID {
				n, _ := strconv.Atoi(fields[1])
				return n
			}
		}
	}
	return 0
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
