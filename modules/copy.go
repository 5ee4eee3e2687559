package modules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// CopyArgs are the arguments of copy.
type CopyArgs struct {
	Src           string   `arg:"src"`
	Content       *string  `arg:"content"`
	Dest          string   `arg:"dest,required"`
	Mode          FileMode `arg:"mode"`
	Owner         string   `arg:"owner"`
	Group         string   `arg:"group"`
	Backup        bool     `arg:"backup"`
	Force         *bool    `arg:"force"`
	DirectoryMode FileMode `arg:"directory_mode"`
	Validate      string   `arg:"validate"`
	RemoteSrc     bool     `arg:"remote_src"`
}

// Copy puts a file (or a folder of files) from the control machine, or
// inline content, onto the host, skipping the transfer when the host's
// checksum already matches.
type Copy struct{}

// Run implements Module.
func (Copy) Run(ctx context.Context, req *Request) (Result, error) {
	var a CopyArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	switch {
	case a.Src == "" && a.Content == nil:
		return Result{}, errors.New("copy: one of src or content is required")
	case a.Src != "" && a.Content != nil:
		return Result{}, errors.New("copy: src and content are mutually exclusive")
	case a.Content != nil && a.Mode == "preserve":
		return Result{}, errors.New("copy: mode preserve needs src")
	}
	if a.Content != nil {
		return copyOne(ctx, req, a, bytesContent([]byte(*a.Content)), a.Dest, a.Mode)
	}
	if a.RemoteSrc {
		return copyRemote(ctx, req, a)
	}
	fsys, name, err := openSource(req, "files", a.Src)
	if err != nil {
		return Result{}, err
	}
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return Result{}, fmt.Errorf("copy: source %s: %w", a.Src, err)
	}
	if st.IsDir() {
		return copyDir(ctx, req, a, fsys, name)
	}
	c, err := streamContent(func() (io.ReadCloser, error) { return fsys.Open(name) })
	if err != nil {
		return Result{}, fmt.Errorf("copy: read %s: %w", a.Src, err)
	}
	return copyOne(ctx, req, a, c, a.Dest, preserveMode(a.Mode, st))
}

// openSource finds a controller-side source: an absolute path on this
// machine, else dir/name in the role's and playbook's files.
func openSource(req *Request, dir, name string) (fs.FS, string, error) {
	if path.IsAbs(name) {
		clean := path.Clean(name)
		if clean == "/" {
			return os.DirFS("/"), ".", nil
		}
		return os.DirFS("/"), strings.TrimPrefix(clean, "/"), nil
	}
	if req.Files == nil {
		return nil, "", fmt.Errorf("source %s: no role or playbook files to look in", name)
	}
	clean := path.Clean(strings.TrimSuffix(name, "/"))
	if !fs.ValidPath(clean) {
		return nil, "", fmt.Errorf("source %s: not a valid relative path", name)
	}
	return req.Files, path.Join(dir, clean), nil
}

func preserveMode(m FileMode, st fs.FileInfo) FileMode {
	if m == "preserve" {
		return FileMode(fmt.Sprintf("%04o", st.Mode().Perm()|specialBits(st.Mode())))
	}
	return m
}

