package modules

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// wantFile checks that p holds exactly want.
func wantFile(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("read back %q: %v", p, err)
		return
	}
	if string(b) != want {
		t.Errorf("%q holds %d bytes, want %d (not byte for byte)", p, len(b), len(want))
	}
}

// wantAbsent checks that a refused write left nothing.
func wantAbsent(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); err == nil {
		t.Errorf("%q exists after a refusal", p)
	}
}

// refusedNUL handles a value holding a NUL given as a path: the module
// must refuse it and write nothing. It reports whether v had one.
func refusedNUL(t *testing.T, h *hostileEnv, v hostile, res Result, err error) bool {
	t.Helper()
	if !v.hasNUL() {
		return false
	}
	if !refused(t, res, err) {
		t.Errorf("a path with a NUL was accepted: %+v", res)
	}
	wantAbsent(t, filepath.Join(h.dir, "a"))
	return true
}

func hostileCopy(t *testing.T, h *hostileEnv, v hostile) {
	// The value as content: every byte, NUL included, lands.
	p := h.pathFor(t, v)
	res, err := h.run(t, Copy{}, map[string]any{"content": v.v, "dest": p, "mode": "0600"}, nil)
	if err != nil || res.Failed || !res.Changed {
		t.Fatalf("copy content to %q: %v %+v", p, err, res)
	}
	wantFile(t, p, v.v)
	if res, err := h.run(t, Copy{}, map[string]any{"content": v.v, "dest": p, "mode": "0600"}, nil); err != nil || res.Changed {
		t.Errorf("second copy: %v %+v", err, res)
	}
	// The value as the destination path.
	res, err = h.run(t, Copy{}, map[string]any{"content": "x", "dest": filepath.Join(h.dir, v.v)}, nil)
	if refusedNUL(t, h, v, res, err) || !v.inName() {
		return
	}
	if err != nil || res.Failed {
		t.Fatalf("copy to a hostile dest: %v %+v", err, res)
	}
	wantFile(t, filepath.Join(h.dir, v.v), "x")
}

func hostileTemplate(t *testing.T, h *hostileEnv, v hostile) {
	p := h.pathFor(t, v)
	files := fstest.MapFS{"templates/t.j2": {Data: []byte("<{{.v}}>")}}
	res, err := h.run(t, Template{}, map[string]any{"src": "t.j2", "dest": p}, func(r *Request) {
		*r = *newReq(r.Args, files, map[string]any{"v": v.v})
		r.Conn = h.conn
	})
	if err != nil || res.Failed {
		t.Fatalf("template: %v %+v", err, res)
	}
	wantFile(t, p, "<"+v.v+">")
}

func hostileFile(t *testing.T, h *hostileEnv, v hostile) {
	p := filepath.Join(h.dir, v.v)
	for _, state := range []string{"touch", "directory", "absent"} {
		res, err := h.run(t, File{}, map[string]any{"path": p, "state": state, "mode": "0750"}, nil)
		if refusedNUL(t, h, v, res, err) {
			return
		}
		if !v.inName() {
			if err == nil && !res.Failed && state != "absent" {
				t.Errorf("state=%s on %d bytes with a slash: accepted", state, len(v.v))
			}
			continue
		}
		if err != nil || res.Failed {
			t.Fatalf("state=%s: %v %+v", state, err, res)
		}
		st, err := os.Lstat(p)
		switch {
		case state == "absent" && err == nil:
			t.Errorf("state=absent: %q still there", p)
		case state != "absent" && (err != nil || st.Mode().Perm() != 0o750):
			t.Errorf("state=%s: %v %v", state, st, err)
		}
		if state == "touch" {
			os.Remove(p)
		}
	}
	// The value as mode, owner and group: refused (what a refused owner
	// leaves behind is TestFileRefusedOwnerIsJournaled's matter).
	for _, k := range []string{"mode", "owner", "group"} {
		q := filepath.Join(h.dir, "attr-"+k)
		res, err := h.run(t, File{}, map[string]any{"path": q, "state": "touch", k: v.v}, nil)
		if !refused(t, res, err) {
			t.Errorf("%s=%q accepted: %+v", k, v.v, res)
		}
		if k == "mode" {
			wantAbsent(t, q)
		}
	}
}

