package modules

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFileRefusedOwnerIsJournaled: file state=touch or directory with an
// owner or group the host does not know must not leave a path it made
// without a journal entry (an error result loses its changes, so rollback
// would not remove it).
func TestFileRefusedOwnerIsJournaled(t *testing.T) {
	for _, state := range []string{"touch", "directory"} {
		for _, k := range []string{"owner", "group"} {
			t.Run(state+"/"+k, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "x")
				res, err := File{}.Run(t.Context(), newReq(map[string]any{"path": p, "state": state, k: "no-such-kplay-account"}, nil, nil))
				if !refused(t, res, err) {
					t.Fatalf("unknown %s accepted: %+v", k, res)
				}
				wantAbsentOrJournaled(t, p, res, err)
			})
		}
	}
}

// wantAbsentOrJournaled checks that a refused module left p absent, or
// reported the change that made it (a failed result that keeps its
// changes; an error loses them).
func wantAbsentOrJournaled(t *testing.T, p string, res Result, err error) {
	t.Helper()
	if _, serr := os.Lstat(p); serr != nil {
		return
	}
	for _, c := range res.Changes {
		if c.Path == p && err == nil {
			return
		}
	}
	t.Errorf("%q was made but the refusal does not journal it (error %v)", p, err)
}