func specialBits(m fs.FileMode) fs.FileMode {
	var b fs.FileMode
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// copyOne copies one file: into dest, or into dest/<base of src> when dest
// ends with "/" or is a folder.
func copyOne(ctx context.Context, req *Request, a CopyArgs, c content, dest string, mode FileMode) (Result, error) {
	var pre []Change
	var created bool
	if strings.HasSuffix(dest, "/") {
		if a.Src == "" {
			return Result{}, fmt.Errorf("copy: dest %s is a folder; content needs a file name", dest)
		}
		var err error
		if pre, created, err = ensureDir(ctx, req, path.Clean(dest), a); err != nil {
			return Result{}, err
		}
	}
	fi, err := statDest(ctx, req.Conn, dest)
	if err != nil {
		return Result{}, err
	}
	if fi.Kind == "directory" || (created && !fi.Exists) {
		if a.Src == "" {
			return Result{}, fmt.Errorf("copy: dest %s is a folder; content needs a file name", dest)
		}
		dest = path.Join(fi.Path, path.Base(strings.TrimSuffix(a.Src, "/")))
		if created {
			fi = FileInfo{Path: dest}
		} else if fi, err = statDest(ctx, req.Conn, dest); err != nil {
			return Result{}, err
		}
	}
	spec := putSpec{dest: dest, content: c, mode: mode, owner: a.Owner, group: a.Group,
		backup: a.Backup, force: a.Force == nil || *a.Force, validate: a.Validate}
	res, err := putFile(ctx, req, spec, fi)
	if err != nil {
		return res, err
	}
	if res.Data != nil && a.Src != "" {
		res.Data["src"] = a.Src
	}
	return withParent(pre, created, res), nil
}

// ensureDir makes a destination folder (and its missing parents) with
// directory_mode, owner and group.
func ensureDir(ctx context.Context, req *Request, dir string, a CopyArgs) ([]Change, bool, error) {
	fi, err := Stat(ctx, req.Conn, dir)
	if err != nil || fi.Exists {
		return nil, false, err
	}
	if req.Check {
		return nil, true, nil
	}
	mode, err := a.DirectoryMode.resolve("", "0755", true)
	if err != nil {
		return nil, false, err
	}
	return mkdirJournal(ctx, req.Conn, dir, Attrs{Mode: mode, Owner: a.Owner, Group: a.Group})
}

// copyDir copies a folder recursively. As in Ansible, "src/" copies the
// folder's content into dest and "src" copies the folder itself into
// dest/src. Folders that exist keep their attributes; new ones get
// directory_mode (default 0755).
func copyDir(ctx context.Context, req *Request, a CopyArgs, fsys fs.FS, root string) (Result, error) {
	destRoot := path.Clean(a.Dest)
	if !strings.HasSuffix(a.Src, "/") {
		destRoot = path.Join(destRoot, path.Base(root))
	}
	total := Result{Data: map[string]any{"dest": destRoot, "src": a.Src}}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dest := path.Join(destRoot, strings.TrimPrefix(strings.TrimPrefix(p, root), "/"))
		var r Result
		if d.IsDir() {
			r, err = copyDirEntry(ctx, req, a, dest)
		} else {
			r, err = copyDirFile(ctx, req, a, fsys, p, dest)
		}
		if err != nil {
			return err
		}
		mergeResult(&total, r)
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("copy %s to %s: %w", a.Src, destRoot, err)
	}
	return total, nil
}

func copyDirEntry(ctx context.Context, req *Request, a CopyArgs, dest string) (Result, error) {
	pre, created, err := ensureDir(ctx, req, dest, a)
	if err != nil {
		return Result{}, err
	}
	return withParent(pre, created, Result{}), nil
}

func copyDirFile(ctx context.Context, req *Request, a CopyArgs, fsys fs.FS, name, dest string) (Result, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return Result{}, err
	}
	c, err := streamContent(func() (io.ReadCloser, error) { return fsys.Open(name) })
	if err != nil {
		return Result{}, err
	}
	fi, err := statDest(ctx, req.Conn, dest)
	if err != nil {
		return Result{}, err
	}
	spec := putSpec{dest: dest, content: c, mode: preserveMode(a.Mode, st), owner: a.Owner, group: a.Group,
		backup: a.Backup, force: a.Force == nil || *a.Force, validate: a.Validate}
	return putFile(ctx, req, spec, fi)
}

// mergeResult folds one file's result into a folder copy's.
func mergeResult(total *Result, r Result) {
	total.Changed = total.Changed || r.Changed
	total.Changes = append(total.Changes, r.Changes...)
	total.Diff = append(total.Diff, r.Diff...)
	if r.Failed && !total.Failed {
		total.Failed, total.Msg, total.RC, total.Stderr = true, r.Msg, r.RC, r.Stderr
	}
}

// copyRemote copies a file that is already on the host. The content passes
// through the controller as a stream (cat in, atomic write out), so the
// destination gets the same atomic, validated, backed-up write as any copy.
func copyRemote(ctx context.Context, req *Request, a CopyArgs) (Result, error) {
	src, err := StatWith(ctx, req.Conn, a.Src, StatOptions{Follow: true, Checksum: true})
	if err != nil {
		return Result{}, err
	}
	if !src.Exists {
		return Result{}, fmt.Errorf("copy: source %s not found on the host", a.Src)
	}
	if src.Kind != "file" {
		return Result{}, fmt.Errorf("copy: remote source %s is a %s; only files are supported with remote_src", a.Src, src.Kind)
	}
	open := func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(ReadFile(ctx, req.Conn, a.Src, pw)) }()
		return pr, nil
	}
	mode := a.Mode
	if mode == "preserve" {
		mode = FileMode(src.Mode)
	}
	return copyOne(ctx, req, a, content{open: open, sum: src.Checksum, size: src.Size}, a.Dest, mode)
}
