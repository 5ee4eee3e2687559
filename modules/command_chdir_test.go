package modules

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kplay/kplay/transport"
)

// A relative creates/removes is looked up in chdir, as Ansible does.
func TestCommandCreatesRelativeToChdir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	req := func(args map[string]any) *Request {
		return &Request{Conn: &transport.Local{}, Args: args}
	}
	res, err := Shell{}.Run(context.Background(), req(map[string]any{"_raw_params": "echo ran", "chdir": dir, "creates": "done"}))
	if err != nil || res.Changed || res.Stdout != "" {
		t.Errorf("creates relative to chdir: %+v, %v; want skipped", res, err)
	}
	res, err = Shell{}.Run(context.Background(), req(map[string]any{"_raw_params": "echo ran", "chdir": dir, "removes": "done"}))
	if err != nil || !res.Changed || res.Stdout != "ran" {
		t.Errorf("removes relative to chdir: %+v, %v; want it to run", res, err)
	}
}
