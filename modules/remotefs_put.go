package modules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kplay/kplay/shell"
)

// diffLimit is the largest file whose content --diff shows.
const diffLimit = 1 << 20

// content is the new content of a file: opened as often as needed (once for
// the checksum, once to send), never held whole unless data is set.
type content struct {
	open func() (io.ReadCloser, error)
	sum  string
	size int64
	data []byte
}

// bytesContent wraps content already in memory (edits, templates).
func bytesContent(b []byte) content {
	s := sha256.Sum256(b)
	return content{sum: hex.EncodeToString(s[:]), size: int64(len(b)), data: b,
		open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// streamContent computes the checksum of what open returns, by streaming.
func streamContent(open func() (io.ReadCloser, error)) (content, error) {
	r, err := open()
	if err != nil {
		return content{}, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return content{}, err
	}
	return content{open: open, sum: hex.EncodeToString(h.Sum(nil)), size: n}, nil
}

// putSpec is what copy, template and the line-editing modules ask of the
// shared write path.
type putSpec struct {
	dest     string
	content  content
	mode     FileMode
	owner    string
	group    string
	backup   bool // the user asked for backup: true (reported in Data)
	force    bool
	validate string
	before   []byte // old content when the caller already read it
	// mkParents creates the missing folders above dest in the write's
	// own round trip (the caller journals them).
	mkParents bool
}

// statDest stats a destination with its checksum; a link is resolved to the
// file it points to, because writes go through links.
func statDest(ctx context.Context, c Conn, dest string) (FileInfo, error) {
	fi, err := StatWith(ctx, c, dest, StatOptions{Checksum: true})
	if err != nil || fi.Kind != "link" {
		return fi, err
	}
	real, err := RealPath(ctx, c, dest)
	if err != nil {
		return fi, err
	}
	return StatWith(ctx, c, real, StatOptions{Checksum: true})
}

// putFile makes fi.Path hold spec's content and attributes: nothing when
// they already match, a prediction in check mode, else an atomic write with
// the old content saved first, or only a chmod/chown. fi comes from
// statDest.
func putFile(ctx context.Context, req *Request, spec putSpec, fi FileInfo) (Result, error) {
	dest := fi.Path
	if fi.Exists && fi.Kind != "file" {
		return Result{}, fmt.Errorf("write %s: destination is a %s", dest, fi.Kind)
	}
	data := map[string]any{"dest": dest, "checksum": spec.content.sum, "size": spec.content.size}
	if fi.Exists && !spec.force {
		return Result{Msg: "file already exists", Data: data}, nil
	}
	mode, err := spec.mode.resolve(fi.Mode, "0644", false)
	if err != nil {
		return Result{}, err
	}
	want := Attrs{Mode: mode, Owner: spec.owner, Group: spec.group}
	newContent := !fi.Exists || fi.Checksum != spec.content.sum
	delta, attrsDiffer := attrsToApply(fi, want)
	if !newContent && !attrsDiffer {
		return Result{Data: data}, nil
	}
	res := Result{Changed: true, Data: data}
	switch {
	case req.Diff && newContent:
		d, err := contentDiff(ctx, req.Conn, fi, spec)
		if err != nil {
			return Result{}, err
		}
		res.Diff = []Diff{d}
	case req.Diff:
		res.Diff = []Diff{attrDiff(fi, delta)}
	}
	if req.Check {
		res.Msg = checkMsg(fi.Exists, newContent)
		return res, nil
	}
	ch := Change{Kind: KindFile, Path: dest, Existed: fi.Exists, OldMode: fi.Mode, OldOwner: fi.Owner, OldGroup: fi.Group, OldKind: fi.Kind}
	if !newContent {
		if err := SetAttrs(ctx, req.Conn, dest, delta); err != nil {
			return Result{}, err
		}
		ch.Action = "attrs"
		res.Msg, res.Changes = "attributes changed", []Change{ch}
		return res, nil
	}
	backup, failed, err := writeContent(ctx, req, dest, spec, want, fi.Exists)
	if err != nil && ctx.Err() != nil {
		// Interrupted: the rename may have happened before the command was
		// ended. If the new content is in place, report the change so the
		// journal has it.
		if b, ok := landedAfterCancel(ctx, req, dest, spec.content.sum, fi.Exists); ok {
			backup, err = b, nil
		}
	}
	if err != nil || failed != nil {
		return orFailed(failed), err
	}
	ch.Action, ch.Backup = "modified", backup
	res.Msg = "file written"
	if !fi.Exists {
		ch.Action, ch.OldMode, ch.OldOwner, ch.OldGroup = "created", "", "", ""
		res.Msg = "file created"
	}
	if spec.backup && backup != "" {
		data["backup_file"] = backup
	}
	res.Changes = []Change{ch}
	return res, nil
}

// writeContent streams spec's content to dest, saving the old file first
// when it existed. A rejected validation comes back as a failed Result.
func writeContent(ctx context.Context, req *Request, dest string, spec putSpec, want Attrs, existed bool) (string, *Result, error) {
	r, err := spec.content.open()
	if err != nil {
		return "", nil, fmt.Errorf("open source for %s: %w", dest, err)
	}
	defer r.Close()
	o := WriteOptions{Attrs: want, Validate: spec.validate, MakeParents: spec.mkParents}
	if existed {
		o.BackupSuffix = backupSuffix(req)
	}
	backup, err := WriteFileWith(ctx, req.Conn, dest, r, o)
	var ve *ValidateError
	if errors.As(err, &ve) {
		return "", &Result{Failed: true, Msg: ve.Error(), RC: ve.RC, Stderr: ve.Output}, nil
	}
	return backup, nil, err
}

func orFailed(r *Result) Result {
	if r == nil {
		return Result{}
	}
	return *r
}

func checkMsg(existed, newContent bool) string {
	switch {
	case !existed:
		return "file would be created"
	case newContent:
		return "file would be changed"
	}
	return "attributes would change"
}

// backupSuffix is the engine's suffix, or one made from the time for
// callers that set none.
func backupSuffix(req *Request) string {
	if req.BackupSuffix != "" {
		return req.BackupSuffix
	}
	return "." + time.Now().UTC().Format("20060102T150405Z") + ".kplay~"
}

// contentDiff builds the before/after pair of a content change; binary or
// large content is shown as a one-line note.
func contentDiff(ctx context.Context, c Conn, fi FileInfo, spec putSpec) (Diff, error) {
	d := Diff{Path: fi.Path}
	switch {
	case spec.before != nil:
		d.Before = textOrNote(spec.before, int64(len(spec.before)), fi.Checksum)
	case fi.Exists && fi.Size <= diffLimit:
		old, err := readAll(ctx, c, fi.Path)
		if err != nil {
			return d, err
		}
		d.Before = textOrNote(old, fi.Size, fi.Checksum)
	case fi.Exists:
		d.Before = textOrNote(nil, fi.Size, fi.Checksum)
	}
	after := spec.content.data
	if after == nil && spec.content.size <= diffLimit {
		r, err := spec.content.open()
		if err != nil {
			return d, err
		}
		defer r.Close()
		if after, err = io.ReadAll(r); err != nil {
			return d, err
		}
	}
	d.After = textOrNote(after, spec.content.size, spec.content.sum)
	return d, nil
}

// textOrNote returns b as text, or a note when it is large or binary.
func textOrNote(b []byte, size int64, sum string) string {
	if size <= diffLimit && b != nil && utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	return fmt.Sprintf("(binary or large file: %d bytes, sha256 %s)\n", size, sum)
}

// ensureParent creates the missing folders above file (in check mode it
// only finds them) and returns a journal entry for each one, outermost
// first, so rollback (which walks backwards) removes the innermost first.
// created tells that any was missing.
func ensureParent(ctx context.Context, req *Request, file string) (changes []Change, created bool, err error) {
	var dirs []string
	for d := path.Dir(file); d != "/" && d != "." && d != ""; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	if len(dirs) == 0 {
		return nil, false, nil
	}
	var out, errb bytes.Buffer
	cmd := "for d in " + shell.Join(dirs...) + `; do [ -e "$d" ] || [ -L "$d" ] || { printf 'missing\n'; exit 0; }; done`
	if err := req.Conn.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return nil, false, execErr("check folders of", file, err, &errb)
	}
	if out.Len() == 0 {
		return nil, false, nil
	}
	if req.Check {
		return nil, true, nil
	}
	return mkdirJournal(ctx, req.Conn, path.Dir(file), Attrs{})
}

// mkdirJournal creates dir and its missing parents (attrs apply to dir)
// and returns one "created" entry per folder made, outermost first.
func mkdirJournal(ctx context.Context, c Conn, dir string, attrs Attrs) ([]Change, bool, error) {
	var dirs []string
	for d := dir; d != "/" && d != "." && d != ""; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	var out, errb bytes.Buffer
	cmd := "for d in " + shell.Join(dirs...) + `; do [ -e "$d" ] || [ -L "$d" ] || printf '%s\0' "$d"; done`
	if err := c.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return nil, false, execErr("check folders of", dir, err, &errb)
	}
	if err := MkdirAll(ctx, c, dir, attrs); err != nil {
		return nil, false, err
	}
	var changes []Change
	for _, d := range strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00") {
		if d != "" {
			changes = append(changes, Change{Kind: KindFile, Path: d, Action: "created", OldKind: "", Existed: false})
		}
	}
	return changes, len(changes) > 0, nil
}

