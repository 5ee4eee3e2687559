// Package journal records every change a run makes, on the control machine,
// so that the run can be rolled back or resumed later, even after a crash.
//
// A run's folder holds meta.json (the command line, inventory and playbook
// checksums, status) and journal.jsonl: one JSON entry per task result on a
// host, appended before the call returns; an entry that records a change is
// fsync-ed too, so it is on disk before the engine starts the next change
// on that host.
package journal

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kplay/kplay/modules"
)

// Run statuses kept in Meta.Status.
const (
	StatusRunning     = "running"
	StatusOK          = "ok"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
)

// Meta describes one run. It is rewritten atomically when the run ends; a
// run that crashed keeps Status "running" and no End.
type Meta struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"` // "run" or "rollback"
	RollbackOf string `json:"rollback_of,omitempty"`
	// ResumeOf is the run a --resume run continued; rollback undoes the
	// two together.
	ResumeOf  string            `json:"resume_of,omitempty"`
	Start     time.Time         `json:"start"`
	End       time.Time         `json:"end,omitzero"`
	Status    string            `json:"status"`
	Command   []string          `json:"command,omitempty"`
	Inventory string            `json:"inventory,omitempty"`
	Playbooks []string          `json:"playbooks,omitempty"`
	Checksums map[string]string `json:"checksums,omitempty"` // file -> sha256
	Check     bool              `json:"check,omitempty"`
	Hosts     []string          `json:"hosts,omitempty"`
	Changes   int               `json:"changes"`
	Failed    []string          `json:"failed,omitempty"`
	// PlaybookFiles, RolePaths and ExtraVars are what `kplay rollback`
	// needs to run the tasks/rollback.yaml of the roles whose changes it
	// undid, in the scope the run had: each playbook as an absolute path,
	// or "embedded:playbooks/NAME" for one embedded in kplay; the extra
	// role folders (absolute); the run's -e values. Secret extra vars
	// (see SecretVarName) are not stored: their names are in Withheld.
	PlaybookFiles []string       `json:"playbook_files,omitempty"`
	RolePaths     []string       `json:"role_paths,omitempty"`
	ExtraVars     map[string]any `json:"extra_vars,omitempty"`
	Withheld      []string       `json:"extra_vars_withheld,omitempty"`
	// EmbeddedSnapshot is the sha256 of the snapshot (WriteSnapshot) of
	// the roles and playbooks embedded in the kplay that ran: rollback
	// runs the roles' rollback tasks from it, not from its own binary.
	// Empty for a check run, or one journaled by an older kplay.
	EmbeddedSnapshot string `json:"embedded_snapshot,omitempty"`
}

// Entry is one task result on one host. Entries with Changes are what
// rollback undoes; the rest let --resume skip tasks that already finished.
type Entry struct {
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	Host string    `json:"host"`
	// Delegate is the host a delegated task (delegate_to) ran on: its
	// changes are there, and rollback undoes them there.
	Delegate string `json:"delegate_to,omitempty"`
	// Role is the role the task came from ("" for a play task), or for a
	// role another role include_role'd, the outermost including role:
	// rollback runs that role's tasks/rollback.yaml where it undid its
	// changes.
	Role    string `json:"role,omitempty"`
	Play    string `json:"play,omitempty"`
	Task    string `json:"task,omitempty"`
	TaskPos string `json:"task_pos,omitempty"`
	Module  string `json:"module,omitempty"`
	Status  string `json:"status"`
	// TaskID identifies the task within the playbook (position, name and
	// loop index); ArgsHash is a hash of its rendered arguments. Resume
	// skips a task only when both match.
	TaskID   string `json:"task_id,omitempty"`
	ArgsHash string `json:"args_hash,omitempty"`
	// Register is the registered variable name and Result its value (with
	// secrets masked), so resume can re-create it.
	Register string           `json:"register,omitempty"`
	Result   map[string]any   `json:"result,omitempty"`
	Changes  []modules.Change `json:"changes,omitempty"`
	Msg      string           `json:"msg,omitempty"`
}

