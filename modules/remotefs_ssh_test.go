package modules_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/internal/sshtest"
	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// sshConn reaches an in-process SSH server on loopback, so the file
// helpers are checked over the SSH transport as well as the local one.
func sshConn(t *testing.T) modules.Conn {
	t.Helper()
	s := sshtest.NewServer(t, "")
	pool := transport.NewPool(transport.Options{KnownHosts: []string{s.KnownHosts}, SSHConfigFile: "none", AgentSocket: "none"})
	t.Cleanup(func() { pool.Close() })
	return pool.Get(transport.Config{Name: s.Name, Address: s.Addr, Port: s.Port, User: s.User, KeyFiles: []string{s.KeyFile}})
}

// countingReader yields n pseudo-random-looking bytes and hashes them.
type countingReader struct {
	left int64
	h    io.Writer
}

func (r *countingReader) Read(b []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > r.left {
		b = b[:r.left]
	}
	for i := range b {
		b[i] = byte((r.left - int64(i)) * 7)
	}
	r.left -= int64(len(b))
	r.h.Write(b)
	return len(b), nil
}

func TestFileHelpersOverSSH(t *testing.T) {
	c := sshConn(t)
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), `sp ace 'q' $(x)`)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big\nname")
	h := sha256.New()
	if err := modules.WriteFile(ctx, c, big, &countingReader{left: 20 << 20, h: h}, modules.Attrs{Mode: "0600"}); err != nil {
		t.Fatal(err)
	}
	fi, err := modules.StatWith(ctx, c, big, modules.StatOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(h.Sum(nil)); fi.Checksum != want || fi.Mode != "0600" || fi.Size != 20<<20 {
		t.Errorf("stat %+v, want checksum %s mode 0600", fi, want)
	}
	raw := []byte("a\x00\xff\r\n")
	if err := modules.WriteFile(ctx, c, big, bytes.NewReader(raw), modules.Attrs{}); err != nil {
		t.Fatal(err)
	}
	var back bytes.Buffer
	if err := modules.ReadFile(ctx, c, big, &back); err != nil || !bytes.Equal(back.Bytes(), raw) {
		t.Errorf("read back %q (%v), want %q", back.Bytes(), err, raw)
	}
	_, err = modules.WriteFileWith(ctx, c, big, strings.NewReader("bad"), modules.WriteOptions{Validate: "false %s"})
	var ve *modules.ValidateError
	if !errors.As(err, &ve) {
		t.Errorf("got %v, want a ValidateError", err)
	}
	back.Reset()
	if err := modules.ReadFile(ctx, c, big, &back); err != nil || !bytes.Equal(back.Bytes(), raw) {
		t.Errorf("dest changed by a failed validate: %q", back.Bytes())
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*.kplay-*.tmp")); len(m) != 0 {
		t.Errorf("temp files left: %q", m)
	}
}

func TestModulesOverSSH(t *testing.T) {
	c := sshConn(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(conf, []byte("port=1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		m    modules.Module
		args map[string]any
	}{
		{modules.Copy{}, map[string]any{"content": "hello\n", "dest": filepath.Join(dir, "motd"), "mode": "0644"}},
		{modules.Lineinfile{}, map[string]any{"path": conf, "regexp": "^port=", "line": "port=2"}},
		{modules.File{}, map[string]any{"path": filepath.Join(dir, "d"), "state": "directory", "mode": "0700"}},
	}
	for _, s := range steps {
		run := func(check bool) modules.Result {
			t.Helper()
			req := &modules.Request{Conn: c, Host: "inproc", Args: s.args, Check: check, Diff: true, BackupSuffix: ".T.kplay~"}
			res, err := s.m.Run(t.Context(), req)
			if err != nil || res.Failed {
				t.Fatalf("%T %v: %v %+v", s.m, s.args, err, res)
			}
			return res
		}
		if !run(true).Changed || !run(false).Changed || run(false).Changed || run(true).Changed {
			t.Errorf("%T %v: want check=changed, run=changed, run again=ok, check again=ok", s.m, s.args)
		}
	}
	if b, _ := os.ReadFile(conf); string(b) != "port=2\n" {
		t.Errorf("conf %q", b)
	}
}
