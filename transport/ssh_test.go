package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kplay/kplay/internal/sshtest"
)

// testOptions never touch the real ~/.ssh or agent.
func testOptions(knownHosts string) Options {
	return Options{
		KnownHosts:     []string{knownHosts},
		SSHConfigFile:  "none",
		AgentSocket:    "none",
		ConnectTimeout: 5 * time.Second,
	}
}

func hostConfig(h *sshtest.Host) Config {
	return Config{Name: h.Name, Address: h.Addr, Port: h.Port, User: h.User, KeyFiles: []string{h.KeyFile}}
}

func newTestPool(t *testing.T, opts Options) *Pool {
	p := NewPool(opts)
	t.Cleanup(func() { p.Close() })
	return p
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestInProcessConformance(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	p := newTestPool(t, testOptions(srv.KnownHosts))
	conformance(t,
		func(*testing.T) Conn { return p.Get(hostConfig(&srv.Host)) },
		func(t *testing.T) Conn {
			return p.Get(Config{Name: "down", Address: "127.0.0.1", Port: closedPort(t), KeyFiles: []string{srv.KeyFile}})
		})
	if n := srv.Accepted(); n != 1 {
		t.Errorf("server accepted %d connections, want 1 (one per host, reused)", n)
	}
}

func TestSessionLimit(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	opts := testOptions(srv.KnownHosts)
	opts.MaxSessions = 3
	c := newTestPool(t, opts).Get(hostConfig(&srv.Host))
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.Exec(t.Context(), "sleep 0.05", nil, nil, nil) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := srv.MaxActive(); got > 3 || got < 1 {
		t.Errorf("at most %d sessions ran at once, want 1..3", got)
	}
}

func TestReconnectBetweenCommands(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	c := newTestPool(t, testOptions(srv.KnownHosts)).Get(hostConfig(&srv.Host))
	if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	srv.DropConnections()
	var out bytes.Buffer
	if err := c.Exec(t.Context(), "echo again", nil, &out, nil); err != nil {
		t.Fatalf("after drop: %v", err)
	}
	if out.String() != "again\n" || srv.Accepted() != 2 {
		t.Errorf("out %q, connections %d; want again and 2", out.String(), srv.Accepted())
	}
}

func TestDropDuringCommandIsUnreachableAndNotRerun(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	c := newTestPool(t, testOptions(srv.KnownHosts)).Get(hostConfig(&srv.Host))
	log := filepath.Join(t.TempDir(), "runs")
	res := make(chan error, 1)
	go func() {
		res <- c.Exec(t.Context(), "echo run >> "+log+"; touch "+log+".started; sleep 3", nil, nil, nil)
	}()
	waitFile(t, log+".started")
	srv.DropConnections()
	select {
	case err := <-res:
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not return after the link dropped")
	}
	if b, _ := os.ReadFile(log); string(b) != "run\n" {
		t.Errorf("command ran %q, want exactly once", b)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within 10s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKeepAliveDetectsDeadLink freezes the TCP path: no RST, no FIN, just
// silence. Missed keepalives must turn the running command into an
// unreachable error.
func TestKeepAliveDetectsDeadLink(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	px := newFreezeProxy(t, fmt.Sprintf("127.0.0.1:%d", srv.Port))
	opts := testOptions(srv.KnownHosts)
	opts.KeepAliveInterval = 50 * time.Millisecond
	opts.KeepAliveMax = 2
	cfg := hostConfig(&srv.Host)
	cfg.Port = px.port
	// The proxy is on another port: accept the key of the server there.
	opts.HostKeyMode = HostKeyInsecure
	c := newTestPool(t, opts).Get(cfg)
	if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() { res <- c.Exec(t.Context(), "sleep 30", nil, nil, nil) }()
	time.Sleep(100 * time.Millisecond)
	px.freeze()
	select {
	case err := <-res:
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
		if want := "no reply to keepalive for 150ms"; !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dead link not detected within 10s")
	}
}

func TestAuthFailure(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	_, otherKey := sshtest.WriteKey(t, t.TempDir(), "other")
	cfg := hostConfig(&srv.Host)
	cfg.KeyFiles = []string{otherKey}
	cfg.User = "alice"
	err := newTestPool(t, testOptions(srv.KnownHosts)).Get(cfg).Exec(t.Context(), "true", nil, nil, nil)
	if !errors.Is(err, ErrAuth) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrAuth and ErrUnreachable", err)
	}
	for _, want := range []string{"alice@127.0.0.1", "publickey", otherKey, srv.Name} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestPasswordAuth(t *testing.T) {
	srv := sshtest.NewServer(t, "s3cret")
	cfg := hostConfig(&srv.Host)
	cfg.KeyFiles = nil
	cfg.Password = "s3cret"
	t.Setenv("HOME", t.TempDir()) // no default key files
	if err := newTestPool(t, testOptions(srv.KnownHosts)).Get(cfg).Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Password = "wrong"
	err := newTestPool(t, testOptions(srv.KnownHosts)).Get(cfg).Exec(t.Context(), "true", nil, nil, nil)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "password") {
		t.Errorf("wrong password: err = %v, want ErrAuth naming password", err)
	}
}

func TestProxyJumpInProcess(t *testing.T) {
	jump := sshtest.NewServer(t, "")
	target := sshtest.NewServer(t, "")
	kh := filepath.Join(t.TempDir(), "known_hosts")
	writeConcat(t, kh, jump.KnownHosts, target.KnownHosts)
	target.AuthorizeKey(mustPublicKey(t, jump.KeyFile))
	cfg := hostConfig(&target.Host)
	cfg.KeyFiles = []string{jump.KeyFile}
	cfg.ProxyJump = fmt.Sprintf("test@127.0.0.1:%d", jump.Port)
	var out bytes.Buffer
	if err := newTestPool(t, testOptions(kh)).Get(cfg).Exec(t.Context(), "echo via", nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "via\n" || jump.Accepted() != 1 || target.Accepted() != 1 {
		t.Errorf("out %q, jump conns %d, target conns %d", out.String(), jump.Accepted(), target.Accepted())
	}
}

func writeConcat(t *testing.T, dst string, srcs ...string) {
	t.Helper()
	var b []byte
	for _, s := range srcs {
		d, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, d...)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPoolGetSameConn(t *testing.T) {
	p := newTestPool(t, testOptions("/nonexistent"))
	a := p.Get(Config{Name: "web1", Port: 1})
	if p.Get(Config{Name: "web1", Port: 2}) != a || p.Get(Config{Name: "web2"}) == a {
		t.Error("Get must return one Conn per name")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Exec(context.Background(), "true", nil, nil, nil); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Exec after Close = %v, want ErrUnreachable", err)
	}
	late := p.Get(Config{Name: "late"})
	if err := late.Exec(context.Background(), "true", nil, nil, nil); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Exec on a Conn got after Close = %v, want ErrUnreachable", err)
	}
}

// TestAcceptNewParallel records the keys of many hosts, connecting at
// once, into one known_hosts file: every line whole, one per host, and a
// strict pool trusts them all afterwards.
func TestAcceptNewParallel(t *testing.T) {
	const n = 10
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte("# existing, no newline at end"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(kh)
	opts.HostKeyMode = HostKeyAcceptNew
	p := newTestPool(t, opts)
	srvs := make([]*sshtest.Server, n)
	for i := range srvs {
		srvs[i] = sshtest.NewServer(t, "")
		srvs[i].Name = fmt.Sprintf("h%d", i)
	}
	run := func(p *Pool) error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, s := range srvs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = p.Get(hostConfig(&s.Host)).Exec(t.Context(), "true", nil, nil, nil) }()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	if err := run(p); err != nil {
		t.Fatal(err)
	}
	if err := run(newTestPool(t, testOptions(kh))); err != nil {
		t.Fatalf("strict after accept-new: %v", err)
	}
	b, _ := os.ReadFile(kh)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != n+1 {
		t.Errorf("known_hosts has %d lines, want %d:\n%s", len(lines), n+1, b)
	}
}

func TestUnknownHostInProcess(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	err := newTestPool(t, testOptions(filepath.Join(t.TempDir(), "none"))).Get(hostConfig(&srv.Host)).Exec(t.Context(), "true", nil, nil, nil)
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "SHA256:") {
		t.Errorf("err = %v, want ErrHostKey with a SHA256 fingerprint", err)
	}
}

func TestConnectTimeout(t *testing.T) {
	// A listener that never answers the SSH handshake.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	opts := testOptions("/nonexistent")
	opts.ConnectTimeout = 200 * time.Millisecond
	cfg := Config{Name: "mute", Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	err = newTestPool(t, opts).Get(cfg).Exec(t.Context(), "true", nil, nil, nil)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %v, want an unreachable timeout", err)
	}
}

// TestEncryptedKeyAskedOnce: a fleet sharing one encrypted key asks for
// its passphrase once per pool.
func TestEncryptedKeyAskedOnce(t *testing.T) {
	a, b := sshtest.NewServer(t, ""), sshtest.NewServer(t, "")
	b.Name = "other"
	key := filepath.Join(t.TempDir(), "enc")
	signer := writeEncryptedKey(t, key, "pass phrase")
	a.AuthorizeKey(signer.PublicKey())
	b.AuthorizeKey(signer.PublicKey())
	kh := filepath.Join(t.TempDir(), "known_hosts")
	writeConcat(t, kh, a.KnownHosts, b.KnownHosts)
	opts := testOptions(kh)
	var mu sync.Mutex
	asked := 0
	opts.Passphrase = func(string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		return []byte("pass phrase"), nil
	}
	p := newTestPool(t, opts)
	for _, s := range []*sshtest.Server{a, b} {
		cfg := hostConfig(&s.Host)
		cfg.KeyFiles = []string{key}
		if err := p.Get(cfg).Exec(t.Context(), "true", nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if asked != 1 {
		t.Errorf("passphrase asked %d times, want 1", asked)
	}
}

// TestCancelWhileServerHangs: on a silent link, a cancelled Exec returns
// at once instead of waiting for the keepalive to give up.
func TestCancelWhileServerHangs(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	px := newFreezeProxy(t, fmt.Sprintf("127.0.0.1:%d", srv.Port))
	opts := testOptions(srv.KnownHosts)
	opts.HostKeyMode = HostKeyInsecure // the proxy's port is not in known_hosts
	cfg := hostConfig(&srv.Host)
	cfg.Port = px.port
	c := newTestPool(t, opts).Get(cfg)
	if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	px.freeze()
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	go func() { res <- c.Exec(ctx, "true", nil, nil, nil) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not return within 10s of cancel")
	}
}

func TestPIDFilter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
		pid    int
	}{
		{"marker first", []string{pidMarker + "42\nreal\n"}, "real\n", 42},
		{"split marker", []string{"kplay-", "pid:7", "\nx"}, "x", 7},
		{"chatter before", []string{"Could not chdir to home directory /h\n", pidMarker + "9\nout"}, "Could not chdir to home directory /h\nout", 9},
		{"no marker, short", []string{"abc"}, "abc", 0},
		{"bad pid", []string{pidMarker + "x\nrest\n"}, pidMarker + "x\nrest\n", 0},
		{"gives up", []string{strings.Repeat("y", pidScanLimit+1), "\n" + pidMarker + "1\n"}, strings.Repeat("y", pidScanLimit+1) + "\n" + pidMarker + "1\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &pidFilter{w: &out, known: make(chan struct{})}
			for _, c := range tt.chunks {
				if n, err := f.Write([]byte(c)); n != len(c) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := f.finish(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || f.pidOrZero() != tt.pid {
				t.Errorf("out %q pid %d, want %q %d", out.String(), f.pidOrZero(), tt.want, tt.pid)
			}
		})
	}
}

// TestReconnectBackoff: after a drop, a host that is back within the
// back-off is reached on the second dial; one that stays down is
// unreachable after two dials.
func TestReconnectBackoff(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	px := newSwitchProxy(t, fmt.Sprintf("127.0.0.1:%d", srv.Port))
	opts := testOptions(srv.KnownHosts)
	opts.HostKeyMode = HostKeyInsecure // the proxy's port is not in known_hosts
	cfg := hostConfig(&srv.Host)
	cfg.Port = px.port
	c := newTestPool(t, opts).Get(cfg)
	if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	px.setUp(false)
	time.AfterFunc(reconnectBackoff/2, func() { px.setUp(true) })
	if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatalf("host back within the back-off: %v", err)
	}
	if n := srv.Accepted(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
	px.setUp(false)
	err := c.Exec(t.Context(), "true", nil, nil, nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("host down: err = %v, want ErrUnreachable", err)
	}
}

// TestPooledCopies: the pooled stream copies pass every byte through and
// report errors as io.Copy does.
func TestPooledCopies(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 10<<10) // 160 KB: several buffers
	tests := []struct {
		name string
		copy func(w io.Writer, r io.Reader) (int64, error)
	}{
		{"pidFilter", func(w io.Writer, r io.Reader) (int64, error) {
			f := &pidFilter{w: w, known: make(chan struct{})}
			n, err := io.Copy(f, r)
			if ferr := f.finish(); err == nil {
				err = ferr
			}
			return n, err
		}},
		{"withReadFrom", func(w io.Writer, r io.Reader) (int64, error) { return io.Copy(withReadFrom(w), r) }},
		{"copyPooled file-like", func(w io.Writer, r io.Reader) (int64, error) { return copyPooled(w, io.MultiReader(r)) }},
		{"copyPooled in memory", func(w io.Writer, r io.Reader) (int64, error) { return copyPooled(w, r) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			n, err := tt.copy(struct{ io.Writer }{&out}, strings.NewReader(pidMarker+"5\n"+big))
			if err != nil {
				t.Fatal(err)
			}
			want := pidMarker + "5\n" + big
			if tt.name == "pidFilter" {
				want = big
			}
			if out.String() != want || n != int64(len(pidMarker+"5\n"+big)) {
				t.Errorf("copied %d bytes, output of %d bytes (equal: %v)", n, out.Len(), out.String() == want)
			}
		})
	}
	t.Run("write error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := io.Copy(withReadFrom(failWriter{boom}), io.MultiReader(strings.NewReader("x")))
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
	})
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
