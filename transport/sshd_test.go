package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kplay/kplay/internal/sshtest"
	"golang.org/x/crypto/ssh"
)

// Tests against real OpenSSH sshd processes (skipped without sshd/root).

func TestSSHDConformance(t *testing.T) {
	h := sshtest.Start(t, 1)[0]
	p := newTestPool(t, testOptions(h.KnownHosts))
	conformance(t,
		func(*testing.T) Conn { return p.Get(hostConfig(h)) },
		func(t *testing.T) Conn {
			return p.Get(Config{Name: "down", Address: "127.0.0.1", Port: closedPort(t), KeyFiles: []string{h.KeyFile}})
		})
}

// TestSSHDKeyTypes logs in with OpenSSH-generated keys of every type,
// including an encrypted one (passphrase from the callback and from
// KPLAY_SSH_PASSPHRASE).
func TestSSHDKeyTypes(t *testing.T) {
	h := sshtest.Start(t, 1)[0]
	dir := t.TempDir()
	tests := []struct {
		name, typ, pass string
		env             bool
	}{
		{name: "ed25519", typ: "ed25519"},
		{name: "rsa", typ: "rsa"},
		{name: "ecdsa", typ: "ecdsa"},
		{name: "ed25519 encrypted, callback", typ: "ed25519", pass: "pw one"},
		{name: "rsa encrypted, env", typ: "rsa", pass: "pw two", env: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := filepath.Join(dir, fmt.Sprintf("key%d", i))
			keygen(t, key, tt.typ, tt.pass)
			h.AuthorizeKey(t, mustPublicKeyFile(t, key+".pub"))
			opts := testOptions(h.KnownHosts)
			if tt.env {
				t.Setenv("KPLAY_SSH_PASSPHRASE", tt.pass)
			} else if tt.pass != "" {
				opts.Passphrase = func(f string) ([]byte, error) {
					if f != key {
						return nil, fmt.Errorf("asked for %s", f)
					}
					return []byte(tt.pass), nil
				}
			}
			cfg := hostConfig(h)
			cfg.KeyFiles = []string{key}
			if err := newTestPool(t, opts).Get(cfg).Exec(t.Context(), "true", nil, nil, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("encrypted without passphrase", func(t *testing.T) {
		key := filepath.Join(dir, "locked")
		keygen(t, key, "ed25519", "secret")
		cfg := hostConfig(h)
		cfg.KeyFiles = []string{key}
		err := newTestPool(t, testOptions(h.KnownHosts)).Get(cfg).Exec(t.Context(), "true", nil, nil, nil)
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "KPLAY_SSH_PASSPHRASE") {
			t.Errorf("err = %v, want ErrAuth explaining the missing passphrase", err)
		}
	})
}

func keygen(t *testing.T, path, typ, pass string) {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", pass, "-f", path, "-C", "kplay-test").CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
}

func mustPublicKeyFile(t *testing.T, path string) ssh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSSHDAgent authenticates with a key held only by an ssh-agent that
// the test starts (and stops by PID).
func TestSSHDAgent(t *testing.T) {
	h := sshtest.Start(t, 1)[0]
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Skipf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	waitFile(t, sock)
	key := filepath.Join(dir, "agentkey")
	keygen(t, key, "ecdsa", "")
	h.AuthorizeKey(t, mustPublicKeyFile(t, key+".pub"))
	add := exec.Command("ssh-add", key)
	add.Env = []string{"SSH_AUTH_SOCK=" + sock}
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	t.Setenv("HOME", dir) // no default key files
	opts := testOptions(h.KnownHosts)
	opts.AgentSocket = sock
	cfg := hostConfig(h)
	cfg.KeyFiles = nil
	if err := newTestPool(t, opts).Get(cfg).Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestSSHDPasswordAndSudo logs in as the unprivileged test user with its
// password, then runs commands as root through sudo with that password.
func TestSSHDPasswordAndSudo(t *testing.T) {
	h := sshtest.Start(t, 1)[0]
	sshtest.EnsureUser(t)
	sudoers := "/etc/sudoers.d/kplaytest-" + fmt.Sprint(os.Getpid())
	if err := os.WriteFile(sudoers, []byte(sshtest.TestUser+" ALL=(ALL) ALL\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(sudoers) })
	t.Setenv("HOME", t.TempDir())
	cfg := Config{Name: h.Name, Address: h.Addr, Port: h.Port, User: sshtest.TestUser, Password: sshtest.TestPassword}
	c := newTestPool(t, testOptions(h.KnownHosts)).Get(cfg)
	var out bytes.Buffer
	if err := c.Exec(t.Context(), "id -un", nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != sshtest.TestUser {
		t.Fatalf("logged in as %q", got)
	}
	t.Run("with password", func(t *testing.T) {
		var out, errb bytes.Buffer
		b := WithBecome(c, Become{Password: sshtest.TestPassword})
		if err := b.Exec(t.Context(), "id -un; cat", strings.NewReader("stdin ok\n"), &out, &errb); err != nil {
			t.Fatalf("%v (stderr %q)", err, errb.String())
		}
		if out.String() != "root\nstdin ok\n" || errb.Len() != 0 {
			t.Errorf("stdout %q stderr %q", out.String(), errb.String())
		}
	})
	t.Run("no password", func(t *testing.T) {
		err := WithBecome(c, Become{}).Exec(t.Context(), "true", nil, nil, nil)
		if !errors.Is(err, ErrBecome) || !strings.Contains(err.Error(), "password") {
			t.Errorf("err = %v, want ErrBecome asking for a password", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		err := WithBecome(c, Become{Password: "nope"}).Exec(t.Context(), "true", nil, nil, nil)
		if !errors.Is(err, ErrBecome) || !strings.Contains(err.Error(), "incorrect") {
			t.Errorf("err = %v, want ErrBecome for an incorrect password", err)
		}
	})
	t.Run("cancel ends the root command", func(t *testing.T) {
		testBecomeCancel(t, WithBecome(c, Become{Password: sshtest.TestPassword}))
	})
	t.Run("conformance through sudo", func(t *testing.T) {
		conformance(t, func(*testing.T) Conn { return WithBecome(c, Become{Password: sshtest.TestPassword}) }, nil)
	})
	t.Run("command failure is an exit error", func(t *testing.T) {
		err := WithBecome(c, Become{Password: sshtest.TestPassword}).Exec(t.Context(), "exit 4", nil, nil, nil)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 4 {
			t.Errorf("err = %v, want exit status 4", err)
		}
	})
}

// TestSSHDHostKeys covers unknown, changed and accept-new host keys.
func TestSSHDHostKeys(t *testing.T) {
	hs := sshtest.Start(t, 2)
	h, other := hs[0], hs[1]
	dir := t.TempDir()
	exec1 := func(opts Options) error {
		return newTestPool(t, opts).Get(hostConfig(h)).Exec(t.Context(), "true", nil, nil, nil)
	}
	fp := ssh.FingerprintSHA256(h.HostKey)
	t.Run("unknown", func(t *testing.T) {
		err := exec1(testOptions(filepath.Join(dir, "empty")))
		if !errors.Is(err, ErrHostKey) || !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), fp) ||
			!strings.Contains(err.Error(), fmt.Sprintf("[127.0.0.1]:%d", h.Port)) {
			t.Errorf("err = %v, want ErrHostKey naming [host]:port and %s", err, fp)
		}
	})
	t.Run("changed", func(t *testing.T) {
		// known_hosts claims h's address has other's key.
		kh := filepath.Join(dir, "changed")
		b, _ := os.ReadFile(other.KnownHosts)
		line := strings.Replace(string(b), fmt.Sprint(other.Port), fmt.Sprint(h.Port), 1)
		os.WriteFile(kh, []byte(line), 0o600)
		opts := testOptions(kh)
		opts.HostKeyMode = HostKeyAcceptNew // even so, a changed key is refused
		err := exec1(opts)
		if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), ssh.FingerprintSHA256(other.HostKey)) {
			t.Errorf("err = %v, want ErrHostKey with old and new fingerprints", err)
		}
	})
	t.Run("accept new", func(t *testing.T) {
		kh := filepath.Join(dir, "sub", "accept")
		opts := testOptions(kh)
		opts.HostKeyMode = HostKeyAcceptNew
		if err := exec1(opts); err != nil {
			t.Fatal(err)
		}
		if err := exec1(testOptions(kh)); err != nil {
			t.Fatalf("strict after accept-new: %v", err)
		}
		b, _ := os.ReadFile(kh)
		if n := strings.Count(string(b), "\n"); n != 1 {
			t.Errorf("known_hosts has %d lines, want 1:\n%s", n, b)
		}
	})
}

// TestSSHDProxyJump reaches a host through a second sshd named by an ssh
// config alias, whose own settings come from the same config.
func TestSSHDProxyJump(t *testing.T) {
	hs := sshtest.Start(t, 2)
	jump, target := hs[0], hs[1]
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	writeConcat(t, kh, jump.KnownHosts, target.KnownHosts)
	cfgFile := filepath.Join(dir, "config")
	conf := fmt.Sprintf("Host bastion\n  HostName %s\n  Port %d\n  User root\n  IdentityFile %s\n\n"+
		"Host inner\n  HostName %s\n  Port %d\n  ProxyJump bastion\n", jump.Addr, jump.Port, jump.KeyFile, target.Addr, target.Port)
	if err := os.WriteFile(cfgFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(kh)
	opts.SSHConfigFile = cfgFile
	var out bytes.Buffer
	c := newTestPool(t, opts).Get(Config{Name: "inner", User: "root", KeyFiles: []string{target.KeyFile}})
	if err := c.Exec(t.Context(), "echo $SSH_CONNECTION", nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	// The target sees the connection coming from the jump host's sshd.
	if f := strings.Fields(out.String()); len(f) != 4 || f[3] != fmt.Sprint(target.Port) {
		t.Errorf("SSH_CONNECTION = %q", out.String())
	}
}

// TestSSHDProxyJumpChain goes through two jump hosts given as one
// comma-separated ProxyJump, as ssh -J a,b does.
func TestSSHDProxyJumpChain(t *testing.T) {
	hs := sshtest.Start(t, 3)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	writeConcat(t, kh, hs[0].KnownHosts, hs[1].KnownHosts, hs[2].KnownHosts)
	for _, h := range hs[:2] {
		h.AuthorizeKey(t, mustPublicKey(t, hs[2].KeyFile)) // jumps try the target's key
	}
	cfg := hostConfig(hs[2])
	cfg.ProxyJump = fmt.Sprintf("root@%s:%d,root@%s:%d", hs[0].Addr, hs[0].Port, hs[1].Addr, hs[1].Port)
	var out bytes.Buffer
	if err := newTestPool(t, testOptions(kh)).Get(cfg).Exec(t.Context(), "echo ok", nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ok\n" {
		t.Errorf("out = %q", out.String())
	}
}

// TestSSHDReconnectAfterRestart restarts sshd between two commands.
func TestSSHDReconnectAfterRestart(t *testing.T) {
	h := sshtest.Start(t, 1)[0]
	c := newTestPool(t, testOptions(h.KnownHosts)).Get(hostConfig(h))
	if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	h.Restart(t)
	var out bytes.Buffer
	if err := c.Exec(t.Context(), "echo back", nil, &out, nil); err != nil || out.String() != "back\n" {
		t.Fatalf("after restart: %v, out %q", err, out.String())
	}
}

// TestSSHDLatency logs the per-command cost on one connection (no
// assertion on time: the machine is shared).
func TestSSHDLatency(t *testing.T) {
	h := sshtest.Start(t, 1)[0]
	c := newTestPool(t, testOptions(h.KnownHosts)).Get(hostConfig(h))
	start := time.Now()
	if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	const n = 100
	start = time.Now()
	for range n {
		if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	seq := time.Since(start) / n
	start = time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Exec(t.Context(), "true", nil, nil, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	t.Logf("first command (dial+auth+exec) %v; %d sequential `true` on one connection: %v each; %d at once (8 sessions): %v each",
		first, n, seq, n, time.Since(start)/n)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] == 'Z'
}

// testBecomeCancel cancels a command that runs as root through sudo and
// checks that its background child is gone from this machine.
func testBecomeCancel(t *testing.T, b Conn) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	go func() {
		res <- b.Exec(ctx, "sleep 1000 & echo $! > "+pidFile+".tmp; mv "+pidFile+".tmp "+pidFile+"; wait", nil, nil, nil)
	}()
	pid := waitPID(t, pidFile)
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Exec did not return within 20s of cancel")
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil && !isZombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("sleep (pid %d, run as root through sudo) still alive 10s after cancel", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
