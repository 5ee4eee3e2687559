package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kplay/kplay/shell"
)

// ErrBecome marks failures to switch user (sudo refused, needs a password
// that was not given, or the password was wrong). The command never ran.
var ErrBecome = errors.New("become failed")

// Become says how to run commands as another user.
type Become struct {
	Method   string // "sudo" (default); "su" is not supported yet
	User     string // default root
	Password string // sudo password; empty: sudo must not ask (-n)
}

const (
	becomePrompt = "[kplay-sudo-password]"
	becomeReady  = "kplay-become-ok:"
)

// WithBecome returns a Conn that runs every command as b.User through
// `sudo -u USER -- sh -c 'CMD'`. Without a password sudo runs with -n and
// fails at once if it would ask. With one, sudo runs with -S and a private
// prompt; kplay writes the password to stdin only when that prompt appears
// on stderr, and starts copying the caller's stdin only once the command
// announced itself on stderr (a marker line that is removed), so that the
// password is never on a command line and never reaches the command, even
// under NOPASSWD rules or cached credentials.
func WithBecome(c Conn, b Become) Conn {
	if b.User == "" {
		b.User = "root"
	}
	if b.Method == "" {
		b.Method = "sudo"
	}
	return &becomeConn{inner: c, b: b}
}

type becomeConn struct {
	inner Conn
	b     Become
}

func (c *becomeConn) command(cmd string) string {
	// The ready line carries the command's process group, read with
	// builtins from /proc (ps where there is no /proc), for killAsTarget.
	inner := "g=; [ -r /proc/$$/stat ] && read -r _ _ _ _ g _ </proc/$$/stat\n" +
		"printf '" + becomeReady + "%s\\n' \"${g:-$(ps -o pgid= -p $$ | tr -d ' ')}\" >&2\n" + cmd
	flags := "-n"
	if c.b.Password != "" {
		flags = "-S -p " + shell.Quote(becomePrompt)
	}
	return "sudo " + flags + " -u " + shell.Quote(c.b.User) + " -- sh -c " + shell.Quote(inner)
}

// Exec implements Conn.
func (c *becomeConn) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	if c.b.Method != "sudo" {
		return fmt.Errorf("become %s with %s: method not supported (use sudo): %w", c.b.User, c.b.Method, ErrBecome)
	}
	f := &becomeFilter{w: orDiscard(stderr), events: make(chan bool, 4), started: make(chan struct{})}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go c.feed(pw, stdin, f.events, done)
	killed := make(chan struct{})
	exited := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(killed)
		// The ready line may still be on its way; without it the
		// command has not started and there is nothing to kill as root.
		select {
		case <-f.started:
		case <-exited:
		case <-time.After(2 * time.Second):
		}
		c.killAsTarget(f.pidOrZero())
	})
	err := c.inner.Exec(ctx, c.command(cmd), pr, stdout, f)
	close(exited)
	if !stop() {
		<-killed // the command is gone when Exec returns
	}
	close(done)
	pr.Close()
	if f.isReady() || err == nil || ctx.Err() != nil || errors.Is(err, ErrUnreachable) {
		return err
	}
	return c.failure(f.preamble())
}

// feed writes the password at each prompt (once: a second prompt means it
// was wrong, and closing stdin makes sudo give up), then, once the command
// started, the caller's stdin.
func (c *becomeConn) feed(pw *io.PipeWriter, stdin io.Reader, events <-chan bool, done <-chan struct{}) {
	defer pw.Close()
	prompts := 0
	for {
		select {
		case ready := <-events:
			if ready {
				if stdin != nil {
					_, _ = io.Copy(pw, stdin)
				}
				return
			}
			prompts++
			if prompts > 1 || c.b.Password == "" {
				return
			}
			if _, err := io.WriteString(pw, c.b.Password+"\n"); err != nil {
				return
			}
		case <-done:
			return
		}
	}
}

// killAsTarget ends a cancelled command's process group as the become
// user. The transport's own cancel runs as the login user, which may not
// signal processes sudo started as root; this kill runs through sudo again,
// on a new session. pgid comes from the become shell's ready line; it is
// the login session's group, so the whole command goes.
func (c *becomeConn) killAsTarget(pgid int) {
	if pgid <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := strconv.Itoa(pgid)
	script := "kill -TERM -" + g + " 2>/dev/null && sleep 1 && kill -KILL -" + g + " 2>/dev/null; :"
	_ = c.Exec(ctx, script, nil, nil, nil)
}

// failure turns sudo's own messages into one clear error.
func (c *becomeConn) failure(msg string) error {
	msg = strings.TrimSpace(strings.ReplaceAll(msg, becomePrompt, ""))
	who := "become " + c.b.User + " with sudo"
	switch {
	case strings.Contains(msg, "a password is required"):
		return fmt.Errorf("%s: sudo asks for a password and none is set (give a become password): %w", who, ErrBecome)
	case strings.Contains(msg, "incorrect password") || strings.Contains(msg, "Sorry, try again"):
		return fmt.Errorf("%s: incorrect become password: %w", who, ErrBecome)
	case msg == "":
		return fmt.Errorf("%s: sudo failed before running the command: %w", who, ErrBecome)
	}
	return fmt.Errorf("%s: %s: %w", who, msg, ErrBecome)
}

// becomeFilter holds back stderr until the command's ready marker: what
// comes before is sudo's (prompts, lectures, errors). It reports each
// prompt (false) and the marker (true) on events.
type becomeFilter struct {
	w      io.Writer
	events chan bool

	mu      sync.Mutex
	buf     []byte
	prompts int
	ready   bool
	pid     int
	started chan struct{} // closed with ready
}

func (f *becomeFilter) pidOrZero() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pid
}

func (f *becomeFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ready {
		return f.w.Write(p)
	}
	f.buf = append(f.buf, p...)
	for n := bytes.Count(f.buf, []byte(becomePrompt)); f.prompts < n; f.prompts++ {
		f.send(false)
	}
	i := bytes.Index(f.buf, []byte(becomeReady))
	if i < 0 {
		return len(p), nil
	}
	nl := bytes.IndexByte(f.buf[i:], '\n')
	if nl < 0 {
		return len(p), nil
	}
	f.pid, _ = strconv.Atoi(string(f.buf[i+len(becomeReady) : i+nl]))
	f.ready = true
	close(f.started)
	f.send(true)
	rest := f.buf[i+nl+1:]
	f.buf = f.buf[:i]
	if len(rest) > 0 {
		if _, err := f.w.Write(rest); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

func (f *becomeFilter) send(ready bool) {
	select {
	case f.events <- ready:
	default: // the feeder already stopped listening
	}
}

func (f *becomeFilter) isReady() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

func (f *becomeFilter) preamble() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.buf)
}
