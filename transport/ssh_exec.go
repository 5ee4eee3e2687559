package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// How a cancelled command is ended on the host. sshd starts every session's
// command as the leader of a new session and process group (setsid), so the
// group id is the pid of the host's shell. The command line kplay sends
// first prints that pid on stderr (pidMarker, stripped before the caller
// sees stderr). On cancel, kplay (1) sends the SSH "signal" request TERM,
// which OpenSSH >= 7.9 may deliver with killpg (older versions ignore it,
// and OpenSSH 9.2 refuses it for root logins: "session signalling requires
// privilege separation"); (2) if the command is still running after
// signalGrace, runs `kill -TERM -PGID` in a second session, which works on
// any sshd and any version; (3) after killGrace sends KILL the same way;
// then closes the session. The whole group goes: the shell and everything
// it started that did not detach itself with setsid. Closing the session
// alone would not do: without a pty, sshd leaves the command running.
// The pid line needs a POSIX login shell on the host (sh, bash, dash, zsh,
// ksh); with another, stderr passes unchanged and only (1) is tried.
const (
	pidMarker   = "kplay-pid:"
	signalGrace = 300 * time.Millisecond
	killGrace   = 2 * time.Second
	refusedWait = 5 * time.Second
)

// Exec implements Conn. It waits for a free session slot, opens a session
// (reconnecting once if the connection had dropped since the last command),
// runs cmd with the host's shell and maps the outcome: nil, *ExitError,
// ctx.Err() after cancellation, or an error wrapping ErrUnreachable.
func (s *SSH) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := CheckCommand(cmd); err != nil {
		return err
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()
	sess, c, err := s.session(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	return s.run(ctx, c, sess, cmd, stdin, stdout, stderr)
}

// session opens a session, redialing once when the connection turns out to
// be gone: no command has started yet, so nothing runs twice.
// A refused session (sshd counts a session until it has reaped the
// previous command, so a burst can briefly exceed MaxSessions) is retried
// with growing pauses up to refusedWait.
func (s *SSH) session(ctx context.Context) (*ssh.Session, *ssh.Client, error) {
	redialed := false
	pause, waited := 10*time.Millisecond, time.Duration(0)
	for {
		c, err := s.client(ctx)
		if err != nil {
			return nil, nil, err
		}
		sess, err := newSession(ctx, c)
		if err == nil {
			return sess, c, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			if waited >= refusedWait {
				return nil, nil, fmt.Errorf("%s: open session (sshd MaxSessions below %d?): %w", s.cfg.Name, s.pool.opts.MaxSessions, err)
			}
			if err := sleepCtx(ctx, pause); err != nil {
				return nil, nil, err
			}
			waited += pause
			pause = min(2*pause, 500*time.Millisecond)
			continue
		}
		s.drop(c)
		if redialed || ctx.Err() != nil {
			return nil, nil, Unreachable(s.cfg.Name, fmt.Errorf("open session: %w", err))
		}
		redialed = true
	}
}

// newSession opens a session, giving up when ctx ends (a hung server may
// never answer; the keepalive then ends the connection).
func newSession(ctx context.Context, c *ssh.Client) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := c.NewSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

func (s *SSH) run(ctx context.Context, c *ssh.Client, sess *ssh.Session, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	pf := &pidFilter{w: orDiscard(stderr), known: make(chan struct{})}
	sess.Stdout = withReadFrom(orDiscard(stdout))
	sess.Stderr = pf
	in, err := sess.StdinPipe()
	if err != nil {
		return fmt.Errorf("%s: stdin pipe: %w", s.cfg.Name, err)
	}
	if err := sess.Start("printf '" + pidMarker + "%s\\n' \"$$\" >&2\n" + cmd); err != nil {
		return Unreachable(s.cfg.Name, fmt.Errorf("start command: %w", err))
	}
	go copyStdin(in, stdin)
	waitErr := make(chan error, 1)
	go func() { waitErr <- sess.Wait() }()
	select {
	case err := <-waitErr:
		if ferr := pf.finish(); err == nil && ferr != nil {
			err = ferr
		}
		return s.exitError(c, err)
	case <-ctx.Done():
		s.cancel(c, sess, pf, waitErr)
		return ctx.Err()
	}
}

// copyStdin feeds the command's stdin and closes it at EOF. A command that
// exits without reading all of it is not an error (as with os/exec).
func copyStdin(w io.WriteCloser, r io.Reader) {
	if r != nil {
		_, _ = copyPooled(w, r)
	}
	_ = w.Close()
}

// exitError maps the end of a session to the Conn contract.
func (s *SSH) exitError(c *ssh.Client, err error) error {
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return &ExitError{Code: ee.ExitStatus(), Signal: ee.Signal()}
	case errors.As(err, &missing), errors.Is(err, io.EOF):
		return Unreachable(s.cfg.Name, errors.New(s.lostReason(c)))
	default:
		return fmt.Errorf("%s: copy command output: %w", s.cfg.Name, err)
	}
}

