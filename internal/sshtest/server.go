// Package sshtest gives tests SSH hosts on loopback: an in-process server
// (NewServer: x/crypto/ssh, starts in milliseconds, runs `sh -c` on this
// machine) and real OpenSSH sshd processes (Start, in sshd.go). Both hand
// back a Host with everything a client needs: address, port, user, a
// private key file it may use and a known_hosts file that lists the host's
// key. Keys are generated per test; nothing is read from ~/.ssh.
//
// Use from another package's tests, e.g. the engine's:
//
//	hosts := sshtest.Start(t, 3) // skips without sshd or root
//	pool := transport.NewPool(transport.Options{
//		KnownHosts: []string{hosts[0].KnownHosts, hosts[1].KnownHosts, hosts[2].KnownHosts},
//		SSHConfigFile: "none", AgentSocket: "none",
//	})
//	defer pool.Close()
//	conn := pool.Get(transport.Config{Name: hosts[0].Name, Address: hosts[0].Addr,
//		Port: hosts[0].Port, User: hosts[0].User, KeyFiles: []string{hosts[0].KeyFile}})
//
// Real sshd hosts log in as root by default (commands run on this machine,
// as root, in a clean home: see Start); EnsureUser provides an
// unprivileged user with a password. Host.Restart and Host.Stop simulate
// an sshd restart and a host going down. The in-process Server adds
// DropConnections (cut every link), Accepted and MaxActive (what the
// client did), and needs neither root nor sshd.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Host is one SSH host a test may connect to.
type Host struct {
	Name       string        // a name for messages: "h0", "h1", ...
	Addr       string        // IP address on loopback
	Port       int           // TCP port
	User       string        // user the key logs in as
	KeyFile    string        // private key (ed25519, unencrypted) authorized for User
	KnownHosts string        // known_hosts file listing this host's key
	HostKey    ssh.PublicKey // the host's public key
	Dir        string        // the host's private temp dir

	sshd *sshd // nil for the in-process server
}

// Server is the in-process SSH server behind a Host: public key and
// password authentication, exec sessions run with `sh -c` in their own
// process group, "signal" requests, direct-tcpip (so it can be a jump host)
// and keepalive replies.
type Server struct {
	Host
	ln       net.Listener
	cfg      *ssh.ServerConfig
	password string
	keys     sync.Map // authorized public keys, by wire encoding
	accepted atomic.Int64
	active   atomic.Int64
	maxSeen  atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
}

// NewServer starts an in-process server on 127.0.0.1:0, stopped in
// t.Cleanup. A non-empty password is accepted too, for any user.
func NewServer(t testing.TB, password string) *Server {
	t.Helper()
	dir := t.TempDir()
	hostSigner := newSigner(t)
	clientSigner, keyFile := WriteKey(t, dir, "id_ed25519")
	s := &Server{password: password, conns: map[net.Conn]bool{}}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if _, ok := s.keys.Load(string(k.Marshal())); ok {
				return nil, nil
			}
			return nil, fmt.Errorf("unknown key")
		},
		PasswordCallback: func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if s.password != "" && string(pw) == s.password {
				return nil, nil
			}
			return nil, fmt.Errorf("wrong password")
		},
	}
	s.AuthorizeKey(clientSigner.PublicKey())
	s.cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s.ln = ln
	port := ln.Addr().(*net.TCPAddr).Port
	s.Host = Host{Name: "inproc", Addr: "127.0.0.1", Port: port, User: "test", KeyFile: keyFile,
		HostKey: hostSigner.PublicKey(), Dir: dir}
	s.KnownHosts = writeKnownHosts(t, dir, s.Addr, port, hostSigner.PublicKey())
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Accepted counts the TCP connections the server accepted, so tests can
// check that a client reused its connection.
func (s *Server) Accepted() int { return int(s.accepted.Load()) }

// AuthorizeKey accepts one more client key.
func (s *Server) AuthorizeKey(k ssh.PublicKey) { s.keys.Store(string(k.Marshal()), true) }

// MaxActive is the largest number of commands that ran at once, so tests
// can check a client's session limit.
func (s *Server) MaxActive() int { return int(s.maxSeen.Load()) }

func (s *Server) enter() {
	n := s.active.Add(1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			return
		}
	}
}

func (s *Server) leave() { s.active.Add(-1) }

// DropConnections closes every open connection but keeps listening: the
// client's next command has to reconnect.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Close stops listening and drops all connections.
func (s *Server) Close() {
	s.ln.Close()
	s.DropConnections()
	s.wg.Wait()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		s.mu.Lock()
		s.conns[nc] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleConn(nc)
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
		}()
	}
}

// WriteKey generates an ed25519 key, writes its private half in OpenSSH
// format to dir/name (mode 0600) and returns its signer and path.
func WriteKey(t testing.TB, dir, name string) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, path
}

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeKnownHosts writes a known_hosts file with key for addr:port, in the
// [addr]:port form ssh uses for non-22 ports.
func writeKnownHosts(t testing.TB, dir, addr string, port int, key ssh.PublicKey) string {
	t.Helper()
	path := filepath.Join(dir, "known_hosts")
	hp := knownhosts.Normalize(net.JoinHostPort(addr, strconv.Itoa(port)))
	line := knownhosts.Line([]string{hp}, key) + "\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
