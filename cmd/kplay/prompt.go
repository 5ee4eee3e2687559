package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kplay/kplay/engine"
	"golang.org/x/term"
)

// askPasswords reads the SSH password (-k) and the become password (-K)
// from the terminal without echo, puts them in opts and returns them for
// masking in the output.
func (f *playFlags) askPasswords(stdin io.Reader, stderr io.Writer, opts *engine.Options) ([]string, error) {
	var secrets []string
	if f.askPass {
		pw, err := readSecret(stdin, stderr, "SSH password: ")
		if err != nil {
			return nil, err
		}
		setDefaultHostVar(opts.Inventory, "--ask-pass", passwordVars, pw)
		secrets = append(secrets, pw)
	}
	if f.askBecomePass {
		pw, err := readSecret(stdin, stderr, "BECOME password: ")
		if err != nil {
			return nil, err
		}
		opts.BecomePassword = pw
		secrets = append(secrets, pw)
	}
	return secrets, nil
}

// readSecret prompts on stderr and reads one line from the terminal on
// stdin with echo off. Without a terminal it refuses: a password piped in
// or typed visibly is a leak waiting to happen.
func readSecret(stdin io.Reader, stderr io.Writer, prompt string) (string, error) {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageErrorf("%s cannot be read: stdin is not a terminal (-k/-K read passwords from the terminal only)", prompt[:len(prompt)-2])
	}
	fmt.Fprint(stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", withCode(exitError, fmt.Errorf("read %s: %w", prompt[:len(prompt)-2], err))
	}
	return string(b), nil
}
