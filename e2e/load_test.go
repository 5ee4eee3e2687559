package e2e

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/playbooks"
	"github.com/kplay/kplay/roles"
)

// TestShippedPlaybooksLoad loads every embedded playbook with the embedded
// roles, as `kplay --syntax-check` does: YAML, keywords, module arguments
// and every expression compile, without a host.
func TestShippedPlaybooksLoad(t *testing.T) {
	names, err := fs.Glob(playbooks.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"site.yaml", "etcd-backup.yaml", "etcd-add-member.yaml", "lb-failover-drill.yaml"} {
		if !contains(names, want) {
			t.Errorf("playbook %s is not embedded (have %q)", want, names)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			pb, err := engine.LoadPlaybook(name, engine.LoadOptions{RolesFS: roles.FS, PlaybooksFS: playbooks.FS})
			if err != nil {
				t.Fatalf("load %s: %v", name, err)
			}
			if len(pb.Plays) == 0 {
				t.Errorf("%s has no play", name)
			}
		})
	}
}

// TestShippedRolesLayout: every shipped role has a README, commented
// defaults (when it has defaults) and depends on common for the shared
// variables.
func TestShippedRolesLayout(t *testing.T) {
	entries, err := fs.ReadDir(roles.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		role := e.Name()
		t.Run(role, func(t *testing.T) {
			if _, err := fs.Stat(roles.FS, path.Join(role, "README.md")); err != nil {
				t.Errorf("no README.md: %v", err)
			}
			if _, err := fs.Stat(roles.FS, path.Join(role, "tasks", "main.yaml")); err != nil {
				t.Errorf("no tasks/main.yaml: %v", err)
			}
			if def, err := fs.ReadFile(roles.FS, path.Join(role, "defaults", "main.yaml")); err == nil {
				checkCommented(t, role, string(def))
			}
			if role == "common" {
				return
			}
			meta, err := fs.ReadFile(roles.FS, path.Join(role, "meta", "main.yaml"))
			if err != nil || !strings.Contains(string(meta), "- common") {
				t.Errorf("meta/main.yaml does not depend on common: %v", err)
			}
		})
	}
}

// checkCommented wants a comment right above every top-level variable of
// a defaults file (a comment may cover a few variables in a row).
func checkCommented(t *testing.T, role, def string) {
	t.Helper()
	lines := strings.Split(def, "\n")
	covered := false
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "#"):
			covered = true
		case strings.TrimSpace(line) == "":
			covered = false
		case line[0] != ' ' && strings.Contains(line, ":") && !covered:
			t.Errorf("%s/defaults/main.yaml:%d: %q has no comment", role, i+1, line)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
