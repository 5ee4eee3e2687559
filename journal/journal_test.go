package journal

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kplay/kplay/modules"
)

func TestRecordReadFinish(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	j, err := Create(root, Meta{Command: []string{"kplay", "site.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range []string{"h1", "h2", "h1"} {
		e := Entry{Host: h, Task: "copy motd", Status: "changed", TaskID: "site.yaml:3"}
		if i != 1 {
			e.Changes = []modules.Change{{Kind: modules.KindFile, Path: "/etc/motd", Action: "modified", Existed: true, Backup: "/etc/motd.x.kplay~"}}
		}
		if err := j.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	// Readable while the run is still going (a crash leaves it so).
	meta, entries, err := Read(root, j.ID())
	if err != nil {
		t.Fatal(err)
	}
	if meta.Status != StatusRunning || len(entries) != 3 || meta.Changes != 2 {
		t.Fatalf("mid-run read: status %q, %d entries, %d changes", meta.Status, len(entries), meta.Changes)
	}
	if entries[2].Seq != 3 || entries[0].Host != "h1" {
		t.Errorf("entries out of order: %+v", entries)
	}
	if err := j.Finish(StatusOK, []string{"h1", "h2"}, nil); err != nil {
		t.Fatal(err)
	}
	meta, _, err = Read(root, j.ID())
	if err != nil {
		t.Fatal(err)
	}
	if meta.Status != StatusOK || meta.End.IsZero() || meta.Changes != 2 {
		t.Errorf("after finish: %+v", meta)
	}
	if err := j.Record(Entry{Host: "h1"}); err == nil {
		t.Error("record after finish: want an error")
	}
}

func TestPermissions(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	j, err := Create(root, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Finish(StatusOK, nil, nil)
	for path, want := range map[string]os.FileMode{
		root:                                    0o700,
		j.Dir():                                 0o700,
		filepath.Join(j.Dir(), "journal.jsonl"): 0o600,
		filepath.Join(j.Dir(), "meta.json"):     0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
}

func TestTornLastLine(t *testing.T) {
	root := t.TempDir()
	j, err := Create(root, Meta{ID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Record(Entry{Host: "h1", Status: "ok"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(j.Dir(), "journal.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":2,"host":"h`)
	f.Close()
	_, entries, err := Read(root, "r1")
	if err != nil {
		t.Fatalf("torn last line: %v", err)
	}
	if len(entries) != 1 {
		t.Errorf("got %d entries, want 1", len(entries))
	}
}

func TestListLatest(t *testing.T) {
	root := t.TempDir()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, kind := range []string{"run", "rollback", "run"} {
		j, err := Create(root, Meta{ID: NewID(base.Add(time.Duration(i) * time.Minute)), Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		j.Finish(StatusOK, nil, nil)
	}
	metas, err := List(root)
	if err != nil || len(metas) != 3 {
		t.Fatalf("List: %v, %d runs", err, len(metas))
	}
	if !(metas[0].ID > metas[1].ID && metas[1].ID > metas[2].ID) {
		t.Errorf("not newest first: %s %s %s", metas[0].ID, metas[1].ID, metas[2].ID)
	}
	id, err := Latest(root, "rollback")
	if err != nil || id != metas[1].ID {
		t.Errorf("Latest rollback = %q, %v; want %q", id, err, metas[1].ID)
	}
	if _, err := Latest(t.TempDir(), ""); err == nil {
		t.Error("Latest of an empty folder: want an error")
	}
}
