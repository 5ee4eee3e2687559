package modules

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kplay/kplay/shell"
)

// UnarchiveArgs are the arguments of unarchive.
type UnarchiveArgs struct {
	Src       string   `arg:"src,required"`
	Dest      string   `arg:"dest,required"`
	RemoteSrc bool     `arg:"remote_src"`
	Creates   string   `arg:"creates"`
	ExtraOpts []string `arg:"extra_opts"`
	Mode      FileMode `arg:"mode"`
	Owner     string   `arg:"owner"`
	Group     string   `arg:"group"`
	ListFiles bool     `arg:"list_files"`
	Include   []string `arg:"include"`
	Exclude   []string `arg:"exclude"`
}

// Unarchive unpacks a tar (plain, gzip, bzip2, xz) or zip archive into an
// existing folder on the host. The archive comes from the control machine
// (streamed to tar's stdin; a zip goes to a temp file for unzip) or, with
// remote_src, from the host. It lists the archive (on the controller when
// it can read it, else on the host), compares every member with what dest
// holds (type; size and mtime of files) in one round trip, and extracts
// only when something differs. Before extracting it backs up the files it
// will overwrite; the journal gets a "created" entry for every path that
// did not exist (parents first, so rollback removes children first) and a
// "modified" entry with the backup for every overwritten file.
type Unarchive struct{}

// arEntry is one archive member, its name as it lands under dest.
type arEntry struct {
	name  string
	kind  byte // 'f' file, 'd' folder, 'l' symlink, 'h' hard link, 'o' other
	size  int64
	mtime int64 // 0: not compared
}

// Exit codes of the unarchive scripts.
const (
	rcNoDest  = 91
	rcNoUnzip = 92
)

// Run implements Module.
func (Unarchive) Run(ctx context.Context, req *Request) (Result, error) {
	var a UnarchiveArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	strip, err := stripComponents(a.ExtraOpts)
	if err != nil {
		return Result{}, err
	}
	if skip, msg, err := unarchivePre(ctx, req.Conn, a); err != nil || skip {
		return Result{Msg: msg, Skipped: skip}, err
	}
	ar, err := openArchive(ctx, req, a)
	if err != nil {
		return Result{}, fmt.Errorf("unarchive %s: %w", a.Src, err)
	}
	members := filterEntries(ar.entries, strip, a.Include, a.Exclude)
	entries := withParents(members)
	st, err := statEntries(ctx, req.Conn, a.Dest, entries)
	if err != nil {
		return Result{}, err
	}
	p, err := planUnarchive(entries, st, a)
	if err != nil {
		return Result{}, err
	}
	res := Result{Data: map[string]any{"dest": a.Dest, "src": a.Src, "format": ar.format}}
	if a.ListFiles {
		names := make([]string, len(members))
		for i, e := range members {
			names[i] = e.name
		}
		res.Data["files"] = names
	}
	if !p.extract && len(p.attrs) == 0 {
		return res, nil
	}
	res.Changed = true
	res.Msg = fmt.Sprintf("%d path(s) to create, %d to overwrite, %d to change attributes", len(p.created), len(p.modified), len(p.attrs))
	if req.Check {
		return res, nil
	}
	return applyUnarchive(ctx, req, a, ar, p, entries, res)
}

// unarchivePre checks that dest is a folder and honours creates, in one
// round trip.
func unarchivePre(ctx context.Context, c Conn, a UnarchiveArgs) (bool, string, error) {
	cmd := "[ -d " + shell.Quote(a.Dest) + " ] || exit " + strconv.Itoa(rcNoDest) + "\n"
	if a.Creates != "" {
		cmd += "if [ -e " + shell.Quote(a.Creates) + " ]; then echo exists; fi\n"
	}
	var out, errb bytes.Buffer
	err := c.Exec(ctx, cmd, nil, &out, &errb)
	if ExitCode(err) == rcNoDest {
		return false, "", fmt.Errorf("unarchive: dest %s must be an existing folder", a.Dest)
	} else if err != nil {
		return false, "", execErr("check", a.Dest, err, &errb)
	}
	if strings.TrimSpace(out.String()) == "exists" {
		return true, fmt.Sprintf("skipped, since %s exists", a.Creates), nil
	}
	return false, "", nil
}

