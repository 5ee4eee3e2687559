package modules

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/kplay/kplay/shell"
)

// Each SSH session costs the host an sshd fork and a shell exec, which on a
// fleet sharing a few cores is most of a task's time (docs/benchmarks.md).
// The file module's two most common states therefore do their looking and
// their work in as few round trips as the checks allow: a new folder is
// created by the same script that found it missing, and a link is settled
// (already right, or made) by the script that looks at it and its source.

// createdMarker starts statOrMkdir's output when it created the folder.
const createdMarker = "kplay-created"

// statOrMkdir stats a.Path; when nothing is there, the same script creates
// the folder and its missing parents, gives every folder it made the mode
// and owner asked (as Ansible does), and lists them. made tells that res
// is the final result of that creation; otherwise fi is the stat.
func statOrMkdir(ctx context.Context, req *Request, a FileArgs) (fi FileInfo, res Result, made bool, err error) {
	mode, err := a.Mode.resolve("", "0755", true)
	if err != nil {
		return FileInfo{}, Result{}, false, err
	}
	attrs := Attrs{Mode: mode, Owner: a.Owner, Group: a.Group}
	var out, errb bytes.Buffer
	xerr := req.Conn.Exec(ctx, statOrMkdirScript(a.Path, attrs), nil, &out, &errb)
	list, ok := strings.CutPrefix(out.String(), createdMarker+"\n")
	if xerr != nil && (!ok || list == "" || ExitCode(xerr) < 0) {
		return FileInfo{}, Result{}, false, execErr("stat or create folder", a.Path, xerr, &errb)
	}
	if !ok {
		fi, err := parseStat(a.Path, out.String())
		if err != nil {
			return FileInfo{}, Result{}, false, fmt.Errorf("stat %s: %w", a.Path, err)
		}
		return fi, Result{}, false, nil
	}
	res = Result{Changed: true, Msg: "directory created"}
	if req.Diff {
		res.Diff = []Diff{{Path: a.Path, Before: "absent\n", After: "directory\n"}}
	}
	for _, d := range strings.Split(list, "\x00") {
		if d != "" {
			res.Changes = append(res.Changes, Change{Kind: KindFile, Path: d, Action: "created"})
		}
	}
	if xerr != nil {
		// The folders were made but their mode or owner was refused (an
		// unknown user): a failed result keeps the journal entries, so
		// rollback removes them.
		res.Changed, res.Failed = false, true
		res.Msg = execErr("set attributes of", a.Path, xerr, &errb).Error()
	}
	return FileInfo{Path: a.Path}, res, true, nil
}

// statOrMkdirScript prints the stat of an existing p (statScript's
// output), or createdMarker and the folders it created, NUL-terminated,
// outermost first. The folders to check are listed as mkdirJournal lists
// them.
func statOrMkdirScript(p string, attrs Attrs) string {
	var dirs []string
	for d := p; d != "/" && d != "." && d != ""; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	var b strings.Builder
	b.WriteString("p=" + shell.Quote(p) + "\n")
	b.WriteString(`if ! { [ -e "$p" ] || [ -L "$p" ]; }; then` + "\n")
	b.WriteString("echo " + createdMarker + "\nset --\n")
	if len(dirs) > 0 {
		b.WriteString("for d in " + shell.Join(dirs...) + `; do [ -e "$d" ] || [ -L "$d" ] || set -- "$@" "$d"; done` + "\n")
	}
	// The folders made are listed before their attributes are set, so a
	// refused owner still reports them.
	b.WriteString(`umask 022; mkdir -p -- "$p" || exit 1` + "\n")
	b.WriteString("if [ $# -gt 0 ]; then\n" + `printf '%s\0' "$@"` + "\n")
	if attrs.Mode != "" {
		b.WriteString("chmod " + shell.Quote(attrs.Mode) + ` -- "$@" || exit 1` + "\n")
	}
	b.WriteString(chownCmd(`"$@"`, attrs))
	b.WriteString("fi\nexit 0\nfi\n")
	b.WriteString(statScript(p, StatOptions{}, ""))
	return b.String()
}

// Markers of statTwoOrLink's output.
const (
	linkedMarker = "kplay-linked\n"
	sameMarker   = "kplay-same\n"
)

// statTwoOrLink settles the two common cases of state=link in the round
// trip that looks: a link already pointing at a.Src (nothing to do), and,
// outside check mode, nothing at a.Path while its source exists (the link
// is made). Otherwise it stats both (statTwoScript) and done is false.
// a.Src is set and a.Force is not.
func statTwoOrLink(ctx context.Context, req *Request, a FileArgs) (fi, src FileInfo, res Result, done bool, err error) {
	tmp, err := tempName(a.Path)
	if err != nil {
		return fi, src, res, false, err
	}
	p, q, s := shell.Quote(a.Path), shell.Quote(tmp), shell.Quote(a.Src)
	var b strings.Builder
	// $(...) drops trailing newlines: a target ending in one is never
	// "same" here and goes the long way, which compares exactly.
	b.WriteString("if [ -L " + p + " ] && [ \"$(readlink -- " + p + ")\" = " + s + " ]; then echo " + strings.TrimSpace(sameMarker) + "; exit 0; fi\n")
	if !req.Check {
		b.WriteString("if ! { [ -e " + p + " ] || [ -L " + p + " ]; } && [ -e " + shell.Quote(linkSource(a)) + " ]; then\n" +
			"ln -s -- " + s + " " + p + " 2>/dev/null || { ln -s -- " + s + " " + q + " && mv -Tf -- " + q + " " + p + " || { rm -f -- " + q + "; exit 1; }; }\n" +
			"echo " + strings.TrimSpace(linkedMarker) + "; exit 0\nfi\n")
	}
	b.WriteString(statTwoScript(a.Path, linkSource(a)))
	var out, errb bytes.Buffer
	if err := req.Conn.Exec(ctx, b.String(), nil, &out, &errb); err != nil {
		return fi, src, res, false, execErr("link", a.Path, err, &errb)
	}
	switch out.String() {
	case sameMarker:
		return fi, src, Result{}, true, nil
	case linkedMarker:
		res = Result{Changed: true, Msg: "link created", Changes: []Change{fileChange(FileInfo{Path: a.Path}, "created")}}
		if req.Diff {
			res.Diff = []Diff{{Path: a.Path, Before: "absent\n", After: "link -> " + a.Src + "\n"}}
		}
		return fi, src, res, true, nil
	}
	fi, src, err = parseStatTwo(a.Path, linkSource(a), out.String())
	return fi, src, res, false, err
}

// statTwoSep separates the two stats of statTwoScript (no path holds a
// NUL): p as it is (a link as a link), then src followed.
const statTwoSep = "\x00kplay-next\x00"

func statTwoScript(p, src string) string {
	return "( " + statScript(p, StatOptions{}, "") + ") || exit 1\nprintf '\\000kplay-next\\000'\n" +
		statScript(src, StatOptions{Follow: true}, "")
}

func parseStatTwo(p, src, out string) (FileInfo, FileInfo, error) {
	first, second, ok := strings.Cut(out, statTwoSep)
	if !ok {
		return FileInfo{}, FileInfo{}, fmt.Errorf("stat %s: unexpected output %q", p, out)
	}
	fi, err := parseStat(p, first)
	if err != nil {
		return FileInfo{}, FileInfo{}, fmt.Errorf("stat %s: %w", p, err)
	}
	si, err := parseStat(src, second)
	if err != nil {
		return FileInfo{}, FileInfo{}, fmt.Errorf("stat %s: %w", src, err)
	}
	return fi, si, nil
}
