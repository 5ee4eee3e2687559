package modules

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/kplay/kplay/shell"
)

// CommandArgs are the arguments of command and shell.
type CommandArgs struct {
	Raw     string   `arg:"_raw_params|cmd"`
	Argv    []string `arg:"argv"`
	Chdir   string   `arg:"chdir"`
	Creates string   `arg:"creates"`
	Removes string   `arg:"removes"`
	Stdin   string   `arg:"stdin"`
	// StdinAddNewline follows Ansible: a newline is added to stdin unless
	// this is false.
	StdinAddNewline *bool  `arg:"stdin_add_newline"`
	Executable      string `arg:"executable"`
	StripEmptyEnds  *bool  `arg:"strip_empty_ends"`
}

// Command runs a program without a shell: the command line is split into
// words (no expansion, no pipes, no redirection), as Ansible's command does.
type Command struct{}

// Shell runs a command line through sh (or executable), with pipes,
// redirection and expansion.
type Shell struct{}

// Run implements Module.
func (Command) Run(ctx context.Context, req *Request) (Result, error) {
	var a CommandArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	argv := a.Argv
	if len(argv) == 0 {
		words, err := shell.Split(a.Raw)
		if err != nil {
			return Result{}, err
		}
		argv = words
	} else if a.Raw != "" {
		return Result{}, fmt.Errorf("parameters cmd and argv are mutually exclusive")
	}
	if len(argv) == 0 {
		return Result{}, fmt.Errorf("no command given")
	}
	return runCommand(ctx, req, a, shell.Join(argv...))
}

// Run implements Module.
func (Shell) Run(ctx context.Context, req *Request) (Result, error) {
	var a CommandArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if len(a.Argv) > 0 {
		return Result{}, fmt.Errorf("parameter argv is not supported by shell")
	}
	if strings.TrimSpace(a.Raw) == "" {
		return Result{}, fmt.Errorf("no command given")
	}
	cmd := a.Raw
	if a.Executable != "" {
		cmd = shell.Join(a.Executable, "-c", a.Raw)
	}
	return runCommand(ctx, req, a, cmd)
}

// runCommand applies creates/removes/chdir, honours check mode and runs cmd.
func runCommand(ctx context.Context, req *Request, a CommandArgs, cmd string) (Result, error) {
	creates, removes := inDir(a.Chdir, a.Creates), inDir(a.Chdir, a.Removes)
	if (creates != "" || removes != "") && req.Check {
		// A relative creates/removes is looked up in chdir, as Ansible does.
		skip, msg, err := guardSkips(ctx, req.Conn, creates, removes)
		if err != nil {
			return Result{}, err
		}
		if skip {
			return Result{Msg: msg, Cmd: cmd}, nil
		}
	}
	if req.Check {
		// Without creates/removes nothing tells what the command would do.
		return Result{Changed: a.Creates != "" || a.Removes != "", Unknown: a.Creates == "" && a.Removes == "",
			Msg: "command would run", Cmd: cmd}, nil
	}
	full := cmd
	if a.Chdir != "" {
		full = "cd " + shell.Quote(a.Chdir) + " && " + cmd
	}
	if creates != "" || removes != "" {
		full = guardScript(creates, removes, full)
	}
	var stdin *strings.Reader
	if a.Stdin != "" {
		in := a.Stdin
		if a.StdinAddNewline == nil || *a.StdinAddNewline {
			in += "\n"
		}
		stdin = strings.NewReader(in)
	}
	var out, errb bytes.Buffer
	var err error
	if stdin != nil {
		err = req.Conn.Exec(ctx, full, stdin, &out, &errb)
	} else {
		err = req.Conn.Exec(ctx, full, nil, &out, &errb)
	}
	rc := ExitCode(err)
	if rc < 0 {
		return Result{}, err
	}
	if creates != "" || removes != "" {
		skip, msg, rest := guardOutcome(out.String(), creates, removes)
		if skip {
			return Result{Msg: msg, Cmd: cmd}, nil
		}
		out.Reset()
		out.WriteString(rest)
	}
	strip := a.StripEmptyEnds == nil || *a.StripEmptyEnds
	res := Result{Changed: true, Cmd: cmd, RC: rc, Stdout: trimEnds(out.String(), strip), Stderr: trimEnds(errb.String(), strip)}
	if rc != 0 {
		res.Failed = true
		res.Msg = fmt.Sprintf("non-zero return code %d", rc)
	}
	return res, nil
}

// guardSkips checks creates (skip if the path exists) and removes (skip if
// it does not) with one round trip.
func guardSkips(ctx context.Context, c Conn, creates, removes string) (bool, string, error) {
	if creates != "" {
		err := c.Exec(ctx, "test -e "+shell.Quote(creates), nil, nil, nil)
		if rc := ExitCode(err); rc < 0 {
			return false, "", err
		} else if rc == 0 {
			return true, fmt.Sprintf("skipped, since %s exists", creates), nil
		}
	}
	if removes != "" {
		err := c.Exec(ctx, "test -e "+shell.Quote(removes), nil, nil, nil)
		if rc := ExitCode(err); rc < 0 {
			return false, "", err
		} else if rc != 0 {
			return true, fmt.Sprintf("skipped, since %s does not exist", removes), nil
		}
	}
	return false, "", nil
}

// Markers the guard script prints first on stdout.
const (
	guardCreated = "kplay-skip-creates\n"
	guardRemoved = "kplay-skip-removes\n"
	guardRun     = "kplay-run\n"
)

// guardScript checks creates and removes and runs cmd in the same round
// trip (the floor of docs/benchmarks.md does the same). cmd is run by eval
// so that a syntax error in it shows only once the guards have passed, as
// when they were checked in a session of their own.
func guardScript(creates, removes, cmd string) string {
	var b strings.Builder
	if creates != "" {
		b.WriteString("if [ -e " + shell.Quote(creates) + " ]; then echo " + strings.TrimSpace(guardCreated) + "; exit 0; fi\n")
	}
	if removes != "" {
		b.WriteString("if ! [ -e " + shell.Quote(removes) + " ]; then echo " + strings.TrimSpace(guardRemoved) + "; exit 0; fi\n")
	}
	b.WriteString("echo " + strings.TrimSpace(guardRun) + "\neval " + shell.Quote(cmd) + "\n")
	return b.String()
}

// guardOutcome reads guardScript's marker: whether a guard skipped the
// command, the message, and the command's own stdout.
func guardOutcome(out, creates, removes string) (bool, string, string) {
	switch {
	case out == guardCreated:
		return true, fmt.Sprintf("skipped, since %s exists", creates), ""
	case out == guardRemoved:
		return true, fmt.Sprintf("skipped, since %s does not exist", removes), ""
	}
	return false, "", strings.TrimPrefix(out, guardRun)
}

func trimEnds(s string, strip bool) string {
	if !strip {
		return s
	}
	return strings.TrimRight(s, "\r\n")
}

// inDir resolves a relative path against dir (when both are given).
func inDir(dir, p string) string {
	if p == "" || dir == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(dir, p)
}
