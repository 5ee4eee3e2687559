package journal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// A k8s change is undone by the script k8s_apply left on the host: run with
// "check" in check mode, without it otherwise; its "changed" lines count.
func TestRollbackK8sRunsUndoScript(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "coredns.20260101T000000Z-ab.undo.sh")
	log := filepath.Join(dir, "log")
	body := "#!/bin/sh\necho \"run $1\" >> " + log + "\n[ -e " + dir + "/done ] && exit 0\necho changed\n[ \"$1\" = check ] || : > " + dir + "/done\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	entries := []Entry{{Host: "h1", Changes: []modules.Change{
		{Kind: modules.KindK8s, Path: "/etc/kubernetes/addons/coredns.yaml", Action: "applied", Backup: script}}}}
	var acts []Action
	opts := RollbackOptions{Conn: func(string) (modules.Conn, error) { return &transport.Local{}, nil },
		Report: func(a Action) { acts = append(acts, a) }}
	for _, check := range []bool{true, false, false} {
		acts = nil
		opts.Check = check
		if err := Rollback(context.Background(), entries, opts); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile(log); string(got) != "run check\nrun \nrun \n" {
		t.Errorf("script runs %q", got)
	}
	if len(acts) != 1 || acts[0].Changed || !strings.Contains(acts[0].What, "coredns.yaml back as before they were applied") {
		t.Errorf("second rollback: %+v, want one unchanged action", acts)
	}
	if err := os.Remove(script); err != nil {
		t.Fatal(err)
	}
	opts.Check = false
	if err := Rollback(context.Background(), entries, opts); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("missing script: %v", err)
	}
}
