package modules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kplay/kplay/transport"
)

// fileServer serves /app.bin, /SHA256SUMS and /secret (basic auth
// kplay:s3cret) on 127.0.0.1, counting the downloads of /app.bin.
func fileServer(t *testing.T, payload string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	var hits atomic.Int32
	sum := sha256.Sum256([]byte(payload))
	mux := http.NewServeMux()
	mux.HandleFunc("/app.bin", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(payload))
	})
	mux.HandleFunc("/SHA256SUMS", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("0000000000000000000000000000000000000000000000000000000000000000  other.bin\n" +
			hex.EncodeToString(sum[:]) + " *app.bin\n"))
	})
	mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "kplay" || p != "s3cret" || r.Header.Get("X-Token") != "t1" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(payload))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func runGetURL(t *testing.T, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := GetURL{}.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check, BackupSuffix: ".bak"})
	if err != nil {
		t.Fatalf("get_url %v: %v", args, err)
	}
	return res
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestGetURLDownloadIdempotent(t *testing.T) {
	srv, hits := fileServer(t, "binary v1\n")
	conn := &transport.Local{}
	dest := filepath.Join(t.TempDir(), "app")
	args := map[string]any{"url": srv.URL + "/app.bin", "dest": dest, "mode": "0755", "checksum": "sha256:" + sha("binary v1\n")}

	if res := runGetURL(t, conn, true, args); !res.Changed || len(res.Changes) != 0 {
		t.Fatalf("check: %+v", res)
	}
	if _, err := os.Stat(dest); err == nil || hits.Load() != 0 {
		t.Fatal("check mode downloaded")
	}
	res := runGetURL(t, conn, false, args)
	if !res.Changed || res.Failed || len(res.Changes) != 1 || res.Changes[0] != (Change{Kind: KindFile, Path: dest, Action: "created"}) {
		t.Fatalf("first run: %+v", res)
	}
	st, err := os.Stat(dest)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("dest: %v %v", st, err)
	}
	if res := runGetURL(t, conn, false, args); res.Changed || hits.Load() != 1 {
		t.Errorf("second run changed or downloaded again (%d): %+v", hits.Load(), res)
	}
	// Without checksum and force an existing file is kept.
	if res := runGetURL(t, conn, false, map[string]any{"url": srv.URL + "/app.bin", "dest": dest}); res.Changed || hits.Load() != 1 {
		t.Errorf("existing dest without checksum: %+v", res)
	}
	entries, _ := os.ReadDir(filepath.Dir(dest))
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
}

