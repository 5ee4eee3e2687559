package modules

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kplay/kplay/shell"
)

// FileInfo is what Stat learns about one path on a host in one round trip.
// Modules compare it with what the task asks for to decide whether anything
// would change, and copy it into journal entries so rollback can undo.
type FileInfo struct {
	Path   string
	Exists bool
	// Kind is "file", "directory", "link", or "fifo", "socket", "char",
	// "block" for the rare others.
	Kind string
	// Mode is the permission bits in octal with four digits ("0644",
	// "4755").
	Mode       string
	Owner      string
	Group      string
	UID        int
	GID        int
	Size       int64
	MTime      time.Time
	Inode      uint64
	Device     uint64
	LinkTarget string
	// Checksum is the hex digest of a regular file's content, filled only
	// when StatOptions.Checksum is set (sha256 unless Algorithm says).
	Checksum string
}

// StatOptions tune Stat. The zero value looks at the path itself (a link is
// reported as a link) and computes no checksum.
type StatOptions struct {
	// Follow reports on the file a link points to; a broken link is then
	// reported as not existing.
	Follow bool
	// Checksum asks for the digest of a regular file's content, computed
	// on the host so the content never travels.
	Checksum bool
	// Algorithm is "sha256" (default), "sha1" or "md5".
	Algorithm string
}

// Stat reports on path without following a link and without a checksum.
func Stat(ctx context.Context, c Conn, path string) (FileInfo, error) {
	return StatWith(ctx, c, path, StatOptions{})
}

// statAbsent is printed by the stat script when the path does not exist.
const statAbsent = "kplay-absent"

