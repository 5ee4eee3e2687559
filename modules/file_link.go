package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/kplay/kplay/shell"
)

// fileLink makes path a symbolic link to src. An existing file is replaced
// only with force, after being moved aside; a folder never is.
func fileLink(ctx context.Context, req *Request, a FileArgs, fi FileInfo) (Result, error) {
	return fileLinkWith(ctx, req, a, fi, nil)
}

// linkSource is what a link to a.Src at a.Path points to, for the check
// that it exists: a relative src is relative to the link's folder.
func linkSource(a FileArgs) string {
	if path.IsAbs(a.Src) {
		return a.Src
	}
	return path.Join(path.Dir(a.Path), a.Src)
}

// fileLinkWith is fileLink with the source already stat-ed (followed) when
// src is not nil.
func fileLinkWith(ctx context.Context, req *Request, a FileArgs, fi FileInfo, src *FileInfo) (Result, error) {
	if a.Src == "" {
		return Result{}, errors.New("file: src is required with state: link")
	}
	if fi.Kind == "link" && fi.LinkTarget == a.Src {
		return Result{}, nil
	}
	switch {
	case fi.Kind == "directory":
		return Result{Failed: true, Msg: fmt.Sprintf("refusing to replace directory %s with a link", a.Path)}, nil
	case fi.Exists && fi.Kind != "link" && !a.Force:
		return Result{Failed: true, Msg: fmt.Sprintf("refusing to convert from %s to symlink for %s (use force)", fi.Kind, a.Path)}, nil
	}
	if !a.Force && src == nil {
		t, err := StatWith(ctx, req.Conn, linkSource(a), StatOptions{Follow: true})
		if err != nil {
			return Result{}, err
		}
		src = &t
	}
	if !a.Force && !src.Exists {
		return Result{Failed: true, Msg: fmt.Sprintf("src file %s does not exist, use force: true to link to it anyway", a.Src)}, nil
	}
	res := Result{Changed: true, Msg: "link created"}
	if req.Diff {
		res.Diff = []Diff{{Path: a.Path, Before: describe(fi), After: "link -> " + a.Src + "\n"}}
	}
	if req.Check {
		res.Msg = "link would be created"
		return res, nil
	}
	ch := fileChange(fi, "created")
	if fi.Exists {
		ch.Action = "modified"
	}
	if fi.Exists && fi.Kind != "link" {
		b, err := moveAside(ctx, req.Conn, fi, backupSuffix(req), true)
		if err != nil {
			return Result{}, err
		}
		ch.Backup = b
	}
	if err := symlink(ctx, req.Conn, a.Src, a.Path); err != nil {
		return Result{}, err
	}
	res.Changes = []Change{ch}
	return res, nil
}

// symlink points link at target atomically: a new link under a temp name,
// renamed over the old one.
func symlink(ctx context.Context, c Conn, target, link string) error {
	tmp, err := tempName(link)
	if err != nil {
		return err
	}
	cmd := "ln -s -- " + shell.Quote(target) + " " + shell.Quote(tmp) + " && mv -Tf -- " + shell.Quote(tmp) + " " + shell.Quote(link) +
		" || { rm -f -- " + shell.Quote(tmp) + "; exit 1; }"
	var errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, nil, &errb); err != nil {
		return execErr("link", link, err, &errb)
	}
	return nil
}

func describe(fi FileInfo) string {
	switch {
	case !fi.Exists:
		return "absent\n"
	case fi.Kind == "link":
		return "link -> " + fi.LinkTarget + "\n"
	}
	return fi.Kind + "\n"
}

// fileTouch creates an empty file or updates its times. As in Ansible, a
// touch always reports a change (the times move).
func fileTouch(ctx context.Context, req *Request, a FileArgs, fi FileInfo) (Result, error) {
	mode, err := a.Mode.resolve(fi.Mode, "0644", fi.Kind == "directory")
	if err != nil {
		return Result{}, err
	}
	res := Result{Changed: true, Msg: "file touched"}
	if !fi.Exists {
		res.Msg = "file created"
		if mode == "" {
			mode = "0644"
		}
		if req.Diff {
			res.Diff = []Diff{{Path: a.Path, Before: "absent\n", After: "file\n"}}
		}
	}
	if req.Check {
		return res, nil
	}
	cmd := "umask 022; touch -- " + shell.Quote(a.Path)
	var errb bytes.Buffer
	if err := req.Conn.Exec(ctx, cmd, nil, nil, &errb); err != nil {
		return Result{}, execErr("touch", a.Path, err, &errb)
	}
	ch := fileChange(fi, "attrs")
	if !fi.Exists {
		ch.Action = "created"
	}
	delta, _ := attrsToApply(fi, Attrs{Mode: mode, Owner: a.Owner, Group: a.Group})
	if err := SetAttrs(ctx, req.Conn, a.Path, delta); err != nil {
		if fi.Exists {
			return Result{}, err
		}
		// The file was made but its mode or owner was refused: a failed
		// result keeps the journal entry, so rollback removes it.
		return Result{Failed: true, Msg: err.Error(), Changes: []Change{ch}}, nil
	}
	res.Changes = []Change{ch}
	return res, nil
}

// fileHard makes path a hard link to src (same inode). An existing file
// that is not already that link is replaced only with force, after being
// moved aside.
func fileHard(ctx context.Context, req *Request, a FileArgs, fi FileInfo) (Result, error) {
	if a.Src == "" {
		return Result{}, errors.New("file: src is required with state: hard")
	}
	src, err := StatWith(ctx, req.Conn, a.Src, StatOptions{Follow: true})
	if err != nil {
		return Result{}, err
	}
	switch {
	case !src.Exists || src.Kind == "directory":
		return Result{Failed: true, Msg: fmt.Sprintf("src %s must be an existing file for a hard link", a.Src)}, nil
	case fi.Exists && fi.Kind == "file" && fi.Inode == src.Inode && fi.Device == src.Device:
		return Result{}, nil
	case fi.Kind == "directory":
		return Result{Failed: true, Msg: fmt.Sprintf("refusing to replace directory %s with a hard link", a.Path)}, nil
	case fi.Exists && !a.Force:
		return Result{Failed: true, Msg: fmt.Sprintf("refusing to replace %s %s with a hard link (use force)", fi.Kind, a.Path)}, nil
	}
	res := Result{Changed: true, Msg: "hard link created"}
	if req.Diff {
		res.Diff = []Diff{{Path: a.Path, Before: describe(fi), After: "hard link to " + a.Src + "\n"}}
	}
	if req.Check {
		res.Msg = "hard link would be created"
		return res, nil
	}
	ch := fileChange(fi, "created")
	if fi.Exists {
		ch.Action = "modified"
		if ch.Backup, err = moveAside(ctx, req.Conn, fi, backupSuffix(req), true); err != nil {
			return Result{}, err
		}
	}
	tmp, err := tempName(a.Path)
	if err != nil {
		return Result{}, err
	}
	cmd := "ln -- " + shell.Quote(a.Src) + " " + shell.Quote(tmp) + " && mv -f -- " + shell.Quote(tmp) + " " + shell.Quote(a.Path) +
		" || { rm -f -- " + shell.Quote(tmp) + "; exit 1; }"
	var errb bytes.Buffer
	if err := req.Conn.Exec(ctx, cmd, nil, nil, &errb); err != nil {
		return Result{}, execErr("hard link", a.Path, err, &errb)
	}
	res.Changes = []Change{ch}
	return res, nil
}
