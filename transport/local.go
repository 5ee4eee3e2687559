package transport

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Local runs commands on the control machine with sh -c, each in its own
// process group so that cancelling the context ends the whole command.
type Local struct {
	// Env, when set, replaces the environment of commands (tests use it to
	// keep a clean environment); nil inherits kplay's own.
	Env []string
}

// Exec implements Conn.
func (l *Local) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := CheckCommand(cmd); err != nil {
		return err
	}
	c := exec.Command("sh", "-c", cmd)
	c.Env = l.Env
	c.Stdout = stdout
	c.Stderr = stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Stdin is copied outside Wait (as SSH does), so that a command that
	// exits without reading all of a never-ending stdin still returns.
	in, err := c.StdinPipe()
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return err
	}
	go copyStdin(in, stdin)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// End the process group: sh and everything it started.
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			}
		case <-done:
		}
	}()
	err = c.Wait()
	close(done)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws, ok := ee.Sys().(syscall.WaitStatus)
		if ok && ws.Signaled() {
			return &ExitError{Code: 128 + int(ws.Signal()), Signal: ws.Signal().String()}
		}
		return &ExitError{Code: ee.ExitCode()}
	}
	return err
}
