package modules

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/transport"
)

// apiServer answers /json with a JSON document, /echo with the method,
// content type and body it got, /redirect with a redirect to /json, and
// /auth only with basic auth kplay:pw.
func apiServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok","n":3}`))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(r.Method + " " + r.Header.Get("Content-Type") + " " + string(b)))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/json", http.StatusFound) })
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "kplay" || p != "pw" {
			http.Error(w, "denied", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("welcome"))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// withoutCurl returns a Conn whose PATH has every tool of /usr/bin but
// curl, so that the wget fallback runs.
func withoutCurl(t *testing.T) Conn {
	t.Helper()
	if _, err := exec.LookPath("wget"); err != nil {
		t.Skip("wget is not installed")
	}
	bin := t.TempDir()
	for _, dir := range []string{"/usr/bin", "/bin", "/usr/sbin"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != "curl" {
				os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(bin, e.Name()))
			}
		}
	}
	return &transport.Local{Env: []string{"PATH=" + bin}}
}

func runURI(t *testing.T, conn Conn, args map[string]any) Result {
	t.Helper()
	res, err := URI{}.Run(context.Background(), &Request{Conn: conn, Args: args})
	if err != nil {
		t.Fatalf("uri %v: %v", args, err)
	}
	return res
}

func TestURI(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	srv := apiServer(t)
	conns := map[string]func(*testing.T) Conn{"curl": func(*testing.T) Conn { return &transport.Local{} }, "wget": withoutCurl}
	for tool, mk := range conns {
		t.Run(tool, func(t *testing.T) {
			conn := mk(t)
			res := runURI(t, conn, map[string]any{"url": srv.URL + "/json", "return_content": true})
			js, _ := res.Data["json"].(map[string]any)
			if res.Failed || res.Changed || res.Data["status"] != 200 || js["status"] != "ok" || res.Data["content"] != `{"status":"ok","n":3}` {
				t.Errorf("GET json: %+v", res)
			}
			res = runURI(t, conn, map[string]any{"url": srv.URL + "/echo", "method": "POST", "body_format": "json",
				"body": map[string]any{"a": 1}, "status_code": []any{200, 201}, "return_content": "yes"})
			if res.Failed || res.Data["content"] != `POST application/json {"a":1}` {
				t.Errorf("POST json: %+v", res)
			}
			res = runURI(t, conn, map[string]any{"url": srv.URL + "/echo", "method": "PUT", "body_format": "form-urlencoded",
				"body": map[string]any{"k": "a b"}, "status_code": 201, "return_content": true})
			if res.Failed || res.Data["content"] != "PUT application/x-www-form-urlencoded k=a+b" {
				t.Errorf("PUT form: %+v", res)
			}
			if res := runURI(t, conn, map[string]any{"url": srv.URL + "/redirect"}); res.Failed || !strings.HasSuffix(res.Data["url"].(string), "/json") {
				t.Errorf("redirect: %+v", res)
			}
			if res := runURI(t, conn, map[string]any{"url": srv.URL + "/auth"}); !res.Failed || res.Data["status"] != 401 || !strings.Contains(res.Msg, "401") {
				t.Errorf("want a 401 failure: %+v", res)
			}
			if res := runURI(t, conn, map[string]any{"url": srv.URL + "/auth", "url_username": "kplay", "url_password": "pw"}); res.Failed {
				t.Errorf("auth: %+v", res)
			}
		})
	}
}

func TestURIUnreachableAndCheck(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	res := runURI(t, &transport.Local{}, map[string]any{"url": "http://" + addr + "/", "timeout": 5})
	if !res.Failed || !strings.Contains(res.Msg, "failed") {
		t.Errorf("closed port: %+v", res)
	}
	res, err = URI{}.Run(context.Background(), &Request{Conn: &transport.Local{}, Check: true,
		Args: map[string]any{"url": "http://" + addr + "/", "method": "DELETE"}})
	if err != nil || res.Changed || !res.Unknown {
		t.Errorf("check mode DELETE: %+v %v", res, err)
	}
}

func TestURIBadArgs(t *testing.T) {
	for _, args := range []map[string]any{
		{},
		{"url": "file:///etc/passwd"},
		{"url": "http://127.0.0.1/", "body": "x", "body_format": "xml"},
		{"url": "http://127.0.0.1/", "body": "x", "body_format": "form-urlencoded"},
		{"url": "http://127.0.0.1/", "headers": map[string]any{"Bad Name": "x"}},
		{"url": "http://127.0.0.1/", "follow_redirects": "sometimes"},
		{"url": "http://127.0.0.1/", "status_code": "abc"},
	} {
		if _, err := (URI{}).Run(context.Background(), &Request{Conn: &transport.Local{}, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}

func TestCurlConfigQuoting(t *testing.T) {
	r := httpRequest{URL: `http://h/a"b`, Method: "GET", Headers: map[string]string{"X": `q"\`}, User: "u", Password: `p"w`, ValidateCerts: true, Timeout: 3}
	got := r.curlConfig()
	for _, want := range []string{`url = "http://h/a\"b"`, `header = "X: q\"\\"`, `user = "u:p\"w"`} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %s:\n%s", want, got)
		}
	}
	var v any
	if json.Unmarshal([]byte(`{}`), &v) != nil {
		t.Fatal("json")
	}
}
