package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kplay/kplay/internal/sshtest"
	"golang.org/x/crypto/ssh"
)

// fleet is N real OpenSSH sshd processes, one per loopback address, all
// trusting one client key, each with a clean /root (its own empty home
// bind-mounted in a private mount namespace, as internal/sshtest does:
// root's rc files on this machine run pyenv on every command).
type fleet struct {
	dir        string // keys, configs, homes, known_hosts
	port       int
	logLevel   string // sshd LogLevel
	extra      string // more sshd_config lines
	hosts      []benchHost
	keyFile    string // client private key (OpenSSH format)
	signer     ssh.Signer
	knownHosts string

	mu    sync.Mutex
	procs []hostProc
}

// hostProc is a started sshd and a channel closed when it has exited.
type hostProc struct {
	pid    int
	exited chan struct{}
}

// benchHost is one sshd of the fleet.
type benchHost struct {
	Name, Addr string
	HostKey    ssh.PublicKey
}

// hostAddr gives host i (0-based) its address: 127.0.10.1-250, then
// 127.0.11.1-250 and so on, so that 500 hosts need two /24s.
func hostAddr(i int) string {
	return fmt.Sprintf("127.0.%d.%d", 10+i/250, 1+i%250)
}

// newFleet writes the client key and prepares dir; start adds hosts.
func newFleet(dir string, port int) (*fleet, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create fleet dir: %w", err)
	}
	signer, keyFile, err := writeKey(dir, "id_ed25519")
	if err != nil {
		return nil, err
	}
	f := &fleet{dir: dir, port: port, keyFile: keyFile, signer: signer,
		knownHosts: filepath.Join(dir, "known_hosts")}
	auth := ssh.MarshalAuthorizedKey(signer.PublicKey())
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), auth, 0o644); err != nil {
		return nil, fmt.Errorf("write authorized_keys: %w", err)
	}
	return f, nil
}

// writeKey writes a fresh ed25519 private key in OpenSSH format.
func writeKey(dir, name string) (ssh.Signer, string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, "", fmt.Errorf("marshal key: %w", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, "", fmt.Errorf("write key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, "", fmt.Errorf("signer: %w", err)
	}
	return signer, path, nil
}

// grow starts hosts until the fleet has n of them (hosts already running
// are kept between sizes) and rewrites known_hosts.
func (f *fleet) grow(n int) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := len(f.hosts)
	for i := start; i < n; i++ {
		f.hosts = append(f.hosts, benchHost{Name: fmt.Sprintf("h%03d", i+1), Addr: hostAddr(i)})
	}
	sem := make(chan struct{}, 16)
	for i := start; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f.startHost(&f.hosts[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return f.writeKnownHosts()
}

func (f *fleet) startHost(h *benchHost) error {
	hdir := filepath.Join(f.dir, "hosts", h.Name)
	if err := os.MkdirAll(filepath.Join(hdir, "home"), 0o755); err != nil {
		return fmt.Errorf("create host dir: %w", err)
	}
	signer, _, err := writeKey(hdir, "ssh_host_ed25519_key")
	if err != nil {
		return err
	}
	h.HostKey = signer.PublicKey()
	cfg := filepath.Join(hdir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(f.sshdConfig(h, hdir)), 0o644); err != nil {
		return fmt.Errorf("write sshd_config: %w", err)
	}
	script := `mkdir -p /run/sshd && mount --bind "$1" /root && shift && exec "$@"`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
		filepath.Join(hdir, "home"), sshtest.SSHDPath, "-D", "-e", "-f", cfg)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	logf, err := os.Create(filepath.Join(hdir, "sshd.log"))
	if err != nil {
		return fmt.Errorf("create sshd log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the harness die without cleaning up, its hosts die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start sshd %s: %w", h.Addr, err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	f.mu.Lock()
	f.procs = append(f.procs, hostProc{pid: cmd.Process.Pid, exited: exited})
	f.mu.Unlock()
	return waitListen(net.JoinHostPort(h.Addr, strconv.Itoa(f.port)), exited, filepath.Join(hdir, "sshd.log"))
}

func (f *fleet) sshdConfig(h *benchHost, hdir string) string {
	return fmt.Sprintf("ListenAddress %s:%d\nHostKey %s\nPidFile %s\nAuthorizedKeysFile %s\n",
		h.Addr, f.port, filepath.Join(hdir, "ssh_host_ed25519_key"), filepath.Join(hdir, "sshd.pid"),
		filepath.Join(f.dir, "authorized_keys")) +
		"StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n" +
		"KbdInteractiveAuthentication no\nPrintMotd no\nPrintLastLog no\nUseDNS no\n" +
		"MaxStartups 2000:30:4000\nMaxSessions 200\nLogLevel " + f.logLevel + "\n" +
		"Subsystem sftp internal-sftp\n" + f.extra
}

// waitListen polls addr until it accepts a connection (at most 10 s).
func waitListen(addr string, exited <-chan struct{}, logPath string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("sshd on %s exited: %s", addr, b)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sshd on %s did not listen within 10s", addr)
}

func (f *fleet) writeKnownHosts() error {
	var b []byte
	for _, h := range f.hosts {
		addr := h.Addr
		if f.port != 22 {
			addr = fmt.Sprintf("[%s]:%d", h.Addr, f.port)
		}
		b = append(b, addr+" "...)
		b = append(b, ssh.MarshalAuthorizedKey(h.HostKey)...)
	}
	if err := os.WriteFile(f.knownHosts, b, 0o644); err != nil {
		return fmt.Errorf("write known_hosts: %w", err)
	}
	return nil
}

// stop ends every sshd of the fleet by PID: first the per-connection
// processes below it, then the listener (TERM, KILL after 5 s).
func (f *fleet) stop() {
	f.mu.Lock()
	procs := f.procs
	f.procs = nil
	f.mu.Unlock()
	tree := processTree()
	for _, p := range procs {
		desc := tree.descendants(p.pid)
		for i := len(desc) - 1; i >= 0; i-- {
			_ = syscall.Kill(desc[i], syscall.SIGKILL)
		}
		_ = syscall.Kill(p.pid, syscall.SIGTERM)
	}
	timeout := time.After(5 * time.Second)
	for _, p := range procs {
		select {
		case <-p.exited:
		case <-timeout:
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
			<-p.exited
		}
	}
}
