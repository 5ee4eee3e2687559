package modules

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/transport"
)

// member is one file (or folder, with a trailing slash) of a test archive.
type member struct{ name, body string }

var testMembers = []member{
	{"etcd-v3/", ""},
	{"etcd-v3/etcd", "etcd binary\n"},
	{"etcd-v3/etcdctl", "etcdctl binary\n"},
	{"etcd-v3/docs/", ""},
	{"etcd-v3/docs/README.md", "read me\n"},
}

// writeTar writes members as a tar stream to w, with a fixed mtime.
func writeTar(t *testing.T, w io.Writer, ms []member) {
	t.Helper()
	tw := tar.NewWriter(w)
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, m := range ms {
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
}

// makeArchive builds an archive of ms named name (.tar, .tgz, .tar.xz,
// .tar.bz2 through the xz/bzip2 tools, .zip) in a temp folder.
func makeArchive(t *testing.T, name string, ms []member) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch {
	case strings.HasSuffix(name, ".zip"):
		zw := zip.NewWriter(f)
		for _, m := range ms {
			w, _ := zw.Create(m.name)
			w.Write([]byte(m.body))
		}
		zw.Close()
	case strings.HasSuffix(name, ".tgz"):
		gz := gzip.NewWriter(f)
		writeTar(t, gz, ms)
		gz.Close()
	case strings.HasSuffix(name, ".tar"):
		writeTar(t, f, ms)
	default: // .tar.xz, .tar.bz2: compress with the tool
		tool := map[bool]string{true: "xz", false: "bzip2"}[strings.HasSuffix(name, ".xz")]
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
		cmd := exec.Command(tool, "-c")
		pr, pw := io.Pipe()
		cmd.Stdin, cmd.Stdout = pr, f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		writeTar(t, pw, ms)
		pw.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func runUnarchive(t *testing.T, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := Unarchive{}.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check, BackupSuffix: ".bak"})
	if err != nil {
		t.Fatalf("unarchive %v: %v", args, err)
	}
	return res
}

func TestUnarchiveFormats(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remote bool
	}{
		{"a.tgz", false}, {"a.tar", false}, {"a.tar.xz", false}, {"a.tar.bz2", false}, {"a.zip", false},
		{"a.tgz", true}, {"a.tar.xz", true}, {"a.zip", true}, {"noext", false}, {"noext", true},
	} {
		t.Run(tc.name+map[bool]string{true: "-remote"}[tc.remote], func(t *testing.T) {
			name := tc.name
			if name == "noext" {
				name = "a.tgz"
			}
			if strings.HasSuffix(name, ".zip") {
				if _, err := exec.LookPath("unzip"); err != nil {
					t.Skip("unzip is not installed")
				}
			}
			src := makeArchive(t, name, testMembers)
			if tc.name == "noext" {
				os.Rename(src, strings.TrimSuffix(src, ".tgz"))
				src = strings.TrimSuffix(src, ".tgz")
			}
			checkUnarchive(t, map[string]any{"src": src, "remote_src": tc.remote})
		})
	}
}

// checkUnarchive runs the first-run, second-run and check-mode contract.
func checkUnarchive(t *testing.T, args map[string]any) {
	t.Helper()
	conn := &transport.Local{}
	dest := t.TempDir()
	args["dest"] = dest
	if res := runUnarchive(t, conn, true, args); !res.Changed {
		t.Fatalf("check: want a predicted change, got %+v", res)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Fatal("check mode extracted")
	}
	res := runUnarchive(t, conn, false, args)
	if !res.Changed || res.Failed {
		t.Fatalf("first run: %+v", res)
	}
	var paths []string
	for _, c := range res.Changes {
		if c.Kind != KindFile || c.Action != "created" || c.Existed {
			t.Errorf("unexpected change %+v", c)
		}
		paths = append(paths, strings.TrimPrefix(c.Path, dest+"/"))
	}
	want := "etcd-v3 etcd-v3/docs etcd-v3/docs/README.md etcd-v3/etcd etcd-v3/etcdctl"
	if strings.Join(paths, " ") != want {
		t.Errorf("created = %v, want %s", paths, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "etcd-v3/etcd")); string(b) != "etcd binary\n" {
		t.Errorf("etcd = %q", b)
	}
	if res := runUnarchive(t, conn, false, args); res.Changed {
		t.Errorf("second run changed: %+v", res)
	}
	if res := runUnarchive(t, conn, true, args); res.Changed {
		t.Errorf("check after converging: %+v", res)
	}
}

func TestUnarchiveOverwriteBackup(t *testing.T) {
	conn := &transport.Local{}
	src := makeArchive(t, "a.tgz", testMembers)
	dest := t.TempDir()
	args := map[string]any{"src": src, "dest": dest}
	runUnarchive(t, conn, false, args)
	etcd := filepath.Join(dest, "etcd-v3/etcd")
	os.WriteFile(etcd, []byte("local edit\n"), 0o600)
	os.Chmod(etcd, 0o600)
	res := runUnarchive(t, conn, false, args)
	want := Change{Kind: KindFile, Path: etcd, Action: "modified", Existed: true, Backup: etcd + ".bak", OldMode: "0600",
		OldOwner: currentUser(t), OldGroup: currentGroup(t), OldKind: "file"}
	if !res.Changed || len(res.Changes) != 1 || res.Changes[0] != want {
		t.Fatalf("got %+v, want %+v", res.Changes, want)
	}
	if b, _ := os.ReadFile(etcd + ".bak"); string(b) != "local edit\n" {
		t.Errorf("backup = %q", b)
	}
	if b, _ := os.ReadFile(etcd); string(b) != "etcd binary\n" {
		t.Errorf("etcd = %q", b)
	}
}