// cancel ends the remote command's process group; see pidMarker.
func (s *SSH) cancel(c *ssh.Client, sess *ssh.Session, pf *pidFilter, waitErr <-chan error) {
	defer sess.Close()
	_ = sess.Signal(ssh.SIGTERM)
	if waitFor(waitErr, signalGrace) {
		return
	}
	// The pid line may still be on its way (a slow login shell).
	select {
	case <-pf.known:
	case <-waitErr:
		return
	case <-time.After(killGrace):
	}
	pid := pf.pidOrZero()
	if pid <= 0 {
		return
	}
	for _, sig := range []string{"TERM", "KILL"} {
		if err := s.killGroup(c, sig, pid); err != nil {
			return
		}
		if waitFor(waitErr, killGrace) {
			return
		}
	}
}

// killGroup signals process group pid from a second session. It bypasses
// the session limit on purpose: sshd's default (10) leaves room above ours.
func (s *SSH) killGroup(c *ssh.Client, sig string, pid int) error {
	ctx, cancel := context.WithTimeout(context.Background(), killGrace)
	defer cancel()
	k, err := newSession(ctx, c)
	if err != nil {
		return err
	}
	defer k.Close()
	done := make(chan error, 1)
	go func() { done <- k.Run("kill -" + sig + " -" + strconv.Itoa(pid) + " 2>/dev/null; :") }()
	select {
	case err := <-done:
		return err
	case <-time.After(killGrace):
		return errors.New("kill timed out")
	}
}

func waitFor(ch <-chan error, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// pidFilter removes the pid line the command line prints on stderr before
// the command runs, and passes everything else through. Lines that sshd or
// a chatty login shell print before it ("Could not chdir to home
// directory") pass through unchanged; after pidScanLimit bytes without the
// marker it gives up and knows no pid.
type pidFilter struct {
	w       io.Writer
	mu      sync.Mutex
	buf     []byte
	scanned int
	done    bool
	got     int
	known   chan struct{} // closed once the pid is known or never will be
}

const pidScanLimit = 8 << 10

func (f *pidFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return writeAll(f.w, p)
	}
	f.buf = append(f.buf, p...)
	for {
		nl := bytes.IndexByte(f.buf, '\n')
		if nl < 0 {
			break
		}
		if rest, ok := bytes.CutPrefix(f.buf[:nl], []byte(pidMarker)); ok {
			if pid, err := strconv.Atoi(string(rest)); err == nil {
				f.got = pid
				return len(p), f.flush(f.buf[nl+1:])
			}
		}
		if _, err := writeAll(f.w, f.buf[:nl+1]); err != nil {
			return len(p), err
		}
		f.scanned += nl + 1
		f.buf = f.buf[nl+1:]
	}
	if f.scanned+len(f.buf) > pidScanLimit {
		return len(p), f.flush(f.buf)
	}
	return len(p), nil
}

// ReadFrom makes io.Copy (x/crypto/ssh's stderr copier) use a pooled
// buffer; see copyBufs.
func (f *pidFilter) ReadFrom(r io.Reader) (int64, error) { return readFromPooled(f.Write, r) }

func (f *pidFilter) flush(rest []byte) error {
	if !f.done {
		close(f.known)
	}
	f.done = true
	f.buf = nil
	_, err := writeAll(f.w, rest)
	return err
}

// finish passes on a stderr too short to hold a whole marker line.
func (f *pidFilter) finish() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return nil
	}
	return f.flush(f.buf)
}

func (f *pidFilter) pidOrZero() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got
}

func writeAll(w io.Writer, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return w.Write(p)
}
