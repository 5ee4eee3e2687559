package modules

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/transport"
)

// hostileTar writes a tar whose members are named by the value: a file,
// a folder and a file inside it, plus a member that climbs out with "..".
func hostileTar(t *testing.T, v hostile) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, m := range []member{{v.v, v.v}, {"d " + v.v + "/", ""}, {"d " + v.v + "/" + v.v, "in " + v.v}} {
		h := &tar.Header{Name: m.name, Mode: 0o755, ModTime: mt, Typeflag: tar.TypeDir}
		if !strings.HasSuffix(m.name, "/") {
			h = &tar.Header{Name: m.name, Mode: 0o644, ModTime: mt, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func hostileUnarchive(t *testing.T, h *hostileEnv, v hostile) {
	if !v.inName() {
		res, err := h.run(t, Unarchive{}, map[string]any{"src": hostileTar(t, hostile{v: "x"}), "dest": filepath.Join(h.dir, v.v)}, nil)
		if !refused(t, res, err) {
			t.Errorf("a missing hostile dest was accepted: %+v", res)
		}
		return
	}
	dest := filepath.Join(h.dir, "d "+v.v, "dest")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	args := map[string]any{"src": hostileTar(t, v), "dest": dest}
	res, err := h.run(t, Unarchive{}, args, nil)
	if err != nil || res.Failed || !res.Changed {
		t.Fatalf("unarchive: %v %+v", err, res)
	}
	wantFile(t, filepath.Join(dest, v.v), v.v)
	wantFile(t, filepath.Join(dest, "d "+v.v, v.v), "in "+v.v)
	if res, err := h.run(t, Unarchive{}, args, nil); err != nil || res.Changed {
		t.Errorf("second run: %v changed=%v %s", err, res.Changed, res.Msg)
	}
	// An edited member is overwritten, its old content backed up.
	writeFile(t, filepath.Join(dest, v.v), "edited", 0o644)
	res, err = h.run(t, Unarchive{}, args, nil)
	if err != nil || !res.Changed {
		t.Fatalf("overwrite: %v %+v", err, res)
	}
	wantFile(t, filepath.Join(dest, v.v), v.v)
	for _, c := range res.Changes {
		if c.Action == "modified" {
			if c.Path != filepath.Join(dest, v.v) {
				t.Errorf("modified %q, want %q", c.Path, filepath.Join(dest, v.v))
			}
			wantFile(t, c.Backup, "edited")
		}
	}
}

func hostileAccounts(t *testing.T, h *hostileEnv, v hostile) {
	conn, state := accountsEnv(t)
	fake := cdConn{Conn: conn, dir: h.dir}
	for _, m := range []Module{User{}, Group{}} {
		res, err := h.run(t, m, map[string]any{"name": v.v}, func(r *Request) { r.Conn = fake })
		if !refused(t, res, err) {
			t.Errorf("%T name %q accepted: %+v", m, v.v, res)
		}
	}
	// Free-text fields: refused, or passed as one argument.
	res, err := h.run(t, User{}, map[string]any{"name": "svc", "comment": v.v, "shell": "/bin/sh"}, func(r *Request) { r.Conn = fake })
	if refused(t, res, err) {
		return
	}
	calls, _ := os.ReadFile(filepath.Join(state, "calls"))
	// (the fake logs with echo, which reads backslashes)
	if !strings.Contains(v.v, `\`) && !strings.Contains(string(calls), v.v) {
		t.Errorf("comment did not reach useradd whole")
	}
}

func hostileSysctl(t *testing.T, h *hostileEnv, v hostile) {
	m, conn, state := sysctlEnv(t)
	fake := cdConn{Conn: conn, dir: h.dir}
	file := filepath.Join(h.dir, "sysctl.conf")
	for _, name := range []string{v.v, "net.ipv4/../../../../victim"} {
		res, err := h.run(t, m, map[string]any{"name": name, "value": "1", "sysctl_file": file}, func(r *Request) { r.Conn = fake })
		if !refused(t, res, err) {
			t.Errorf("sysctl name %q accepted: %+v", name, res)
		}
		if strings.Contains(name, "..") && err == nil {
			t.Errorf("sysctl name %q: want it refused before anything is written, got %+v", name, res)
		}
	}
	os.Remove(file)
	res, err := h.run(t, m, map[string]any{"name": "kernel.pid_max", "value": v.v, "sysctl_file": file}, func(r *Request) { r.Conn = fake })
	if refused(t, res, err) {
		return
	}
	want := normSpace(v.v)
	b, _ := os.ReadFile(filepath.Join(state, "proc/kernel/pid_max"))
	if string(b) != want+"\n" {
		t.Errorf("runtime value %q, want %q", b, want)
	}
	wantFile(t, file, "kernel.pid_max="+want+"\n")
}

func hostileSystemd(t *testing.T, h *hostileEnv, v hostile) {
	conn, state := fakeSystemd(t)
	fake := cdConn{Conn: conn, dir: h.dir}
	res, err := h.run(t, Systemd{}, map[string]any{"name": v.v, "state": "started"}, func(r *Request) { r.Conn = fake })
	if refused(t, res, err) {
		return
	}
	calls, _ := os.ReadFile(filepath.Join(state, "calls.log"))
	if !strings.Contains(string(calls), v.v) {
		t.Errorf("unit name did not reach systemctl whole")
	}
}

func hostilePKI(t *testing.T, h *hostileEnv, v hostile) {
	dir := filepath.Join(h.dir, "pki")
	m := map[string]any{"name": v.v, "ip": "10.0.0.1"}
	res, err := h.run(t, PKI{}, map[string]any{"dir": dir, "masters": []any{m}, "etcd": []any{m},
		"cluster_name": v.v}, nil)
	if err == nil && !res.Failed {
		// Accepted: every file stays inside dir.
		_ = filepath.WalkDir(h.dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && p != h.victim && !strings.HasPrefix(p, dir+"/") {
				t.Errorf("pki wrote outside its folder: %q", p)
			}
			return nil
		})
	}
}

// TestUnarchiveMemberClimbingOut checks that a member named ../../x lands
// nowhere outside dest (GNU tar refuses it; the task fails).
func TestUnarchiveMemberClimbingOut(t *testing.T) {
	root := t.TempDir()
	dest := filepath.Join(root, "a", "dest")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "evil.tar")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	writeTar(t, f, []member{{"ok", "fine"}, {"../../escape", "out"}})
	f.Close()
	res, err := Unarchive{}.Run(t.Context(), &Request{Conn: cdConn{Conn: &transport.Local{}, dir: dest}, Args: map[string]any{"src": src, "dest": dest}, BackupSuffix: testSuffix})
	if !refused(t, res, err) {
		t.Errorf("want the extraction refused, got %+v", res)
	}
	for _, p := range []string{filepath.Join(root, "escape"), filepath.Join(root, "a", "escape")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("a member climbed out of dest: %s", p)
		}
	}
}
