package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/kplay/kplay/shell"
)

// ScriptArgs are the arguments of script.
type ScriptArgs struct {
	Raw        string `arg:"_raw_params|cmd"`
	Creates    string `arg:"creates"`
	Removes    string `arg:"removes"`
	Chdir      string `arg:"chdir"`
	Executable string `arg:"executable"`
}

// Script runs a script from the control machine on the host without
// leaving it there. A shell script (no shebang, or a sh/bash/dash/ksh/zsh
// one) is streamed to "INTERPRETER -s -- ARGS" on stdin, wrapped in { }
// so the shell reads it whole before running it (commands in it that read
// stdin see end of file, not the rest of the script). Other interpreters
// (executable, or a shebang such as python3) get a private temp file
// (mktemp, 0600) that is removed when the script ends. Arguments are split
// like command's and passed literally, with no expansion.
type Script struct{}

// Run implements Module.
func (Script) Run(ctx context.Context, req *Request) (Result, error) {
	var a ScriptArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	words, err := shell.Split(a.Raw)
	if err != nil {
		return Result{}, fmt.Errorf("script: %w", err)
	}
	if len(words) == 0 {
		return Result{}, errors.New("script: no script given")
	}
	body, err := readScript(req, words[0])
	if err != nil {
		return Result{}, err
	}
	cmd, stdin := scriptCommand(body, a.Executable, words[1:])
	if a.Chdir != "" {
		cmd = "cd " + shell.Quote(a.Chdir) + " || exit 1\n" + cmd
	}
	if a.Creates != "" || a.Removes != "" {
		skip, msg, err := guardSkips(ctx, req.Conn, inDir(a.Chdir, a.Creates), inDir(a.Chdir, a.Removes))
		if err != nil || skip {
			return Result{Msg: msg, Cmd: a.Raw, Skipped: skip}, err
		}
	}
	if req.Check {
		guarded := a.Creates != "" || a.Removes != ""
		return Result{Changed: guarded, Unknown: !guarded, Msg: "script would run", Cmd: a.Raw}, nil
	}
	var out, errb bytes.Buffer
	err = req.Conn.Exec(ctx, cmd, stdin, &out, &errb)
	rc := ExitCode(err)
	if rc < 0 {
		return Result{}, fmt.Errorf("script %s: %w", words[0], err)
	}
	res := Result{Changed: true, Cmd: a.Raw, RC: rc, Stdout: out.String(), Stderr: errb.String()}
	if rc != 0 {
		res.Failed, res.Msg = true, fmt.Sprintf("non-zero return code %d", rc)
	}
	return res, nil
}

// readScript loads the script: an absolute path on the control machine,
// else files/NAME (a leading "files/" is accepted too).
func readScript(req *Request, name string) ([]byte, error) {
	if !path.IsAbs(name) && req.Files != nil && strings.HasPrefix(name, "files/") {
		if b, err := fs.ReadFile(req.Files, path.Clean(name)); err == nil {
			return b, nil
		}
		name = strings.TrimPrefix(name, "files/")
	}
	fsys, p, err := openSource(req, "files", name)
	if err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("script: read %s: %w", name, err)
	}
	return b, nil
}

// scriptCommand chooses how to run body: streamed to a shell's -s, or
// through a temp file for other interpreters.
func scriptCommand(body []byte, executable string, args []string) (string, io.Reader) {
	interp := shebang(body)
	if executable != "" {
		interp = []string{executable}
	}
	if len(interp) == 0 {
		interp = []string{"sh"}
	}
	if isShell(interp) {
		wrapped := io.MultiReader(strings.NewReader("{\n"), bytes.NewReader(body), strings.NewReader("\n}\n"))
		return shell.Join(append(append(interp, "-s", "--"), args...)...), wrapped
	}
	cmd := `t=$(mktemp) || exit 1
trap 'rm -f -- "$t"' EXIT
cat > "$t" || exit 1
` + shell.Join(interp...) + ` "$t" ` + shell.Join(args...) + "\n"
	return cmd, bytes.NewReader(body)
}

// shebang returns the interpreter words of a "#!" line ("/usr/bin/env
// bash" gives env and bash).
func shebang(body []byte) []string {
	if !bytes.HasPrefix(body, []byte("#!")) {
		return nil
	}
	line, _, _ := bytes.Cut(body[2:], []byte("\n"))
	return strings.Fields(strings.TrimSpace(string(line)))
}

// isShell reports whether the interpreter reads a script from stdin with
// -s: the POSIX-style shells.
func isShell(interp []string) bool {
	name := path.Base(interp[0])
	if name == "env" && len(interp) > 1 {
		name = path.Base(interp[1])
	}
	switch name {
	case "sh", "bash", "dash", "ksh", "zsh", "ash", "mksh":
		return true
	}
	return false
}
