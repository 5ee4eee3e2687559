package modules

import (
	"context"
	"encoding/base64"
	"fmt"
)

// SlurpArgs are the arguments of slurp.
type SlurpArgs struct {
	Src string `arg:"src|path,required"`
}

// Slurp returns a file's content from the host, base64-encoded as Ansible
// returns it (b64decode in an expression gets the text back). It never
// changes anything and runs in check mode too.
type Slurp struct{}

// Run implements Module.
func (Slurp) Run(ctx context.Context, req *Request) (Result, error) {
	var a SlurpArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	fi, err := StatWith(ctx, req.Conn, a.Src, StatOptions{Follow: true})
	if err != nil {
		return Result{}, err
	}
	switch {
	case !fi.Exists:
		return Result{Failed: true, Msg: fmt.Sprintf("file not found: %s", a.Src)}, nil
	case fi.Kind == "directory":
		return Result{Failed: true, Msg: fmt.Sprintf("source is a directory and must be a file: %s", a.Src)}, nil
	}
	b, err := readAll(ctx, req.Conn, a.Src)
	if err != nil {
		return Result{}, err
	}
	return Result{Data: map[string]any{
		"content": base64.StdEncoding.EncodeToString(b), "encoding": "base64", "source": a.Src,
	}}, nil
}
