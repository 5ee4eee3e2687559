package journal

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kplay/kplay/modules"
)

// TestGroupCommitConcurrent: many hosts recording changes at once (the
// Records share fsyncs) lose no entry, number them 1..n without a gap and
// count every change; a Record after Finish fails instead of writing.
func TestGroupCommitConcurrent(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	j, err := Create(root, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	const hosts, tasks = 40, 25
	var wg sync.WaitGroup
	errs := make(chan error, hosts*tasks)
	for h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range tasks {
				e := Entry{Host: fmt.Sprintf("h%d", h), Task: fmt.Sprintf("t%d", k), Status: "ok"}
				if k%2 == 0 {
					e.Status = "changed"
					e.Changes = []modules.Change{{Kind: modules.KindFile, Path: fmt.Sprintf("/f%d", k), Action: "created"}}
				}
				errs <- j.Record(e)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Finish(StatusOK, nil, nil); err != nil {
		t.Fatal(err)
	}
	meta, entries, err := Read(root, j.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != hosts*tasks {
		t.Fatalf("%d entries, want %d", len(entries), hosts*tasks)
	}
	seen := make(map[int]bool)
	for _, e := range entries {
		if e.Seq < 1 || e.Seq > hosts*tasks || seen[e.Seq] {
			t.Fatalf("bad or repeated seq %d", e.Seq)
		}
		seen[e.Seq] = true
	}
	if want := hosts * ((tasks + 1) / 2); meta.Changes != want {
		t.Errorf("meta counts %d changes, want %d", meta.Changes, want)
	}
}

// TestGroupCommitFinishRace: Finish while Records are syncing neither
// closes the file under a running fsync nor loses a Record that returned
// nil; late Records get an error (run with -race).
func TestGroupCommitFinishRace(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	j, err := Create(root, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for h := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 20 {
				e := Entry{Host: fmt.Sprintf("h%d", h), Status: "changed", Task: fmt.Sprint(k)}
				if j.Record(e) == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}()
	}
	if err := j.Finish(StatusFailed, nil, nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	_, entries, err := Read(root, j.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < ok {
		t.Fatalf("%d Records returned nil but the journal holds %d entries", ok, len(entries))
	}
}
