package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kplay/kplay/shell"
)

// FileArgs are the arguments of file.
type FileArgs struct {
	Path    string   `arg:"path|dest|name,required"`
	State   string   `arg:"state"`
	Mode    FileMode `arg:"mode"`
	Owner   string   `arg:"owner"`
	Group   string   `arg:"group"`
	Recurse bool     `arg:"recurse"`
	Src     string   `arg:"src"`
	Force   bool     `arg:"force"`
}

// File sets the kind and attributes of a path: a file's mode and owner, a
// folder (created, optionally recursively re-moded), a symbolic link, an
// empty file touched, or nothing at all (absent). Whatever it removes or
// replaces is moved aside first so rollback can put it back.
type File struct{}

// Run implements Module.
func (File) Run(ctx context.Context, req *Request) (Result, error) {
	var a FileArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if a.Mode == "preserve" {
		return Result{}, errors.New("file: mode preserve is not supported")
	}
	if a.Recurse && a.State != "directory" {
		return Result{}, errors.New("file: recurse needs state: directory")
	}
	if a.State == "directory" && !req.Check {
		// One round trip: stat an existing path, or create the folder.
		fi, res, made, err := statOrMkdir(ctx, req, a)
		if err == nil && !made {
			res, err = fileDirectory(ctx, req, a, fi)
		}
		return withPathState(res, err, a.Path, a.State)
	}
	if a.State == "link" && !a.Force && a.Src != "" {
		// The link and its source are looked at in one round trip, which
		// also makes a new link when nothing is in its way.
		fi, src, res, done, err := statTwoOrLink(ctx, req, a)
		if err == nil && !done {
			res, err = fileLinkWith(ctx, req, a, fi, &src)
		}
		return withPathState(res, err, a.Path, a.State)
	}
	fi, err := Stat(ctx, req.Conn, a.Path)
	if err != nil {
		return Result{}, err
	}
	state := a.State
	if state == "" {
		state = "file"
		if fi.Exists && fi.Kind == "directory" {
			state = "directory" // as Ansible: a folder stays a folder
		}
	}
	var res Result
	switch state {
	case "absent":
		res, err = fileAbsent(ctx, req, fi)
	case "file":
		res, err = fileFile(ctx, req, a, fi)
	case "directory":
		res, err = fileDirectory(ctx, req, a, fi)
	case "link":
		res, err = fileLink(ctx, req, a, fi)
	case "touch":
		res, err = fileTouch(ctx, req, a, fi)
	case "hard":
		res, err = fileHard(ctx, req, a, fi)
	default:
		return Result{}, fmt.Errorf("file: unsupported state %q (absent, directory, file, hard, link, touch)", a.State)
	}
	return withPathState(res, err, a.Path, state)
}

// withPathState adds the path and state keys Ansible's file returns.
func withPathState(res Result, err error, p, state string) (Result, error) {
	if err == nil {
		if res.Data == nil {
			res.Data = map[string]any{}
		}
		res.Data["path"], res.Data["state"] = p, state
	}
	return res, err
}

// fileChange is the journal entry for a path as Stat saw it.
func fileChange(fi FileInfo, action string) Change {
	return Change{Kind: KindFile, Path: fi.Path, Action: action, Existed: fi.Exists, OldKind: fi.Kind,
		OldMode: fi.Mode, OldOwner: fi.Owner, OldGroup: fi.Group, OldTarget: fi.LinkTarget}
}

// fileAbsent removes a path after moving it aside: a file or link is
// renamed to path+suffix, a folder is archived with tar to path+suffix and
// then removed.
func fileAbsent(ctx context.Context, req *Request, fi FileInfo) (Result, error) {
	if !fi.Exists {
		return Result{Msg: "path is absent"}, nil
	}
	res := Result{Changed: true, Msg: fi.Kind + " removed"}
	if req.Diff {
		res.Diff = []Diff{{Path: fi.Path, Before: fi.Kind + "\n", After: "absent\n"}}
	}
	if req.Check {
		res.Msg = fi.Kind + " would be removed"
		return res, nil
	}
	backup, err := moveAside(ctx, req.Conn, fi, backupSuffix(req), true)
	if err != nil {
		return Result{}, err
	}
	ch := fileChange(fi, "removed")
	ch.Backup = backup
	res.Changes = []Change{ch}
	return res, nil
}

