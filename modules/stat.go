package modules

import (
	"context"
	"path"
)

// StatArgs are the arguments of stat.
type StatArgs struct {
	Path              string `arg:"path|dest|name,required"`
	Follow            bool   `arg:"follow"`
	GetChecksum       *bool  `arg:"get_checksum"`
	ChecksumAlgorithm string `arg:"checksum_algorithm|checksum|checksum_algo"`
}

// StatModule reports on a path with Ansible's stat keys, so `when:
// st.stat.exists` reads the same. It never changes anything. The checksum
// defaults to sha256 (Ansible's default is sha1).
type StatModule struct{}

// Run implements Module.
func (StatModule) Run(ctx context.Context, req *Request) (Result, error) {
	var a StatArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	sum := a.GetChecksum == nil || *a.GetChecksum
	fi, err := StatWith(ctx, req.Conn, a.Path, StatOptions{Follow: a.Follow, Checksum: sum, Algorithm: a.ChecksumAlgorithm})
	if err != nil {
		return Result{}, err
	}
	return Result{Data: map[string]any{"stat": statData(fi, sum)}}, nil
}

// statData maps a FileInfo to Ansible's stat dictionary.
func statData(fi FileInfo, withSum bool) map[string]any {
	if !fi.Exists {
		return map[string]any{"exists": false}
	}
	m := map[string]any{
		"exists": true, "path": fi.Path,
		"isdir": fi.Kind == "directory", "isreg": fi.Kind == "file", "islnk": fi.Kind == "link",
		"isfifo": fi.Kind == "fifo", "issock": fi.Kind == "socket", "ischr": fi.Kind == "char", "isblk": fi.Kind == "block",
		"mode": fi.Mode, "uid": fi.UID, "gid": fi.GID, "pw_name": fi.Owner, "gr_name": fi.Group,
		"size": fi.Size, "mtime": float64(fi.MTime.Unix()), "inode": fi.Inode, "dev": fi.Device,
	}
	if withSum && fi.Kind == "file" {
		m["checksum"] = fi.Checksum
	}
	if fi.Kind == "link" {
		m["lnk_target"] = fi.LinkTarget
		src := fi.LinkTarget
		if !path.IsAbs(src) {
			src = path.Join(path.Dir(fi.Path), src)
		}
		m["lnk_source"] = path.Clean(src)
	}
	return m
}
