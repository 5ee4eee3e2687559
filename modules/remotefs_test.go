package modules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/transport"
)

func TestStatKinds(t *testing.T) {
	dir := hostileDir(t)
	file := filepath.Join(dir, "a file\nwith newline")
	writeFile(t, file, "hello\n", 0o640)
	link := filepath.Join(dir, "link")
	if err := os.Symlink("a file\nwith newline", link); err != nil {
		t.Fatal(err)
	}
	c := &transport.Local{}
	sum := sha256.Sum256([]byte("hello\n"))
	tests := []struct {
		name, path string
		opts       StatOptions
		kind, mode string
		target     string
		checksum   string
	}{
		{"file", file, StatOptions{Checksum: true}, "file", "0640", "", hex.EncodeToString(sum[:])},
		{"dir", dir, StatOptions{}, "directory", "0755", "", ""},
		{"link", link, StatOptions{}, "link", "0777", "a file\nwith newline", ""},
		{"link followed", link, StatOptions{Follow: true, Checksum: true}, "file", "0640", "", hex.EncodeToString(sum[:])},
		{"absent", filepath.Join(dir, "nope"), StatOptions{}, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := StatWith(t.Context(), c, tt.path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Exists != (tt.kind != "") || fi.Kind != tt.kind || fi.Mode != tt.mode || fi.LinkTarget != tt.target || fi.Checksum != tt.checksum {
				t.Errorf("got %+v, want kind %q mode %q target %q checksum %q", fi, tt.kind, tt.mode, tt.target, tt.checksum)
			}
			if fi.Exists && (fi.UID != os.Getuid() || fi.Owner == "") {
				t.Errorf("got uid %d owner %q, want uid %d", fi.UID, fi.Owner, os.Getuid())
			}
		})
	}
	if _, err := os.Stat("pwned"); err == nil {
		t.Fatal("a command substitution in a path ran")
	}
}

func TestWriteFileContentAndModes(t *testing.T) {
	dir := hostileDir(t)
	c := &transport.Local{}
	ctx := t.Context()
	raw := []byte("line 1\n\xff\xfe\x00binary\r\nno newline at end")
	p := filepath.Join(dir, "it's new")
	if err := WriteFile(ctx, c, p, bytes.NewReader(raw), Attrs{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, raw) {
		t.Errorf("content: got %q, want %q", got, raw)
	}
	if m := modeOf(t, p); m != "0644" {
		t.Errorf("new file mode: got %s, want 0644", m)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(ctx, c, p, strings.NewReader("two\n"), Attrs{}); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, p); m != "0600" {
		t.Errorf("existing file mode: got %s, want 0600 kept", m)
	}
	if err := WriteFile(ctx, c, p, strings.NewReader("three\n"), Attrs{Mode: "0640"}); err != nil {
		t.Fatal(err)
	}
	if m, s := modeOf(t, p), readString(t, p); m != "0640" || s != "three\n" {
		t.Errorf("got mode %s content %q, want 0640 %q", m, s, "three\n")
	}
	assertNoTemp(t, dir)
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".*.kplay-*.tmp"))
	if len(m) != 0 {
		t.Errorf("temp files left behind: %q", m)
	}
}

func TestWriteFileValidate(t *testing.T) {
	dir := hostileDir(t)
	c := &transport.Local{}
	p := filepath.Join(dir, "conf")
	writeFile(t, p, "good\n", 0o644)
	_, err := WriteFileWith(t.Context(), c, p, strings.NewReader("bad\n"), WriteOptions{Validate: "grep -q good %s"})
	var ve *ValidateError
	if !errors.As(err, &ve) || ve.RC != 1 {
		t.Fatalf("got %v, want a ValidateError with rc 1", err)
	}
	if s := readString(t, p); s != "good\n" {
		t.Errorf("dest changed to %q after a failed validate", s)
	}
	assertNoTemp(t, dir)
	if _, err := WriteFileWith(t.Context(), c, p, strings.NewReader("good too\n"), WriteOptions{Validate: "grep -q good %s"}); err != nil {
		t.Fatal(err)
	}
	if s := readString(t, p); s != "good too\n" {
		t.Errorf("got %q after a passing validate", s)
	}
	if _, err := WriteFileWith(t.Context(), c, p, strings.NewReader("x"), WriteOptions{Validate: "true"}); err == nil {
		t.Error("validate without the placeholder: want an error")
	}
}

// probeReader hands out its first chunk, then, before the rest, waits for
// the temp file to appear and records its permission bits: the mode the
// content lands in from the first byte.
type probeReader struct {
	dir   string
	sent  bool
	perm  os.FileMode
	found bool
}

