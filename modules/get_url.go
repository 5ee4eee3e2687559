package modules

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kplay/kplay/shell"
)

// GetURLArgs are the arguments of get_url.
type GetURLArgs struct {
	URL           string            `arg:"url"`
	Src           string            `arg:"src"`
	Dest          string            `arg:"dest,required"`
	Checksum      string            `arg:"checksum"`
	Mode          FileMode          `arg:"mode"`
	Owner         string            `arg:"owner"`
	Group         string            `arg:"group"`
	Force         bool              `arg:"force"`
	Backup        bool              `arg:"backup"`
	Headers       map[string]string `arg:"headers"`
	Timeout       int               `arg:"timeout"`
	ValidateCerts *bool             `arg:"validate_certs"`
	URLUsername   string            `arg:"url_username|username"`
	URLPassword   string            `arg:"url_password|password"`
}

// GetURL downloads a file onto the host. The download happens on the host
// (curl, else wget) into a temp file next to dest, is checked against
// checksum, and only then renamed over dest, so a failed or wrong download
// never touches dest. Offline, a file:// URL or src names a file on the
// control machine (an artifact folder, or files/ of the role), which is
// streamed through the connection with the shared atomic write instead.
// An existing dest is kept when its checksum matches, or when no checksum
// is given and force is off.
type GetURL struct{}

// Exit codes of the download script.
const (
	rcHTTP     = 94
	rcMismatch = 96
	rcNoDir    = 93
)

// Run implements Module.
func (GetURL) Run(ctx context.Context, req *Request) (Result, error) {
	var a GetURLArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if (a.URL == "") == (a.Src == "") {
		return Result{}, fmt.Errorf("get_url: exactly one of url or src is required")
	}
	alg, want, err := parseChecksum(a.Checksum)
	if err != nil {
		return Result{}, fmt.Errorf("get_url %s: %w", a.Dest, err)
	}
	if src, ok := strings.CutPrefix(a.URL, "file://"); ok {
		a.Src = src
	}
	if a.Src != "" {
		return getLocal(ctx, req, a, alg, want)
	}
	hr := httpRequest{URL: a.URL, Method: "GET", Headers: a.Headers, User: a.URLUsername, Password: a.URLPassword,
		ValidateCerts: a.ValidateCerts == nil || *a.ValidateCerts, Timeout: a.Timeout, Follow: true}
	if hr.Timeout == 0 {
		hr.Timeout = 10
	}
	if err := hr.validate(); err != nil {
		return Result{}, fmt.Errorf("get_url %s: %w", a.Dest, err)
	}
	if strings.HasPrefix(want, "http://") || strings.HasPrefix(want, "https://") || strings.HasPrefix(want, "ftp://") {
		if want, err = fetchChecksum(ctx, req.Conn, hr, want, alg); err != nil {
			return Result{}, fmt.Errorf("get_url %s: %w", a.Dest, err)
		}
	}
	return getRemote(ctx, req, a, hr, alg, want)
}

var hexRe = regexp.MustCompile(`^[0-9a-fA-F]+$`)

// parseChecksum splits "ALG:HEX" or "ALG:URL"; algorithms are those the
// host has tools for (sha256, sha1, md5).
func parseChecksum(s string) (alg, want string, err error) {
	if s == "" {
		return "", "", nil
	}
	alg, want, ok := strings.Cut(s, ":")
	if !ok || want == "" {
		return "", "", fmt.Errorf("parameter \"checksum\": %q is not ALGORITHM:HEX or ALGORITHM:URL", s)
	}
	alg = strings.ToLower(alg)
	if _, err := checksumTool(alg); err != nil {
		return "", "", fmt.Errorf("parameter \"checksum\": %w", err)
	}
	if strings.Contains(want, "://") {
		return alg, want, nil
	}
	if !hexRe.MatchString(want) || len(want) != map[string]int{"sha256": 64, "sha1": 40, "md5": 32}[alg] {
		return "", "", fmt.Errorf("parameter \"checksum\": %q is not a %s digest", want, alg)
	}
	return alg, strings.ToLower(want), nil
}