// withParent marks r changed when folders were created for it and puts
// their journal entries in front of r's.
func withParent(pre []Change, created bool, r Result) Result {
	if !created {
		return r
	}
	if !r.Failed {
		r.Changed = true
	}
	r.Changes = append(append([]Change{}, pre...), r.Changes...)
	if strings.TrimSpace(r.Msg) == "" {
		r.Msg = "folder created"
	}
	return r
}

// editSpec is what the line-editing modules (lineinfile, blockinfile,
// replace) hand to editFile.
type editSpec struct {
	path     string
	create   bool // a missing file starts empty (else: failed)
	absent   bool // state absent: a missing file is fine, nothing to do
	mode     FileMode
	owner    string
	group    string
	backup   bool
	validate string
	// edit computes the new content from the old one (nil when the file
	// does not exist) and says what it did.
	edit func(old []byte) (new []byte, msg string, err error)
}

// editFile reads a text file, applies a pure edit and writes the result
// through putFile, so line edits get the same atomic write, backup, check
// and diff behaviour as copy. Writes go through links to their target.
func editFile(ctx context.Context, req *Request, s editSpec) (Result, error) {
	st, err := statRead(ctx, req.Conn, s.path)
	if err != nil {
		return Result{}, err
	}
	fi := st.fi
	switch {
	case fi.Exists && fi.Kind == "directory":
		return Result{Failed: true, RC: 256, Msg: fmt.Sprintf("Path %s is a directory !", s.path)}, nil
	case fi.Exists && fi.Kind != "file":
		return Result{}, fmt.Errorf("write %s: destination is a %s", fi.Path, fi.Kind)
	case !fi.Exists && s.absent:
		return Result{Msg: "file not present"}, nil
	case !fi.Exists && !s.create:
		return Result{Failed: true, RC: 257, Msg: fmt.Sprintf("Destination %s does not exist !", s.path)}, nil
	}
	var old []byte
	if fi.Exists {
		old = st.content
	}
	out, msg, err := s.edit(old)
	if err != nil {
		return Result{}, err
	}
	var pre []Change
	var created, mkParents bool
	switch {
	case !fi.Exists && !st.parentsKnown:
		// A dangling link: its target's folders were not probed.
		if pre, created, err = ensureParent(ctx, req, fi.Path); err != nil {
			return Result{}, err
		}
	case !fi.Exists && len(st.missing) > 0:
		created, mkParents = true, true
		if !req.Check {
			for _, d := range st.missing {
				pre = append(pre, Change{Kind: KindFile, Path: d, Action: "created"})
			}
		}
	}
	before := old
	if before == nil {
		before = []byte{}
	}
	spec := putSpec{dest: fi.Path, content: bytesContent(out), mode: s.mode, owner: s.owner, group: s.group,
		backup: s.backup, force: true, validate: s.validate, before: before, mkParents: mkParents}
	res, err := putFile(ctx, req, spec, fi)
	if err != nil {
		return res, err
	}
	if res.Changed && !res.Failed && msg != "" && (!fi.Exists || !bytes.Equal(old, out)) {
		res.Msg = msg
	}
	return withParent(pre, created, res), nil
}