func hostileLineinfile(t *testing.T, h *hostileEnv, v hostile) {
	p := h.pathFor(t, v)
	args := map[string]any{"path": p, "line": v.v, "create": true}
	res, err := h.run(t, Lineinfile{}, args, nil)
	if err != nil || res.Failed {
		t.Fatalf("lineinfile: %v %+v", err, res)
	}
	wantFile(t, p, v.v+"\n")
	// A "line" holding newlines is several lines: as in Ansible, it is
	// appended again on every run.
	if res, err := h.run(t, Lineinfile{}, args, nil); err != nil || res.Changed && !strings.Contains(v.v, "\n") {
		t.Errorf("second run: %v changed=%v", err, res.Changed)
	}
	// The value as a regexp: compiled as given, or refused when invalid.
	res, err = h.run(t, Lineinfile{}, map[string]any{"path": p, "regexp": v.v, "line": "r"}, nil)
	if _, cerr := regexp.Compile(v.v); cerr != nil && err == nil {
		t.Errorf("invalid regexp %q accepted: %+v", v.v, res)
	}
	if strings.Contains(v.v, "\n") {
		return
	}
	writeFile(t, p, "a\n"+v.v+"\nb\n", 0o644)
	res, err = h.run(t, Lineinfile{}, map[string]any{"path": p, "regexp": "^" + regexp.QuoteMeta(v.v) + "$", "line": "replaced"}, nil)
	if notUTF8Refused(t, v, err) {
		return
	}
	if err != nil || !res.Changed {
		t.Fatalf("quoted regexp: %v %+v", err, res)
	}
	wantFile(t, p, "a\nreplaced\nb\n")
}

// notUTF8Refused accepts the refusal of a regexp made of a value that is
// not UTF-8 (Go's regexp, like YAML, takes UTF-8 only), and checks that
// any other value was not refused on that ground.
func notUTF8Refused(t *testing.T, v hostile, err error) bool {
	t.Helper()
	if utf8.ValidString(v.v) {
		return false
	}
	if err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
		t.Errorf("a regexp of invalid UTF-8: want a clear refusal, got %v", err)
	}
	return true
}

func hostileBlockinfile(t *testing.T, h *hostileEnv, v hostile) {
	p := h.pathFor(t, v)
	// A marker is one line (Ansible's too: a newline in it makes it two,
	// and the block is added again on every run).
	marker := "# {mark} " + strings.ReplaceAll(v.v, "\n", " ")
	args := map[string]any{"path": p, "block": v.v, "marker": marker, "create": true}
	res, err := h.run(t, Blockinfile{}, args, nil)
	if err != nil || res.Failed {
		t.Fatalf("blockinfile: %v %+v", err, res)
	}
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), v.v) || !strings.Contains(string(b), "# BEGIN "+strings.ReplaceAll(v.v, "\n", " ")) {
		t.Errorf("block or marker not written byte for byte")
	}
	if res, err := h.run(t, Blockinfile{}, args, nil); err != nil || res.Changed {
		t.Errorf("second run: %v changed=%v", err, res.Changed)
	}
}

func hostileReplace(t *testing.T, h *hostileEnv, v hostile) {
	p := h.pathFor(t, v)
	writeFile(t, p, "<"+v.v+">", 0o644)
	res, err := h.run(t, Replace{}, map[string]any{"path": p, "regexp": regexp.QuoteMeta(v.v), "replace": "R"}, nil)
	if notUTF8Refused(t, v, err) {
		return
	}
	if err != nil || !res.Changed {
		t.Fatalf("replace: %v %+v", err, res)
	}
	wantFile(t, p, "<R>")
}

