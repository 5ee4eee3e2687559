package modules

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// countConn counts the round trips (SSH sessions on a real host) a module
// makes: on a fleet each one costs the host an sshd fork and a shell exec,
// so the modules that run in every play keep them few
// (docs/benchmarks.md).
type countConn struct {
	Conn
	n atomic.Int32
}

func (c *countConn) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	c.n.Add(1)
	return c.Conn.Exec(ctx, cmd, stdin, stdout, stderr)
}

// runCounted runs m with a counting connection and returns the result and
// the number of round trips.
func runCounted(t *testing.T, m Module, req *Request) (Result, int) {
	t.Helper()
	c := &countConn{Conn: req.Conn}
	req.Conn = c
	res := runModule(t, m, req)
	return res, int(c.n.Load())
}

func TestRoundTrips(t *testing.T) {
	dir := hostileDir(t)
	env := filepath.Join(dir, "new", "etc", "env")
	link := filepath.Join(dir, "current")
	src := filepath.Join(dir, "target.conf")
	writeFile(t, src, "x\n", 0o644)
	made := filepath.Join(dir, "made")
	steps := []struct {
		name  string
		m     Module
		args  map[string]any
		check bool
		want  int
		moved bool
	}{
		{"folder new", File{}, map[string]any{"path": filepath.Join(dir, "d1", "d2"), "state": "directory", "mode": "0750"}, false, 1, true},
		{"folder again", File{}, map[string]any{"path": filepath.Join(dir, "d1", "d2"), "state": "directory", "mode": "0750"}, false, 1, false},
		{"folder check", File{}, map[string]any{"path": filepath.Join(dir, "d3"), "state": "directory"}, true, 1, true},
		{"lineinfile check, parents missing", Lineinfile{}, map[string]any{"path": env, "line": "A=1", "create": true}, true, 1, true},
		{"lineinfile create with parents", Lineinfile{}, map[string]any{"path": env, "line": "A=1", "create": true}, false, 2, true},
		{"lineinfile again", Lineinfile{}, map[string]any{"path": env, "line": "A=1", "create": true}, false, 1, false},
		{"lineinfile edit", Lineinfile{}, map[string]any{"path": env, "regexp": "^B=", "line": "B=2"}, false, 2, true},
		{"blockinfile again", Blockinfile{}, map[string]any{"path": env, "block": "C=3"}, false, 2, true},
		{"replace no match", Replace{}, map[string]any{"path": env, "regexp": "^Z=.*$", "replace": "Z=0"}, false, 1, false},
		{"link check", File{}, map[string]any{"path": link, "src": src, "state": "link"}, true, 1, true},
		{"link new", File{}, map[string]any{"path": link, "src": src, "state": "link"}, false, 1, true},
		{"link again", File{}, map[string]any{"path": link, "src": src, "state": "link"}, false, 1, false},
		{"link check again", File{}, map[string]any{"path": link, "src": src, "state": "link"}, true, 1, false},
		{"link elsewhere", File{}, map[string]any{"path": link, "src": env, "state": "link"}, false, 2, true},
		{"creates runs", Shell{}, map[string]any{"_raw_params": "echo hi > " + shellWord(made), "creates": made}, false, 1, true},
		{"creates skips", Shell{}, map[string]any{"_raw_params": "exit 3", "creates": made}, false, 1, false},
	}
	for _, s := range steps {
		req := newReq(s.args, nil, nil)
		req.Check, req.Diff = s.check, true
		res, n := runCounted(t, s.m, req)
		if n != s.want {
			t.Errorf("%s: %d round trips, want %d", s.name, n, s.want)
		}
		if res.Changed != s.moved || res.Failed {
			t.Errorf("%s: changed=%v failed=%v (%s), want changed=%v", s.name, res.Changed, res.Failed, res.Msg, s.moved)
		}
	}
	if got := readString(t, env); got != "A=1\nB=2\n# BEGIN ANSIBLE MANAGED BLOCK\nC=3\n# END ANSIBLE MANAGED BLOCK\n" {
		t.Errorf("env file %q", got)
	}
}

func TestLineinfileCreatesParentsJournaled(t *testing.T) {
	dir := hostileDir(t)
	p := filepath.Join(dir, "a", "b c", "env")
	first := contract(t, Lineinfile{}, dir, func() *Request {
		return newReq(map[string]any{"path": p, "line": "X=1", "create": true, "mode": "0600"}, nil, nil)
	})
	want := []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b c"), p}
	if len(first.Changes) != len(want) {
		t.Fatalf("journal %+v, want %v", first.Changes, want)
	}
	for i, ch := range first.Changes {
		if ch.Path != want[i] || ch.Action != "created" || ch.Existed {
			t.Errorf("entry %d: %+v, want %s created", i, ch, want[i])
		}
	}
	if m := modeOf(t, filepath.Join(dir, "a")); m != "0755" {
		t.Errorf("parent mode %s, want 0755", m)
	}
	if m := modeOf(t, p); m != "0600" {
		t.Errorf("file mode %s, want 0600", m)
	}
}