// moveAside saves what stands at fi.Path under a unique backup name
// (path+suffix, or path+suffix.N): a file or link is renamed (atomic, loses
// nothing), a folder's content is archived with tar as path+suffix.tar and,
// with remove, the folder is deleted.
func moveAside(ctx context.Context, c Conn, fi FileInfo, suffix string, remove bool) (string, error) {
	q := shell.Quote(fi.Path)
	ext := ""
	if fi.Kind == "directory" {
		ext = ".tar" // rollback recognizes a folder's archive by it
	}
	pick := `b=` + q + shell.Quote(suffix) + ext + `; n=0; while [ -e "$b" ] || [ -L "$b" ]; do n=$((n+1)); b=` + q + shell.Quote(suffix) + `.$n` + ext + `; done; `
	var cmd string
	if fi.Kind == "directory" {
		// The archive holds the folder's content ("."), the way rollback
		// extracts it: mkdir -p path; tar -x -p -f backup -C path.
		cmd = pick + `umask 077; tar -C ` + q + ` -cf "$b" . || { rm -f -- "$b"; exit 1; }; `
		if remove {
			cmd += "rm -rf -- " + q + " || exit 1; "
		}
	} else {
		cmd = pick + "mv -f -- " + q + ` "$b" || exit 1; `
	}
	cmd += `printf 'kplay-backup\n%s' "$b"`
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return "", execErr("move aside", fi.Path, err, &errb)
	}
	_, name, _ := strings.Cut(out.String(), "kplay-backup\n")
	return name, nil
}

// fileFile only sets the attributes of a file that must exist.
func fileFile(ctx context.Context, req *Request, a FileArgs, fi FileInfo) (Result, error) {
	if !fi.Exists {
		return Result{Failed: true, Msg: fmt.Sprintf("file (%s) is absent, cannot continue", a.Path)}, nil
	}
	if fi.Kind == "link" {
		// Attributes go to the link's target, as chmod and chown do.
		var err error
		if fi, err = StatWith(ctx, req.Conn, a.Path, StatOptions{Follow: true}); err != nil {
			return Result{}, err
		}
	}
	if fi.Kind != "file" {
		return Result{Failed: true, Msg: fmt.Sprintf("file (%s) is a %s, not a file", a.Path, fi.Kind)}, nil
	}
	return fileAttrs(ctx, req, a, fi)
}

// fileAttrs applies mode/owner/group to an existing path.
func fileAttrs(ctx context.Context, req *Request, a FileArgs, fi FileInfo) (Result, error) {
	mode, err := a.Mode.resolve(fi.Mode, "", fi.Kind == "directory")
	if err != nil {
		return Result{}, err
	}
	delta, differ := attrsToApply(fi, Attrs{Mode: mode, Owner: a.Owner, Group: a.Group})
	if !differ {
		return Result{}, nil
	}
	res := Result{Changed: true, Msg: "attributes changed"}
	if req.Diff {
		res.Diff = []Diff{attrDiff(fi, delta)}
	}
	if req.Check {
		res.Msg = "attributes would change"
		return res, nil
	}
	if err := SetAttrs(ctx, req.Conn, fi.Path, delta); err != nil {
		return Result{}, err
	}
	res.Changes = []Change{fileChange(fi, "attrs")}
	return res, nil
}

// attrDiff shows an attribute change as before/after lines.
func attrDiff(fi FileInfo, d Attrs) Diff {
	var before, after strings.Builder
	if d.Mode != "" {
		fmt.Fprintf(&before, "mode: %s\n", fi.Mode)
		fmt.Fprintf(&after, "mode: %s\n", d.Mode)
	}
	if d.Owner != "" {
		fmt.Fprintf(&before, "owner: %s\n", fi.Owner)
		fmt.Fprintf(&after, "owner: %s\n", d.Owner)
	}
	if d.Group != "" {
		fmt.Fprintf(&before, "group: %s\n", fi.Group)
		fmt.Fprintf(&after, "group: %s\n", d.Group)
	}
	return Diff{Path: fi.Path + " (attributes)", Before: before.String(), After: after.String()}
}

// fileDirectory creates a folder (and its parents) or sets its attributes,
// recursively with recurse.
func fileDirectory(ctx context.Context, req *Request, a FileArgs, fi FileInfo) (Result, error) {
	if fi.Kind == "link" {
		t, err := StatWith(ctx, req.Conn, a.Path, StatOptions{Follow: true})
		if err != nil {
			return Result{}, err
		}
		if t.Kind == "directory" {
			fi = t
		}
	}
	if fi.Exists && fi.Kind != "directory" {
		return Result{Failed: true, Msg: fmt.Sprintf("%s exists and is a %s, not a directory", a.Path, fi.Kind)}, nil
	}
	if fi.Exists {
		res, err := fileAttrs(ctx, req, a, fi)
		if err != nil || !a.Recurse {
			return res, err
		}
		inner, err := fileRecurse(ctx, req, a)
		mergeResult(&res, inner)
		if res.Changed && res.Msg == "" {
			res.Msg = inner.Msg
		}
		return res, err
	}
	mode, err := a.Mode.resolve("", "0755", true)
	if err != nil {
		return Result{}, err
	}
	res := Result{Changed: true, Msg: "directory created"}
	if req.Diff {
		res.Diff = []Diff{{Path: a.Path, Before: "absent\n", After: "directory\n"}}
	}
	if req.Check {
		res.Msg = "directory would be created"
		return res, nil
	}
	attrs := Attrs{Mode: mode, Owner: a.Owner, Group: a.Group}
	pre, _, err := mkdirJournal(ctx, req.Conn, a.Path, attrs)
	if err != nil {
		return Result{}, err
	}
	// Every folder created gets the mode and owner asked, parents too, as
	// in Ansible (MkdirAll gave them to the last one only).
	var parents []string
	for _, c := range pre {
		if c.Path != a.Path {
			parents = append(parents, c.Path)
		}
	}
	if err := setAttrsAll(ctx, req.Conn, parents, attrs); err != nil {
		return Result{}, err
	}
	res.Changes = pre
	return res, nil
}

