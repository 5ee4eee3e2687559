package modules

// The hostile values suite: values that would break out of shell quoting,
// split an argument, start an option, or not survive a round trip as text,
// passed through every module that builds a remote command. Each case
// checks three things: nothing broke out of quoting (the canary file the
// injections would create never appears, the victim file never changes),
// the value arrived byte for byte (read back from the host), or the module
// refused it with an error (never a panic, never a half-written file: no
// temp file left, the destination absent or unchanged).

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/internal/sshtest"
	"github.com/kplay/kplay/shell"
	"github.com/kplay/kplay/transport"
)

// hostile is one value; name is its subtest name.
type hostile struct{ name, v string }

// injections run `touch canary` (relative: commands run in the case's
// folder) if they ever reach a shell unquoted.
var hostileValues = []hostile{
	{"single-quote", `it's 'quoted' '\''`},
	{"double-quote", `say "hi" \"x\" "`},
	{"newline", "a\nb\n\nc"},
	{"subst", "$(touch canary)"},
	{"backtick", "`touch canary`"},
	{"semicolon", "x; touch canary"},
	{"pipe", "x | touch canary"},
	{"and", "x && touch canary"},
	{"quote-break", `'; touch canary; '"; touch canary; "`},
	{"newline-break", "x\ntouch canary\n"},
	{"glob", "*?[a-z]{x,y}~"},
	{"dash", "-rf --help"},
	{"dash-n", "-n"},
	{"dollar", `$HOME ${IFS} $1 $$ \ \\ %s %n %%`},
	{"nul", "a\x00b"},
	{"non-utf8", "\xff\xfe\x80 abc \xc3("},
	{"unicode", "ünïcødé ✓ 日本 \u202e ﬁ 🙂"},
	{"spaces", "  lead and trail  "},
	{"big", bigHostile()},
}

// bigHostile is 1 MiB made of the other values' characters.
func bigHostile() string {
	unit := "'\"$(touch canary)`touch canary`;|&&*?\n\\-\xff ü"
	return strings.Repeat(unit, (1<<20)/len(unit)+1)[:1<<20]
}

// inName tells whether v can be a file name: no slash, no NUL, short.
func (h hostile) inName() bool {
	return !strings.ContainsAny(h.v, "/\x00") && len(h.v) < 200 && strings.Trim(h.v, ".") != ""
}

// hasNUL values must be refused wherever they reach a path, a name or an
// argument (no C string can hold them).
func (h hostile) hasNUL() bool { return strings.Contains(h.v, "\x00") }

// hostileEnv is one case's host: a folder the commands run in (where a
// broken-out `touch canary` would land) and a victim file nothing may
// change.
type hostileEnv struct {
	dir    string
	conn   Conn
	victim string
}

// cdConn runs every command in dir.
type cdConn struct {
	Conn
	dir string
}

func (c cdConn) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	return c.Conn.Exec(ctx, "cd "+shell.Quote(c.dir)+" || exit 1\n"+cmd, stdin, stdout, stderr)
}

const victimContent = "do not touch\n"

func newHostileEnv(t *testing.T, base Conn, root string) *hostileEnv {
	t.Helper()
	dir, err := os.MkdirTemp(root, "case-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &hostileEnv{dir: dir, conn: cdConn{Conn: base, dir: dir}, victim: filepath.Join(dir, "victim")}
	writeFile(t, h.victim, victimContent, 0o644)
	return h
}

// check asserts that nothing broke out and no temp file was left.
func (h *hostileEnv) check(t *testing.T) {
	t.Helper()
	for _, p := range []string{filepath.Join(h.dir, "canary"), "canary"} {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s exists: a value broke out of quoting", p)
		}
	}
	if b, err := os.ReadFile(h.victim); err != nil || string(b) != victimContent {
		t.Errorf("victim changed: %q, %v", b, err)
	}
	_ = filepath.WalkDir(h.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".kplay-") && strings.HasSuffix(d.Name(), ".tmp") {
			t.Errorf("temp file left: %q", p)
		}
		return nil
	})
}

// run runs m and returns its result and error; a panic fails the test.
func (h *hostileEnv) run(t *testing.T, m Module, args map[string]any, mod func(*Request)) (Result, error) {
	t.Helper()
	req := newReq(args, nil, nil)
	req.Conn = h.conn
	if mod != nil {
		mod(req)
	}
	return m.Run(t.Context(), req)
}

// refused says whether a module turned the value down (error or failed)
// and checks that the message says something.
func refused(t *testing.T, res Result, err error) bool {
	t.Helper()
	switch {
	case err != nil:
		if strings.TrimSpace(err.Error()) == "" {
			t.Error("empty error")
		}
		return true
	case res.Failed:
		if strings.TrimSpace(res.Msg+res.Stderr) == "" {
			t.Errorf("failed without a message: %+v", res)
		}
		return true
	}
	return false
}

