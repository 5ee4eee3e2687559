package journal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// testTrees is a roles tree and a playbooks tree, with rollback.yaml
// writing marker.
func testTrees(marker string) map[string]fs.FS {
	return map[string]fs.FS{
		"roles": fstest.MapFS{
			"web/tasks/main.yaml":     {Data: []byte("- debug: {msg: hi}\n"), Mode: 0o644},
			"web/tasks/rollback.yaml": {Data: []byte("- shell: echo " + marker + " > marker\n"), Mode: 0o644},
			"web/defaults/main.yaml":  {Data: []byte("port: 80\n"), Mode: 0o600},
		},
		"playbooks": fstest.MapFS{"site.yaml": {Data: []byte("- hosts: all\n  roles: [web]\n")}},
	}
}

// snapshotFiles lists the snapshot files under root.
func snapshotFiles(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, SnapshotDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteSnapshotOncePerContent(t *testing.T) {
	for _, tc := range []struct {
		name       string
		a, b       map[string]fs.FS
		wantFiles  int
		wantSameID bool
	}{
		{"same trees", testTrees("v1"), testTrees("v1"), 1, true},
		{"other rollback", testTrees("v1"), testTrees("v2"), 2, false},
		{"roles only", testTrees("v1"), map[string]fs.FS{"roles": testTrees("v1")["roles"], "playbooks": nil}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "runs")
			ha, err := WriteSnapshot(root, tc.a)
			if err != nil {
				t.Fatal(err)
			}
			hb, err := WriteSnapshot(root, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if (ha == hb) != tc.wantSameID || !isHash(ha) || !isHash(hb) {
				t.Errorf("hashes %s and %s, want same=%v", ha, hb, tc.wantSameID)
			}
			if got := snapshotFiles(t, root); len(got) != tc.wantFiles {
				t.Errorf("snapshot files %q, want %d", got, tc.wantFiles)
			}
		})
	}
}

// TestSnapshotDeterministic: the hash depends on the paths and contents
// only (not the source's modes, times or map order), in any folder.
func TestSnapshotDeterministic(t *testing.T) {
	a := testTrees("v1")
	b := testTrees("v1")
	for name, f := range b["roles"].(fstest.MapFS) {
		f.Mode, f.ModTime = 0o755, time.Now()
		b["roles"].(fstest.MapFS)[name] = f
	}
	ha, err := WriteSnapshot(t.TempDir(), a)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := WriteSnapshot(t.TempDir(), b)
	if err != nil {
		t.Fatal(err)
	}
	if ha != hb {
		t.Errorf("same files, hashes %s and %s", ha, hb)
	}
	if h, err := WriteSnapshot(t.TempDir(), map[string]fs.FS{"roles": nil}); h != "" || err != nil {
		t.Errorf("nothing to save: %q, %v; want no snapshot", h, err)
	}
}

func TestSnapshotPermissions(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	h, err := WriteSnapshot(root, testTrees("v1"))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{root: 0o700, filepath.Join(root, SnapshotDir): 0o700, SnapshotPath(root, h): 0o600} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %o", p, st.Mode(), err, want)
		}
	}
	if got := snapshotFiles(t, root); len(got) != 1 || got[0] != h+".tar.gz" {
		t.Errorf("snapshot folder holds %q, want only %s.tar.gz", got, h)
	}
}

