package engine

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kplay/kplay/journal"
)

// versionedFS is what a kplay of the given version embeds: playbook
// snapsite whose play var says the version, and role web, whose tasks
// write a config file and whose rollback tasks write marker with both
// versions.
func versionedFS(dir, version string) (roles, playbooks fs.FS) {
	roles = fstest.MapFS{
		"web/tasks/main.yaml": {Data: []byte(`
- name: config
  copy: {content: "` + version + `\n", dest: "` + dir + `/web.conf"}
`)},
		"web/tasks/rollback.yaml": {Data: []byte(`
- name: marker
  shell: echo "role ` + version + ` playbook {{ pb_version }}" > ` + dir + `/marker
`)},
	}
	playbooks = fstest.MapFS{"snapsite.yaml": {Data: []byte(`
- name: web
  hosts: all
  gather_facts: false
  vars: {pb_version: ` + version + `}
  roles: [web]
`)}}
	return roles, playbooks
}

// newSnapshotFixture runs nothing yet: one local host, the embedded
// playbook snapsite and role web of version v1, a journal.
func newSnapshotFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, "all:\n  hosts:\n    h1: {ansible_connection: local}\n", nil)
	f.opts.RolesFS, f.opts.PlaybooksFS = versionedFS(f.dir, "v1")
	f.opts.Playbooks = []string{"snapsite"}
	f.opts.JournalDir = filepath.Join(f.dir, "runs")
	return f
}

func (f *fixture) snapshots(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(f.opts.JournalDir, journal.SnapshotDir))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestRunSavesSnapshotOnce: runs of one kplay share one snapshot; another
// kplay's roles make another; a check run makes none.
func TestRunSavesSnapshotOnce(t *testing.T) {
	f := newSnapshotFixture(t)
	check := f.opts
	check.Check = true
	rep, err := Run(t.Context(), check)
	if err != nil {
		t.Fatal(err)
	}
	if meta, _, err := journal.Read(f.opts.JournalDir, rep.RunID); err != nil || meta.EmbeddedSnapshot != "" || len(f.snapshots(t)) != 0 {
		t.Errorf("check run: snapshot %q, files %q (%v); want none", meta.EmbeddedSnapshot, f.snapshots(t), err)
	}
	var hashes []string
	for _, version := range []string{"v1", "v1", "v2"} {
		f.opts.RolesFS, f.opts.PlaybooksFS = versionedFS(f.dir, version)
		meta, _, err := journal.Read(f.opts.JournalDir, f.run(t).RunID)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, meta.EmbeddedSnapshot)
	}
	if hashes[0] == "" || hashes[0] != hashes[1] || hashes[1] == hashes[2] {
		t.Errorf("snapshots of v1, v1, v2: %q; want one for both v1 runs, another for v2", hashes)
	}
	if got := f.snapshots(t); len(got) != 2 {
		t.Errorf("snapshot files %q, want 2", got)
	}
	st, err := os.Stat(journal.SnapshotPath(f.opts.JournalDir, hashes[0]))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file: %v, %v; want 0600", st, err)
	}
}

// TestRollbackUsesRunSnapshot: a kplay with other embedded roles rolls a
// run back with the roles and playbooks the run had, from its snapshot;
// when that is gone or corrupted it uses its own and warns; a journal
// older than snapshots uses its own silently.
func TestRollbackUsesRunSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spoil   func(t *testing.T, f *fixture, runID, hash string)
		marker  string
		warning string
	}{
		{"snapshot", nil, "role v1 playbook v1", ""},
		{"missing", func(t *testing.T, f *fixture, _, hash string) {
			if err := os.Remove(journal.SnapshotPath(f.opts.JournalDir, hash)); err != nil {
				t.Fatal(err)
			}
		}, "role v2 playbook v2", "is missing: using this kplay's embedded roles"},
		{"corrupted", func(t *testing.T, f *fixture, _, hash string) {
			if err := os.WriteFile(journal.SnapshotPath(f.opts.JournalDir, hash), []byte("garbage, not a gzip stream"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "role v2 playbook v2", "is unreadable"},
		{"older journal", func(t *testing.T, f *fixture, runID, _ string) {
			editMeta(t, filepath.Join(f.opts.JournalDir, runID, "meta.json"), func(m map[string]any) { delete(m, "embedded_snapshot") })
		}, "role v2 playbook v2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSnapshotFixture(t)
			rep := f.run(t)
			meta, _, err := journal.Read(f.opts.JournalDir, rep.RunID)
			if err != nil || meta.EmbeddedSnapshot == "" {
				t.Fatalf("run meta: snapshot %q, %v", meta.EmbeddedSnapshot, err)
			}
			if tc.spoil != nil {
				tc.spoil(t, f, rep.RunID, meta.EmbeddedSnapshot)
			}
			f.rec.events = nil
			ro := RollbackOptions{Options: f.opts}
			ro.RolesFS, ro.PlaybooksFS = versionedFS(f.dir, "v2") // a newer kplay
			rb, err := Rollback(t.Context(), ro)
			if err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if got := strings.TrimSpace(f.read(t, "marker")); got != tc.marker {
				t.Errorf("marker %q, want %q", got, tc.marker)
			}
			if _, err := os.Stat(filepath.Join(f.dir, "web.conf")); !os.IsNotExist(err) {
				t.Errorf("web.conf: %v, want it removed", err)
			}
			if got := f.warnings(); (tc.warning == "") != (got == "") || !strings.Contains(got, tc.warning) {
				t.Errorf("warnings %q, want %q", got, tc.warning)
			}
			// The rollback records the roles it ran, for its own rollback.
			rbMeta, _, err := journal.Read(f.opts.JournalDir, rb.Rollback)
			if err != nil {
				t.Fatal(err)
			}
			if same := rbMeta.EmbeddedSnapshot == meta.EmbeddedSnapshot; same != (tc.spoil == nil) || rbMeta.EmbeddedSnapshot == "" {
				t.Errorf("rollback's snapshot %q, run's %q: want the run's only when it was used", rbMeta.EmbeddedSnapshot, meta.EmbeddedSnapshot)
			}
		})
	}
}

// warnings joins the messages of the warning events seen.
func (f *fixture) warnings() string {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	var out []string
	for _, e := range f.rec.events {
		if e.Type == EventWarning {
			out = append(out, e.Msg)
		}
	}
	return strings.Join(out, "\n")
}

// editMeta rewrites a run's meta.json through edit.
func editMeta(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
