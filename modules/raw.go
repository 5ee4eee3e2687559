package modules

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kplay/kplay/shell"
)

// RawArgs are the arguments of raw.
type RawArgs struct {
	Raw        string `arg:"_raw_params"`
	Executable string `arg:"executable"`
}

// Raw sends the command line as it is, with no guard and no check mode
// support: in check mode it does not run (as Ansible's raw, which does not
// support check mode), and reports that it cannot predict.
type Raw struct{}

// Run implements Module.
func (Raw) Run(ctx context.Context, req *Request) (Result, error) {
	var a RawArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if strings.TrimSpace(a.Raw) == "" {
		return Result{}, fmt.Errorf("no command given")
	}
	if req.Check {
		return Result{Unknown: true, Msg: "raw does not run in check mode", Cmd: a.Raw}, nil
	}
	cmd := a.Raw
	if a.Executable != "" {
		cmd = shell.Join(a.Executable, "-c", a.Raw)
	}
	var out, errb bytes.Buffer
	err := req.Conn.Exec(ctx, cmd, nil, &out, &errb)
	rc := ExitCode(err)
	if rc < 0 {
		return Result{}, err
	}
	res := Result{Changed: true, Cmd: a.Raw, RC: rc, Stdout: out.String(), Stderr: errb.String()}
	if rc != 0 {
		res.Failed = true
		res.Msg = fmt.Sprintf("non-zero return code %d", rc)
	}
	return res, nil
}