func TestUnarchiveOptions(t *testing.T) {
	conn := &transport.Local{}
	src := makeArchive(t, "a.tgz", testMembers)
	dest := t.TempDir()
	args := map[string]any{"src": src, "dest": dest, "extra_opts": []any{"--strip-components=1"}, "exclude": []any{"docs"}, "mode": "0750"}
	res := runUnarchive(t, conn, false, args)
	if !res.Changed || len(res.Changes) != 2 {
		t.Fatalf("strip+exclude: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dest, "docs")); err == nil {
		t.Error("excluded docs extracted")
	}
	if st, err := os.Stat(filepath.Join(dest, "etcdctl")); err != nil || st.Mode().Perm() != 0o750 {
		t.Errorf("etcdctl: %v %v", st, err)
	}
	if res := runUnarchive(t, conn, false, args); res.Changed {
		t.Errorf("second run: %+v", res)
	}
	os.Chmod(filepath.Join(dest, "etcd"), 0o700)
	res = runUnarchive(t, conn, false, args)
	if len(res.Changes) != 1 || res.Changes[0].Action != "attrs" || res.Changes[0].OldMode != "0700" {
		t.Errorf("attrs only: %+v", res)
	}
	res = runUnarchive(t, conn, false, map[string]any{"src": src, "dest": dest, "creates": filepath.Join(dest, "etcd")})
	if res.Changed || !strings.Contains(res.Msg, "skipped") {
		t.Errorf("creates: %+v", res)
	}
	strip := t.TempDir()
	res = runUnarchive(t, conn, false, map[string]any{"src": src, "dest": strip, "include": []any{"etcd-v3/etcd"}, "extra_opts": "--strip-components=1"})
	if len(res.Changes) != 1 || res.Changes[0].Path != filepath.Join(strip, "etcd") {
		t.Errorf("include with strip: %+v", res)
	}
	if res := runUnarchive(t, conn, false, map[string]any{"src": src, "dest": strip, "include": []any{"etcd-v3/etcd"}, "extra_opts": "--strip-components=1"}); res.Changed {
		t.Errorf("include with strip, second run: %+v", res)
	}
	res = runUnarchive(t, conn, false, map[string]any{"src": src, "dest": t.TempDir(), "include": []any{"etcd-v3/etcd"}, "list_files": true})
	if len(res.Changes) != 2 || len(res.Data["files"].([]string)) != 1 {
		t.Errorf("include: %+v", res)
	}
}

func TestUnarchiveZipWithoutUnzip(t *testing.T) {
	src := makeArchive(t, "a.zip", testMembers)
	bin := t.TempDir()
	for _, tool := range []string{"sh", "cat", "mktemp", "rm", "xargs", "stat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skip(tool, "missing")
		}
		os.Symlink(p, filepath.Join(bin, tool))
	}
	conn := &transport.Local{Env: []string{"PATH=" + bin}}
	_, err := Unarchive{}.Run(context.Background(), &Request{Conn: conn, Args: map[string]any{"src": src, "dest": t.TempDir(), "remote_src": true}})
	if err == nil || !strings.Contains(err.Error(), "unzip is not installed") {
		t.Errorf("want a clear error, got %v", err)
	}
}

func TestUnarchiveBadArgs(t *testing.T) {
	src := makeArchive(t, "a.tgz", testMembers)
	notArchive := filepath.Join(t.TempDir(), "x.bin")
	os.WriteFile(notArchive, []byte("plain text, not an archive"), 0o644)
	for _, args := range []map[string]any{
		{"src": src},
		{"dest": t.TempDir()},
		{"src": src, "dest": filepath.Join(t.TempDir(), "missing")},
		{"src": notArchive, "dest": t.TempDir()},
		{"src": src, "dest": t.TempDir(), "extra_opts": []any{"--strip-components=x"}},
		{"src": src, "dest": t.TempDir(), "copy": false},
	} {
		if _, err := (Unarchive{}).Run(context.Background(), &Request{Conn: &transport.Local{}, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}

func TestUnarchiveMatch(t *testing.T) {
	tests := []struct {
		pat, name string
		anywhere  bool
		want      bool
	}{
		{"etcd-v3/etcd", "etcd-v3/etcd", false, true},
		{"etcd-v3", "etcd-v3/docs/README.md", false, true},
		{"docs", "etcd-v3/docs/README.md", false, false},
		{"docs", "etcd-v3/docs/README.md", true, true},
		{"*.md", "etcd-v3/docs/README.md", true, true},
		{"etcd-v3/etcd*", "etcd-v3/etcdctl", false, true},
		{"./etcd-v3/etcd", "etcd-v3/etcd", false, true},
		{"etcd", "etcd-v3/etcdctl", true, false},
	}
	for _, tt := range tests {
		if got := matchAny([]string{tt.pat}, tt.name, tt.anywhere); got != tt.want {
			t.Errorf("matchAny(%q, %q, %v) = %v, want %v", tt.pat, tt.name, tt.anywhere, got, tt.want)
		}
	}
}
