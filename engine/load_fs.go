package engine

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// fileNamer is implemented by the loader's file systems so that positions
// name files as the user knows them ("roles/etcd/tasks/main.yaml",
// "embedded:roles/etcd/tasks/main.yaml").
type fileNamer interface {
	FileName(name string) string
}

// displayName is the name of fsys's file name in messages.
func displayName(fsys fs.FS, name string) string {
	if n, ok := fsys.(fileNamer); ok {
		return n.FileName(name)
	}
	return name
}

// dirFS is a folder on disk; root is kept as the user gave it.
type dirFS struct {
	fs.FS
	root string
}

func newDirFS(root string) dirFS {
	if root == "" {
		root = "."
	}
	return dirFS{FS: os.DirFS(root), root: root}
}

// FileName implements fileNamer.
func (d dirFS) FileName(name string) string {
	return filepath.Join(d.root, filepath.FromSlash(name))
}

// embedFS is a sub-tree of an embedded file system, named with a prefix
// such as "embedded:roles/etcd".
type embedFS struct {
	fs.FS
	prefix string
}

// FileName implements fileNamer.
func (e embedFS) FileName(name string) string {
	if name == "." {
		return e.prefix
	}
	return e.prefix + "/" + name
}

// layerFS serves each file from over when over has it, else from base, so
// that a folder next to the inventory can replace single files of a role.
// Directories present in both list the union of their entries.
type layerFS struct {
	over, base fs.FS
}

// Open implements fs.FS.
func (l layerFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := l.over.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, err
		}
		return l.base.Open(name)
	}
	st, err := f.Stat()
	if err != nil || !st.IsDir() {
		return f, err
	}
	f.Close()
	entries, err := l.ReadDir(name)
	if err != nil {
		return nil, err
	}
	return &mergedDir{info: st, entries: entries}, nil
}

// ReadDir implements fs.ReadDirFS: the union of both layers, over first.
func (l layerFS) ReadDir(name string) ([]fs.DirEntry, error) {
	over, errO := fs.ReadDir(l.over, name)
	base, errB := fs.ReadDir(l.base, name)
	if errO != nil && errB != nil {
		return nil, errB
	}
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, e := range append(over, base...) {
		if !seen[e.Name()] {
			seen[e.Name()] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// FileName implements fileNamer: the override's name when it has the file.
func (l layerFS) FileName(name string) string {
	if _, err := fs.Stat(l.over, name); err == nil {
		return displayName(l.over, name)
	}
	return displayName(l.base, name)
}

// mergedDir is an open directory of a layerFS.
type mergedDir struct {
	info    fs.FileInfo
	entries []fs.DirEntry
	off     int
}

func (d *mergedDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *mergedDir) Close() error               { return nil }
func (d *mergedDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *mergedDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}

// resolvePath finds rel relative to the folder dir inside fsys. Paths that
// leave a folder on disk ("../common/x.yaml", "/abs/x.yaml") re-root a dirFS
// at the file's own folder; elsewhere they are refused.
func resolvePath(fsys fs.FS, dir, rel string) (fs.FS, string, bool) {
	if rel == "" {
		return nil, "", false
	}
	if !filepath.IsAbs(rel) {
		joined := path.Join(dir, filepath.ToSlash(rel))
		if fs.ValidPath(joined) {
			return fsys, joined, true
		}
	}
	d, ok := fsys.(dirFS)
	if !ok && !filepath.IsAbs(rel) {
		return nil, "", false
	}
	osPath := rel
	if !filepath.IsAbs(rel) {
		osPath = filepath.Join(d.root, filepath.FromSlash(dir), filepath.FromSlash(rel))
	}
	return newDirFS(filepath.Dir(osPath)), filepath.Base(osPath), true
}

// exists reports whether name is a regular file (or directory, when dirs)
// in fsys.
func exists(fsys fs.FS, name string, dirs bool) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && (dirs || !st.IsDir())
}

// firstExisting returns the first name of candidates (each "dir/name"
// style) that exists in fsys.
func firstExisting(fsys fs.FS, candidates ...string) (string, bool) {
	for _, c := range candidates {
		if exists(fsys, c, false) {
			return c, true
		}
	}
	return "", false
}
