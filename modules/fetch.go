package modules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FetchArgs are the arguments of fetch.
type FetchArgs struct {
	Src              string `arg:"src,required"`
	Dest             string `arg:"dest,required"`
	Flat             bool   `arg:"flat"`
	FailOnMissing    *bool  `arg:"fail_on_missing"`
	ValidateChecksum *bool  `arg:"validate_checksum"`
}

// Fetch copies a file from the host to the control machine: into
// dest/<inventory hostname>/<src path>, or with flat into dest itself. The
// local file is written atomically (temp file in the same folder, rename)
// with mode 0600, since fetched files are often keys and kubeconfigs.
type Fetch struct{}

// Run implements Module.
func (Fetch) Run(ctx context.Context, req *Request) (Result, error) {
	var a FetchArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	local := fetchDest(a, req.Host)
	fi, err := StatWith(ctx, req.Conn, a.Src, StatOptions{Follow: true, Checksum: true})
	if err != nil {
		return Result{}, err
	}
	switch {
	case !fi.Exists && (a.FailOnMissing == nil || *a.FailOnMissing):
		return Result{Failed: true, Msg: fmt.Sprintf("the remote file does not exist: %s", a.Src)}, nil
	case !fi.Exists:
		return Result{Msg: fmt.Sprintf("the remote file does not exist, not transferring: %s", a.Src)}, nil
	case fi.Kind == "directory":
		return Result{Failed: true, Msg: "remote file is a directory, fetch cannot work on directories"}, nil
	}
	data := map[string]any{"dest": local, "remote_checksum": fi.Checksum, "checksum": fi.Checksum}
	old, err := localChecksum(local)
	if err != nil {
		return Result{}, err
	}
	if old == fi.Checksum {
		return Result{Data: data}, nil
	}
	if req.Check {
		return Result{Changed: true, Msg: "file would be fetched", Data: data}, nil
	}
	got, err := fetchTo(ctx, req.Conn, a.Src, local, fi.Checksum, a.ValidateChecksum == nil || *a.ValidateChecksum)
	if err != nil {
		return Result{}, err
	}
	data["checksum"] = got
	return Result{Changed: true, Msg: "file fetched", Data: data}, nil
}

// fetchDest is where the file lands on the control machine.
func fetchDest(a FetchArgs, host string) string {
	if a.Flat {
		if strings.HasSuffix(a.Dest, "/") {
			return filepath.Join(a.Dest, filepath.Base(a.Src))
		}
		return a.Dest
	}
	// Rooting src first keeps "../" from climbing out of dest/host.
	return filepath.Join(a.Dest, host, filepath.Clean("/"+filepath.FromSlash(a.Src)))
}

// localChecksum is the sha256 of a local file, "" when it does not exist.
func localChecksum(p string) (string, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("fetch: open %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("fetch: read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fetchTo streams src from the host into a temp file beside local,
// checks the checksum, and renames it into place.
func fetchTo(ctx context.Context, c Conn, src, local, want string, validate bool) (string, error) {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", fmt.Errorf("fetch: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".kplay-*.tmp")
	if err != nil {
		return "", fmt.Errorf("fetch: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	err = ReadFile(ctx, c, src, io.MultiWriter(tmp, h))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", src, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if validate && got != want {
		return "", fmt.Errorf("fetch %s: checksum mismatch: got %s, the host has %s", src, got, want)
	}
	if err := os.Rename(tmp.Name(), local); err != nil {
		return "", fmt.Errorf("fetch: %w", err)
	}
	return got, nil
}
