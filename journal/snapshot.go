package journal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// SnapshotDir is the folder, under the journal root, that holds the
// snapshots of the embedded roles and playbooks runs used, one file per
// content: <sha256>.tar.gz.
const SnapshotDir = "snapshots"

// maxSnapshot bounds a snapshot's uncompressed size on read, so that a
// corrupted or hostile file cannot fill the memory.
const maxSnapshot = 256 << 20

// snapshotTime is the time stamped on every tar header, so that the same
// files always give the same bytes and so the same hash.
var snapshotTime = time.Unix(0, 0).UTC()

// SnapshotPath is the file of the snapshot with the given hash.
func SnapshotPath(root, hash string) string {
	return filepath.Join(root, SnapshotDir, hash+".tar.gz")
}

// WriteSnapshot saves the trees (top folder name -> file system; nil ones
// are left out) under root/snapshots as one tar.gz named by the sha256 of
// its tar stream, and returns that hash ("" when there is nothing to
// save). The tar is deterministic (sorted paths, fixed times, modes and
// owners), so the same trees give the same file, written once: when it is
// already there nothing is written. kplay rollback reads it back to run
// the roles' rollback tasks from the roles the run used.
func WriteSnapshot(root string, trees map[string]fs.FS) (string, error) {
	data, err := snapshotTar(trees)
	if err != nil || data == nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	dir := filepath.Join(root, SnapshotDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("journal: create %s: %w", dir, err)
	}
	_ = os.Chmod(root, 0o700)
	_ = os.Chmod(dir, 0o700)
	final := SnapshotPath(root, hash)
	if _, err := os.Stat(final); err == nil {
		// Already saved by an earlier run: mark it used now, so that a
		// prune racing with this run's start does not take it.
		now := time.Now()
		_ = os.Chtimes(final, now, now)
		return hash, nil
	}
	if err := writeSnapshotFile(dir, final, data); err != nil {
		return "", err
	}
	return hash, nil
}

// snapshotTar is the trees as one tar stream, nil when they hold no file.
func snapshotTar(trees map[string]fs.FS) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	n := 0
	for _, top := range slices.Sorted(maps.Keys(trees)) {
		fsys := trees[top]
		if fsys == nil {
			continue
		}
		if !fs.ValidPath(top) || top == "." {
			return nil, fmt.Errorf("journal: snapshot tree %q: invalid name", top)
		}
		files, err := regularFiles(fsys)
		if err != nil {
			return nil, fmt.Errorf("journal: snapshot %s: %w", top, err)
		}
		for _, name := range files {
			if err := addTarFile(tw, fsys, top, name); err != nil {
				return nil, fmt.Errorf("journal: snapshot %s: %w", top, err)
			}
			n++
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("journal: snapshot: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	return buf.Bytes(), nil
}

// regularFiles lists fsys's regular files, sorted by path.
func regularFiles(fsys fs.FS) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	slices.Sort(files)
	return files, err
}

// addTarFile appends fsys's file name as top/name, with fixed metadata.
func addTarFile(tw *tar.Writer, fsys fs.FS, top, name string) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: top + "/" + name, Mode: 0o644,
		Size: int64(len(data)), ModTime: snapshotTime, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = tw.Write(data)
	return err
}

// writeSnapshotFile compresses data into final through a temporary file
// of the same folder (created exclusively, 0600, fsync-ed, renamed).
func writeSnapshotFile(dir, final string, data []byte) error {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmpName := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmpName, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("journal: write snapshot: %w", err)
	}
	defer os.Remove(tmpName) // gone after the rename; left over on error
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	_, err = zw.Write(data)
	err = errors.Join(err, zw.Close(), f.Sync(), f.Close())
	if err != nil {
		return fmt.Errorf("journal: write snapshot %s: %w", final, err)
	}
	if err := os.Rename(tmpName, final); err != nil {
		return fmt.Errorf("journal: write snapshot: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ReadSnapshot loads the snapshot with the given hash into memory and
// checks that its tar stream still has that sha256. The file system it
// returns holds the saved trees as top folders ("roles", "playbooks").
func ReadSnapshot(root, hash string) (fs.FS, error) {
	if !isHash(hash) {
		return nil, fmt.Errorf("journal: snapshot %q: not a sha256", hash)
	}
	f, err := os.Open(SnapshotPath(root, hash))
	if err != nil {
		return nil, fmt.Errorf("journal: snapshot: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("journal: snapshot %s: %w", hash, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxSnapshot+1))
	if err != nil {
		return nil, fmt.Errorf("journal: snapshot %s: %w", hash, err)
	}
	if len(data) > maxSnapshot {
		return nil, fmt.Errorf("journal: snapshot %s: larger than %d bytes", hash, maxSnapshot)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hash {
		return nil, fmt.Errorf("journal: snapshot %s: content does not match its sha256 (corrupted)", hash)
	}
	fsys, err := untar(data)
	if err != nil {
		return nil, fmt.Errorf("journal: snapshot %s: %w", hash, err)
	}
	return fsys, nil
}

// untar reads a tar stream of regular files into a memory file system.
func untar(data []byte) (*memFS, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg || !fs.ValidPath(hdr.Name) || hdr.Name == "." {
			return nil, fmt.Errorf("entry %q: not a regular file with a clean path", hdr.Name)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("entry %s: %w", hdr.Name, err)
		}
		files[hdr.Name] = body
	}
	return newMemFS(files)
}

// isHash tells whether s is a lower-case hex sha256.
func isHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}
