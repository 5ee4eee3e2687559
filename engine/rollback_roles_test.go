package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/shell"
	"github.com/kplay/kplay/transport"
)

// dirConn runs commands locally in the host's own folder, so that a test
// sees on which host a command ran.
type dirConn struct {
	dir string
	l   transport.Local
}

func (c *dirConn) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	return c.l.Exec(ctx, "cd "+shell.Quote(c.dir)+" || exit 1\n"+cmd, stdin, stdout, stderr)
}

// delegateBook is an addons-like role: the play runs on the masters (h1,
// h2); the role writes an object file on addons_host (h3, not a master)
// once, by delegation, and a config file on every master. Its rollback
// tasks record, on addons_host, that they ran and with which extra var.
var delegateBook = map[string]string{
	"site.yaml": `
- name: addons
  hosts: masters
  gather_facts: false
  roles: [addons]
`,
	"roles/addons/defaults/main.yaml": "addons_host: h3\n",
	"roles/addons/tasks/main.yaml": `
- name: object
  copy: {content: "kind: x\n", dest: obj.yaml}
  run_once: true
  delegate_to: "{{ addons_host }}"
- name: local config
  copy: {content: "{{ flavour }}\n", dest: "@DIR@/{{ inventory_hostname }}/local.conf"}
`,
	"roles/addons/tasks/rollback.yaml": `
- name: rolled out again
  shell: echo "rollback for {{ inventory_hostname }} flavour={{ flavour }}" >> rollback.log
  run_once: true
  delegate_to: "{{ addons_host }}"
`,
}

// newHostDirFixture runs book on delegateInventory's hosts, each in a
// folder of its own (dirConn), journaled under runs/.
func newHostDirFixture(t *testing.T, book map[string]string) *fixture {
	t.Helper()
	f := newFixture(t, delegateInventory, book)
	for _, h := range []string{"h1", "h2", "h3"} {
		if err := os.Mkdir(filepath.Join(f.dir, h), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.opts.Connect = func(h *inventory.Host) (transport.Conn, error) {
		return &dirConn{dir: filepath.Join(f.dir, h.Name)}, nil
	}
	f.opts.JournalDir = filepath.Join(f.dir, "runs")
	return f
}

const delegateInventory = `all:
  hosts:
    h1: {}
    h2: {}
    h3: {}
  children:
    masters:
      hosts: {h1: {}, h2: {}}
`

// newDelegateFixture is delegateBook with one folder per host.
func newDelegateFixture(t *testing.T) *fixture {
	t.Helper()
	f := newHostDirFixture(t, delegateBook)
	f.opts.ExtraVars = map[string]any{"flavour": "vanilla", "api_token": "s3cr3t-t0ken"}
	return f
}

// TestJournalDelegatedTask: a delegated task's change is journaled under
// its play host with the delegate named, and the rollback undoes it on
// the delegate (addons_host), not on the play host.
func TestJournalDelegatedTask(t *testing.T) {
	f := newDelegateFixture(t)
	rep := f.run(t)
	if len(rep.Failed) > 0 {
		t.Fatalf("run failed on %v", rep.Failed)
	}
	meta, entries, err := journal.Read(f.opts.JournalDir, rep.RunID)
	if err != nil {
		t.Fatal(err)
	}
	var obj []journal.Entry
	for _, e := range entries {
		if e.Task == "addons : object" {
			obj = append(obj, e)
		}
		if e.Role != "addons" {
			t.Errorf("%s on %s: role %q, want addons", e.Task, e.Host, e.Role)
		}
	}
	if len(obj) != 1 || obj[0].Host != "h1" || obj[0].Delegate != "h3" || obj[0].Target() != "h3" {
		t.Fatalf("object entries %+v, want one on h1 delegated to h3", obj)
	}
	if meta.ExtraVars["flavour"] != "vanilla" || meta.ExtraVars["api_token"] != nil || !equal(meta.Withheld, []string{"api_token"}) {
		t.Errorf("meta extra vars %v, withheld %v", meta.ExtraVars, meta.Withheld)
	}
	if len(meta.PlaybookFiles) != 1 || !filepath.IsAbs(meta.PlaybookFiles[0]) {
		t.Errorf("meta playbook files %q, want one absolute path", meta.PlaybookFiles)
	}

	rb, err := Rollback(t.Context(), RollbackOptions{Options: f.opts, FilesOnly: true})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "h3", "obj.yaml")); !os.IsNotExist(err) {
		t.Errorf("h3/obj.yaml after rollback: %v, want it removed", err)
	}
	for _, h := range []string{"h1", "h2"} {
		if _, err := os.Stat(filepath.Join(f.dir, h, "local.conf")); !os.IsNotExist(err) {
			t.Errorf("%s/local.conf after rollback: %v, want it removed", h, err)
		}
	}
	if len(rb.Roles) != 0 {
		t.Errorf("--files-only ran role rollbacks %+v", rb.Roles)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "h3", "rollback.log")); !os.IsNotExist(err) {
		t.Errorf("--files-only ran the rollback tasks: %v", err)
	}
}