// Journal is an open run journal. Record is safe for concurrent use.
type Journal struct {
	dir  string
	mu   sync.Mutex // guards f, meta and seq
	f    *os.File
	meta Meta
	seq  int
	gc   groupCommit
}

// groupCommit lets concurrent Records share one fsync: a Record that must
// be durable waits until a sync started after its write has finished. One
// caller syncs at a time; those arriving meanwhile wait for it and, if it
// started before their write, run the next sync together. At 50 hosts
// finishing a task at once that is a few fsyncs instead of 50 in a row.
type groupCommit struct {
	mu      sync.Mutex
	cond    sync.Cond
	syncing bool
	synced  int // every entry with Seq <= synced is on disk
}

// NewID returns a run id that sorts by time (to the millisecond) and is
// unique on this machine: 20261123-021530-123-a1b2c3.
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return strings.Replace(now.UTC().Format("20060102-150405.000"), ".", "-", 1) + "-" + hex.EncodeToString(b[:])
}

// Create makes the run folder root/<meta.ID> (0700) and opens its journal.
func Create(root string, meta Meta) (*Journal, error) {
	if meta.ID == "" {
		meta.ID = NewID(time.Now())
	}
	if meta.Kind == "" {
		meta.Kind = "run"
	}
	if meta.Start.IsZero() {
		meta.Start = time.Now()
	}
	meta.Status = StatusRunning
	dir := filepath.Join(root, meta.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: create %s: %w", dir, err)
	}
	_ = os.Chmod(root, 0o700)
	f, err := os.OpenFile(filepath.Join(dir, "journal.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, f: f, meta: meta}
	j.gc.cond.L = &j.gc.mu
	if err := j.writeMeta(); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// ID returns the run id.
func (j *Journal) ID() string { return j.meta.ID }

// Dir returns the run folder.
func (j *Journal) Dir() string { return j.dir }

// Record appends e, and fsyncs the file before returning when e records a
// change.
func (j *Journal) Record(e Entry) error {
	seq, err := j.write(e)
	if err != nil {
		return err
	}
	// An entry that records a change on a host is on disk before Record
	// returns (and so before the next change there starts); one that
	// changed nothing goes with the next sync: losing it in a crash only
	// makes --resume run an idempotent task again. At 50 hosts x 20
	// tasks this spares ~1000 fsyncs of ~10 ms each.
	if len(e.Changes) > 0 || e.Status == "changed" {
		return j.syncThrough(seq)
	}
	return nil
}

// write appends e as one line and returns its sequence number.
func (j *Journal) write(e Entry) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return 0, errors.New("journal: record after close")
	}
	j.seq++
	e.Seq = j.seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("journal: encode entry: %w", err)
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return 0, fmt.Errorf("journal: write: %w", err)
	}
	j.meta.Changes += len(e.Changes)
	return j.seq, nil
}

// syncThrough returns once every entry up to seq is on disk, syncing the
// file itself or waiting for a sync another Record runs (group commit).
func (j *Journal) syncThrough(seq int) error {
	gc := &j.gc
	gc.mu.Lock()
	defer gc.mu.Unlock()
	for gc.synced < seq {
		if gc.syncing {
			gc.cond.Wait()
			continue
		}
		gc.syncing = true
		gc.mu.Unlock()
		j.mu.Lock()
		target, f := j.seq, j.f
		j.mu.Unlock()
		err := errors.New("journal: sync after close")
		if f != nil {
			err = f.Sync()
		}
		gc.mu.Lock()
		gc.syncing = false
		gc.cond.Broadcast()
		if err != nil {
			return fmt.Errorf("journal: sync: %w", err)
		}
		gc.synced = max(gc.synced, target)
	}
	return nil
}

