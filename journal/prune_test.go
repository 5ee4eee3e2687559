package journal

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// pruneFixture journals five runs, oldest first: old (ok, with a backup on
// h1 and one on h2), crashed (still running), resumed (continued by
// newest), middle (ok, a backup on h1 and a path that is no kplay backup)
// and newest (resumed "resumed").
type pruneFixture struct {
	root, hostDir string
	ids           map[string]string
	backups       map[string]string // name -> path on the "host"
}

func newPruneFixture(t *testing.T) *pruneFixture {
	t.Helper()
	f := &pruneFixture{root: t.TempDir(), hostDir: t.TempDir(), ids: map[string]string{}, backups: map[string]string{}}
	for _, n := range []string{"old1.20260101T000000Z.kplay~", "old2.20260101T000000Z.1.kplay~", "mid.20260102T000000Z.kplay~", "dir.20260101T000000Z.kplay~.tar", "not-a-backup"} {
		p := filepath.Join(f.hostDir, n)
		writeTestFile(t, p, "saved "+n)
		f.backups[n] = p
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	file := func(backup string) []modules.Change {
		return []modules.Change{{Kind: modules.KindFile, Path: "/etc/x", Action: "modified", Existed: true, Backup: backup}}
	}
	runs := []struct {
		name, status, resumeOf string
		entries                []Entry
	}{
		{"old", StatusOK, "", []Entry{{Host: "h1", Changes: file(f.backups["old1.20260101T000000Z.kplay~"])},
			{Host: "h2", Changes: append(file(f.backups["old2.20260101T000000Z.1.kplay~"]), file(f.backups["dir.20260101T000000Z.kplay~.tar"])...)}}},
		{"crashed", StatusRunning, "", []Entry{{Host: "h1", Changes: file(f.backups["old1.20260101T000000Z.kplay~"])}}},
		{"resumed", StatusFailed, "", nil},
		{"middle", StatusOK, "", []Entry{{Host: "h1", Changes: append(file(f.backups["mid.20260102T000000Z.kplay~"]), file(f.backups["not-a-backup"])...)}}},
		{"newest", StatusOK, "resumed", nil},
	}
	for i, r := range runs {
		j, err := Create(f.root, Meta{ID: NewID(t0.Add(time.Duration(i) * time.Hour)), Start: t0.Add(time.Duration(i) * time.Hour), ResumeOf: f.ids[r.resumeOf]})
		if err != nil {
			t.Fatal(err)
		}
		f.ids[r.name] = j.ID()
		for _, e := range r.entries {
			e.Status = "changed"
			if err := j.Record(e); err != nil {
				t.Fatal(err)
			}
		}
		if r.status != StatusRunning {
			if err := j.Finish(r.status, []string{"h1", "h2"}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func writeTestFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *pruneFixture) names(ids []string) string {
	var out []string
	for _, id := range ids {
		for n, v := range f.ids {
			if v == id {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestPrunePlanKeepsRunningAndResumed(t *testing.T) {
	f := newPruneFixture(t)
	plan, err := PlanPrune(f.root, 1)
	if err != nil {
		t.Fatal(err)
	}
	var del []string
	for _, r := range plan.Delete {
		del = append(del, r.Meta.ID)
	}
	if got := f.names(del); got != "middle old" {
		t.Errorf("delete %q, want %q", got, "middle old")
	}
	if !strings.Contains(plan.Kept[f.ids["crashed"]], "running") || !strings.Contains(plan.Kept[f.ids["resumed"]], "resumed by") {
		t.Errorf("kept = %v", plan.Kept)
	}
	for _, r := range plan.Delete {
		for _, bs := range r.Backups {
			for _, b := range bs {
				if strings.HasSuffix(b, "not-a-backup") {
					t.Errorf("a path that is no kplay backup is planned for deletion: %s", b)
				}
			}
		}
	}
	if _, err := PlanPrune(f.root, -1); err == nil {
		t.Error("keep -1 accepted")
	}
}

func TestPruneDeletesRunsAndHostBackups(t *testing.T) {
	f := newPruneFixture(t)
	plan, err := PlanPrune(f.root, 1)
	if err != nil {
		t.Fatal(err)
	}
	reported := 0
	done, err := Prune(t.Context(), f.root, plan, PruneOptions{
		Conn:   func(string) (modules.Conn, error) { return &transport.Local{}, nil },
		Report: func(run, host string, n int, err error) { reported += n },
	})
	if err != nil || f.names(done) != "middle old" {
		t.Fatalf("pruned %q, %v", f.names(done), err)
	}
	if reported != 3 {
		t.Errorf("reported %d backups removed, want 3", reported)
	}
	for n, p := range f.backups {
		_, err := os.Stat(p)
		// old1 stays: the crashed run, which stays, points at it too.
		if gone := err != nil; gone != (n != "not-a-backup" && !strings.HasPrefix(n, "old1")) {
			t.Errorf("%s: gone=%v", n, gone)
		}
	}
	metas, _ := List(f.root)
	var left []string
	for _, m := range metas {
		left = append(left, m.ID)
	}
	if got := f.names(left); got != "crashed newest resumed" {
		t.Errorf("runs left %q", got)
	}
	_, _, err = ReadChain(f.root, f.ids["old"])
	var pe *PrunedError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "was pruned") || !strings.Contains(err.Error(), "cannot be rolled back") {
		t.Errorf("reading a pruned run: %v, want a PrunedError", err)
	}
	if _, _, err := ReadChain(f.root, f.ids["newest"]); err != nil {
		t.Errorf("the kept chain: %v", err)
	}
	if st, err := os.Stat(filepath.Join(f.root, prunedFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("tombstones: %v %v", st, err)
	}
}

func TestPruneKeepsRunWithUnreachableHost(t *testing.T) {
	f := newPruneFixture(t)
	plan, err := PlanPrune(f.root, 1)
	if err != nil {
		t.Fatal(err)
	}
	done, err := Prune(t.Context(), f.root, plan, PruneOptions{Conn: func(h string) (modules.Conn, error) {
		if h == "h2" {
			return nil, transport.Unreachable(h, errors.New("connection refused"))
		}
		return &transport.Local{}, nil
	}})
	if f.names(done) != "middle" || err == nil || !strings.Contains(err.Error(), "h2") {
		t.Fatalf("pruned %q, err %v; want old kept because of h2", f.names(done), err)
	}
	if _, _, err := Read(f.root, f.ids["old"]); err != nil {
		t.Errorf("old must stay readable: %v", err)
	}
	if _, err := os.Stat(f.backups["old2.20260101T000000Z.1.kplay~"]); err != nil {
		t.Errorf("h2's backup: %v", err)
	}
}

func TestOwnBackup(t *testing.T) {
	run := Meta{ID: "20260101-000000-000-abcdef", Kind: "run"}
	rb := Meta{ID: "20260101-000000-000-fedcba", Kind: "rollback"}
	for _, tc := range []struct {
		m    Meta
		p    string
		want bool
	}{
		{run, "/etc/motd.20260101T000000Z.kplay~", true},
		{run, "/etc/motd.20260101T000000Z.2.kplay~", true},
		{run, "/srv/data.20260101T000000Z.kplay~.tar", true},
		{run, "h1/motd.20260101T000000Z.kplay~", true},
		{run, "/etc/motd", false},
		{run, "../motd.kplay~", false},
		{run, "/etc/../motd.kplay~", false},
		{run, "/var/tmp/kplay-rollback/" + rb.ID + "/etc/motd", false},
		{rb, "/var/tmp/kplay-rollback/" + rb.ID + "/etc/motd", true},
		{rb, "/var/tmp/kplay-rollback/other/etc/motd", false},
	} {
		if got := ownBackup(tc.m, tc.p); got != tc.want {
			t.Errorf("ownBackup(%s, %q) = %v, want %v", tc.m.Kind, tc.p, got, tc.want)
		}
	}
}

// TestBackupsOfDelegated: a delegated task's backups are listed under its
// delegate, where they are.
func TestBackupsOfDelegated(t *testing.T) {
	entries := []Entry{
		{Host: "m1", Delegate: "addons", Changes: []modules.Change{{Kind: modules.KindFile, Path: "/etc/a", Backup: "/etc/a.1.kplay~"}}},
		{Host: "m1", Changes: []modules.Change{{Kind: modules.KindFile, Path: "/etc/b", Backup: "/etc/b.1.kplay~"}}},
	}
	got := backupsOf(Meta{ID: "x", Kind: "run"}, entries)
	if len(got) != 2 || len(got["addons"]) != 1 || got["addons"][0] != "/etc/a.1.kplay~" || len(got["m1"]) != 1 || got["m1"][0] != "/etc/b.1.kplay~" {
		t.Errorf("backupsOf = %v, want /etc/a's on addons and /etc/b's on m1", got)
	}
}