// fetchChecksum downloads a checksum file on the host and picks the digest
// for the URL's file name (or the only digest in the file).
func fetchChecksum(ctx context.Context, c Conn, hr httpRequest, sumURL, alg string) (string, error) {
	name := path.Base(urlPath(hr.URL))
	hr.URL = sumURL
	resp, err := httpDo(ctx, c, hr, `"$w/out"`, true, "")
	if err != nil {
		return "", err
	}
	if resp.rc != 0 || resp.code/100 != 2 {
		return "", fmt.Errorf("fetch checksum %s: status %d: %s", sumURL, resp.code, resp.errText())
	}
	return pickChecksum(string(resp.content), name, alg, sumURL)
}

// pickChecksum finds name's digest in a sha256sum-style listing.
func pickChecksum(listing, name, alg, from string) (string, error) {
	var only []string
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) == 1 {
			only = append(only, f[0])
		}
		if len(f) >= 2 && strings.TrimPrefix(strings.TrimPrefix(f[1], "*"), "./") == name {
			only = []string{f[0]}
			break
		}
	}
	if len(only) != 1 {
		return "", fmt.Errorf("checksum file %s has no digest for %s", from, name)
	}
	_, want, err := parseChecksum(alg + ":" + only[0])
	return want, err
}

func urlPath(u string) string {
	s := u
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "/"); i >= 0 {
		return s[i:]
	}
	return "/"
}

// getLocal copies a controller file with the shared write path.
func getLocal(ctx context.Context, req *Request, a GetURLArgs, alg, want string) (Result, error) {
	if strings.Contains(want, "://") {
		return Result{}, fmt.Errorf("get_url %s: a checksum URL needs a url, not src", a.Dest)
	}
	fsys, name, err := openSource(req, "files", a.Src)
	if err != nil {
		return Result{}, fmt.Errorf("get_url %s: %w", a.Dest, err)
	}
	open := func() (io.ReadCloser, error) { return fsys.Open(name) }
	c, err := streamContent(open)
	if err != nil {
		return Result{}, fmt.Errorf("get_url: read %s: %w", a.Src, err)
	}
	if want != "" {
		got, err := fileDigest(fsys, name, alg)
		if err != nil {
			return Result{}, fmt.Errorf("get_url: read %s: %w", a.Src, err)
		}
		if got != want {
			return Result{Failed: true, Msg: fmt.Sprintf("the %s checksum of %s is %s, not %s", alg, a.Src, got, want)}, nil
		}
	}
	dest, fi, err := resolveDest(ctx, req.Conn, a.Dest, a.Src, "")
	if err != nil {
		return Result{}, err
	}
	spec := putSpec{dest: dest, content: c, mode: a.Mode, owner: a.Owner, group: a.Group, backup: a.Backup,
		force: a.Force || want != ""}
	if fi.Exists && fi.Kind == "file" && !spec.force {
		return attrsOnly(ctx, req, a, fi)
	}
	res, err := putFile(ctx, req, spec, fi)
	if res.Data != nil {
		res.Data["url"] = a.URL
	}
	return res, err
}