func hostileStatSlurp(t *testing.T, h *hostileEnv, v hostile) {
	p := filepath.Join(h.dir, v.v)
	if !v.inName() {
		res, err := h.run(t, StatModule{}, map[string]any{"path": p}, nil)
		if refusedNUL(t, h, v, res, err) {
			return
		}
		if v.name == "big" {
			// A 1 MiB path is over PATH_MAX ("File name too long"), and
			// its command over what sshd takes in one request ("start
			// command: EOF"): an error either way.
			if err == nil {
				t.Errorf("stat of a 1 MiB path: want an error, got %+v", res)
			}
		} else if err != nil || res.Data["stat"].(map[string]any)["exists"] != false {
			t.Errorf("stat of a missing hostile path: %v %+v", err, res.Data)
		}
		p = h.pathFor(t, v)
	}
	writeFile(t, p, v.v, 0o640)
	res, err := h.run(t, StatModule{}, map[string]any{"path": p}, nil)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	st, _ := res.Data["stat"].(map[string]any)
	sum := sha256.Sum256([]byte(v.v))
	if st["exists"] != true || st["checksum"] != hex.EncodeToString(sum[:]) || st["path"] != p {
		t.Errorf("stat = %v", st)
	}
	res, err = h.run(t, Slurp{}, map[string]any{"src": p}, nil)
	if err != nil || res.Data["content"] != base64.StdEncoding.EncodeToString([]byte(v.v)) {
		t.Errorf("slurp did not read the content byte for byte: %v", err)
	}
}

func hostileFetch(t *testing.T, h *hostileEnv, v hostile) {
	src := h.pathFor(t, v)
	writeFile(t, src, v.v, 0o644)
	local := filepath.Join(t.TempDir(), "fetched "+strings.ReplaceAll(v.name, "/", "_"))
	res, err := h.run(t, Fetch{}, map[string]any{"src": src, "dest": local, "flat": true}, nil)
	if err != nil || res.Failed {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	wantFile(t, local, v.v)
}

func hostileGetURL(t *testing.T, h *hostileEnv, v hostile) {
	src := filepath.Join(t.TempDir(), "artifact")
	writeFile(t, src, v.v, 0o644)
	dest := h.pathFor(t, v)
	res, err := h.run(t, GetURL{}, map[string]any{"src": src, "dest": dest}, nil)
	if err != nil || res.Failed {
		t.Fatalf("get_url: %v %+v", err, res)
	}
	wantFile(t, dest, v.v)
	// The download script (curl on the host) over an existing dest named
	// by the value: new content in place, the old one in the backup.
	if _, err := exec.LookPath("curl"); err != nil || !v.inName() {
		return
	}
	srv, _ := fileServer(t, "downloaded "+v.v)
	res, err = h.run(t, GetURL{}, map[string]any{"url": srv.URL + "/app.bin", "dest": dest, "force": true, "backup": true}, nil)
	if err != nil || res.Failed || len(res.Changes) != 1 {
		t.Fatalf("download over %q: %v %+v", dest, err, res)
	}
	wantFile(t, dest, "downloaded "+v.v)
	wantFile(t, res.Changes[0].Backup, v.v)
}

func hostileWaitFor(t *testing.T, h *hostileEnv, v hostile) {
	p := h.pathFor(t, v)
	writeFile(t, p, "ready "+v.v, 0o644)
	args := map[string]any{"path": p, "timeout": 5, "sleep": 1}
	if !strings.Contains(v.v, "\n") {
		args["search_regex"] = regexp.QuoteMeta(v.v)
	}
	res, err := h.run(t, WaitFor{}, args, nil)
	if v.hasNUL() {
		if !refused(t, res, err) {
			t.Errorf("a NUL in search_regex was accepted")
		}
		return
	}
	if args["search_regex"] != nil && notUTF8Refused(t, v, err) {
		return
	}
	if err != nil || res.Failed {
		t.Errorf("wait_for: %v %+v", err, res)
	}
}