// setAttrsAll applies attrs to every path of paths in one round trip.
func setAttrsAll(ctx context.Context, c Conn, paths []string, attrs Attrs) error {
	if len(paths) == 0 {
		return nil
	}
	list := shell.Join(paths...)
	var cmd strings.Builder
	if attrs.Mode != "" {
		cmd.WriteString("chmod " + shell.Quote(attrs.Mode) + " -- " + list + " || exit 1\n")
	}
	switch {
	case attrs.Owner != "" && attrs.Group != "":
		cmd.WriteString("chown " + shell.Quote(attrs.Owner+":"+attrs.Group) + " -- " + list + " || exit 1\n")
	case attrs.Owner != "":
		cmd.WriteString("chown " + shell.Quote(attrs.Owner) + " -- " + list + " || exit 1\n")
	case attrs.Group != "":
		cmd.WriteString("chgrp " + shell.Quote(attrs.Group) + " -- " + list + " || exit 1\n")
	}
	if cmd.Len() == 0 {
		return nil
	}
	var errb bytes.Buffer
	if err := c.Exec(ctx, cmd.String(), nil, nil, &errb); err != nil {
		return execErr("set attributes of the folders above", paths[len(paths)-1], err, &errb)
	}
	return nil
}

// fileRecurse applies attributes to everything below a folder (links
// excepted), one journal entry per entry changed. One find lists the tree;
// one script, sent on stdin, changes it.
func fileRecurse(ctx context.Context, req *Request, a FileArgs) (Result, error) {
	var out, errb bytes.Buffer
	top := a.Path
	if strings.HasPrefix(top, "-") {
		top = "./" + top // find has no "--"
	}
	cmd := "find " + shell.Quote(top) + ` -mindepth 1 ! -type l -printf '%m %U %G %y\0%u\0%g\0%p\0'`
	if err := req.Conn.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return Result{}, execErr("list", a.Path, err, &errb)
	}
	entries, err := parseFind(out.String())
	if err != nil {
		return Result{}, fmt.Errorf("list %s: %w", a.Path, err)
	}
	var script strings.Builder
	var res Result
	for _, fi := range entries {
		mode, err := a.Mode.resolve(fi.Mode, "", fi.Kind == "directory")
		if err != nil {
			return Result{}, err
		}
		delta, differ := attrsToApply(fi, Attrs{Mode: mode, Owner: a.Owner, Group: a.Group})
		if !differ {
			continue
		}
		res.Changed = true
		res.Changes = append(res.Changes, fileChange(fi, "attrs"))
		if delta.Mode != "" {
			script.WriteString("chmod " + delta.Mode + " -- " + shell.Quote(fi.Path) + " || exit 1\n")
		}
		script.WriteString(chownCmd(shell.Quote(fi.Path), delta))
	}
	if !res.Changed {
		return res, nil
	}
	res.Msg = fmt.Sprintf("attributes changed on %d entries below %s", len(res.Changes), a.Path)
	if req.Diff {
		res.Diff = []Diff{{Path: a.Path + " (recursive attributes)", Before: "", After: res.Msg + "\n"}}
	}
	if req.Check {
		res.Changes = nil
		return res, nil
	}
	errb.Reset()
	if err := req.Conn.Exec(ctx, "sh -s", strings.NewReader(script.String()), nil, &errb); err != nil {
		return Result{}, execErr("set attributes below", a.Path, err, &errb)
	}
	return res, nil
}

// parseFind reads records of four NUL-terminated fields: "mode uid gid
// type", owner, group, path.
func parseFind(out string) ([]FileInfo, error) {
	f := strings.Split(out, "\x00")
	var list []FileInfo
	for i := 0; i+3 < len(f); i += 4 {
		var mode, typ string
		fi := FileInfo{Exists: true, Owner: f[i+1], Group: f[i+2], Path: f[i+3]}
		if _, err := fmt.Sscanf(f[i], "%s %d %d %s", &mode, &fi.UID, &fi.GID, &typ); err != nil {
			return nil, fmt.Errorf("parse %q: %w", f[i], err)
		}
		var m uint32
		if _, err := fmt.Sscanf(mode, "%o", &m); err != nil {
			return nil, fmt.Errorf("parse mode %q: %w", mode, err)
		}
		fi.Mode = fmt.Sprintf("%04o", m)
		fi.Kind = map[string]string{"d": "directory", "f": "file"}[typ]
		if fi.Kind == "" {
			fi.Kind = "other"
		}
		list = append(list, fi)
	}
	return list, nil
}