// fileDigest hashes a controller file with alg.
func fileDigest(fsys fs.FS, name, alg string) (string, error) {
	h := map[string]func() hash.Hash{"sha256": sha256.New, "sha1": sha1.New, "md5": md5.New}[alg]()
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// resolveDest stats dest (through links) with a checksum by alg; a folder
// gets the source's base name appended, as Ansible does.
func resolveDest(ctx context.Context, c Conn, dest, src, alg string) (string, FileInfo, error) {
	fi, err := StatWith(ctx, c, dest, StatOptions{Follow: true, Checksum: true, Algorithm: alg})
	if err != nil {
		return "", fi, err
	}
	if fi.Kind == "directory" {
		base := path.Base(urlPath(src))
		if base == "/" || base == "." || base == "" {
			return "", fi, fmt.Errorf("get_url %s: dest is a folder and %s names no file", dest, src)
		}
		dest = path.Join(dest, base)
		fi, err = StatWith(ctx, c, dest, StatOptions{Follow: true, Checksum: true, Algorithm: alg})
	}
	if err == nil && fi.Exists && fi.Kind != "file" {
		err = fmt.Errorf("get_url %s: destination is a %s", dest, fi.Kind)
	}
	fi.Path = dest
	return dest, fi, err
}

// attrsOnly keeps an existing dest's content and applies mode and owner.
func attrsOnly(ctx context.Context, req *Request, a GetURLArgs, fi FileInfo) (Result, error) {
	mode, err := a.Mode.resolve(fi.Mode, "0644", false)
	if err != nil {
		return Result{}, err
	}
	data := map[string]any{"dest": fi.Path, "url": a.URL, "checksum_dest": fi.Checksum}
	delta, differ := attrsToApply(fi, Attrs{Mode: mode, Owner: a.Owner, Group: a.Group})
	if !differ {
		return Result{Msg: "file already exists", Data: data}, nil
	}
	res := Result{Changed: true, Data: data, Msg: "attributes changed"}
	if req.Check {
		res.Msg = "attributes would change"
		return res, nil
	}
	if err := SetAttrs(ctx, req.Conn, fi.Path, delta); err != nil {
		return Result{}, err
	}
	res.Changes = []Change{{Kind: KindFile, Path: fi.Path, Action: "attrs", Existed: true, OldMode: fi.Mode,
		OldOwner: fi.Owner, OldGroup: fi.Group, OldKind: "file"}}
	return res, nil
}

// getRemote downloads on the host unless dest is already right.
func getRemote(ctx context.Context, req *Request, a GetURLArgs, hr httpRequest, alg, want string) (Result, error) {
	if alg == "" {
		alg = "sha256"
	}
	dest, fi, err := resolveDest(ctx, req.Conn, a.Dest, a.URL, alg)
	if err != nil {
		return Result{}, err
	}
	a.Dest = dest
	if fi.Exists && ((want != "" && fi.Checksum == want) || (want == "" && !a.Force)) {
		return attrsOnly(ctx, req, a, fi)
	}
	res := Result{Changed: true, Data: map[string]any{"dest": dest, "url": a.URL}}
	if req.Check {
		res.Msg = map[bool]string{true: "file would be downloaded again", false: "file would be downloaded"}[fi.Exists]
		return res, nil
	}
	mode, err := a.Mode.resolve(fi.Mode, "0644", false)
	if err != nil {
		return Result{}, err
	}
	tmp, err := tempName(dest)
	if err != nil {
		return Result{}, err
	}
	o := WriteOptions{Attrs: Attrs{Mode: mode, Owner: a.Owner, Group: a.Group}}
	if fi.Exists {
		o.BackupSuffix = backupSuffix(req)
	}
	out, err := download(ctx, req.Conn, hr, dest, tmp, alg, want, o)
	if err != nil && ctx.Err() != nil {
		// Interrupted: the rename may have happened before the script was
		// ended. If the download is in place, report the change so the
		// journal has it, as copy does.
		if b, ok := downloadLanded(ctx, req, dest, alg, cmp.Or(out.sum, want), fi); ok {
			out, err = downloaded{sum: cmp.Or(out.sum, want), backup: b}, nil
		}
	}
	if err != nil || out.failed != "" {
		return Result{Failed: err == nil, Msg: out.failed, Data: res.Data}, err
	}
	res.Data["checksum_src"] = out.sum
	if out.same {
		return attrsOnly(ctx, req, a, fi)
	}
	ch := Change{Kind: KindFile, Path: dest, Action: "created", OldKind: fi.Kind}
	if fi.Exists {
		ch = Change{Kind: KindFile, Path: dest, Action: "modified", Existed: true, Backup: out.backup,
			OldMode: fi.Mode, OldOwner: fi.Owner, OldGroup: fi.Group, OldKind: "file"}
		if a.Backup {
			res.Data["backup_file"] = out.backup
		}
	}
	res.Msg, res.Changes = "file downloaded", []Change{ch}
	return res, nil
}

// downloaded is what the download script reports.
type downloaded struct {
	sum, backup, failed string
	same                bool
}

// download fetches hr into tmp (created exclusively next to dest), checks
// its digest, and renames it over dest with mode, owner and a backup of
// the old file, all in one round trip. A digest equal to the existing
// dest's leaves dest alone (same).
func download(ctx context.Context, c Conn, hr httpRequest, dest, tmp, alg, want string, o WriteOptions) (downloaded, error) {
	sum, _ := checksumTool(alg)
	script, stdin := httpScript(hr, `"$t"`, true, `rm -f -- "$t"`)
	var b strings.Builder
	b.WriteString("d=" + shell.Quote(dest) + "; t=" + shell.Quote(tmp) + "; want=" + shell.Quote(want) + "\n")
	b.WriteString("[ -d " + shell.Quote(path.Dir(dest)) + " ] || exit " + strconv.Itoa(rcNoDir) + "\n")
	b.WriteString(`(set -C; : > "$t") || exit 1` + "\n")
	b.WriteString(script)
	b.WriteString(`if [ "$rc" != 0 ] || [ "${code#2}" = "$code" ]; then cat "$w/err" >&2; echo "status $code" >&2; exit ` + strconv.Itoa(rcHTTP) + "; fi\n")
	b.WriteString(`s=$(` + sum + ` < "$t" | cut -d' ' -f1) || exit 1` + "\necho \"kplay-sum $s\"\n")
	b.WriteString(`if [ -n "$want" ] && [ "$s" != "$want" ]; then exit ` + strconv.Itoa(rcMismatch) + "; fi\n")
	b.WriteString(`if [ -f "$d" ] && [ "$(` + sum + ` < "$d" | cut -d' ' -f1)" = "$s" ]; then echo kplay-same; exit 0; fi` + "\n")
	if o.Mode != "" {
		b.WriteString("chmod " + shell.Quote(o.Mode) + ` -- "$t" || exit 1` + "\n")
	} else {
		b.WriteString(`if [ -e "$d" ]; then chmod --reference="$d" -- "$t"; else chmod 0644 -- "$t"; fi || exit 1` + "\n")
	}
	if o.Owner == "" && o.Group == "" {
		b.WriteString(`if [ -e "$d" ]; then chown --reference="$d" -- "$t" 2>/dev/null || [ "$(id -u)" != 0 ] || exit 1; fi` + "\n")
	}
	b.WriteString(chownCmd(`"$t"`, o.Attrs))
	if o.BackupSuffix != "" {
		b.WriteString(`if [ -e "$d" ]; then ` + backupCmd(`"$d"`, o.BackupSuffix) + "; echo; fi\n")
	}
	b.WriteString(`mv -f -- "$t" "$d" || exit 1` + "\n")
	var out, errb bytes.Buffer
	err := c.Exec(ctx, b.String(), bytes.NewReader(stdin), &out, &errb)
	// The backup's name ends the output, followed by echo's newline (a
	// name may itself end in blanks).
	got := downloaded{backup: strings.TrimSuffix(backupFrom(&out), "\n")}
	for _, line := range strings.Split(out.String(), "\n") {
		if s, ok := strings.CutPrefix(line, "kplay-sum "); ok {
			got.sum = s
		}
		got.same = got.same || line == "kplay-same"
	}
	switch ExitCode(err) {
	case 0:
		return got, nil
	case rcNoClient:
		return got, fmt.Errorf("get_url %s: neither curl nor wget is installed on the host", dest)
	case rcNoDir:
		return got, fmt.Errorf("get_url %s: destination folder %s does not exist", dest, path.Dir(dest))
	case rcHTTP:
		got.failed = fmt.Sprintf("download %s failed: %s", hr.URL, strings.TrimSpace(errb.String()))
		return got, nil
	case rcMismatch:
		got.failed = fmt.Sprintf("the %s checksum of the download is %s, not %s; %s left untouched", alg, got.sum, want, dest)
		return got, nil
	}
	return got, execErr("download to", dest, err, &errb)
}

// downloadLanded tells, after a download was interrupted, whether dest now
// holds it: its digest by alg differs from what dest held before (a
// download left in its temp file never touches dest) and is sum when the
// script printed it (or a checksum was asked for). It finds the backup
// of the old file as landedAfterCancel does, with a fresh short deadline.
func downloadLanded(ctx context.Context, req *Request, dest, alg, sum string, before FileInfo) (string, bool) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now, err := StatWith(lctx, req.Conn, dest, StatOptions{Checksum: true, Algorithm: alg})
	switch {
	case err != nil || !now.Exists || now.Kind != "file":
		return "", false
	case sum != "" && now.Checksum != sum:
		return "", false
	case before.Exists && now.Checksum == before.Checksum:
		return "", false // the script leaves an equal dest alone
	case !before.Exists:
		return "", true
	}
	if alg != "" && alg != "sha256" {
		if now, err = StatWith(lctx, req.Conn, dest, StatOptions{Checksum: true}); err != nil {
			return "", true
		}
	}
	return landedAfterCancel(ctx, req, dest, now.Checksum, true)
}
