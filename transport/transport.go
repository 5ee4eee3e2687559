// Package transport reaches hosts: a Conn runs one sh command line on a host
// and streams its input and output. The SSH and local implementations live
// here; modules and the engine see only the Conn interface.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
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
