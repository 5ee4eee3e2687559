package sshtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHDPath is the OpenSSH server the helpers start.
const SSHDPath = "/usr/sbin/sshd"

// Options tune the sshd hosts Start creates.
type Options struct {
	// Extra lines appended to every sshd_config (e.g. "MaxSessions 4").
	Extra []string
}

// sshd is one running sshd process and what it takes to run it again.
type sshd struct {
	config string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

// Start runs n real OpenSSH servers as root on 127.0.0.1 (distinct free
// ports), each with its own generated ed25519 host key, sshd_config,
// authorized_keys (AuthorizedKeysFile points into its private dir, so any
// user logging in with Host.KeyFile is accepted; StrictModes off),
// PidFile in that dir, password authentication on and PAM off. It skips
// the test when sshd is absent or the test does not run as root. Each
// server is stopped by its PID in t.Cleanup; its log (sshd -e) is printed
// when the test failed.
//
// Clean environment: sshd runs in a private mount namespace (unshare -m)
// where an empty directory is bind-mounted over /root, so that root's
// shell rc files on this machine (pyenv init in ~/.bashrc, ~200 ms) do not
// run on every command. Where unshare is not possible the real /root is
// used and commands are slower. The namespace also holds sshd's
// privilege separation directory /run/sshd if the machine lacks it.
func Start(t testing.TB, n int) []*Host {
	return StartWith(t, n, Options{})
}

// StartWith is Start with Options.
func StartWith(t testing.TB, n int, opts Options) []*Host {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		t.Skipf("sshd not installed: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("real sshd tests need root")
	}
	hosts := make([]*Host, n)
	for i := range hosts {
		hosts[i] = startHost(t, i, opts)
	}
	return hosts
}

func startHost(t testing.TB, i int, opts Options) *Host {
	t.Helper()
	dir, err := os.MkdirTemp("", "kplay-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Readable by every user: sshd reads authorized_keys as the user.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "home"), 0o755); err != nil {
		t.Fatal(err)
	}
	hostSigner, _ := WriteKey(t, dir, "ssh_host_ed25519_key")
	client, keyFile := WriteKey(t, dir, "id_ed25519")
	h := &Host{Name: "h" + strconv.Itoa(i), Addr: "127.0.0.1", User: "root", KeyFile: keyFile,
		HostKey: hostSigner.PublicKey(), Dir: dir}
	h.AuthorizeKey(t, client.PublicKey())
	for attempt := 0; ; attempt++ {
		h.Port = freePort(t)
		h.sshd = &sshd{config: writeConfig(t, h, opts)}
		err := h.sshd.start(h)
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("start sshd: %v", err)
		}
	}
	h.KnownHosts = writeKnownHosts(t, dir, h.Addr, h.Port, h.HostKey)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sshd %s log:\n%s", h.Name, h.sshd.log.String())
		}
		h.Stop(t)
	})
	return h
}

func writeConfig(t testing.TB, h *Host, opts Options) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "ListenAddress %s:%d\n", h.Addr, h.Port)
	fmt.Fprintf(&b, "HostKey %s\n", filepath.Join(h.Dir, "ssh_host_ed25519_key"))
	fmt.Fprintf(&b, "PidFile %s\n", filepath.Join(h.Dir, "sshd.pid"))
	fmt.Fprintf(&b, "AuthorizedKeysFile %s\n", filepath.Join(h.Dir, "authorized_keys"))
	b.WriteString("StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication yes\n" +
		"KbdInteractiveAuthentication no\nPrintMotd no\nPrintLastLog no\nMaxStartups 100:30:200\n" +
		"AllowTcpForwarding yes\nLogLevel VERBOSE\n")
	for _, l := range opts.Extra {
		b.WriteString(l + "\n")
	}
	path := filepath.Join(h.Dir, "sshd_config")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// AuthorizeKey adds a public key to the real sshd host's authorized_keys,
// for every user.
func (h *Host) AuthorizeKey(t testing.TB, key ssh.PublicKey) {
	t.Helper()
	line := string(ssh.MarshalAuthorizedKey(key))
	f, err := os.OpenFile(filepath.Join(h.Dir, "authorized_keys"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
}

// start runs sshd and waits until it accepts connections (at most 10 s).
func (d *sshd) start(h *Host) error {
	args := []string{SSHDPath, "-D", "-e", "-f", d.config}
	script := `mkdir -p /run/sshd && mount --bind "$1" /root && shift && exec "$@"`
	cmd := exec.Command("unshare", append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh",
		filepath.Join(h.Dir, "home")}, args...)...)
	if _, err := exec.LookPath("unshare"); err != nil {
		cmd = exec.Command(args[0], args[1:]...)
	}
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	d.mu.Lock()
	d.cmd, d.log, d.exited = cmd, log, exited
	d.mu.Unlock()
	addr := net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited: %s", log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return errors.New("sshd did not listen within 10s: " + log.String())
}

// Stop ends the host's sshd (by its PID, TERM then KILL) and waits for it.
// Established connections die with it. Stop on a stopped host does nothing.
func (h *Host) Stop(t testing.TB) {
	t.Helper()
	if h.sshd == nil {
		return
	}
	h.sshd.mu.Lock()
	cmd, exited := h.sshd.cmd, h.sshd.exited
	h.sshd.cmd = nil
	h.sshd.mu.Unlock()
	if cmd == nil {
		return
	}
	// sshd leaves per-connection processes running when the listener ends
	// (that is how a restart keeps sessions); end the whole tree below it
	// first, deepest last found first, so that connections really drop.
	desc := descendants(cmd.Process.Pid)
	for i := len(desc) - 1; i >= 0; i-- {
		_ = syscall.Kill(desc[i], syscall.SIGKILL)
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart stops the host's sshd and starts it again on the same port with
// the same keys: established connections are lost, new ones work.
func (h *Host) Restart(t testing.TB) {
	t.Helper()
	start := time.Now()
	h.Stop(t)
	stopped := time.Now()
	if err := h.sshd.start(h); err != nil {
		t.Fatalf("restart sshd: %v", err)
	}
	t.Logf("sshd %s restarted: stop %v, start %v", h.Name, stopped.Sub(start), time.Since(stopped))
}