func (p *probeReader) Read(b []byte) (int, error) {
	if p.sent {
		return 0, io.EOF
	}
	p.sent = true
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !p.found {
		m, _ := filepath.Glob(filepath.Join(p.dir, ".*.kplay-*.tmp"))
		if len(m) == 1 {
			if st, err := os.Stat(m[0]); err == nil {
				p.perm, p.found = st.Mode().Perm(), true
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return copy(b, "secret key material\n"), nil
}

func TestWriteFileTempNeverWorldReadable(t *testing.T) {
	dir := t.TempDir()
	pr := &probeReader{dir: dir}
	p := filepath.Join(dir, "key")
	if err := WriteFile(t.Context(), &transport.Local{}, p, pr, Attrs{Mode: "0600"}); err != nil {
		t.Fatal(err)
	}
	if !pr.found {
		t.Fatal("temp file never seen while content was streaming")
	}
	if pr.perm&0o077 != 0 {
		t.Errorf("temp file mode %04o while streaming, want no group/other bits", pr.perm)
	}
	if m := modeOf(t, p); m != "0600" {
		t.Errorf("final mode %s, want 0600", m)
	}
}

// patternReader yields n bytes of a repeating pattern without holding them.
type patternReader struct{ left int64 }

func (r *patternReader) Read(b []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > r.left {
		b = b[:r.left]
	}
	for i := range b {
		b[i] = byte('a' + (r.left-int64(i))%26)
	}
	r.left -= int64(len(b))
	return len(b), nil
}

func TestWriteFileStreams50MB(t *testing.T) {
	const size = 50 << 20
	p := filepath.Join(t.TempDir(), "big")
	h := sha256.New()
	if _, err := io.Copy(h, &patternReader{left: size}); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := WriteFile(t.Context(), &transport.Local{}, p, &patternReader{left: size}, Attrs{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("writing 50 MB allocated %d bytes; the content must stream", alloc)
	}
	sum, err := Checksum(t.Context(), &transport.Local{}, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(h.Sum(nil)); sum != want {
		t.Errorf("checksum %s, want %s", sum, want)
	}
}

func TestBackupUniqueNames(t *testing.T) {
	dir := hostileDir(t)
	c := &transport.Local{}
	p := filepath.Join(dir, "f")
	writeFile(t, p, "v1", 0o600)
	b1, err := Backup(t.Context(), c, p, testSuffix)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, "v2", 0o600)
	b2, err := WriteFileWith(t.Context(), c, p, strings.NewReader("v3"), WriteOptions{BackupSuffix: testSuffix})
	if err != nil {
		t.Fatal(err)
	}
	if want2 := p + strings.TrimSuffix(testSuffix, ".kplay~") + ".1.kplay~"; b1 != p+testSuffix || b2 != want2 {
		t.Fatalf("backups %q %q, want %q and %q", b1, b2, p+testSuffix, want2)
	}
	if readString(t, b1) != "v1" || readString(t, b2) != "v2" || modeOf(t, b2) != "0600" {
		t.Errorf("backup content or mode wrong")
	}
}

func TestMkdirRemoveSetAttrs(t *testing.T) {
	dir := hostileDir(t)
	c := &transport.Local{}
	ctx := context.Background()
	p := filepath.Join(dir, "a b", "c")
	if err := MkdirAll(ctx, c, p, Attrs{Mode: "0700"}); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, p); m != "0700" {
		t.Errorf("mode %s, want 0700", m)
	}
	if err := SetAttrs(ctx, c, p, Attrs{Mode: "0750"}); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, p); m != "0750" {
		t.Errorf("mode %s, want 0750", m)
	}
	if err := Remove(ctx, c, filepath.Dir(p)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(p)); !os.IsNotExist(err) {
		t.Errorf("still there: %v", err)
	}
}

func TestSymbolicModes(t *testing.T) {
	tests := []struct {
		cur   uint32
		spec  string
		isDir bool
		want  uint32
	}{
		{0o644, "u+x", false, 0o744},
		{0o644, "u=rw,g=r,o=", false, 0o640},
		{0o755, "go-w", false, 0o755},
		{0o777, "go-w", false, 0o755},
		{0o600, "a+X", false, 0o600},
		{0o700, "a+X", false, 0o711},
		{0o600, "a+X", true, 0o711},
		{0o644, "+t", true, 0o1644},
		{0o4755, "u=rwx", false, 0o755},
		{0o640, "o=g", false, 0o644},
	}
	for _, tt := range tests {
		got, err := applySymbolic(tt.cur, tt.spec, tt.isDir)
		if err != nil || got != tt.want {
			t.Errorf("applySymbolic(%04o, %q) = %04o, %v; want %04o", tt.cur, tt.spec, got, err, tt.want)
		}
	}
	for _, bad := range []string{"u", "u+z", "rwx", "q=r"} {
		if _, err := applySymbolic(0, bad, false); err == nil {
			t.Errorf("applySymbolic(%q): want an error", bad)
		}
	}
}

func TestFileModeDecode(t *testing.T) {
	tests := []struct {
		in   any
		want FileMode
	}{
		{"0644", "0644"}, {"644", "0644"}, {420, "0644"}, {"4755", "4755"},
		{"u=rw,g=r", "u=rw,g=r"}, {"preserve", "preserve"}, {nil, ""},
	}
	for _, tt := range tests {
		var m FileMode
		if err := m.DecodeArg(tt.in); err != nil || m != tt.want {
			t.Errorf("DecodeArg(%v) = %q, %v; want %q", tt.in, m, err, tt.want)
		}
	}
	for _, bad := range []any{"99999", "u+q", 1 << 20, []any{1}} {
		var m FileMode
		if err := m.DecodeArg(bad); err == nil {
			t.Errorf("DecodeArg(%v): want an error", bad)
		}
	}
}