// TestRollbackRunsRoleRollback: after the restore, the role's rollback
// tasks run with the run's extra vars on the play hosts whose changes
// were undone (the delegated one on addons_host, once); in check mode
// they are only named; a second rollback runs none.
func TestRollbackRunsRoleRollback(t *testing.T) {
	f := newDelegateFixture(t)
	if rep := f.run(t); len(rep.Failed) > 0 {
		t.Fatalf("run failed on %v", rep.Failed)
	}
	ro := RollbackOptions{Options: f.opts}
	ro.ExtraVars = nil // the rollback's own -e: none; the run's come from its journal
	check := ro
	check.Check = true
	rep, err := Rollback(t.Context(), check)
	if err != nil {
		t.Fatalf("rollback --check: %v", err)
	}
	want := []RoleRollback{{Play: "addons", Role: "addons", Hosts: []string{"h1", "h2"}}}
	if len(rep.Roles) != 1 || rep.Roles[0].Role != "addons" || !equal(rep.Roles[0].Hosts, want[0].Hosts) {
		t.Errorf("check: roles %+v, want %+v", rep.Roles, want)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "h3", "rollback.log")); !os.IsNotExist(err) {
		t.Errorf("check mode ran the rollback tasks: %v", err)
	}

	rep, err = Rollback(t.Context(), ro)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if len(rep.Roles) != 1 || !equal(rep.Roles[0].Hosts, want[0].Hosts) {
		t.Errorf("roles %+v, want %+v", rep.Roles, want)
	}
	log := f.read(t, "h3/rollback.log")
	if log != "rollback for h1 flavour=vanilla\n" {
		t.Errorf("h3/rollback.log = %q, want one line for h1 with the run's flavour", log)
	}
	meta, entries, err := journal.Read(f.opts.JournalDir, rep.Rollback)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Kind != "rollback" || meta.Status != journal.StatusOK || len(meta.PlaybookFiles) != 1 {
		t.Errorf("rollback meta: kind %q status %q playbooks %q", meta.Kind, meta.Status, meta.PlaybookFiles)
	}
	ran := false
	for _, e := range entries {
		ran = ran || strings.HasSuffix(e.Task, "rolled out again")
	}
	if !ran {
		t.Error("the rollback tasks are not in the rollback's journal")
	}

	rep, err = Rollback(t.Context(), RollbackOptions{Options: f.opts, RunID: rep.RunID})
	if err != nil {
		t.Fatalf("second rollback: %v", err)
	}
	if rep.Changed != 0 || len(rep.Roles) != 0 {
		t.Errorf("second rollback: %d changes, roles %+v; want none", rep.Changed, rep.Roles)
	}
}

