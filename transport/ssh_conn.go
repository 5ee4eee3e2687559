package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSH is the Conn of one host: one SSH connection, opened on the first
// Exec and shared by all later ones, with one session per command and at
// most Options.MaxSessions sessions at once. When the connection drops
// between commands, the next Exec reconnects (twice at most, with a pause
// between); a command that was running when the link broke fails with
// ErrUnreachable and is never run again.
type SSH struct {
	pool  *Pool
	cfg   Config
	depth int // jump hops below a target; guards against ProxyJump loops
	sem   chan struct{}

	mu     sync.Mutex
	cur    *dialState
	closed bool
}

// dialState is one connection attempt and, when it succeeded, the
// connection's life: done closes when the dial ends, gone when the
// connection is lost.
type dialState struct {
	done   chan struct{}
	gone   chan struct{}
	client *ssh.Client
	err    error
	broken atomic.Bool
	why    atomic.Pointer[string] // set when the keepalive declared the link dead
}

func (d *dialState) finished() bool { return isClosed(d.done) }

func (d *dialState) dead() bool { return d.broken.Load() || isClosed(d.gone) }

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func newSSH(p *Pool, cfg Config, depth int) *SSH {
	return &SSH{pool: p, cfg: cfg, depth: depth, sem: make(chan struct{}, p.opts.MaxSessions)}
}

// Close closes the connection; later Execs fail with ErrUnreachable.
func (s *SSH) Close() error {
	s.mu.Lock()
	s.closed = true
	d := s.cur
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	<-d.done
	if d.client == nil {
		return nil
	}
	d.broken.Store(true)
	if err := d.client.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%s: close: %w", s.cfg.Name, err)
	}
	return nil
}

// client returns the live connection, dialing when there is none. Callers
// that arrive during a dial share its outcome; ctx only bounds the wait.
func (s *SSH) client(ctx context.Context) (*ssh.Client, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, Unreachable(s.cfg.Name, errors.New("connection closed"))
	}
	d := s.cur
	if d == nil || d.finished() && (d.err != nil || d.dead()) {
		reconnect := d != nil && d.err == nil
		d = &dialState{done: make(chan struct{}), gone: make(chan struct{})}
		s.cur = d
		go s.runDial(d, reconnect)
	}
	s.mu.Unlock()
	select {
	case <-d.done:
		return d.client, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// runDial dials; a reconnect after a lost connection gets a second try
// after a pause, since a restarting sshd needs a moment.
func (s *SSH) runDial(d *dialState, reconnect bool) {
	ctx := context.Background()
	c, err := s.dial(ctx)
	if err != nil && reconnect && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrHostKey) {
		time.Sleep(reconnectBackoff)
		c, err = s.dial(ctx)
	}
	d.client, d.err = c, err
	close(d.done)
	if c == nil {
		return
	}
	go func() {
		_ = c.Wait()
		close(d.gone)
	}()
	go keepAlive(c, s.pool.opts.KeepAliveInterval, s.pool.opts.KeepAliveMax, d.gone, func(why string) { d.why.Store(&why) })
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		d.broken.Store(true)
		c.Close()
	}
}

// lostReason says why client c was closed under a running command: the
// keepalive's verdict, or a lost connection.
func (s *SSH) lostReason(c *ssh.Client) string {
	s.mu.Lock()
	d := s.cur
	s.mu.Unlock()
	if d != nil && d.client == c {
		if why := d.why.Load(); why != nil {
			return "connection lost while the command ran: " + *why
		}
	}
	return "connection lost while the command ran"
}

// drop forgets a connection that failed to open a session, so that the
// next client call dials again.
func (s *SSH) drop(c *ssh.Client) {
	s.mu.Lock()
	d := s.cur
	s.mu.Unlock()
	if d != nil && d.client == c {
		d.broken.Store(true)
	}
	c.Close()
}

// dial resolves the host through the ssh config, opens the TCP connection
// (directly or through the jump host) and runs the SSH handshake, all
// within ConnectTimeout.
func (s *SSH) dial(ctx context.Context) (*ssh.Client, error) {
	name := s.cfg.Name
	t, err := s.pool.resolve(s.cfg)
	if err != nil {
		return nil, Unreachable(name, err)
	}
	// Decrypting keys (bcrypt rounds) is local work: not under the
	// network timeout.
	for _, f := range t.keyFiles {
		_, _ = s.pool.key(f)
	}
	// Wait for a turn (MaxConnecting), then the timeout starts. Dials run
	// in the background under a bounded timeout, so every turn ends. A dial
	// through a jump host takes no turn: it waits on the jump host's own
	// dial, which must be able to get one.
	if t.jump == "" {
		s.pool.connecting <- struct{}{}
		defer func() { <-s.pool.connecting }()
	}
	ctx, cancel := context.WithTimeout(ctx, s.pool.opts.ConnectTimeout)
	defer cancel()
	addr := net.JoinHostPort(t.host, strconv.Itoa(t.port))
	nc, err := s.dialTCP(ctx, t, addr)
	if err != nil {
		return nil, Unreachable(name, err)
	}
	c, err := s.handshake(ctx, nc, t, addr)
	if err != nil {
		nc.Close()
		return nil, Unreachable(name, err)
	}
	return c, nil
}

func (s *SSH) dialTCP(ctx context.Context, t target, addr string) (net.Conn, error) {
	if t.jump == "" {
		d := net.Dialer{KeepAlive: 30 * time.Second}
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		return nc, nil
	}
	j, err := s.pool.jump(t.jump, s.depth+1, s.cfg.KeyFiles)
	if err != nil {
		return nil, err
	}
	jc, err := j.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("via jump host %s: %w", t.jump, err)
	}
	nc, err := jc.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s via jump host %s: %w", addr, t.jump, err)
	}
	return nc, nil
}

// handshake runs the SSH handshake on nc, closing nc if ctx ends first.
func (s *SSH) handshake(ctx context.Context, nc net.Conn, t target, addr string) (*ssh.Client, error) {
	hk, algos, hkErr := s.pool.hk.callback(addr)
	auth, tried, release := s.pool.authMethods(t)
	defer release()
	cc := &ssh.ClientConfig{
		User:              t.user,
		Auth:              auth,
		HostKeyCallback:   hk,
		HostKeyAlgorithms: algos,
		Timeout:           s.pool.opts.ConnectTimeout,
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, cc)
	if err != nil {
		if e := hkErr(); e != nil {
			return nil, e
		}
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("ssh handshake with %s: timed out after %v: %w", addr, s.pool.opts.ConnectTimeout, err)
		}
		if isAuthFailure(err) {
			return nil, &authError{msg: fmt.Sprintf("authenticate %s@%s (tried %s)", t.user, addr, tried()), err: err}
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, err)
	}
	_ = nc.SetDeadline(time.Time{})
	return ssh.NewClient(conn, chans, reqs), nil
}

// authError joins ErrAuth to the handshake error and names who tried what.
type authError struct {
	msg string
	err error
}

func (e *authError) Error() string   { return e.msg + ": " + e.err.Error() }
func (e *authError) Unwrap() []error { return []error{ErrAuth, e.err} }
