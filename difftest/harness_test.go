package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ansibleBin and kplayBin are set by TestMain; empty when the suite must skip.
var (
	ansibleBin string
	kplayBin   string
	setupNote  string
)

// runTimeout bounds one run of either tool.
const runTimeout = 3 * time.Minute

func TestMain(m *testing.M) {
	code, cleanup := setup()
	if code == 0 {
		code = m.Run()
	}
	cleanup()
	os.Exit(code)
}

// setup finds ansible-playbook and builds kplay (or takes KPLAY_BIN).
func setup() (int, func()) {
	nothing := func() {}
	a, err := exec.LookPath("ansible-playbook")
	if err != nil {
		setupNote = "ansible-playbook not installed (apt-get install ansible-core)"
		return 0, nothing
	}
	ansibleBin = a
	if b := os.Getenv("KPLAY_BIN"); b != "" {
		kplayBin = b
		return 0, nothing
	}
	dir, err := os.MkdirTemp("", "kplay-difftest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "difftest: make temp dir:", err)
		return 1, nothing
	}
	cleanup := func() { os.RemoveAll(dir) }
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "kplay")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/kplay/kplay/cmd/kplay")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "difftest: build kplay: %v\n%s", err, out)
		return 1, cleanup
	}
	kplayBin = bin
	return 0, cleanup
}

// needTools skips t when ansible-playbook is absent.
func needTools(t *testing.T) {
	t.Helper()
	if ansibleBin == "" || kplayBin == "" {
		t.Skip(setupNote)
	}
}

// tool is one of the two engines under comparison.
type tool string

const (
	ansible tool = "ansible"
	kplay   tool = "kplay"
)

// workspace is one tool's copy of a case: the control folder (playbook,
// inventory, files/, templates/, roles/, group_vars/ ...), the tree the
// playbook changes, and a private HOME.
type workspace struct {
	tool tool
	inv  string // the inventory file in ctl
	ctl  string
	tree string
	home string
}

// newWorkspace copies the case folder src into a fresh temp folder for tl:
// tree/ becomes the tree, the rest the control folder, and @TREE@ in the
// inventory (hosts.ini, else hosts.yaml) is replaced by the tree's path.
func newWorkspace(t *testing.T, tl tool, src string) *workspace {
	t.Helper()
	base := t.TempDir()
	w := &workspace{tool: tl, ctl: filepath.Join(base, "ctl"), tree: filepath.Join(base, "tree"), home: filepath.Join(base, "home")}
	for _, d := range []string{w.ctl, w.tree, w.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// An empty configuration: nothing from /etc/ansible or the user's.
	if err := os.WriteFile(filepath.Join(w.home, "ansible.cfg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(src, w.ctl, "tree"); err != nil {
		t.Fatalf("copy case %s: %v", src, err)
	}
	if err := copyTree(filepath.Join(src, "tree"), w.tree, ""); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("copy initial tree of %s: %v", src, err)
	}
	w.inv = filepath.Join(w.ctl, "hosts.ini")
	data, err := os.ReadFile(w.inv)
	if errors.Is(err, fs.ErrNotExist) {
		w.inv = filepath.Join(w.ctl, "hosts.yaml")
		data, err = os.ReadFile(w.inv)
	}
	if errors.Is(err, fs.ErrNotExist) {
		data, err = []byte(defaultInventory), nil
	}
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("@TREE@"), []byte(w.tree))
	if err := os.WriteFile(w.inv, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// defaultInventory is used by cases without a hosts.yaml: one local host
// whose tree is the root.
const defaultInventory = `all:
  hosts:
    h1:
      ansible_connection: local
      ansible_python_interpreter: /usr/bin/python3
      root: "@TREE@"
`

// copyTree copies the folder src into dst, skipping the top-level entry
// named skip. Files get 0755 when any execute bit is set, else 0644, so
// the result does not depend on the checkout's umask.
func copyTree(src, dst, skip string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		if skip != "" && rel == skip {
			return filepath.SkipDir
		}
		out := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		default:
			mode := fs.FileMode(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, data, mode); err != nil {
				return err
			}
			return os.Chmod(out, mode)
		}
	})
}

// result is what one run left: its exit code, its output and the recap.
type result struct {
	exit   int
	output string
	recap  map[string]recapLine
}

// run runs the tool on the workspace with the case's arguments.
func (w *workspace) run(t *testing.T, args []string) result {
	t.Helper()
	limit := runTimeout
	if d, ok := t.Deadline(); ok && time.Until(d)-20*time.Second < limit {
		// Fail with the tool's output rather than be killed by go test.
		limit = max(time.Until(d)-20*time.Second, time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	argv := []string{"-i", w.inv, filepath.Join(w.ctl, "play.yaml"), "-e", "tool=" + string(w.tool)}
	argv = append(argv, args...)
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + w.home, "LANG=C.UTF-8", "TZ=UTC"}
	bin := kplayBin
	if w.tool == ansible {
		bin = ansibleBin
		env = append(env, ansibleEnv(w.home)...)
	} else {
		env = append(env, "NO_COLOR=1")
	}
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Dir = w.ctl
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v\n%s", w.tool, err, out)
	}
	if ctx.Err() != nil {
		t.Fatalf("run %s: timed out after %v (go test -timeout)\n%s", w.tool, limit.Round(time.Second), out)
	}
	return result{exit: code, output: string(out), recap: parseRecap(string(out))}
}

// ansibleEnv keeps ansible-playbook away from any user configuration and
// from slow or noisy defaults.
func ansibleEnv(home string) []string {
	return []string{
		"ANSIBLE_CONFIG=" + filepath.Join(home, "ansible.cfg"),
		"ANSIBLE_LOCAL_TEMP=" + filepath.Join(home, "ansible-local"),
		"ANSIBLE_REMOTE_TEMP=" + filepath.Join(home, "ansible-remote"),
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_PIPELINING=1",
		"ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_GATHERING=explicit",
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
		"ANSIBLE_HOST_KEY_CHECKING=0",
		"ANSIBLE_DEPRECATION_WARNINGS=0",
		"ANSIBLE_LOCALHOST_WARNING=0",
		"ANSIBLE_INVENTORY_UNPARSED_WARNING=0",
	}
}

// recapLine is one host's line of PLAY RECAP.
type recapLine struct {
	ok, changed, unreachable, failed, skipped, rescued, ignored int
}

// parseRecap reads the PLAY RECAP lines both tools print.
func parseRecap(out string) map[string]recapLine {
	m := map[string]recapLine{}
	_, after, found := strings.Cut(out, "PLAY RECAP")
	if !found {
		return m
	}
	for _, line := range strings.Split(after, "\n") {
		host, rest, ok := strings.Cut(line, ":")
		host = strings.TrimSpace(host)
		if !ok || host == "" || strings.Contains(host, " ") {
			continue
		}
		var r recapLine
		n, _ := fmt.Sscanf(strings.Join(strings.Fields(rest), " "),
			"ok=%d changed=%d unreachable=%d failed=%d skipped=%d rescued=%d ignored=%d",
			&r.ok, &r.changed, &r.unreachable, &r.failed, &r.skipped, &r.rescued, &r.ignored)
		if n == 7 {
			m[host] = r
		}
	}
	return m
}