// stripComponents reads --strip-components from extra_opts, so the
// comparison sees the names tar will write.
func stripComponents(opts []string) (int, error) {
	n := 0
	for i, o := range opts {
		v, ok := strings.CutPrefix(o, "--strip-components=")
		if !ok && o == "--strip-components" && i+1 < len(opts) {
			v, ok = opts[i+1], true
		}
		if ok {
			k, err := strconv.Atoi(v)
			if err != nil || k < 0 {
				return 0, fmt.Errorf("parameter \"extra_opts\": bad --strip-components %q", v)
			}
			n = k
		}
	}
	return n, nil
}

// cleanName normalizes a member name ("./a/b/" to "a/b"); "" means the
// archive's root.
func cleanName(n string) string {
	n = path.Clean("/" + n)
	return strings.TrimPrefix(n, "/")
}

// filterEntries applies include and exclude to the names in the archive
// (exact names, folder prefixes or path.Match globs; exclude also matches
// base names, as tar's --exclude does), then strips leading components and
// drops the root, as tar does.
func filterEntries(in []arEntry, strip int, include, exclude []string) []arEntry {
	var out []arEntry
	for _, e := range in {
		orig := cleanName(e.name)
		if orig == "" || len(include) > 0 && !matchAny(include, orig, false) || matchAny(exclude, orig, true) {
			continue
		}
		parts := strings.Split(orig, "/")
		if len(parts) <= strip {
			continue
		}
		e.name = strings.Join(parts[strip:], "/")
		out = append(out, e)
	}
	return out
}

// withParents adds the folders tar creates implicitly (members whose
// parent has no entry of its own), so they are compared and journaled too.
func withParents(in []arEntry) []arEntry {
	seen := map[string]bool{}
	for _, e := range in {
		seen[e.name] = true
	}
	out := in
	for _, e := range in {
		for d := path.Dir(e.name); d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, arEntry{name: d, kind: 'd'})
		}
	}
	return out
}

func matchAny(pats []string, name string, anywhere bool) bool {
	parts := strings.Split(name, "/")
	for _, p := range pats {
		p = cleanName(p)
		// A folder's pattern covers what is inside; unanchored (exclude)
		// patterns may also start at any component, as in tar.
		for i := range parts {
			if i > 0 && !anywhere {
				break
			}
			for j := i + 1; j <= len(parts); j++ {
				if ok, _ := path.Match(p, strings.Join(parts[i:j], "/")); ok {
					return true
				}
			}
		}
	}
	return false
}

// hostStat is what the host says about one path under dest.
type hostStat struct {
	kind         byte
	size, mtime  int64
	owner, group string
	mode         string
	uid, gid     int
}

// statEntries stats every entry under dest with one stat run (through
// xargs); paths missing from the answer do not exist.
func statEntries(ctx context.Context, c Conn, dest string, entries []arEntry) (map[string]hostStat, error) {
	var in bytes.Buffer
	for _, e := range entries {
		in.WriteString(e.name + "\x00")
	}
	cmd := "cd " + shell.Quote(dest) + " || exit 1\nxargs -0 -r stat --printf '%f %s %Y %U %G %u %g %a %n\\0' -- 2>/dev/null; exit 0"
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, cmd, &in, &out, &errb); err != nil {
		return nil, execErr("stat members under", dest, err, &errb)
	}
	st := map[string]hostStat{}
	for _, rec := range strings.Split(out.String(), "\x00") {
		f := strings.SplitN(rec, " ", 9)
		if len(f) < 9 {
			continue
		}
		raw, _ := strconv.ParseUint(f[0], 16, 32)
		var s hostStat
		s.kind = map[string]byte{"file": 'f', "directory": 'd', "link": 'l'}[kindOf(uint32(raw))]
		if s.kind == 0 {
			s.kind = 'o'
		}
		s.size, _ = strconv.ParseInt(f[1], 10, 64)
		s.mtime, _ = strconv.ParseInt(f[2], 10, 64)
		s.owner, s.group = f[3], f[4]
		s.uid, _ = strconv.Atoi(f[5])
		s.gid, _ = strconv.Atoi(f[6])
		s.mode = fmt.Sprintf("%04s", f[7])
		st[f[8]] = s
	}
	return st, nil
}

// unarchivePlan is what extraction would change.
type unarchivePlan struct {
	extract  bool
	created  []string            // paths that do not exist yet, sorted
	modified []string            // existing non-folders that differ
	attrs    map[string]hostStat // existing paths whose attributes differ
	old      map[string]hostStat
}