// landedAfterCancel tells, after a write was interrupted, whether dest now
// holds the new content (sum), and finds the backup the write made of the
// old file. It looks with a fresh, short deadline, since ctx is done.
func landedAfterCancel(ctx context.Context, req *Request, dest, sum string, existed bool) (string, bool) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	fi, err := StatWith(lctx, req.Conn, dest, StatOptions{Checksum: true})
	if err != nil || !fi.Exists || fi.Checksum != sum {
		return "", false
	}
	if !existed {
		return "", true
	}
	var out bytes.Buffer
	if err := req.Conn.Exec(lctx, newestBackupScript(dest, backupSuffix(req)), nil, &out, nil); err != nil {
		return "", true
	}
	return out.String(), true
}

// newestBackupScript prints, exactly and without a newline, the newest
// backup of dest made with suffix (dest + stem + anything + ".kplay~"),
// or nothing. A glob and test -nt, not `ls | head`: a name may hold
// newlines or end in spaces, and must come back whole.
func newestBackupScript(dest, suffix string) string {
	stem := strings.TrimSuffix(suffix, ".kplay~")
	return "n=; for f in " + shell.Quote(dest+stem) + "*" + shell.Quote(".kplay~") + "; do\n" +
		"  { [ -e \"$f\" ] || [ -L \"$f\" ]; } || continue\n" +
		"  if [ -z \"$n\" ] || [ \"$f\" -nt \"$n\" ]; then n=$f; fi\n" +
		"done\n[ -z \"$n\" ] || printf '%s' \"$n\"\n"
}
