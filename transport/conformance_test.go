package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// conformance checks the Conn contract on any transport whose commands run
// on this machine (so the test can look at the host's processes).
// unreachable, when not nil, returns a Conn whose host cannot be reached.
func conformance(t *testing.T, conn func(t *testing.T) Conn, unreachable func(t *testing.T) Conn) {
	t.Run("exit codes", func(t *testing.T) { testExitCodes(t, conn(t)) })
	t.Run("stdin", func(t *testing.T) { testStdin(t, conn(t)) })
	t.Run("big output", func(t *testing.T) { testBigOutput(t, conn(t)) })
	t.Run("concurrent", func(t *testing.T) { testConcurrent(t, conn(t)) })
	t.Run("cancel ends command", func(t *testing.T) { testCancel(t, conn(t)) })
	t.Run("unreachable vs failed", func(t *testing.T) {
		if unreachable == nil {
			t.Skip("transport cannot be unreachable")
		}
		testUnreachable(t, conn(t), unreachable(t))
	})
}

func testExitCodes(t *testing.T, c Conn) {
	tests := []struct {
		cmd            string
		code           int // -1: success
		stdout, stderr string
		signal         bool
	}{
		{cmd: "true", code: -1},
		{cmd: "exit 3", code: 3},
		{cmd: "echo out; echo err >&2; exit 1", code: 1, stdout: "out\n", stderr: "err\n"},
		{cmd: "kill -TERM $$", code: 143, signal: true},
		{cmd: "no-such-command-kplay 2>/dev/null", code: 127},
		{cmd: "printf 'a\\0b'", code: -1, stdout: "a\x00b"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := c.Exec(t.Context(), tt.cmd, nil, &out, &errb)
			if tt.code < 0 {
				if err != nil {
					t.Fatalf("Exec: %v (stderr %q)", err, errb.String())
				}
			} else {
				var ee *ExitError
				if !errors.As(err, &ee) || ee.Code != tt.code {
					t.Fatalf("Exec error = %v, want exit status %d", err, tt.code)
				}
				if errors.Is(err, ErrUnreachable) {
					t.Fatalf("exit error %v is marked unreachable", err)
				}
			}
			if got := out.String(); got != tt.stdout {
				t.Errorf("stdout = %q, want %q", got, tt.stdout)
			}
			if got := errb.String(); got != tt.stderr && !tt.signal {
				t.Errorf("stderr = %q, want %q", got, tt.stderr)
			}
		})
	}
}

func testStdin(t *testing.T, c Conn) {
	var out bytes.Buffer
	in := "line one\nline 'two'\n"
	if err := c.Exec(t.Context(), "cat", strings.NewReader(in), &out, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != in {
		t.Errorf("cat echoed %q, want %q", out.String(), in)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	out.Reset()
	if err := c.Exec(t.Context(), "wc -c", bytes.NewReader(big), &out, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != strconv.Itoa(len(big)) {
		t.Errorf("wc -c of 1 MiB stdin = %s", got)
	}
	// A command that does not read its stdin is not an error.
	if err := c.Exec(t.Context(), "true", bytes.NewReader(big), nil, nil); err != nil {
		t.Errorf("true with unread stdin: %v", err)
	}
}

func testBigOutput(t *testing.T, c Conn) {
	const n = 1 << 20
	var out, errb bytes.Buffer
	cmd := fmt.Sprintf("yes a | head -c %d & yes b | head -c %d >&2; wait", n, n)
	if err := c.Exec(t.Context(), cmd, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if out.Len() != n || strings.Trim(out.String(), "a\n") != "" {
		t.Errorf("stdout: %d bytes, want %d of 'a\\n'", out.Len(), n)
	}
	if errb.Len() != n || strings.Trim(errb.String(), "b\n") != "" {
		t.Errorf("stderr: %d bytes, want %d of 'b\\n'", errb.Len(), n)
	}
}

func testConcurrent(t *testing.T, c Conn) {
	const n = 20
	outs := make([]bytes.Buffer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Exec(t.Context(), fmt.Sprintf("sleep 0.1; echo %d", i), nil, &outs[i], nil)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("command %d: %v", i, errs[i])
		} else if got := outs[i].String(); got != fmt.Sprintf("%d\n", i) {
			t.Errorf("command %d printed %q", i, got)
		}
	}
}

// testCancel starts a shell with a child sleep, cancels, and checks on
// this machine that the whole process group is gone.
func testCancel(t *testing.T, c Conn) {
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o777)
	pidFile := filepath.Join(dir, "pid")
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	go func() {
		res <- c.Exec(ctx, "echo $$ > "+pidFile+".tmp && mv "+pidFile+".tmp "+pidFile+"; sleep 1000; echo done", nil, nil, nil)
	}()
	pgid := pgidOf(t, waitPID(t, pidFile))
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Exec after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not return within 10s of cancel")
	}
	deadline := time.Now().Add(10 * time.Second)
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still alive 10s after cancel", pgid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitPID(t *testing.T, file string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(file)
		if err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("pid file: %v", err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatal("command did not start within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pgidOf reads the process group of a live pid from /proc: under become,
// the shell that wrote its pid is not the group leader.
func pgidOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("command's shell %d: %v", pid, err)
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	g, err := strconv.Atoi(fields[2])
	if err != nil {
		t.Fatalf("stat of %d: %v", pid, err)
	}
	return g
}

// groupAlive reports whether any live (non-zombie) process is in group
// pgid, reading /proc.
func groupAlive(pgid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) > 2 && fields[0] != "Z" && fields[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

func testUnreachable(t *testing.T, c, down Conn) {
	err := c.Exec(t.Context(), "exit 1", nil, nil, nil)
	var ee *ExitError
	if !errors.As(err, &ee) || errors.Is(err, ErrUnreachable) {
		t.Errorf("failed command: err = %v, want *ExitError not unreachable", err)
	}
	err = down.Exec(t.Context(), "true", nil, nil, nil)
	if !errors.Is(err, ErrUnreachable) || errors.As(err, &ee) {
		t.Errorf("unreachable host: err = %v, want ErrUnreachable", err)
	}
}

func TestLocalConformance(t *testing.T) {
	conformance(t, func(*testing.T) Conn { return &Local{} }, nil)
}