// planUnarchive compares entries with the host's state.
func planUnarchive(entries []arEntry, st map[string]hostStat, a UnarchiveArgs) (unarchivePlan, error) {
	p := unarchivePlan{attrs: map[string]hostStat{}, old: st}
	for _, e := range entries {
		s, ok := st[e.name]
		switch {
		case !ok:
			p.created = append(p.created, e.name)
			continue
		case e.kind == 'h' || e.kind == 'o':
		case s.kind != e.kind && !(e.kind == 'f' && s.kind == 'o'):
			if s.kind == 'd' {
				return p, fmt.Errorf("unarchive: %s is a folder on the host but not in the archive", e.name)
			}
			p.modified = append(p.modified, e.name)
			continue
		case e.kind == 'f' && (s.size != e.size || e.mtime != 0 && s.mtime != e.mtime):
			p.modified = append(p.modified, e.name)
			continue
		}
		if e.kind == 'l' {
			continue
		}
		mode, err := a.Mode.resolve(s.mode, "0644", s.kind == 'd')
		if err != nil {
			return p, err
		}
		fi := FileInfo{Mode: s.mode, Owner: s.owner, Group: s.group, UID: s.uid, GID: s.gid}
		if _, differ := attrsToApply(fi, Attrs{Mode: mode, Owner: a.Owner, Group: a.Group}); differ {
			p.attrs[e.name] = s
		}
	}
	sort.Strings(p.created)
	p.extract = len(p.created) > 0 || len(p.modified) > 0
	return p, nil
}

// applyUnarchive backs up what extraction overwrites, extracts, applies
// attributes, and journals it all.
func applyUnarchive(ctx context.Context, req *Request, a UnarchiveArgs, ar archiveSrc, p unarchivePlan, entries []arEntry, res Result) (Result, error) {
	backups, err := backupMembers(ctx, req, a.Dest, p.modified)
	if err != nil {
		return Result{}, err
	}
	for _, n := range p.modified {
		s := p.old[n]
		res.Changes = append(res.Changes, Change{Kind: KindFile, Path: path.Join(a.Dest, n), Action: "modified", Existed: true,
			Backup: backups[n], OldMode: s.mode, OldOwner: s.owner, OldGroup: s.group, OldKind: kindWord(s.kind)})
	}
	for _, n := range p.created {
		res.Changes = append(res.Changes, Change{Kind: KindFile, Path: path.Join(a.Dest, n), Action: "created"})
	}
	if p.extract {
		if out, err := ar.extract(ctx, req, a); err != nil && ctx.Err() != nil {
			return landedUnarchive(ctx, req, a, p, entries, res), nil
		} else if err != nil {
			return Result{}, err
		} else if out != nil {
			// What was backed up or partly extracted stays journaled.
			out.Changed, out.Changes, out.Data = true, res.Changes, res.Data
			return *out, nil
		}
	}
	if a.Mode == "" && a.Owner == "" && a.Group == "" {
		return res, nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.kind != 'l' {
			names = append(names, e.name)
		}
	}
	err = setMemberAttrs(ctx, req.Conn, a, names)
	if err != nil && ctx.Err() == nil {
		return Result{}, err
	}
	for n, s := range p.attrs {
		res.Changes = append(res.Changes, Change{Kind: KindFile, Path: path.Join(a.Dest, n), Action: "attrs", Existed: true,
			OldMode: s.mode, OldOwner: s.owner, OldGroup: s.group, OldKind: kindWord(s.kind)})
	}
	if err != nil {
		// Interrupted while setting attributes: every member may have
		// changed, so all of them stay journaled (resetting one that did
		// not change is a no-op).
		res.Failed, res.Msg = true, fmt.Sprintf("interrupted while setting attributes under %s: %v", a.Dest, err)
	}
	return res, nil
}

