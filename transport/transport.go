// Package transport reaches hosts: a Conn runs one sh command line on a host
// and streams its input and output. The SSH and local implementations live
// here; modules and the engine see only the Conn interface.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Conn runs commands on one host. Exec runs cmd with sh -c on the host,
// copies stdin to the command and its output to stdout and stderr (either
// may be nil to discard), and returns nil when the command exited 0, an
// *ExitError when it ran and exited non-zero, and an error wrapping
// ErrUnreachable when the host could not be reached or the link broke while
// the command ran. Cancelling ctx ends the remote command.
// A Conn is safe for concurrent use: many Exec calls may run at once.
type Conn interface {
	Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error
}

// Closer is implemented by connections that hold resources (an SSH client).
type Closer interface {
	Close() error
}

// ErrUnreachable marks every error where the host could not be reached or
// the connection was lost. The engine reports such hosts apart from failed
// ones and never retries the task with until/retries.
var ErrUnreachable = errors.New("unreachable")

// ErrAuth marks authentication failures (wrong key, wrong password). It is
// always joined with ErrUnreachable.
var ErrAuth = errors.New("authentication failed")

// ErrHostKey marks host key verification failures (unknown or changed key).
// It is always joined with ErrUnreachable.
var ErrHostKey = errors.New("host key verification failed")

// ExitError is returned by Exec when the command ran and exited non-zero,
// or was ended by a signal (Code is then 128+signal, as sh reports it).
type ExitError struct {
	Code   int
	Signal string
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return fmt.Sprintf("exit status %d (signal %s)", e.Code, e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExitCode returns the command's exit status; modules read it through an
// interface so they need not import this package.
func (e *ExitError) ExitCode() int { return e.Code }

// Unreachable wraps err so that errors.Is(err, ErrUnreachable) holds and the
// message names the host.
func Unreachable(host string, err error) error {
	return &unreachableError{host: host, err: err}
}

type unreachableError struct {
	host string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("%s: %v", e.host, e.err)
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// MaxCommand is the longest command line Exec accepts: the host runs it
// as the one argument of sh -c, and Linux takes at most 128 KiB (with its
// terminating NUL) in one argument. A longer one sent over SSH would not
// even start: OpenSSH drops the whole connection on an exec request over
// 256 KiB, which would look like an unreachable host.
const MaxCommand = 128<<10 - 1

// CheckCommand refuses, with a plain error (the host stays reachable), a
// command line no host can run: one holding a NUL byte (no C string can
// carry it; sshd would cut the command there) or one over MaxCommand.
// Large values belong in stdin or a file (copy content:), not inline.
func CheckCommand(cmd string) error {
	if strings.IndexByte(cmd, 0) >= 0 {
		return errors.New("command holds a NUL byte, which no command line can carry")
	}
	if len(cmd) > MaxCommand {
		return fmt.Errorf("command line of %d bytes is over the %d a host takes in one argument; pass large values through a file or stdin", len(cmd), MaxCommand)
	}
	return nil
}