// StatWith reports on path in one round trip: GNU stat for the metadata, a
// checksum tool when asked, readlink for a link's target. The output has
// one field per line and the link target last, so names with spaces or
// newlines cannot shift the fields.
func StatWith(ctx context.Context, c Conn, path string, o StatOptions) (FileInfo, error) {
	sum, err := checksumTool(o.Algorithm)
	if err != nil {
		return FileInfo{}, err
	}
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, statScript(path, o, sum), nil, &out, &errb); err != nil {
		return FileInfo{}, execErr("stat", path, err, &errb)
	}
	fi, err := parseStat(path, out.String())
	if err != nil {
		return FileInfo{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return fi, nil
}

func checksumTool(alg string) (string, error) {
	switch alg {
	case "", "sha256":
		return "sha256sum", nil
	case "sha1":
		return "sha1sum", nil
	case "md5":
		return "md5sum", nil
	}
	return "", fmt.Errorf("unsupported checksum algorithm %q (sha256, sha1, md5)", alg)
}

func statScript(path string, o StatOptions, sum string) string {
	var b strings.Builder
	b.WriteString("p=" + shell.Quote(path) + "\n")
	exists := `[ -e "$p" ] || [ -L "$p" ]`
	flag := ""
	if o.Follow {
		exists, flag = `[ -e "$p" ]`, "-L "
	}
	b.WriteString("if ! { " + exists + "; }; then echo " + statAbsent + "; exit 0; fi\n")
	b.WriteString("stat " + flag + `--printf '%f\n%a\n%u\n%g\n%s\n%Y\n%i\n%d\n%U\n%G\n' -- "$p" || exit 1` + "\n")
	if o.Checksum {
		// The digest tool prints "<hex>  -"; parseStat keeps the first
		// word (no cut: one process less per checksum).
		b.WriteString(`if [ -f "$p" ]; then ` + sum + ` < "$p" || exit 1; else echo; fi` + "\n")
	} else {
		b.WriteString("echo\n")
	}
	if !o.Follow {
		b.WriteString(`if [ -L "$p" ]; then readlink -- "$p" || exit 1; fi` + "\n")
	}
	return b.String()
}

// parseStat reads the stat script's output: ten metadata lines, the
// checksum line, then the link target (which may itself hold newlines).
func parseStat(path, out string) (FileInfo, error) {
	fi := FileInfo{Path: path}
	if strings.TrimSpace(out) == statAbsent {
		return fi, nil
	}
	lines := strings.SplitN(out, "\n", 12)
	if len(lines) < 11 {
		return fi, fmt.Errorf("unexpected stat output %q", out)
	}
	raw, err := strconv.ParseUint(lines[0], 16, 32)
	if err != nil {
		return fi, fmt.Errorf("parse raw mode %q: %w", lines[0], err)
	}
	perm, err := strconv.ParseUint(lines[1], 8, 32)
	if err != nil {
		return fi, fmt.Errorf("parse mode %q: %w", lines[1], err)
	}
	nums := make([]int64, 6)
	for i := range nums {
		if nums[i], err = strconv.ParseInt(lines[2+i], 10, 64); err != nil {
			return fi, fmt.Errorf("parse stat field %q: %w", lines[2+i], err)
		}
	}
	fi.Exists = true
	fi.Kind = kindOf(uint32(raw))
	fi.Mode = fmt.Sprintf("%04o", perm)
	fi.UID, fi.GID, fi.Size = int(nums[0]), int(nums[1]), nums[2]
	fi.MTime = time.Unix(nums[3], 0)
	fi.Inode, fi.Device = uint64(nums[4]), uint64(nums[5])
	fi.Owner, fi.Group = lines[8], lines[9]
	fi.Checksum, _, _ = strings.Cut(lines[10], " ")
	if fi.Kind == "link" && len(lines) == 12 {
		fi.LinkTarget = strings.TrimSuffix(lines[11], "\n")
	}
	return fi, nil
}

// kindOf maps the file type bits of st_mode to a Kind word.
func kindOf(raw uint32) string {
	switch raw & 0o170000 {
	case 0o100000:
		return "file"
	case 0o040000:
		return "directory"
	case 0o120000:
		return "link"
	case 0o010000:
		return "fifo"
	case 0o140000:
		return "socket"
	case 0o020000:
		return "char"
	case 0o060000:
		return "block"
	}
	return "other"
}

// ReadFile streams the content of path on the host into w (cat), so large
// files never sit in memory.
func ReadFile(ctx context.Context, c Conn, path string, w io.Writer) error {
	var errb bytes.Buffer
	if err := c.Exec(ctx, "cat -- "+shell.Quote(path), nil, w, &errb); err != nil {
		return execErr("read", path, err, &errb)
	}
	return nil
}

// readAll reads a whole (small, already stat-ed) file into memory, for the
// modules that edit text.
func readAll(ctx context.Context, c Conn, path string) ([]byte, error) {
	var b bytes.Buffer
	if err := ReadFile(ctx, c, path, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Checksum returns the sha256 of a regular file on the host, computed there.
func Checksum(ctx context.Context, c Conn, path string) (string, error) {
	fi, err := StatWith(ctx, c, path, StatOptions{Follow: true, Checksum: true})
	if err != nil {
		return "", err
	}
	if !fi.Exists || fi.Kind != "file" {
		return "", fmt.Errorf("checksum %s: not a regular file", path)
	}
	return fi.Checksum, nil
}

// RealPath resolves every link in path on the host (readlink -f), so that
// writes through a link change the file it points to, as Ansible does.
func RealPath(ctx context.Context, c Conn, path string) (string, error) {
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, "readlink -f -- "+shell.Quote(path), nil, &out, &errb); err != nil {
		return "", execErr("resolve", path, err, &errb)
	}
	return strings.TrimSuffix(out.String(), "\n"), nil
}

// execErr names the operation and the path, adds what the command said on
// stderr, and keeps err last for errors.Is.
func execErr(op, path string, err error, errb *bytes.Buffer) error {
	s := strings.TrimSpace(errb.String())
	if len(s) > 2000 {
		s = s[:2000] + "..."
	}
	if s == "" {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	return fmt.Errorf("%s %s: %s: %w", op, path, s, err)
}
