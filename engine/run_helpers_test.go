package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kplay/kplay/inventory"
)

// localInventory is an inventory of three local "hosts", each with its own
// dir variable pointing at a temp folder, so their effects stay apart.
const localInventory = `
all:
  vars:
    ansible_connection: local
    level: group_all
  children:
    web:
      hosts:
        h1: {}
        h2: {}
      vars:
        level: group_web
    db:
      hosts:
        h3: {}
`

// recorder is a Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Event(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// results returns "host:status" of every host_result of the named task.
func (r *recorder) results(task string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type == EventHostResult && (e.Task == task || strings.HasSuffix(e.Task, " : "+task)) {
			out = append(out, e.Host+":"+string(e.Status))
		}
	}
	return out
}

// msgs returns "host=msg" of every host_result of the named task.
func (r *recorder) msgs(task string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type == EventHostResult && (e.Task == task || strings.HasSuffix(e.Task, " : "+task)) {
			out = append(out, e.Host+"="+e.Msg)
		}
	}
	return out
}

// count returns how many events of type typ were sent.
func (r *recorder) count(typ EventType) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

type fixture struct {
	dir  string
	inv  *inventory.Inventory
	rec  *recorder
	opts Options
}

// newFixture writes the inventory and files (name -> content) into a temp
// folder and prepares Options for a run of "site.yaml" there.
func newFixture(t testing.TB, inv string, files map[string]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(content, "@DIR@", dir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if inv == "" {
		inv = localInventory
	}
	invPath := filepath.Join(dir, "hosts.yaml")
	if err := os.WriteFile(invPath, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	i, err := inventory.Load(invPath)
	if err != nil {
		t.Fatalf("load inventory: %v", err)
	}
	rec := &recorder{}
	return &fixture{dir: dir, inv: i, rec: rec, opts: Options{
		Inventory: i, Playbooks: []string{filepath.Join(dir, "site.yaml")}, Sink: rec,
	}}
}

// run runs the fixture's playbook and fails the test on a run error.
func (f *fixture) run(t *testing.T) *Report {
	t.Helper()
	rep, err := Run(t.Context(), f.opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

// runCtx runs with ctx.
func (f *fixture) runCtx(t *testing.T, ctx context.Context) *Report {
	t.Helper()
	rep, err := Run(ctx, f.opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

// exists tells whether the file name (under the fixture's folder) exists.
func (f *fixture) exists(name string) bool {
	_, err := os.Stat(filepath.Join(f.dir, name))
	return err == nil
}

func (f *fixture) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
