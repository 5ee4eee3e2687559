package journal

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// fakeRun changes a tree the way modules would, recording the journal
// entries that say how to undo it: dir/motd modified (backup), dir/new
// created, dir/newdir/inner created, dir/mode chmod-ed, dir/link retargeted.
func fakeRun(t *testing.T, dir string) []Entry {
	t.Helper()
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("motd", "old motd\n", 0o640)
	write("mode", "x", 0o600)
	if err := os.Symlink("motd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	// The run:
	copyFile(t, p("motd"), p("motd.1.kplay~"))
	write("motd", "new motd\n", 0o640)
	write("again", "first\n", 0o644)
	copyFile(t, p("again"), p("again.1.kplay~"))
	write("again", "second\n", 0o644)
	write("new", "created\n", 0o644)
	os.Mkdir(p("newdir"), 0o755)
	write("newdir/inner", "inner\n", 0o644)
	copyFile(t, p("newdir/inner"), p("newdir/inner.1.kplay~"))
	write("newdir/inner", "inner v2\n", 0o644)
	os.Chmod(p("mode"), 0o644)
	os.Remove(p("link"))
	os.Symlink("new", p("link"))
	ch := func(c modules.Change) Entry {
		c.Kind = modules.KindFile
		return Entry{Host: "h1", Status: "changed", Changes: []modules.Change{c}}
	}
	return []Entry{
		ch(modules.Change{Path: p("motd"), Action: "modified", Existed: true, Backup: p("motd.1.kplay~")}),
		ch(modules.Change{Path: p("again"), Action: "created"}),
		ch(modules.Change{Path: p("again"), Action: "modified", Existed: true, Backup: p("again.1.kplay~")}),
		ch(modules.Change{Path: p("new"), Action: "created"}),
		ch(modules.Change{Path: p("newdir"), Action: "created"}),
		ch(modules.Change{Path: p("newdir/inner"), Action: "created"}),
		ch(modules.Change{Path: p("newdir/inner"), Action: "modified", Existed: true, Backup: p("newdir/inner.1.kplay~")}),
		ch(modules.Change{Path: p("mode"), Action: "attrs", Existed: true, OldMode: "0600"}),
		ch(modules.Change{Path: p("link"), Action: "modified", Existed: true, OldKind: "link", OldTarget: "motd"}),
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(from)
	if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// snapshot lists every path in dir with its kind, mode and content,
// leaving out backup files.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || strings.Contains(path, "kplay~") {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b.WriteString(rel + " " + fi.Mode().String())
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			b.WriteString(" -> " + target)
		} else if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(path)
			b.WriteString(" " + string(data))
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}

func TestRollbackRestoresAndIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	var entries []Entry
	before := ""
	{
		// Take the "before" snapshot inside fakeRun's setup: rebuild the
		// original state in a twin folder to compare with.
		twin := t.TempDir()
		os.WriteFile(filepath.Join(twin, "motd"), []byte("old motd\n"), 0o640)
		os.WriteFile(filepath.Join(twin, "mode"), []byte("x"), 0o600)
		os.Symlink("motd", filepath.Join(twin, "link"))
		before = snapshot(t, twin)
		entries = fakeRun(t, dir)
	}
	after := snapshot(t, dir)
	conn := &transport.Local{}
	opts := RollbackOptions{Conn: func(string) (modules.Conn, error) { return conn, nil }}

	// Check mode changes nothing but says it would.
	var checked []Action
	opts.Check = true
	opts.Report = func(a Action) { checked = append(checked, a) }
	if err := Rollback(context.Background(), entries, opts); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, dir); got != after {
		t.Fatalf("check mode changed the tree:\n%s", got)
	}
	if n := countChanged(checked); n != 7 {
		t.Errorf("check mode predicted %d changes, want 7: %+v", n, checked)
	}

	// The real rollback, journaled so it can itself be rolled back.
	rj, err := Create(t.TempDir(), Meta{Kind: "rollback"})
	if err != nil {
		t.Fatal(err)
	}
	opts.Check, opts.Journal, opts.BackupDir = false, rj, t.TempDir()
	var done []Action
	opts.Report = func(a Action) { done = append(done, a) }
	if err := Rollback(context.Background(), entries, opts); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, dir); got != before {
		t.Fatalf("after rollback:\n%s\nwant:\n%s", got, before)
	}
	if n := countChanged(done); n != 7 {
		t.Errorf("rollback reported %d changes, want 7 (the check predicted 7)", n)
	}
	rj.Finish(StatusOK, nil, nil)

	// A second rollback is a no-op.
	done = nil
	opts.Journal = nil
	if err := Rollback(context.Background(), entries, opts); err != nil {
		t.Fatal(err)
	}
	if n := countChanged(done); n != 0 {
		t.Errorf("second rollback changed %d things: %+v", n, done)
	}

	// Rolling back the rollback brings the run's result back.
	_, rbEntries, err := Read(filepath.Dir(rj.Dir()), rj.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := Rollback(context.Background(), rbEntries, opts); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, dir); got != after {
		t.Fatalf("after rolling back the rollback:\n%s\nwant:\n%s", got, after)
	}
}

