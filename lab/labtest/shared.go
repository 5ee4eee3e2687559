package labtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
)

// shared is the one lab a test package's tests share (see Shared).
var shared struct {
	sync.Mutex
	main bool // Main runs the tests, so the lab will be torn down
	lab  *lab.Lab
	dir  string
	err  error
}

// Main runs a package's tests and then tears down the lab Shared brought
// up; call it from TestMain: `func TestMain(m *testing.M) { labtest.Main(m) }`.
func Main(m *testing.M) {
	shared.Lock()
	shared.main = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	if shared.lab != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		if err := shared.lab.Down(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "labtest: shared lab down: %v\n", err)
			code = 1
		}
		cancel()
		os.RemoveAll(shared.dir)
	}
	shared.Unlock()
	os.Exit(code)
}

// Shared returns the package's one shared lab of n hosts, bringing it up on
// first use, for tests that only read from hosts (Start gives a test its own
// lab to break). It skips as Start does; the package's TestMain must call
// Main, which tears the lab down after the last test.
func Shared(t testing.TB, n int) *lab.Lab {
	t.Helper()
	Skip(t)
	shared.Lock()
	defer shared.Unlock()
	if !shared.main {
		t.Fatal("labtest.Shared needs TestMain to call labtest.Main")
	}
	if shared.lab == nil && shared.err == nil {
		shared.lab, shared.dir, shared.err = upShared(n)
	}
	if shared.err != nil {
		t.Fatalf("shared lab up: %v", shared.err)
	}
	if got := len(shared.lab.Hosts()); got != n {
		t.Fatalf("shared lab has %d hosts, this test wants %d: use one size per package", got, n)
	}
	return shared.lab
}

// upShared brings up the shared lab in its own temp dir.
func upShared(n int) (*lab.Lab, string, error) {
	dir, err := os.MkdirTemp("", "kplay-lab-shared-")
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	name := freeName("s")
	l, err := lab.Up(ctx, lab.Config{Name: name, Hosts: n, Dir: dir})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return l, dir, nil
}
