package modules

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// TemplateArgs are the arguments of template.
type TemplateArgs struct {
	Src      string   `arg:"src,required"`
	Dest     string   `arg:"dest,required"`
	Mode     FileMode `arg:"mode"`
	Owner    string   `arg:"owner"`
	Group    string   `arg:"group"`
	Backup   bool     `arg:"backup"`
	Force    *bool    `arg:"force"`
	Validate string   `arg:"validate"`
}

// Template renders a Go text/template from the role's templates/ folder
// with the host's variables and writes the result like copy does.
type Template struct{}

// Run implements Module.
func (Template) Run(ctx context.Context, req *Request) (Result, error) {
	var a TemplateArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if a.Mode == "preserve" {
		return Result{}, errors.New("template: mode preserve is not supported")
	}
	if req.Render == nil {
		return Result{}, errors.New("template: no renderer in the request")
	}
	fsys, name, err := openSource(req, "templates", a.Src)
	if err != nil {
		return Result{}, err
	}
	text, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Result{}, fmt.Errorf("template: read %s: %w", a.Src, err)
	}
	out, err := req.Render(a.Src, text)
	if err != nil {
		return Result{}, fmt.Errorf("template %s: %w", a.Src, err)
	}
	dest := a.Dest
	fi, err := statDest(ctx, req.Conn, dest)
	if err != nil {
		return Result{}, err
	}
	if fi.Kind == "directory" || strings.HasSuffix(dest, "/") {
		// As Ansible: into a folder, the file takes the template's name.
		base := path.Base(a.Src)
		if fi, err = statDest(ctx, req.Conn, path.Join(fi.Path, base)); err != nil {
			return Result{}, err
		}
	}
	spec := putSpec{dest: fi.Path, content: bytesContent(out), mode: a.Mode, owner: a.Owner, group: a.Group,
		backup: a.Backup, force: a.Force == nil || *a.Force, validate: a.Validate}
	res, err := putFile(ctx, req, spec, fi)
	if res.Data != nil {
		res.Data["src"] = a.Src
	}
	return res, err
}
