package modules

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kplay/kplay/shell"
)

// openArchive finds the archive's format and lists its members: a
// controller archive is read here (xz through the local xz tool, or on the
// host when it is missing), a remote one on the host.
func openArchive(ctx context.Context, req *Request, a UnarchiveArgs) (archiveSrc, error) {
	if a.RemoteSrc {
		ar := archiveSrc{remote: a.Src, format: formatByName(a.Src)}
		if ar.format == "" {
			head, err := remoteHead(ctx, req.Conn, a.Src)
			if err != nil {
				return ar, err
			}
			ar.format = formatByMagic(head)
		}
		if ar.format == "" {
			return ar, errors.New("not a tar, tar.gz, tar.bz2, tar.xz or zip archive")
		}
		entries, err := ar.listOnHost(ctx, req.Conn)
		ar.entries = entries
		return ar, err
	}
	fsys, name, err := openSource(req, "files", a.Src)
	if err != nil {
		return archiveSrc{}, err
	}
	ar := archiveSrc{fsys: fsys, name: name, format: formatByName(name)}
	if ar.format == "" {
		head := make([]byte, 512)
		f, err := fsys.Open(name)
		if err != nil {
			return ar, err
		}
		n, _ := io.ReadFull(f, head)
		f.Close()
		if ar.format = formatByMagic(head[:n]); ar.format == "" {
			return ar, errors.New("not a tar, tar.gz, tar.bz2, tar.xz or zip archive")
		}
	}
	ar.entries, err = ar.listLocal(ctx, req.Conn)
	return ar, err
}

// formatByName knows the usual extensions.
func formatByName(n string) string {
	l := strings.ToLower(n)
	for _, s := range []struct{ ext, format string }{
		{".tar.gz", "gz"}, {".tgz", "gz"}, {".tar.bz2", "bz2"}, {".tbz2", "bz2"}, {".tbz", "bz2"},
		{".tar.xz", "xz"}, {".txz", "xz"}, {".tar", "tar"}, {".zip", "zip"},
	} {
		if strings.HasSuffix(l, s.ext) {
			return s.format
		}
	}
	return ""
}

// formatByMagic looks at the first bytes.
func formatByMagic(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return "gz"
	case bytes.HasPrefix(b, []byte("BZh")):
		return "bz2"
	case bytes.HasPrefix(b, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return "zip"
	case len(b) >= 262 && string(b[257:262]) == "ustar":
		return "tar"
	}
	return ""
}

// remoteHead reads the first 512 bytes of a file on the host (as hex, so
// the bytes survive any transport).
func remoteHead(ctx context.Context, c Conn, p string) ([]byte, error) {
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, "head -c 512 -- "+shell.Quote(p)+" | od -An -tx1 -v", nil, &out, &errb); err != nil {
		return nil, execErr("read", p, err, &errb)
	}
	return hex.DecodeString(strings.Join(strings.Fields(out.String()), ""))
}

func (ar archiveSrc) open() (io.ReadCloser, error) { return ar.fsys.Open(ar.name) }

// listLocal reads the member list on the controller.
func (ar archiveSrc) listLocal(ctx context.Context, c Conn) ([]arEntry, error) {
	if ar.format == "zip" {
		return ar.listZip()
	}
	f, err := ar.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	switch ar.format {
	case "gz":
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		r = zr
	case "bz2":
		r = bzip2.NewReader(f)
	case "xz":
		if _, err := exec.LookPath("xz"); err != nil {
			return ar.listOnHost(ctx, c)
		}
		return listXZ(ctx, f)
	}
	return listTar(r)
}

// listXZ lists a tar.xz through the local xz tool, streaming (the
// decompressed archive may be far larger than memory should hold).
func listXZ(ctx context.Context, f io.Reader) ([]arEntry, error) {
	cmd := exec.CommandContext(ctx, "xz", "-dc")
	cmd.Stdin = f
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("xz -dc: %w", err)
	}
	entries, lerr := listTar(out)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("xz -dc: %s: %w", strings.TrimSpace(errb.String()), err)
	}
	return entries, lerr
}

// listTar reads tar headers.
func listTar(r io.Reader) ([]arEntry, error) {
	tr := tar.NewReader(r)
	var entries []arEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			return nil, err
		}
		e := arEntry{name: h.Name, kind: 'o'}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			e.kind, e.size, e.mtime = 'f', h.Size, h.ModTime.Unix()
		case tar.TypeDir:
			e.kind = 'd'
		case tar.TypeSymlink:
			e.kind = 'l'
		case tar.TypeLink:
			e.kind = 'h'
		}
		entries = append(entries, e)
	}
}

