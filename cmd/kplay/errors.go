package main

import (
	"errors"
	"fmt"
)

// Exit codes, as ansible-playbook's.
const (
	exitOK          = 0
	exitError       = 1
	exitFailed      = 2
	exitUnreachable = 3
	exitParse       = 4
	exitUsage       = 5
	exitInterrupted = 99
)

// codeError is an error that knows the exit code kplay ends with, so the
// place that understands a failure decides the code and main only prints.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// withCode attaches an exit code to err.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codeError{code: code, err: err}
}

// usageErrorf is a bad-options error (exit 5).
func usageErrorf(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// codeOf returns the exit code an error carries, exitError by default.
func codeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitError
}
