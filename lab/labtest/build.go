package labtest

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BuildKplay builds cmd/kplay (with the roles and playbooks of this tree
// embedded) into the test's temp dir, for tests that drive the binary on a
// lab.
func BuildKplay(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kplay")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/kplay/kplay/cmd/kplay").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/kplay: %v\n%s", err, out)
	}
	return bin
}