// pathFor is a file named by the value inside a folder named by it (when
// it can be a name), else a plain name.
func (h *hostileEnv) pathFor(t *testing.T, v hostile) string {
	t.Helper()
	if !v.inName() {
		return filepath.Join(h.dir, "plain")
	}
	d := filepath.Join(h.dir, "d "+v.v)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, v.v)
}

// forEach runs f for every value on base (nil: the local transport).
func forEach(t *testing.T, base Conn, values []hostile, f func(t *testing.T, h *hostileEnv, v hostile)) {
	t.Helper()
	if base == nil {
		base = &transport.Local{}
	}
	root := t.TempDir()
	for _, v := range values {
		t.Run(v.name, func(t *testing.T) {
			h := newHostileEnv(t, base, root)
			f(t, h, v)
			h.check(t)
		})
	}
}

// hostileCases are the module checks, by name, shared by the local and
// the SSH runs.
var hostileCases = map[string]func(t *testing.T, h *hostileEnv, v hostile){
	"command argv":  hostileCommandArgv,
	"command stdin": hostileCommandStdin,
	"copy":          hostileCopy,
	"template":      hostileTemplate,
	"file":          hostileFile,
	"lineinfile":    hostileLineinfile,
	"blockinfile":   hostileBlockinfile,
	"replace":       hostileReplace,
	"stat slurp":    hostileStatSlurp,
	"fetch":         hostileFetch,
	"get_url":       hostileGetURL,
	"unarchive":     hostileUnarchive,
	"wait_for":      hostileWaitFor,
	"accounts":      hostileAccounts,
	"sysctl":        hostileSysctl,
	"systemd":       hostileSystemd,
	"pki":           hostilePKI,
}

func TestHostileValuesLocal(t *testing.T) {
	for name, f := range hostileCases {
		t.Run(name, func(t *testing.T) { forEach(t, nil, hostileValues, f) })
	}
}

// TestHostileValuesSSH runs the cases that reach a host over the SSH
// transport against a real OpenSSH server (root and sshd needed).
func TestHostileValuesSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	hs := sshtest.Start(t, 1)
	pool := transport.NewPool(transport.Options{KnownHosts: []string{hs[0].KnownHosts}, SSHConfigFile: "none", AgentSocket: "none"})
	t.Cleanup(func() { pool.Close() })
	conn := pool.Get(transport.Config{Name: hs[0].Name, Address: hs[0].Addr, Port: hs[0].Port, User: hs[0].User, KeyFiles: []string{hs[0].KeyFile}})
	for _, name := range []string{"command argv", "command stdin", "copy", "file", "lineinfile", "blockinfile", "stat slurp", "fetch", "unarchive"} {
		t.Run(name, func(t *testing.T) { forEach(t, conn, hostileValues, hostileCases[name]) })
	}
}

func hostileCommandArgv(t *testing.T, h *hostileEnv, v hostile) {
	res, err := h.run(t, Command{}, map[string]any{"argv": []any{"printf", "%s|", v.v}}, nil)
	if v.hasNUL() || v.name == "big" {
		// A NUL cannot be in an argument; 1 MiB is over the kernel's
		// 128 KiB limit for one.
		if !refused(t, res, err) {
			t.Errorf("want a refusal, got %+v", res)
		}
		return
	}
	if err != nil || res.Failed || res.Stdout != v.v+"|" {
		t.Errorf("stdout = %q (%v, %+v), want %q", res.Stdout, err, res.Msg, v.v+"|")
	}
	if !v.inName() {
		return
	}
	p := h.pathFor(t, v)
	writeFile(t, p, "x", 0o644)
	res, err = h.run(t, Command{}, map[string]any{"argv": []any{"cat", "--", v.v}, "chdir": filepath.Dir(p), "removes": p}, nil)
	if err != nil || res.Failed || res.Stdout != "x" {
		t.Errorf("chdir and removes: %q %v %+v", res.Stdout, err, res)
	}
}

func hostileCommandStdin(t *testing.T, h *hostileEnv, v hostile) {
	no := false
	res, err := h.run(t, Command{}, map[string]any{"argv": []any{"od", "-An", "-c"}, "stdin": v.v, "stdin_add_newline": no}, nil)
	if err != nil || res.Failed {
		t.Fatalf("stdin: %v %+v", err, res)
	}
	var want bytes.Buffer
	if err := (&transport.Local{}).Exec(t.Context(), "od -An -c", strings.NewReader(v.v), &want, nil); err != nil {
		t.Fatal(err)
	}
	if res.Stdout != strings.TrimRight(want.String(), "\r\n") {
		t.Errorf("stdin did not arrive byte for byte")
	}
}