// Finish records how the run ended and closes the journal.
func (j *Journal) Finish(status string, hosts, failed []string) error {
	// No sync may run on the file while it is closed: wait for the one
	// under way and hold the others back (lock order gc.mu, then mu).
	j.gc.mu.Lock()
	defer j.gc.mu.Unlock()
	for j.gc.syncing {
		j.gc.cond.Wait()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.meta.Status = status
	j.meta.End = time.Now()
	j.meta.Hosts = hosts
	j.meta.Failed = failed
	var errs []error
	if j.f != nil {
		if err := j.f.Sync(); err != nil {
			errs = append(errs, err)
		} else {
			j.gc.synced = max(j.gc.synced, j.seq)
		}
		errs = append(errs, j.f.Close())
		j.f = nil
	}
	errs = append(errs, j.writeMeta())
	return errors.Join(errs...)
}

// writeMeta replaces meta.json atomically.
func (j *Journal) writeMeta() error {
	data, err := json.MarshalIndent(j.meta, "", "  ")
	if err != nil {
		return fmt.Errorf("journal: encode meta: %w", err)
	}
	tmp, err := os.CreateTemp(j.dir, ".meta-*.json")
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("journal: write meta: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("journal: sync meta: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(j.dir, "meta.json"))
}

// Read loads a run's meta and entries. A last line cut short by a crash is
// ignored (the entry it would have held was never acknowledged).
func Read(root, id string) (Meta, []Entry, error) {
	var meta Meta
	dir := filepath.Join(root, id)
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if errors.Is(err, os.ErrNotExist) {
		if t, ok := pruned(root, id); ok {
			return meta, nil, &PrunedError{t}
		}
	}
	if err != nil {
		return meta, nil, fmt.Errorf("run %s: %w", id, err)
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return meta, nil, fmt.Errorf("run %s: meta.json: %w", id, err)
	}
	f, err := os.Open(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		return meta, nil, fmt.Errorf("run %s: %w", id, err)
	}
	defer f.Close()
	var entries []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			if !hasMore(sc) {
				break // a torn last line: the write never completed
			}
			return meta, nil, fmt.Errorf("run %s: journal.jsonl:%d: %w", id, line, err)
		}
		entries = append(entries, e)
	}
	if meta.Status == StatusRunning || meta.Changes == 0 {
		n := 0
		for _, e := range entries {
			n += len(e.Changes)
		}
		meta.Changes = n
	}
	return meta, entries, sc.Err()
}

// hasMore reports whether the scanner has another line, consuming it; used
// only to tell a torn last line from corruption in the middle.
func hasMore(sc *bufio.Scanner) bool { return sc.Scan() }

// List returns the runs under root, newest first.
func List(root string) ([]Meta, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var metas []Meta
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, _, err := Read(root, e.Name())
		if err != nil {
			continue
		}
		metas = append(metas, m)
	}
	sort.Slice(metas, func(a, b int) bool {
		if !metas[a].Start.Equal(metas[b].Start) {
			return metas[a].Start.After(metas[b].Start)
		}
		return metas[a].ID > metas[b].ID
	})
	return metas, nil
}

// Latest returns the id of the newest run of the given kind ("" = any)
// that is not a check-mode run.
func Latest(root, kind string) (string, error) {
	metas, err := List(root)
	if err != nil {
		return "", err
	}
	for _, m := range metas {
		if (kind == "" || m.Kind == kind) && !m.Check {
			return m.ID, nil
		}
	}
	return "", fmt.Errorf("no runs in %s", root)
}

// ReadChain reads a run and, when it resumed earlier runs, their entries
// first: the changes of one logical run, oldest first.
func ReadChain(root, id string) (Meta, []Entry, error) {
	meta, entries, err := Read(root, id)
	if err != nil {
		return meta, nil, err
	}
	seen := map[string]bool{id: true}
	for prev := meta.ResumeOf; prev != "" && !seen[prev]; {
		seen[prev] = true
		pm, pe, err := Read(root, prev)
		if err != nil {
			return meta, nil, fmt.Errorf("run %s resumed %s: %w", id, prev, err)
		}
		entries = append(pe, entries...)
		prev = pm.ResumeOf
	}
	return meta, entries, nil
}
