package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// HostKeyMode says what to do with a host key that known_hosts does not
// list. A key that differs from the listed one is always refused.
type HostKeyMode int

const (
	// HostKeyStrict refuses unknown hosts (the default), as OpenSSH's
	// StrictHostKeyChecking=yes.
	HostKeyStrict HostKeyMode = iota
	// HostKeyAcceptNew records a first-seen key in the first known_hosts
	// file and accepts it, as StrictHostKeyChecking=accept-new.
	HostKeyAcceptNew
	// HostKeyInsecure accepts any key without looking. It exists for tests
	// against throw-away hosts; the CLI only offers it behind an explicit,
	// loudly named flag, if at all.
	HostKeyInsecure
)

// Config describes how to reach one inventory host. Empty fields are
// filled from the ssh config file (HostName, User, Port, IdentityFile,
// ProxyJump), then from defaults (port 22, the local user name).
type Config struct {
	Name      string   // inventory host name, used in every message
	Address   string   // host to connect to; defaults to Name; looked up in ssh config
	Port      int      // 0: ssh config or 22
	User      string   // "": ssh config or the local user
	KeyFiles  []string // private key files tried before IdentityFile ones
	Password  string   // password (and keyboard-interactive) authentication
	ProxyJump string   // "[user@]host[:port]" or an ssh config alias; comma-separated hops
}

// Options are shared by every connection of a Pool: trust, timeouts and
// credentials sources that do not differ per host.
type Options struct {
	KnownHosts        []string      // known_hosts files; default ~/.ssh/known_hosts
	HostKeyMode       HostKeyMode   // default HostKeyStrict
	SSHConfigFile     string        // default ~/.ssh/config; "none" disables
	ConnectTimeout    time.Duration // dial plus handshake; default 10s
	KeepAliveInterval time.Duration // default 15s
	// KeepAliveMax is how many keepalive intervals may pass without a
	// reply before the link is declared dead and its commands fail as
	// unreachable (default 3): a stalled link is reported within about
	// (KeepAliveMax+1) * KeepAliveInterval.
	KeepAliveMax int
	MaxSessions  int // concurrent sessions per connection; default 8
	// MaxConnecting bounds the connections being set up at once across the
	// pool (default 64): hundreds of simultaneous handshakes on a small
	// control machine would each take longer than ConnectTimeout, which
	// counts from when a dial gets its turn.
	MaxConnecting int
	// Passphrase decrypts an encrypted key file; nil reads
	// KPLAY_SSH_PASSPHRASE, and an encrypted key is skipped when unset.
	Passphrase  func(keyFile string) ([]byte, error)
	AgentSocket string // default $SSH_AUTH_SOCK; "none" disables the agent
}

const (
	defaultConnectTimeout = 10 * time.Second
	defaultKeepAlive      = 15 * time.Second
	keepAliveMaxMissed    = 3
	defaultMaxSessions    = 8
	defaultMaxConnecting  = 64
	reconnectBackoff      = time.Second
	maxJumpDepth          = 8
)

func (o Options) withDefaults() Options {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.KeepAliveInterval <= 0 {
		o.KeepAliveInterval = defaultKeepAlive
	}
	if o.KeepAliveMax <= 0 {
		o.KeepAliveMax = keepAliveMaxMissed
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = defaultMaxSessions
	}
	if o.MaxConnecting <= 0 {
		o.MaxConnecting = defaultMaxConnecting
	}
	return o
}

// Pool hands out one lazily opened SSH connection per inventory host and
// closes them all at the end of a run, so that every task of the run
// shares the host's connection.
type Pool struct {
	opts Options

	mu     sync.Mutex
	conns  map[string]*SSH // by Config.Name
	jumps  map[string]*SSH // jump hosts, by their spec
	keys   map[string]*keyEntry
	closed bool

	cfgOnce sync.Once
	sshCfg  *sshConfig
	cfgErr  error

	hk hostKeys

	// connecting holds a token per connection being set up.
	connecting chan struct{}
}

// NewPool returns a pool that dials nothing until a Conn runs a command.
func NewPool(opts Options) *Pool {
	p := &Pool{
		opts:  opts.withDefaults(),
		conns: map[string]*SSH{},
		jumps: map[string]*SSH{},
		keys:  map[string]*keyEntry{},
	}
	p.hk = hostKeys{opts: &p.opts}
	p.connecting = make(chan struct{}, p.opts.MaxConnecting)
	return p
}

// Get returns the Conn of the host named cfg.Name, creating it on first
// use; later calls with the same Name return the same Conn (and ignore the
// rest of cfg). No network traffic happens before the first Exec.
func (p *Pool) Get(cfg Config) Conn {
	if cfg.Address == "" {
		cfg.Address = cfg.Name
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Address
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[cfg.Name]; ok {
		return c
	}
	c := newSSH(p, cfg, 0)
	c.closed = p.closed // a Conn handed out after Close never dials
	p.conns[cfg.Name] = c
	return c
}

// jump returns the shared connection to a jump host, so that many targets
// behind one bastion use one connection to it. The jump host is looked up
// in the ssh config like any host and also tries the key files of the
// target that first needed it, since inventories usually give one key for
// a whole fleet.
func (p *Pool) jump(spec string, depth int, keyFiles []string) (*SSH, error) {
	if depth > maxJumpDepth {
		return nil, fmt.Errorf("proxy jump %q: more than %d hops (a loop?)", spec, maxJumpDepth)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("pool closed")
	}
	if c, ok := p.jumps[spec]; ok {
		return c, nil
	}
	cfg, err := parseJump(spec)
	if err != nil {
		return nil, err
	}
	cfg.KeyFiles = keyFiles
	c := newSSH(p, cfg, depth)
	p.jumps[spec] = c
	return c, nil
}

// Close closes every connection of the pool, targets first and jump hosts
// last. Conns handed out before fail with ErrUnreachable afterwards.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	var all []*SSH
	for _, c := range p.conns {
		all = append(all, c)
	}
	for _, c := range p.jumps {
		all = append(all, c)
	}
	p.mu.Unlock()
	var errs []error
	for _, c := range all {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sshConfig parses the ssh config file once per pool.
func (p *Pool) config() (*sshConfig, error) {
	p.cfgOnce.Do(func() {
		path := p.opts.SSHConfigFile
		if path == "none" {
			p.sshCfg = &sshConfig{}
			return
		}
		if path == "" {
			path = homePath(".ssh", "config")
		}
		p.sshCfg, p.cfgErr = loadSSHConfig(path)
	})
	return p.sshCfg, p.cfgErr
}

// keepAlive sends keepalive@openssh.com requests every interval and closes
// the client after maxMissed intervals without any reply, so that commands
// on a dead link fail instead of hanging; dead is told why first. It
// returns when done is closed.
func keepAlive(c *ssh.Client, interval time.Duration, maxMissed int, done <-chan struct{}, dead func(why string)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	reply := make(chan struct{}, 1)
	pending, missed := false, 0
	for {
		select {
		case <-done:
			return
		case <-reply:
			pending, missed = false, 0
		case <-t.C:
			if pending {
				missed++
				if missed >= maxMissed {
					dead(fmt.Sprintf("no reply to keepalive for %v", time.Duration(missed+1)*interval))
					c.Close()
					return
				}
				continue
			}
			pending = true
			go func() {
				// Any reply, even a refusal, proves the peer alive.
				if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err == nil {
					reply <- struct{}{}
				}
			}()
		}
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
