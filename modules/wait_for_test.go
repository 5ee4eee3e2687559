package modules

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/transport"
)

func runWaitFor(t *testing.T, m WaitFor, check bool, args map[string]any) Result {
	t.Helper()
	res, err := m.Run(context.Background(), &Request{Conn: &transport.Local{}, Args: args, Check: check})
	if err != nil {
		t.Fatalf("wait_for %v: %v", args, err)
	}
	if res.Changed {
		t.Errorf("wait_for %v reported a change", args)
	}
	return res
}

// freePort returns a port on 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

func TestWaitForPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	open, closed := l.Addr().(*net.TCPAddr).Port, freePort(t)
	methods := []string{"", "proc"}
	if _, err := exec.LookPath("bash"); err == nil {
		methods = append(methods, "bash")
	}
	if _, err := exec.LookPath("nc"); err == nil {
		methods = append(methods, "nc")
	}
	for _, method := range methods {
		t.Run("method="+method, func(t *testing.T) {
			m := WaitFor{method: method}
			if res := runWaitFor(t, m, false, map[string]any{"port": open, "timeout": 10}); res.Failed {
				t.Errorf("open port: %+v", res)
			}
			if res := runWaitFor(t, m, false, map[string]any{"port": closed, "state": "stopped", "timeout": 10}); res.Failed {
				t.Errorf("closed port stopped: %+v", res)
			}
			res := runWaitFor(t, m, false, map[string]any{"port": closed, "timeout": 1, "connect_timeout": 1})
			if !res.Failed || !strings.Contains(res.Msg, "Timeout when waiting for 127.0.0.1:") {
				t.Errorf("closed port: %+v", res)
			}
			res = runWaitFor(t, m, false, map[string]any{"port": closed, "timeout": 0, "msg": "apiserver is down"})
			if !res.Failed || res.Msg != "apiserver is down" {
				t.Errorf("custom msg: %+v", res)
			}
		})
	}
}

func TestWaitForPath(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "ready")
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(300 * time.Millisecond)
		os.WriteFile(f+".tmp", []byte("starting\nserver is READY now\n"), 0o644)
		os.Rename(f+".tmp", f)
	}()
	t.Cleanup(func() { <-done })
	res := runWaitFor(t, WaitFor{}, false, map[string]any{"path": f, "search_regex": "READY (now|soon)", "timeout": 20})
	if res.Failed {
		t.Fatalf("search_regex: %+v", res)
	}
	<-done
	if res := runWaitFor(t, WaitFor{}, false, map[string]any{"path": f, "timeout": 5}); res.Failed {
		t.Errorf("present: %+v", res)
	}
	res = runWaitFor(t, WaitFor{}, false, map[string]any{"path": f, "state": "absent", "timeout": 0})
	if !res.Failed || !strings.Contains(res.Msg, "to be absent") {
		t.Errorf("absent while present: %+v", res)
	}
	res = runWaitFor(t, WaitFor{}, false, map[string]any{"path": f, "search_regex": "NEVER", "timeout": 1})
	if !res.Failed || !strings.Contains(res.Msg, "search string NEVER") {
		t.Errorf("regex never matching: %+v", res)
	}
	if res := runWaitFor(t, WaitFor{}, false, map[string]any{"path": filepath.Join(dir, "nope"), "state": "absent"}); res.Failed {
		t.Errorf("absent: %+v", res)
	}
}

func TestWaitForCheckModeDoesNotWait(t *testing.T) {
	res := runWaitFor(t, WaitFor{}, true, map[string]any{"path": filepath.Join(t.TempDir(), "never"), "timeout": 3600, "delay": 3600})
	if res.Failed || !strings.Contains(res.Msg, "not met yet") {
		t.Errorf("check: %+v", res)
	}
}

func TestWaitForBadArgs(t *testing.T) {
	for _, args := range []map[string]any{
		{"port": 80, "path": "/x"},
		{"port": 70000},
		{"port": 80, "state": "drained"},
		{"port": 80, "state": "up"},
		{"path": "/x", "search_regex": "("},
		{"port": 80, "search_regex": "x"},
		{"port": 80, "host": "a b"},
		{"port": 80, "sleep": 0},
		{"prot": 80},
	} {
		if _, err := (WaitFor{}).Run(context.Background(), &Request{Conn: &transport.Local{}, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}

func TestWaitForNoProbe(t *testing.T) {
	bin := t.TempDir()
	for _, tool := range []string{"sh", "date", "sleep", "printf"} {
		if p, err := exec.LookPath(tool); err == nil {
			os.Symlink(p, filepath.Join(bin, tool))
		}
	}
	conn := &transport.Local{Env: []string{"PATH=" + bin}}
	_, err := WaitFor{}.Run(context.Background(), &Request{Conn: conn, Args: map[string]any{"host": "db.example.invalid", "port": 5432, "timeout": 1}})
	if err == nil || !strings.Contains(err.Error(), "neither nc nor bash") {
		t.Errorf("want a clear error, got %v", err)
	}
}