func countChanged(as []Action) int {
	n := 0
	for _, a := range as {
		if a.Changed {
			n++
		}
	}
	return n
}

func TestRollbackMissingBackupFails(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("now"), 0o644)
	entries := []Entry{{Host: "h1", Changes: []modules.Change{{Kind: modules.KindFile, Path: p, Action: "modified", Existed: true, Backup: p + ".gone"}}}}
	conn := &transport.Local{}
	err := Rollback(context.Background(), entries, RollbackOptions{Conn: func(string) (modules.Conn, error) { return conn, nil }})
	if err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("want a missing-backup error, got %v", err)
	}
}

// TestRollbackDelegatedOnDelegate: a delegated task's change is undone on
// the host it ran on (the delegate), reported with its play host and role
// as origin, and --limit-style filtering applies to that host.
func TestRollbackDelegatedOnDelegate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "obj.yaml")
	if err := os.WriteFile(p, []byte("kind: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries := []Entry{{Host: "m1", Delegate: "addons", Role: "addons", Play: "addons", Status: "changed",
		Changes: []modules.Change{{Kind: modules.KindFile, Path: p, Action: "created"}}}}
	var asked []string
	var acts []Action
	conn := &transport.Local{}
	err := Rollback(t.Context(), entries, RollbackOptions{
		Conn:   func(h string) (modules.Conn, error) { asked = append(asked, h); return conn, nil },
		Report: func(a Action) { acts = append(acts, a) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "addons" {
		t.Errorf("connected to %q, want the delegate only", asked)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("%s not removed: %v", p, err)
	}
	want := []Origin{{Host: "m1", Role: "addons", Play: "addons"}}
	if len(acts) != 1 || acts[0].Host != "addons" || !acts[0].Changed || len(acts[0].Origins) != 1 || acts[0].Origins[0] != want[0] {
		t.Errorf("actions %+v, want one changed on addons from %+v", acts, want)
	}
	// Selecting the play host only leaves the delegate's change alone.
	asked = nil
	err = Rollback(t.Context(), entries, RollbackOptions{Include: func(h string) bool { return h == "m1" },
		Conn: func(h string) (modules.Conn, error) { asked = append(asked, h); return conn, nil }})
	if err != nil || len(asked) != 0 {
		t.Errorf("limit m1: connected to %q (%v), want none", asked, err)
	}
}

func TestSplitExtraVars(t *testing.T) {
	stored, withheld := SplitExtraVars(map[string]any{
		"vip": "10.0.0.9", "ansible_become_pass": "x", "db": map[string]any{"Password": "y"},
		"list": []any{map[string]any{"token": "z"}}, "etcd_snapshot_count": 20000,
	})
	if len(stored) != 2 || stored["vip"] != "10.0.0.9" || stored["etcd_snapshot_count"] != 20000 {
		t.Errorf("stored %v", stored)
	}
	if strings.Join(withheld, ",") != "ansible_become_pass,db,list" {
		t.Errorf("withheld %q", withheld)
	}
}

// scriptConn records the scripts it is given and says "changed" to those
// that restore files.
type scriptConn struct{ scripts []string }

func (c *scriptConn) Exec(_ context.Context, cmd string, _ io.Reader, stdout, _ io.Writer) error {
	c.scripts = append(c.scripts, cmd)
	if strings.HasPrefix(cmd, "p=") {
		io.WriteString(stdout, "changed\n")
	}
	return nil
}

// TestRollbackRestartLeftToRole: a running service whose files were
// restored is restarted by the rollback, unless its role's rollback tasks
// restart it (RestartByRole): then it is only kept running.
func TestRollbackRestartLeftToRole(t *testing.T) {
	entries := []Entry{
		{Host: "h1", Role: "lb-pair", Play: "lb-pair", Changes: []modules.Change{{Kind: modules.KindFile, Path: "/etc/lb.conf", Existed: true, Backup: "/etc/lb.conf.1.kplay~"}}},
		{Host: "h1", Role: "lb-pair", Play: "lb-pair", Changes: []modules.Change{{Kind: modules.KindService, Name: "kplay-lb", Action: "reloaded", Old: "active"}}},
	}
	for _, byRole := range []bool{false, true} {
		c := &scriptConn{}
		var acts []Action
		opts := RollbackOptions{Conn: func(string) (modules.Conn, error) { return c, nil }, Report: func(a Action) { acts = append(acts, a) }}
		if byRole {
			opts.RestartByRole = func(o []Origin) bool { return len(o) == 1 && o[0].Role == "lb-pair" }
		}
		if err := Rollback(t.Context(), entries, opts); err != nil {
			t.Fatal(err)
		}
		last := c.scripts[len(c.scripts)-1]
		if got := strings.Contains(last, "systemctl restart"); got == byRole {
			t.Errorf("RestartByRole set %v: service script restarts: %v\n%s", byRole, got, last)
		}
		if what := acts[len(acts)-1].What; byRole != strings.Contains(what, "rollback tasks restart it") {
			t.Errorf("RestartByRole set %v: action %q", byRole, what)
		}
	}
}
