package modules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"text/template"

	"github.com/kplay/kplay/transport"
)

// testSuffix is the backup suffix tests give the modules.
const testSuffix = ".20261123T000000Z.kplay~"

// newReq builds a request for the local host with role files and a
// text/template renderer over vars.
func newReq(args map[string]any, files fstest.MapFS, vars map[string]any) *Request {
	return &Request{
		Conn: &transport.Local{}, Host: "localhost", Args: args, Files: files,
		Vars: vars, BackupSuffix: testSuffix,
		Render: func(name string, text []byte) ([]byte, error) {
			t, err := template.New(name).Option("missingkey=error").Parse(string(text))
			if err != nil {
				return nil, err
			}
			var b bytes.Buffer
			err = t.Execute(&b, vars)
			return b.Bytes(), err
		},
	}
}

// runModule runs m and fails the test on an error.
func runModule(t *testing.T, m Module, req *Request) Result {
	t.Helper()
	res, err := m.Run(t.Context(), req)
	if err != nil {
		t.Fatalf("run %T %v: %v", m, req.Args, err)
	}
	return res
}

// snapshot describes every path below dir: kind, mode, content digest or
// link target, so two snapshots differ when anything changed.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := st.Mode().String()
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case st.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(sum[:8])
		}
		snap[p] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return snap
}

func snapDiff(a, b map[string]string) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out strings.Builder
	for _, k := range keys {
		if a[k] != b[k] {
			fmt.Fprintf(&out, "%s: %q -> %q\n", k, a[k], b[k])
		}
	}
	return out.String()
}

// contract runs a module the four ways the module contract names: check
// (predicts a change, touches nothing under dir), real (changes), again
// (no change), check again (predicts none). It returns the real run's
// result for further checks.
func contract(t *testing.T, m Module, dir string, mk func() *Request) Result {
	t.Helper()
	before := snapshot(t, dir)
	req := mk()
	req.Check, req.Diff = true, true
	checked := runModule(t, m, req)
	if d := snapDiff(before, snapshot(t, dir)); d != "" {
		t.Fatalf("check mode changed the tree:\n%s", d)
	}
	if !checked.Changed || checked.Failed {
		t.Fatalf("check: got changed=%v failed=%v (%s), want a predicted change", checked.Changed, checked.Failed, checked.Msg)
	}
	if len(checked.Changes) != 0 {
		t.Errorf("check: got journal entries %+v, want none", checked.Changes)
	}
	req = mk()
	req.Diff = true
	first := runModule(t, m, req)
	if !first.Changed || first.Failed {
		t.Fatalf("first run: got changed=%v failed=%v (%s), want a change", first.Changed, first.Failed, first.Msg)
	}
	if len(first.Changes) == 0 {
		t.Errorf("first run: no journal entries")
	}
	if fmt.Sprint(checked.Diff) != fmt.Sprint(first.Diff) {
		t.Errorf("check diff %q differs from the real run's %q", checked.Diff, first.Diff)
	}
	second := runModule(t, m, mk())
	if second.Changed || second.Failed || len(second.Changes) != 0 {
		t.Fatalf("second run: got changed=%v failed=%v changes=%v (%s), want no change", second.Changed, second.Failed, second.Changes, second.Msg)
	}
	req = mk()
	req.Check = true
	if again := runModule(t, m, req); again.Changed {
		t.Fatalf("check after the run: predicted a change (%s)", again.Msg)
	}
	return first
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func modeOf(t *testing.T, p string) string {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%04o", st.Mode().Perm())
}

// hostileDir makes a folder whose name holds a space, quotes and $(...).
func hostileDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), `sp ace 'q' "d" $(touch pwned) `+"`x`")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}