func TestGetURLChecksumMismatchLeavesDest(t *testing.T) {
	srv, _ := fileServer(t, "new content\n")
	conn := &transport.Local{}
	dest := filepath.Join(t.TempDir(), "app")
	os.WriteFile(dest, []byte("old\n"), 0o644)
	res := runGetURL(t, conn, false, map[string]any{"url": srv.URL + "/app.bin", "dest": dest, "checksum": "sha256:" + sha("other\n")})
	if !res.Failed || !strings.Contains(res.Msg, "checksum") || len(res.Changes) != 0 {
		t.Fatalf("want a checksum failure, got %+v", res)
	}
	if b, _ := os.ReadFile(dest); string(b) != "old\n" {
		t.Errorf("dest changed: %q", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
}

func TestGetURLReplaceWithBackupAndChecksumURL(t *testing.T) {
	srv, _ := fileServer(t, "v2\n")
	conn := &transport.Local{}
	dest := filepath.Join(t.TempDir(), "app")
	os.WriteFile(dest, []byte("v1\n"), 0o600)
	args := map[string]any{"url": srv.URL + "/app.bin", "dest": dest, "checksum": "sha256:" + srv.URL + "/SHA256SUMS", "backup": true}
	res := runGetURL(t, conn, false, args)
	want := Change{Kind: KindFile, Path: dest, Action: "modified", Existed: true, Backup: dest + ".bak", OldMode: "0600",
		OldOwner: currentUser(t), OldGroup: currentGroup(t), OldKind: "file"}
	if !res.Changed || len(res.Changes) != 1 || res.Changes[0] != want {
		t.Fatalf("got %+v, want change %+v", res, want)
	}
	if b, _ := os.ReadFile(dest + ".bak"); string(b) != "v1\n" {
		t.Errorf("backup = %q", b)
	}
	if st, _ := os.Stat(dest); st.Mode().Perm() != 0o600 {
		t.Errorf("mode not kept: %v", st.Mode())
	}
	if res := runGetURL(t, conn, false, args); res.Changed {
		t.Errorf("second run: %+v", res)
	}
}

func currentUser(t *testing.T) string {
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func currentGroup(t *testing.T) string {
	out, err := exec.Command("id", "-gn").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestGetURLAuthHeadersNotOnCommandLine(t *testing.T) {
	srv, _ := fileServer(t, "secret data\n")
	rec := &recordConn{Conn: &transport.Local{}}
	dest := filepath.Join(t.TempDir(), "s")
	res := runGetURL(t, rec, false, map[string]any{"url": srv.URL + "/secret", "dest": dest,
		"url_username": "kplay", "url_password": "s3cret", "headers": map[string]any{"X-Token": "t1"}})
	if !res.Changed || res.Failed {
		t.Fatalf("auth download: %+v", res)
	}
	for _, c := range rec.cmds {
		if strings.Contains(c, "s3cret") || strings.Contains(c, "X-Token") {
			t.Errorf("secret on a command line: %s", c)
		}
	}
	res = runGetURL(t, &transport.Local{}, false, map[string]any{"url": srv.URL + "/secret", "dest": dest + "2"})
	if !res.Failed || !strings.Contains(res.Msg, "401") {
		t.Errorf("unauthorized: %+v", res)
	}
}

// recordConn remembers every command line it runs.
type recordConn struct {
	Conn
	cmds []string
}

func (r *recordConn) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	r.cmds = append(r.cmds, cmd)
	return r.Conn.Exec(ctx, cmd, stdin, stdout, stderr)
}

func TestGetURLOfflineSrc(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "artifact")
	os.WriteFile(src, []byte("offline binary\n"), 0o644)
	conn := &transport.Local{}
	dest := filepath.Join(t.TempDir(), "bin")
	os.Mkdir(dest, 0o755)
	for _, args := range []map[string]any{
		{"url": "file://" + src, "dest": dest, "mode": "0755", "checksum": "sha256:" + sha("offline binary\n")},
		{"src": src, "dest": dest, "mode": "0755", "force": true},
	} {
		res := runGetURL(t, conn, false, args)
		if b, _ := os.ReadFile(filepath.Join(dest, "artifact")); string(b) != "offline binary\n" {
			t.Fatalf("%v: dest = %q (%+v)", args, b, res)
		}
		if res := runGetURL(t, conn, false, args); res.Changed {
			t.Errorf("%v second run: %+v", args, res)
		}
	}
	res := runGetURL(t, conn, false, map[string]any{"src": src, "dest": dest + "/x", "checksum": "sha256:" + sha("nope")})
	if !res.Failed {
		t.Errorf("offline checksum mismatch: %+v", res)
	}
	if _, err := os.Stat(dest + "/x"); err == nil {
		t.Error("mismatching offline file was written")
	}
}

func TestGetURLBadArgs(t *testing.T) {
	for _, args := range []map[string]any{
		{"dest": "/tmp/x"},
		{"url": "http://127.0.0.1/x", "src": "/a", "dest": "/tmp/x"},
		{"url": "http://127.0.0.1/x", "dest": "/tmp/x", "checksum": "sha256:zz"},
		{"url": "http://127.0.0.1/x", "dest": "/tmp/x", "checksum": "crc32:00"},
		{"url": "gopher://127.0.0.1/x", "dest": "/tmp/x"},
		{"url": "http://127.0.0.1/x"},
	} {
		if _, err := (GetURL{}).Run(context.Background(), &Request{Conn: &transport.Local{}, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}

func TestPickChecksum(t *testing.T) {
	h := sha("x")
	tests := []struct{ listing, want string }{
		{h + "  app.bin\n", h},
		{h + "\n", h},
		{"ab  other\n" + h + " ./app.bin\n", h},
	}
	for _, tt := range tests {
		if got, err := pickChecksum(tt.listing, "app.bin", "sha256", "u"); err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v", tt.listing, got, err)
		}
	}
	if _, err := pickChecksum("ab  other\n", "app.bin", "sha256", "u"); err == nil {
		t.Error("want an error for a listing without the file")
	}
}

func TestGetURLWgetAndForce(t *testing.T) {
	srv, hits := fileServer(t, "payload\n")
	conn := withoutCurl(t)
	dest := filepath.Join(t.TempDir(), "f")
	args := map[string]any{"url": srv.URL + "/app.bin", "dest": dest, "force": true}
	if res := runGetURL(t, conn, false, args); !res.Changed || res.Failed {
		t.Fatalf("wget download: %+v", res)
	}
	if b, _ := os.ReadFile(dest); string(b) != "payload\n" {
		t.Fatalf("dest = %q", b)
	}
	// force downloads again, but an identical download changes nothing.
	if res := runGetURL(t, conn, false, args); res.Changed || hits.Load() != 2 {
		t.Errorf("forced identical download: %+v (hits %d)", res, hits.Load())
	}
	res := runGetURL(t, conn, false, map[string]any{"url": srv.URL + "/missing", "dest": dest + "2"})
	if !res.Failed || !strings.Contains(res.Msg, "404") {
		t.Errorf("wget 404: %+v", res)
	}
	if _, err := os.Stat(dest + "2"); err == nil {
		t.Error("a failed download created dest")
	}
}
