package engine

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kplay/kplay/journal"
)

// Journal records task results as they happen (Options.Journal).
type Journal interface {
	Record(e Event) error
}

// finished is called on the host's goroutine as soon as the host is done
// with the task: a live host_done event (for progress displays: the
// host_result events come in host order once the whole batch is done) and
// the journal entry.
func (tr *taskRun) finished(o *outcome) {
	if o.res != nil && !o.interrupted {
		tr.p.r.sink.emit(Event{Type: EventHostDone, Task: tr.displayName(), Host: o.host,
			IsHandler: tr.f.handler, Status: o.res.Status, Duration: o.dur})
	}
	tr.journal(o)
}

// journal hands a host's outcome to Options.Journal. Module tasks are
// recorded whatever their status (a failed or interrupted task may have
// changed something); built-ins only when they registered a result, since
// they change nothing on hosts.
func (tr *taskRun) journal(o *outcome) {
	j := tr.p.r.opts.Journal
	if j == nil || o.res == nil {
		return
	}
	if _, builtin := builtins[tr.t.Module]; builtin && len(o.res.Changes) == 0 {
		return
	}
	e := tr.p.hostEvent(tr, o)
	e.Time = tr.p.r.now()
	e.RunID = tr.p.r.runID
	if err := j.Record(e); err != nil {
		o.res.Failed = true
		o.res.Status = StatusFailed
		o.res.Msg = fmt.Sprintf("%s (and the journal could not record it: %v)", o.res.Msg, err)
	}
}

// JournalRecorder writes host results to a run journal: one fsync-ed entry
// per task and host, with what changed and how to undo it, and the
// registered form of the result so that --resume can re-create it.
type JournalRecorder struct {
	J *journal.Journal
}

// Record implements Journal.
func (jr JournalRecorder) Record(e Event) error {
	entry := journal.Entry{Time: e.Time, Host: e.Host, Delegate: delegateOf(e), Role: cmp.Or(e.Owner, e.Role), Play: e.Play, Task: e.Task, Module: e.Module,
		Status: string(e.Status), TaskID: e.TaskID, ArgsHash: e.ArgsHash, Register: e.Register, Msg: e.Msg}
	if e.TaskPos != nil {
		entry.TaskPos = e.TaskPos.String()
	}
	if e.Result != nil {
		entry.Changes = e.Result.Changes
		m := e.Result.Map()
		delete(m, "diff") // file content: the backups on the host hold it
		entry.Result = m
	}
	return jr.J.Record(entry)
}

// delegateOf is the host a delegated task ran on, "" when it ran on its
// play host (not delegated, or delegated to that host itself).
func delegateOf(e Event) string {
	if e.Delegate == e.Host {
		return ""
	}
	return e.Delegate
}

// ResumeFrom returns an Options.Resume that answers from an earlier run's
// entries: a task that finished ok or changed on a host, with the same
// task id and the same rendered arguments, is done.
func ResumeFrom(entries []journal.Entry) func(host, taskID, argsHash string) (map[string]any, bool) {
	done := map[string]map[string]any{}
	for _, e := range entries {
		if e.Status != string(StatusOK) && e.Status != string(StatusChanged) {
			continue
		}
		if e.TaskID == "" || e.ArgsHash == "" || e.Result == nil {
			continue
		}
		done[e.Host+"\x00"+e.TaskID+"\x00"+e.ArgsHash] = e.Result
	}
	var mu sync.Mutex
	return func(host, taskID, argsHash string) (map[string]any, bool) {
		mu.Lock()
		defer mu.Unlock()
		r, ok := done[host+"\x00"+taskID+"\x00"+argsHash]
		return r, ok
	}
}

// openJournal creates the run's journal when Options.JournalDir asks for
// one, and makes it the run's Journal, with a snapshot of the embedded
// roles and playbooks the run uses (unless in check mode), which kplay
// rollback runs the roles' rollback tasks from. It returns nil when there
// is none to keep.
func (r *runner) openJournal(pbs []*Playbook, start time.Time) (*journal.Journal, error) {
	if r.opts.Journal != nil || r.opts.JournalDir == "" {
		return nil, nil
	}
	meta := journal.Meta{ID: r.runID, Start: start, Command: r.opts.Command, Check: r.opts.Check,
		ResumeOf: r.opts.ResumeOf, Checksums: map[string]string{}}
	if r.inv != nil && r.inv.Path != "" {
		meta.Inventory = r.inv.Path
		addChecksum(meta.Checksums, r.inv.Path)
	}
	for _, pb := range pbs {
		meta.Playbooks = append(meta.Playbooks, pb.Path)
		meta.PlaybookFiles = append(meta.PlaybookFiles, recordedPlaybook(pb))
		addChecksum(meta.Checksums, pb.Path)
	}
	for _, dir := range r.opts.RolePaths {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		meta.RolePaths = append(meta.RolePaths, dir)
	}
	meta.ExtraVars, meta.Withheld = journal.SplitExtraVars(r.opts.ExtraVars)
	if !r.opts.Check { // a check run is never rolled back
		hash, err := saveSnapshot(r.opts)
		if err != nil {
			return nil, &OptionsError{Msg: "journal folder " + r.opts.JournalDir, Err: err}
		}
		meta.EmbeddedSnapshot = hash
	}
	j, err := journal.Create(r.opts.JournalDir, meta)
	if err != nil {
		return nil, &OptionsError{Msg: "journal folder " + r.opts.JournalDir, Err: err}
	}
	r.opts.Journal = JournalRecorder{J: j}
	return j, nil
}

// addChecksum records a file's sha256; files that cannot be read (an
// embedded playbook) are left out.
func addChecksum(sums map[string]string, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	sum := sha256.Sum256(data)
	sums[path] = hex.EncodeToString(sum[:])
}

// finishJournal closes the journal with the run's outcome.
func finishJournal(j *journal.Journal, rep *Report) error {
	if j == nil {
		return nil
	}
	status := journal.StatusOK
	switch {
	case rep.Interrupted:
		status = journal.StatusInterrupted
	case len(rep.Failed) > 0 || len(rep.Unreachable) > 0:
		status = journal.StatusFailed
	}
	failed := append(append([]string(nil), rep.Failed...), rep.Unreachable...)
	return j.Finish(status, rep.HostOrder, failed)
}