// TestRollbackRoleFailure: a failing rollback task leaves the files
// restored and the error names the host and the task.
func TestRollbackRoleFailure(t *testing.T) {
	f := newDelegateFixture(t)
	if rep := f.run(t); len(rep.Failed) > 0 {
		t.Fatalf("run failed on %v", rep.Failed)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "roles/addons/tasks/rollback.yaml"),
		[]byte("- name: gate\n  shell: echo not healthy >&2; exit 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Rollback(t.Context(), RollbackOptions{Options: f.opts})
	var re *RoleRollbackError
	if !errors.As(err, &re) {
		t.Fatalf("rollback error %v, want a RoleRollbackError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "files are restored") || !strings.Contains(msg, "h1: addons : gate:") {
		t.Errorf("error %q does not say the files are restored and name host and task", msg)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "h3", "obj.yaml")); !os.IsNotExist(err) {
		t.Errorf("h3/obj.yaml: %v, want it removed", err)
	}
	meta, _, err := journal.Read(f.opts.JournalDir, rep.Rollback)
	if err != nil || meta.Status != journal.StatusFailed {
		t.Errorf("rollback journal status %q (%v), want failed", meta.Status, err)
	}
}

// TestRollbackOldJournal: a run journaled without its playbooks (an older
// kplay) still has its files restored; the roles' rollback tasks cannot
// run and the error says so and points at --files-only.
func TestRollbackOldJournal(t *testing.T) {
	f := newDelegateFixture(t)
	rep := f.run(t)
	metaPath := filepath.Join(f.opts.JournalDir, rep.RunID, "meta.json")
	data, err := os.ReadFile(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "playbook_files")
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(metaPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Rollback(t.Context(), RollbackOptions{Options: f.opts})
	if err == nil || !strings.Contains(err.Error(), "files are restored") || !strings.Contains(err.Error(), "--files-only") {
		t.Errorf("rollback error %v, want one saying the files are restored and pointing at --files-only", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "h3", "obj.yaml")); !os.IsNotExist(err) {
		t.Errorf("h3/obj.yaml: %v, want it removed", err)
	}
}

// TestRollbackIncludedRole: what a role's include_role'd tasks (here the
// master role including the node role's host tasks, as kubeadm mode does)
// change is journaled under the including role, and kplay rollback runs
// the including role's rollback tasks, which know about them (before, the
// rollback failed: role node was not among play master's roles).
func TestRollbackIncludedRole(t *testing.T) {
	book := map[string]string{
		"site.yaml": `
- name: master
  hosts: masters
  gather_facts: false
  roles: [master]
`,
		"roles/master/tasks/main.yaml": `
- name: host part
  include_role: {name: node, tasks_from: host}
`,
		"roles/master/tasks/rollback.yaml": `
- name: regenerate
  shell: echo "master rollback on {{ inventory_hostname }}" >> rollback.log
`,
		"roles/node/tasks/host.yaml": `
- name: config
  copy: {content: "v1\n", dest: "node.conf"}
`,
	}
	f := newHostDirFixture(t, book)
	var events []Event
	f.opts.Sink = SinkFunc(func(e Event) { events = append(events, e) })
	rep := f.run(t)
	if len(rep.Failed) > 0 {
		t.Fatalf("run failed on %v", rep.Failed)
	}
	_, entries, err := journal.Read(f.opts.JournalDir, rep.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Task == "node : config" && e.Role != "master" {
			t.Errorf("%s on %s journaled under role %q, want master (the including role)", e.Task, e.Host, e.Role)
		}
	}
	for _, e := range events {
		if e.Type == EventHostResult && e.Task == "node : config" && (e.Role != "node" || e.Owner != "master") {
			t.Errorf("host_result of %s: role %q owner %q, want node and master", e.Task, e.Role, e.Owner)
		}
	}
	rb, err := Rollback(t.Context(), RollbackOptions{Options: f.opts})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if len(rb.Roles) != 1 || rb.Roles[0].Role != "master" {
		t.Errorf("rollback ran roles %+v, want master's", rb.Roles)
	}
	for _, h := range []string{"h1", "h2"} {
		if _, err := os.Stat(filepath.Join(f.dir, h, "node.conf")); !os.IsNotExist(err) {
			t.Errorf("%s/node.conf after rollback: %v, want it removed", h, err)
		}
		if b, err := os.ReadFile(filepath.Join(f.dir, h, "rollback.log")); err != nil || string(b) != "master rollback on "+h+"\n" {
			t.Errorf("%s/rollback.log = %q, %v; want the master role's rollback task once", h, b, err)
		}
	}
}
