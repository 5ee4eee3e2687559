package modules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/kplay/kplay/shell"
)

// The line-editing modules (lineinfile, blockinfile, replace) used to need
// three round trips before their write: a stat with checksum, a cat, and a
// probe for missing parent folders. On a fleet each SSH session is an sshd
// fork and a shell exec on the host, so statRead does all three in one
// session (docs/benchmarks.md, "Where kplay's time goes").

// readState is what one statRead round trip learns about a file to edit.
type readState struct {
	fi FileInfo
	// content is the file's bytes when it is a regular file.
	content []byte
	// missing lists the folders above a missing file that do not exist
	// either, outermost first.
	missing []string
	// parentsKnown is false when the path was a dangling link: its
	// target's folders were not probed.
	parentsKnown bool
}

// statRead stats p as statDest does (a link is resolved to the file it
// points to), and in the same round trip sends back a regular file's
// content, or, for a missing file, the folders above it that are missing.
// fi.Checksum is the sha256 of the content, computed here.
func statRead(ctx context.Context, c Conn, p string) (readState, error) {
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, statReadScript(p), nil, &out, &errb); err != nil {
		return readState{}, execErr("read", p, err, &errb)
	}
	st, err := parseStatRead(p, out.Bytes())
	if err != nil {
		return readState{}, fmt.Errorf("read %s: %w", p, err)
	}
	return st, nil
}

// ancestors lists the folders above file, outermost first ("/" and "."
// left out).
func ancestors(file string) []string {
	var dirs []string
	for d := path.Dir(file); d != "/" && d != "." && d != ""; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	return dirs
}

// statReadScript prints the resolved path and a NUL, then either
// statAbsent, a newline and the missing folders (NUL-terminated, only when
// p was no link), or the ten stat lines of parseStat followed by the
// content of a regular file.
func statReadScript(p string) string {
	var b strings.Builder
	b.WriteString("p=" + shell.Quote(p) + "; l=\n")
	b.WriteString(`if [ -L "$p" ]; then l=1; r=$(readlink -f -- "$p" && echo x) || exit 1; r=${r%x}; p=${r%?}; fi` + "\n")
	b.WriteString(`printf '%s\0' "$p"` + "\n")
	b.WriteString(`if ! { [ -e "$p" ] || [ -L "$p" ]; }; then echo ` + statAbsent + "\n")
	if dirs := ancestors(p); len(dirs) > 0 {
		b.WriteString(`[ -n "$l" ] || for d in ` + shell.Join(dirs...) + `; do [ -e "$d" ] || [ -L "$d" ] || printf '%s\0' "$d"; done` + "\n")
	}
	b.WriteString("exit 0; fi\n")
	b.WriteString("stat " + `--printf '%f\n%a\n%u\n%g\n%s\n%Y\n%i\n%d\n%U\n%G\n' -- "$p" || exit 1` + "\n")
	b.WriteString(`if [ -f "$p" ]; then exec cat -- "$p"; fi` + "\n")
	return b.String()
}

// parseStatRead reads statReadScript's output.
func parseStatRead(p string, out []byte) (readState, error) {
	resolved, rest, ok := bytes.Cut(out, []byte{0})
	if !ok {
		return readState{}, fmt.Errorf("unexpected output %q", shortOut(out))
	}
	st := readState{fi: FileInfo{Path: string(resolved)}, parentsKnown: string(resolved) == p}
	if after, ok := bytes.CutPrefix(rest, []byte(statAbsent+"\n")); ok {
		for _, d := range strings.Split(string(after), "\x00") {
			if d != "" {
				st.missing = append(st.missing, d)
			}
		}
		return st, nil
	}
	var lines []string
	for i := 0; i < 10; i++ {
		line, tail, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return readState{}, fmt.Errorf("unexpected stat output %q", shortOut(out))
		}
		lines, rest = append(lines, string(line)), tail
	}
	fi, err := parseStat(string(resolved), strings.Join(lines, "\n")+"\n\n")
	if err != nil {
		return readState{}, err
	}
	st.fi = fi
	if fi.Kind == "file" {
		st.content = rest
		sum := sha256.Sum256(rest)
		st.fi.Checksum = hex.EncodeToString(sum[:])
	}
	return st, nil
}

func shortOut(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}
