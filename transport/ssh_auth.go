package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// target is a Config after the ssh config and defaults were applied: what
// dial really uses.
type target struct {
	host     string
	port     int
	user     string
	keyFiles []string
	password string
	jump     string
}

// resolve applies the ssh config (looked up by Address, as ssh looks up the
// host given on its command line) and the defaults. Explicit Config fields
// win over the ssh config, as Ansible's inventory variables do.
func (p *Pool) resolve(cfg Config) (target, error) {
	sc, err := p.config()
	if err != nil {
		return target{}, err
	}
	host := cfg.Address
	if host == "" {
		host = cfg.Name
	}
	st := sc.lookup(host)
	t := target{host: host, port: cfg.Port, user: cfg.User, password: cfg.Password, jump: cfg.ProxyJump}
	if st.hostName != "" {
		t.host = st.hostName
	}
	if t.user == "" {
		t.user = st.user
	}
	if t.user == "" {
		t.user = localUser()
	}
	if t.port == 0 && st.port != "" {
		if t.port, err = strconv.Atoi(st.port); err != nil || t.port <= 0 || t.port > 65535 {
			return target{}, fmt.Errorf("ssh config %s: host %s: bad port %q", sc.path, host, st.port)
		}
	}
	if t.port == 0 {
		t.port = 22
	}
	if t.jump == "" && st.proxyJump != "none" {
		t.jump = st.proxyJump
	}
	if t.jump == "none" {
		t.jump = ""
	}
	t.keyFiles = append(append([]string(nil), cfg.KeyFiles...), st.identityFiles(t.host, t.user, t.port)...)
	if len(t.keyFiles) == 0 {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			t.keyFiles = append(t.keyFiles, homePath(".ssh", n))
		}
	}
	return t, nil
}

// parseJump turns a ProxyJump value into the Config of its last hop; the
// earlier hops, if any, become that hop's own ProxyJump.
func parseJump(spec string) (Config, error) {
	hops := strings.Split(spec, ",")
	last := strings.TrimSpace(hops[len(hops)-1])
	var cfg Config
	if at := strings.LastIndexByte(last, '@'); at >= 0 {
		cfg.User, last = last[:at], last[at+1:]
	}
	host, port := last, ""
	if h, p, err := net.SplitHostPort(last); err == nil {
		host, port = h, p
	}
	if host == "" {
		return Config{}, fmt.Errorf("proxy jump %q: no host", spec)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return Config{}, fmt.Errorf("proxy jump %q: bad port %q", spec, port)
		}
		cfg.Port = n
	}
	cfg.Name, cfg.Address = host, host
	if len(hops) > 1 {
		cfg.ProxyJump = strings.Join(hops[:len(hops)-1], ",")
	}
	return cfg, nil
}

// authMethods returns the methods to offer, in OpenSSH's order (public key
// from agent and files, then password and keyboard-interactive), and a
// function describing what was tried, for the error message, and one that
// releases the agent connection after the handshake.
func (p *Pool) authMethods(t target) ([]ssh.AuthMethod, func() string, func()) {
	ks := &keySource{pool: p, files: t.keyFiles}
	methods := []ssh.AuthMethod{ssh.PublicKeysCallback(ks.signers)}
	if t.password != "" {
		pw := t.password
		methods = append(methods, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				answers := make([]string, len(qs))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	tried := func() string {
		s := "publickey [" + ks.describe() + "]"
		if t.password != "" {
			s += ", password, keyboard-interactive"
		}
		return s
	}
	return methods, tried, ks.close
}

// keySource loads the signers when the server asks for them, once, and
// remembers what it found for the error message.
type keySource struct {
	pool  *Pool
	files []string

	once  sync.Once
	list  []ssh.Signer
	notes []string
	agent io.Closer
}

func (k *keySource) close() {
	k.once.Do(func() {}) // no loading after release
	if k.agent != nil {
		k.agent.Close()
	}
}

func (k *keySource) signers() ([]ssh.Signer, error) {
	k.once.Do(func() {
		k.list, k.notes, k.agent = k.pool.agentSigners()
		for _, f := range k.files {
			s, err := k.pool.key(f)
			switch {
			case err == nil:
				k.list = append(k.list, s)
				k.notes = append(k.notes, f)
			case errors.Is(err, os.ErrNotExist):
			default:
				k.notes = append(k.notes, err.Error())
			}
		}
	})
	return k.list, nil
}

func (k *keySource) describe() string {
	if len(k.notes) == 0 {
		return "no keys"
	}
	return strings.Join(k.notes, ", ")
}

// agentSigners returns the keys of the ssh-agent, if one is configured,
// and the agent connection, which must stay open while they sign.
func (p *Pool) agentSigners() ([]ssh.Signer, []string, io.Closer) {
	sock := p.opts.AgentSocket
	if sock == "" {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock == "" || sock == "none" {
		return nil, nil, nil
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, []string{fmt.Sprintf("agent %s: %v", sock, err)}, nil
	}
	list, err := agent.NewClient(c).Signers()
	if err != nil {
		c.Close()
		return nil, []string{fmt.Sprintf("agent %s: %v", sock, err)}, nil
	}
	return list, []string{fmt.Sprintf("agent: %d keys", len(list))}, c
}

// keyEntry is one key file, loaded (and decrypted) once per pool.
type keyEntry struct {
	once   sync.Once
	signer ssh.Signer
	err    error
}

// key returns the signer of a key file, loading it on first use: an
// encrypted key shared by a whole fleet is decrypted, and its passphrase
// asked for, once per run.
func (p *Pool) key(file string) (ssh.Signer, error) {
	p.mu.Lock()
	e, ok := p.keys[file]
	if !ok {
		e = &keyEntry{}
		p.keys[file] = e
	}
	p.mu.Unlock()
	e.once.Do(func() { e.signer, e.err = p.loadKey(file) })
	return e.signer, e.err
}

// loadKey reads a private key file, asking for the passphrase of an
// encrypted one through Options.Passphrase or KPLAY_SSH_PASSPHRASE.
func (p *Pool) loadKey(file string) (ssh.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", file, err)
		}
		return s, nil
	}
	var pass []byte
	if p.opts.Passphrase != nil {
		if pass, err = p.opts.Passphrase(file); err != nil {
			return nil, fmt.Errorf("key %s: passphrase: %w", file, err)
		}
	} else if v, ok := os.LookupEnv("KPLAY_SSH_PASSPHRASE"); ok {
		pass = []byte(v)
	} else {
		return nil, fmt.Errorf("key %s: encrypted and no passphrase (set KPLAY_SSH_PASSPHRASE)", file)
	}
	s, err = ssh.ParsePrivateKeyWithPassphrase(data, pass)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", file, err)
	}
	return s, nil
}

// isAuthFailure recognises x/crypto's "no method left" error, which has no
// type of its own.
func isAuthFailure(err error) bool {
	return strings.Contains(err.Error(), "unable to authenticate")
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// homePath joins parts under the user's home directory ($HOME first, so
// tests can point it elsewhere).
func homePath(parts ...string) string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/"
	}
	return filepath.Join(append([]string{home}, parts...)...)
}