// landedUnarchive tells, after an extraction was interrupted, what it
// changed: it stats the members again with a fresh short deadline and
// keeps the journal entries of the paths that now exist (created) or
// differ from before (overwritten). When the host cannot be asked, every
// planned entry stays: undoing a change that did not happen is a no-op,
// missing one is not. An extraction that finished before the interruption
// is reported as done; else the result is failed, with what it changed.
func landedUnarchive(ctx context.Context, req *Request, a UnarchiveArgs, p unarchivePlan, entries []arEntry, res Result) Result {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	res.Changed, res.Failed = true, true
	res.Msg = fmt.Sprintf("interrupted while extracting into %s", a.Dest)
	st, err := statEntries(lctx, req.Conn, a.Dest, entries)
	if err != nil {
		return res
	}
	kept := res.Changes[:0:0]
	for _, c := range res.Changes {
		n := strings.TrimPrefix(strings.TrimPrefix(c.Path, a.Dest), "/")
		now, exists := st[n]
		old := p.old[n]
		switch {
		case c.Action == "created" && exists,
			c.Action == "modified" && (now.kind != old.kind || now.size != old.size || now.mtime != old.mtime):
			kept = append(kept, c)
		}
	}
	res.Changes = kept
	if again, err := planUnarchive(entries, st, a); err == nil && !again.extract && len(again.attrs) == 0 {
		res.Failed, res.Msg = false, fmt.Sprintf("%d path(s) created, %d overwritten (the answer was interrupted)", len(p.created), len(p.modified))
	}
	if len(kept) == 0 {
		res.Changed = false
	}
	return res
}

func kindWord(k byte) string {
	return map[byte]string{'f': "file", 'd': "directory", 'l': "link"}[k]
}

// backupMembers saves the files extraction will overwrite as
// NAME+suffix (or NAME+suffix.N), in one round trip, and returns the
// backup of each.
func backupMembers(ctx context.Context, req *Request, dest string, names []string) (map[string]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var in bytes.Buffer
	for _, n := range names {
		in.WriteString(n + "\x00")
	}
	// Names go NUL-separated through xargs (they may hold newlines);
	// numbered backups keep .kplay~ last, as backupCmd's.
	stem, tail := backupSuffix(req), ""
	if strings.HasSuffix(stem, ".kplay~") {
		stem, tail = strings.TrimSuffix(stem, ".kplay~"), ".kplay~"
	}
	loop := `for f do b="$f$S$T"; n=0; while [ -e "$b" ] || [ -L "$b" ]; do n=$((n+1)); b="$f$S.$n$T"; done; ` +
		`cp -P -p -- "$f" "$b" || exit 255; printf '%s\0%s\0' "$f" "$b"; done`
	cmd := "cd " + shell.Quote(dest) + " || exit 1\nS=" + shell.Quote(stem) + " T=" + shell.Quote(tail) +
		" xargs -0 -r sh -c " + shell.Quote(loop) + " sh"
	var out, errb bytes.Buffer
	if err := req.Conn.Exec(ctx, cmd, &in, &out, &errb); err != nil {
		return nil, execErr("back up members under", dest, err, &errb)
	}
	f := strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00")
	m := map[string]string{}
	for i := 0; i+1 < len(f); i += 2 {
		m[f[i]] = path.Join(dest, f[i+1])
	}
	return m, nil
}

// setMemberAttrs applies mode, owner and group to the extracted members
// (never through links), in one round trip.
func setMemberAttrs(ctx context.Context, c Conn, a UnarchiveArgs, names []string) error {
	var in bytes.Buffer
	for _, n := range names {
		in.WriteString(n + "\x00")
	}
	cmd := "cd " + shell.Quote(a.Dest) + " || exit 1\nl=$(mktemp) || exit 1; trap 'rm -f \"$l\"' EXIT; cat > \"$l\" || exit 1\n"
	if a.Mode != "" {
		if !a.Mode.isOctal() {
			return fmt.Errorf("unarchive: mode %q: only octal modes apply to members", a.Mode)
		}
		cmd += "xargs -0 -r chmod " + shell.Quote(string(a.Mode)) + " -- < \"$l\" || exit 1\n"
	}
	if a.Owner != "" || a.Group != "" {
		owner := a.Owner
		if a.Group != "" {
			owner += ":" + a.Group
		}
		cmd += "xargs -0 -r chown -h " + shell.Quote(owner) + " -- < \"$l\" || exit 1\n"
	}
	var errb bytes.Buffer
	if err := c.Exec(ctx, cmd, &in, nil, &errb); err != nil {
		return execErr("set attributes under", a.Dest, err, &errb)
	}
	return nil
}

// archiveSrc is an opened archive: its format, listing, and how to feed it
// to the host's tools.
type archiveSrc struct {
	format  string // "tar", "gz", "bz2", "xz", "zip"
	entries []arEntry
	fsys    fs.FS // controller archive, or nil with remote
	name    string
	remote  string
}