func TestLineinfileThroughLinks(t *testing.T) {
	dir := t.TempDir()
	realFile := filepath.Join(dir, "real.conf")
	writeFile(t, realFile, "A=1\n", 0o640)
	ln := filepath.Join(dir, "via link")
	if err := os.Symlink(realFile, ln); err != nil {
		t.Fatal(err)
	}
	res := runModule(t, Lineinfile{}, newReq(map[string]any{"path": ln, "line": "B=2"}, nil, nil))
	if !res.Changed || len(res.Changes) != 1 || res.Changes[0].Path != realFile {
		t.Fatalf("edit through a link: %+v, want one change of %s", res, realFile)
	}
	if got := readString(t, realFile); got != "A=1\nB=2\n" {
		t.Errorf("target %q", got)
	}
	if fi, err := os.Lstat(ln); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	// A dangling link: the file is created where it points (readlink -f
	// needs the target's folder to exist).
	dangling := filepath.Join(dir, "dangling")
	target := filepath.Join(dir, "t.conf")
	if err := os.Symlink(target, dangling); err != nil {
		t.Fatal(err)
	}
	res = runModule(t, Lineinfile{}, newReq(map[string]any{"path": dangling, "line": "C=3", "create": true}, nil, nil))
	if !res.Changed || len(res.Changes) != 1 || res.Changes[0].Path != target || res.Changes[0].Action != "created" {
		t.Fatalf("dangling link: %+v", res.Changes)
	}
	if got := readString(t, target); got != "C=3\n" {
		t.Errorf("target %q", got)
	}
}

func TestLineinfileOnFifoFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(p); err != nil {
		t.Skip("mkfifo:", err)
	}
	_, err := Lineinfile{}.Run(t.Context(), newReq(map[string]any{"path": p, "line": "x"}, nil, nil))
	if err == nil || !strings.Contains(err.Error(), "destination is a fifo") {
		t.Fatalf("got %v, want a fifo refused (and no read that blocks)", err)
	}
}

func TestCommandGuards(t *testing.T) {
	dir := hostileDir(t)
	there := filepath.Join(dir, "there")
	writeFile(t, there, "", 0o644)
	gone := filepath.Join(dir, "gone")
	cases := []struct {
		name     string
		m        Module
		args     map[string]any
		skipped  bool
		rc       int
		stdout   string
		contains string
	}{
		{"creates exists", Shell{}, map[string]any{"_raw_params": "echo ran", "creates": there}, true, 0, "", "since " + there + " exists"},
		{"creates exists, bad syntax", Shell{}, map[string]any{"_raw_params": "if then fi (", "creates": there}, true, 0, "", "exists"},
		{"creates missing", Shell{}, map[string]any{"_raw_params": "echo ran; echo err >&2; exit 4", "creates": gone}, false, 4, "ran", ""},
		{"creates missing, bad syntax", Shell{}, map[string]any{"_raw_params": "if then fi (", "creates": gone}, false, 2, "", ""},
		{"removes missing", Command{}, map[string]any{"_raw_params": "echo ran", "removes": gone}, true, 0, "", "since " + gone + " does not exist"},
		{"removes exists", Command{}, map[string]any{"_raw_params": "echo 'a  b' $x", "removes": there}, false, 0, "a  b $x", ""},
		{"relative creates in chdir", Command{}, map[string]any{"_raw_params": "pwd", "creates": "there", "chdir": dir}, true, 0, "", "exists"},
		{"both, runs", Shell{}, map[string]any{"_raw_params": "cat", "creates": gone, "removes": there, "stdin": "in"}, false, 0, "in", ""},
	}
	for _, c := range cases {
		res, n := runCounted(t, c.m, newReq(c.args, nil, nil))
		if n != 1 {
			t.Errorf("%s: %d round trips, want 1", c.name, n)
		}
		if c.skipped {
			if res.Changed || res.Failed || !strings.Contains(res.Msg, c.contains) || res.Stdout != "" {
				t.Errorf("%s: %+v, want skipped with %q", c.name, res, c.contains)
			}
			continue
		}
		if !res.Changed || res.RC != c.rc || res.Stdout != c.stdout || res.Failed != (c.rc != 0) {
			t.Errorf("%s: changed=%v rc=%d stdout=%q failed=%v, want rc %d stdout %q", c.name, res.Changed, res.RC, res.Stdout, res.Failed, c.rc, c.stdout)
		}
	}
	req := newReq(map[string]any{"_raw_params": "touch x", "creates": gone}, nil, nil)
	req.Check = true
	if res := runModule(t, Shell{}, req); !res.Changed {
		t.Errorf("check with a missing creates: %+v, want a predicted run", res)
	}
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }
