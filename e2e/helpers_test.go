package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/kplay/kplay/lab/labtest"
)

// sprintfScan reads space-separated integers from s.
func sprintfScan(s string, into ...*int) {
	fmt.Sscan(s, toAny(into)...)
}

func toAny(ps []*int) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// The run helpers are labtest's (shared with the other lab suites).
type (
	event = labtest.Event
	run   = labtest.Run
)

// kplay runs the built binary with --json in dir, bounded to 10 minutes.
func kplay(t *testing.T, bin, dir string, args ...string) run {
	t.Helper()
	return labtest.Kplay(t, bin, dir, 10*time.Minute, args...)
}

var (
	kplayText  = labtest.KplayText
	tail       = labtest.Tail
	ssh        = labtest.SSH
	mustSSH    = labtest.MustSSH
	waitFor    = labtest.WaitFor
	vipOf      = labtest.VIPOf
	vipHolders = labtest.VIPHolders
)
