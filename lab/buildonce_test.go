package lab

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestBuildOnce: concurrent callers build a missing image once (the others
// find it cached under the lock); a cached image is not built; a build
// error reaches the caller.
func TestBuildOnce(t *testing.T) {
	dir := t.TempDir()
	var built atomic.Bool
	var builds atomic.Int32
	cached := func() bool { return built.Load() }
	build := func() error { builds.Add(1); built.Store(true); return nil }
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := buildOnce(dir, "x.lock", "test image", cached, build); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("built %d times, want 1", n)
	}
	boom := errors.New("boom")
	err := buildOnce(dir, "y.lock", "test image", func() bool { return false }, func() error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
}
