package engine

import (
	"io/fs"
	"time"

	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/transport"
)

// Options is everything a run needs. The CLI builds it from flags; an
// embedding Go program builds it directly and calls Run.
type Options struct {
	// Inventory is the loaded inventory.
	Inventory *inventory.Inventory
	// Playbooks are paths of playbook files, run in order. A name that is
	// not a file is looked up among the embedded playbooks.
	Playbooks []string
	// ExtraVars have the highest precedence (-e).
	ExtraVars map[string]any

	Check       bool
	Diff        bool
	Limit       string   // host pattern, same grammar as hosts:
	Tags        []string // run only tasks with these tags (plus "always")
	SkipTags    []string
	StartAtTask string
	Forks       int // 0 = all hosts of the batch at once
	Verbosity   int

	// Sink receives every event. Nil discards them.
	Sink Sink

	// Connect returns the connection for an inventory host; nil uses the
	// engine's default (local for ansible_connection=local, SSH otherwise,
	// through SSH options below).
	Connect func(h *inventory.Host) (transport.Conn, error)
	// SSH configures the default SSH pool.
	SSH transport.Options
	// TaskTimeout (--task-timeout) bounds each task's run on a host when
	// the task sets no timeout: of its own; 0 means no limit. A task that
	// runs out fails there with "timed out after D" and its remote command
	// is killed.
	TaskTimeout time.Duration

	// RollbackOnFailure (--rollback-on-failure) acts as if every play set
	// rollback_on_failure: a host that fails has the play's changes undone
	// and its role's rollback tasks run.
	RollbackOnFailure bool

	// Resume, when set, is asked before a task runs on a host, with the
	// TaskID and ArgsHash its host_result event would carry; returning the
	// result registered by an earlier run (TaskResult.Map) skips the task
	// there (--resume): the result is registered again, its set_fact
	// values restored and, when it had changed, its handlers notified.
	Resume func(host, taskID, argsHash string) (result map[string]any, done bool)

	// BecomePassword is used for sudo when become is on and the inventory
	// gives none (--ask-become-pass).
	BecomePassword string

	// RolesFS holds the roles embedded in the binary; PlaybooksFS the
	// embedded playbooks. Nil means none.
	RolesFS     fs.FS
	PlaybooksFS fs.FS
	// RolePaths are extra folders searched for roles before the embedded
	// ones (a roles/ folder next to the playbook is always searched first).
	RolePaths []string

	// Journal, when set, receives the host_result event of every task on
	// every host as soon as that host finishes the task, from the host's
	// goroutine and before the next task can start there; an error fails
	// the host (a change that cannot be journaled must not go unnoticed).
	// JournalRecorder adapts a journal.Journal.
	Journal Journal
	// JournalDir, when set and Journal is nil, makes Run keep the run's
	// journal itself in JournalDir/<run id> (journal.Create), finished with
	// the run's status. The CLI sets it to .kplay/runs next to the
	// inventory.
	JournalDir string
	// Only, when not nil, restricts every play to these hosts, on top of
	// Limit (--resume passes the hosts that had not finished).
	Only []string
	// ForceHandlers runs notified handlers on hosts that failed after the
	// notification, in every play (--force-handlers).
	ForceHandlers bool
	// ResumeOf is the id of the run Resume answers from, recorded in the
	// journal so that rolling back the resumed run undoes both.
	ResumeOf string
	// Command is the command line recorded in the journal.
	Command []string

	// Now is the clock; nil means time.Now (tests pin it).
	Now func() time.Time
}