// listZip reads a zip's central directory (mtimes are not compared: unzip
// restores them in the host's time zone).
func (ar archiveSrc) listZip() ([]arEntry, error) {
	f, err := ar.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	st, err := f.(fs.File).Stat()
	if err != nil {
		return nil, err
	}
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		ra = bytes.NewReader(b)
	}
	zr, err := zip.NewReader(ra, st.Size())
	if err != nil {
		return nil, err
	}
	var entries []arEntry
	for _, zf := range zr.File {
		e := arEntry{name: zf.Name, kind: 'f', size: int64(zf.UncompressedSize64)}
		if strings.HasSuffix(zf.Name, "/") || zf.Mode().IsDir() {
			e = arEntry{name: zf.Name, kind: 'd'}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

var (
	tarLineRe = regexp.MustCompile(`^(\S)\S*\s+\S+\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s(.*)$`)
	zipLineRe = regexp.MustCompile(`^\s*(\d+)\s+\S+\s+\S+\s+(.+)$`)
)

// listOnHost lists the archive with the host's tar or unzip (streaming a
// controller archive to it).
func (ar archiveSrc) listOnHost(ctx context.Context, c Conn) ([]arEntry, error) {
	src, stdin, err := ar.input()
	if err != nil {
		return nil, err
	}
	if stdin != nil {
		defer stdin.Close()
	}
	cmd := "TZ=UTC tar -t -v --full-time --quoting-style=literal -f " + src + tarFlag(ar.format)
	if ar.format == "zip" {
		cmd = "command -v unzip >/dev/null 2>&1 || exit " + strconv.Itoa(rcNoUnzip) + "\nunzip -l " + src
	}
	var out, errb bytes.Buffer
	err = c.Exec(ctx, cmd, readerOrNil(stdin), &out, &errb)
	if ExitCode(err) == rcNoUnzip {
		return nil, errors.New("unzip is not installed on the host")
	} else if err != nil {
		return nil, execErr("list", ar.label(), err, &errb)
	}
	if ar.format == "zip" {
		return parseZipList(out.String()), nil
	}
	return parseTarList(out.String()), nil
}

func readerOrNil(r io.ReadCloser) io.Reader {
	if r == nil {
		return nil
	}
	return r
}

func (ar archiveSrc) label() string {
	if ar.remote != "" {
		return ar.remote
	}
	return ar.name
}

// input is the archive operand for tar/unzip: the quoted remote path, or
// "-" with the controller file as stdin.
func (ar archiveSrc) input() (string, io.ReadCloser, error) {
	if ar.remote != "" {
		return shell.Quote(ar.remote), nil, nil
	}
	f, err := ar.open()
	return "-", f, err
}

func tarFlag(format string) string {
	return map[string]string{"gz": " -z", "bz2": " -j", "xz": " -J"}[format]
}

// parseTarList reads GNU tar -tv --full-time output (times in UTC).
func parseTarList(out string) []arEntry {
	var entries []arEntry
	for _, line := range strings.Split(out, "\n") {
		m := tarLineRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		e := arEntry{name: m[4], kind: 'o'}
		switch m[1] {
		case "-":
			e.kind = 'f'
			e.size, _ = strconv.ParseInt(m[2], 10, 64)
			if t, err := time.Parse("2006-01-02 15:04:05", m[3]); err == nil {
				e.mtime = t.Unix()
			}
		case "d":
			e.kind = 'd'
		case "l":
			e.kind = 'l'
			e.name, _, _ = strings.Cut(e.name, " -> ")
		case "h":
			e.kind = 'h'
			e.name, _, _ = strings.Cut(e.name, " link to ")
		}
		entries = append(entries, e)
	}
	return entries
}

// parseZipList reads unzip -l output.
func parseZipList(out string) []arEntry {
	var entries []arEntry
	for _, line := range strings.Split(out, "\n") {
		m := zipLineRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if strings.HasSuffix(m[2], "/") {
			entries = append(entries, arEntry{name: m[2], kind: 'd'})
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		entries = append(entries, arEntry{name: m[2], kind: 'f', size: n})
	}
	return entries
}

// extract runs tar or unzip on the host; a failing tool is a failed
// Result carrying its output.
func (ar archiveSrc) extract(ctx context.Context, req *Request, a UnarchiveArgs) (*Result, error) {
	src, stdin, err := ar.input()
	if err != nil {
		return nil, err
	}
	if stdin != nil {
		defer stdin.Close()
	}
	dest := shell.Quote(a.Dest)
	var cmd string
	if ar.format == "zip" {
		cmd = "command -v unzip >/dev/null 2>&1 || exit " + strconv.Itoa(rcNoUnzip) + "\n"
		if stdin != nil {
			cmd += "umask 077; z=$(mktemp) || exit 1; trap 'rm -f \"$z\"' EXIT; cat > \"$z\" || exit 1\n"
			src = `"$z"`
		}
		cmd += "unzip -o -q " + shell.Join(a.ExtraOpts...) + " " + src + " " + shell.Join(a.Include...)
		if len(a.Exclude) > 0 {
			cmd += " -x " + shell.Join(a.Exclude...)
		}
		cmd += " -d " + dest
	} else {
		// --no-unquote: GNU tar would otherwise read backslash escapes in
		// the -C folder and the member names ("a\\b" is a\b to it).
		cmd = "tar --no-unquote -x -f " + src + tarFlag(ar.format) + " -C " + dest + " " + shell.Join(a.ExtraOpts...)
		for _, x := range a.Exclude {
			cmd += " --exclude=" + shell.Quote(x)
		}
		if len(a.Include) > 0 {
			if strings.ContainsAny(strings.Join(a.Include, ""), "*?[") {
				cmd += " --wildcards"
			}
			cmd += " -- " + shell.Join(a.Include...)
		}
	}
	var out bytes.Buffer
	err = req.Conn.Exec(ctx, cmd, readerOrNil(stdin), &out, &out)
	switch rc := ExitCode(err); {
	case rc == 0:
		return nil, nil
	case rc == rcNoUnzip:
		return nil, errors.New("unarchive: unzip is not installed on the host")
	case rc > 0:
		return &Result{Failed: true, RC: rc, Msg: fmt.Sprintf("extracting %s into %s failed", ar.label(), a.Dest),
			Stderr: strings.TrimSpace(out.String())}, nil
	}
	return nil, err
}