// TestReadSnapshot: what is read back is a valid fs.FS with the files
// saved, under their top folders.
func TestReadSnapshot(t *testing.T) {
	root := t.TempDir()
	h, err := WriteSnapshot(root, testTrees("v1"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := ReadSnapshot(root, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(snap, "roles/web/tasks/main.yaml", "roles/web/tasks/rollback.yaml",
		"roles/web/defaults/main.yaml", "playbooks/site.yaml"); err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(snap, "roles/web/tasks/rollback.yaml")
	if err != nil || string(data) != "- shell: echo v1 > marker\n" {
		t.Errorf("rollback.yaml = %q, %v", data, err)
	}
}

// TestReadSnapshotBad: a missing, corrupted or altered snapshot is an
// error, never files that were not the run's.
func TestReadSnapshotBad(t *testing.T) {
	altered := func() []byte { // a valid tar.gz whose tar is not the named one
		var tb bytes.Buffer
		tw := tar.NewWriter(&tb)
		_ = tw.WriteHeader(&tar.Header{Name: "roles/web/tasks/rollback.yaml", Mode: 0o644, Size: 2})
		_, _ = tw.Write([]byte("x\n"))
		_ = tw.Close()
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(tb.Bytes())
		_ = zw.Close()
		return zb.Bytes()
	}
	for _, tc := range []struct {
		name    string
		content func(good []byte) []byte // nil: remove the file
		want    string
	}{
		{"missing", nil, "no such file"},
		{"truncated", func(g []byte) []byte { return g[:len(g)/2] }, "unexpected EOF"},
		{"garbage", func([]byte) []byte { return []byte("this is not a gzip stream at all") }, "gzip"},
		{"altered", func([]byte) []byte { return altered() }, "does not match its sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			h, err := WriteSnapshot(root, testTrees("v1"))
			if err != nil {
				t.Fatal(err)
			}
			p := SnapshotPath(root, h)
			good, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if tc.content == nil {
				err = os.Remove(p)
			} else {
				err = os.WriteFile(p, tc.content(good), 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = ReadSnapshot(root, h)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("read: %v, want an error with %q", err, tc.want)
			}
			if (tc.content == nil) != errors.Is(err, fs.ErrNotExist) {
				t.Errorf("read: %v: is ErrNotExist = %v", err, errors.Is(err, fs.ErrNotExist))
			}
		})
	}
	if _, err := ReadSnapshot(t.TempDir(), "../../etc/passwd"); err == nil {
		t.Error("a name that is no sha256 was read")
	}
}

// TestPruneSnapshots: prune keeps the snapshots the kept runs name (also
// one a pruned run shared) and one just written, and removes the others
// and stale temporary files.
func TestPruneSnapshots(t *testing.T) {
	root := t.TempDir()
	hash := map[string]string{}
	for _, m := range []string{"a", "b", "c", "d", "fresh"} {
		h, err := WriteSnapshot(root, testTrees(m))
		if err != nil {
			t.Fatal(err)
		}
		hash[m] = h
	}
	tmp := filepath.Join(root, SnapshotDir, ".tmp-deadbeef")
	writeTestFile(t, tmp, "half")
	old := time.Now().Add(-2 * snapshotGrace)
	for _, p := range []string{SnapshotPath(root, hash["a"]), SnapshotPath(root, hash["b"]), SnapshotPath(root, hash["c"]), SnapshotPath(root, hash["d"]), tmp} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// oldest first: a (pruned alone), c (pruned, but shared with a kept run), b and c kept.
	for i, snap := range []string{"a", "c", "b", "c"} {
		j, err := Create(root, Meta{ID: NewID(t0.Add(time.Duration(i) * time.Hour)), Start: t0.Add(time.Duration(i) * time.Hour), EmbeddedSnapshot: hash[snap]})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Record(Entry{Host: "h1", Status: "changed", Changes: []modules.Change{{Kind: modules.KindFile, Path: "/x"}}}); err != nil {
			t.Fatal(err)
		}
		if err := j.Finish(StatusOK, []string{"h1"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := PlanPrune(root, 2)
	if err != nil {
		t.Fatal(err)
	}
	done, err := Prune(t.Context(), root, plan, PruneOptions{Conn: func(string) (modules.Conn, error) { return &transport.Local{}, nil }})
	if err != nil || len(done) != 2 {
		t.Fatalf("pruned %v, %v; want 2 runs", done, err)
	}
	for m, want := range map[string]bool{"a": false, "b": true, "c": true, "d": false, "fresh": true} {
		_, err := os.Stat(SnapshotPath(root, hash[m]))
		if kept := err == nil; kept != want {
			t.Errorf("snapshot %s kept=%v, want %v (%v)", m, kept, want, err)
		}
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("stale temporary file: %v, want it removed", err)
	}
	if _, err := ReadSnapshot(root, hash["c"]); err != nil {
		t.Errorf("kept snapshot: %v", err)
	}
}
