package engine

import (
	"time"

	"github.com/kplay/kplay/modules"
)

// EventType names what happened. The CLI renders events; --json writes them
// one per line; an embedding program receives the same values.
type EventType string

// Event types, in the order a run emits them.
const (
	EventRunStart    EventType = "run_start"
	EventPlayStart   EventType = "play_start"
	EventTaskStart   EventType = "task_start"  // a task (or handler) begins on the batch
	EventHostStart   EventType = "host_start"  // a task begins on one host
	EventRetry       EventType = "retry"       // an until-loop attempt failed; another follows
	EventItem        EventType = "item"        // one loop item finished on a host
	EventHostDone    EventType = "host_done"   // live: a host finished the task (status, duration; no result)
	EventHostResult  EventType = "host_result" // the task finished on one host (all items)
	EventHandlerRun  EventType = "handler_run" // handlers are being flushed
	EventWarning     EventType = "warning"     // something the user should know
	EventPlayEnd     EventType = "play_end"
	EventRecap       EventType = "recap"
	EventInterrupted EventType = "interrupted"

	// Rollback (engine.Rollback) emits these around the events of the
	// roles' rollback tasks, which are a run's.
	EventRollbackAction EventType = "rollback_action" // one change undone (check mode: would be) on a host
	EventRollbackEnd    EventType = "rollback_end"    // the rollback finished; Rollback is its report
)

// Status is a host's verdict for one task, decided by the engine.
type Status string

// Statuses as ansible-playbook prints them.
const (
	StatusOK          Status = "ok"
	StatusChanged     Status = "changed"
	StatusSkipped     Status = "skipped"
	StatusFailed      Status = "failed"
	StatusUnreachable Status = "unreachable"
	StatusRescued     Status = "rescued"
	StatusIgnored     Status = "ignored"
)

// Event is one thing that happened during a run. Only the fields that make
// sense for its Type are set. Values in Result are already masked for
// secrets (no_log, secrets files).
type Event struct {
	Type EventType `json:"type"`
	Time time.Time `json:"time"`

	RunID    string   `json:"run_id,omitempty"`
	Playbook string   `json:"playbook,omitempty"`
	Play     string   `json:"play,omitempty"`
	PlayPos  *Pos     `json:"play_pos,omitempty"`
	Hosts    []string `json:"hosts,omitempty"` // play_start: the play's hosts; task_start: the batch

	Task string `json:"task,omitempty"` // display name (role : name)
	Role string `json:"role,omitempty"` // the task's role, "" for a play task
	// Owner is the role that include_role'd Role's tasks (the outermost
	// one), when there is one: the journal records changes under it, and
	// kplay rollback runs its rollback tasks.
	Owner     string `json:"owner_role,omitempty"`
	TaskPos   *Pos   `json:"task_pos,omitempty"`
	Module    string `json:"module,omitempty"`
	IsHandler bool   `json:"is_handler,omitempty"`

	Host     string        `json:"host,omitempty"`
	Delegate string        `json:"delegate_to,omitempty"`
	Status   Status        `json:"status,omitempty"`
	Item     any           `json:"item,omitempty"` // item label for loop items
	Attempt  int           `json:"attempt,omitempty"`
	Retries  int           `json:"retries,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	Result   *TaskResult   `json:"result,omitempty"`
	// TaskID, ArgsHash and Register (host_result) identify the task, a
	// hash of its rendered arguments on this host and its register name,
	// so that a journal can let a later run resume (Options.Resume).
	TaskID   string `json:"task_id,omitempty"`
	ArgsHash string `json:"args_hash,omitempty"`
	Register string `json:"register,omitempty"`

	Msg   string            `json:"msg,omitempty"`
	Recap map[string]*Stats `json:"recap,omitempty"`

	// Error is why a rollback action failed (rollback_action).
	Error    string          `json:"error,omitempty"`
	Rollback *RollbackReport `json:"rollback,omitempty"` // rollback_end
}

// TaskResult is the outcome of a task on one host as registered and shown:
// the module's result after failed_when/changed_when, with loop results.
type TaskResult struct {
	Status   Status           `json:"status"`
	Changed  bool             `json:"changed"`
	Failed   bool             `json:"failed"`
	Skipped  bool             `json:"skipped,omitempty"`
	Unknown  bool             `json:"unknown,omitempty"` // check mode could not predict
	Msg      string           `json:"msg,omitempty"`
	Cmd      string           `json:"cmd,omitempty"`
	RC       int              `json:"rc"`
	Stdout   string           `json:"stdout,omitempty"`
	Stderr   string           `json:"stderr,omitempty"`
	Data     map[string]any   `json:"data,omitempty"`
	Diff     []modules.Diff   `json:"diff,omitempty"`
	Changes  []modules.Change `json:"changes,omitempty"`
	Items    []*TaskResult    `json:"results,omitempty"`
	Item     any              `json:"item,omitempty"`
	Attempts int              `json:"attempts,omitempty"`
	// Err is the error text for failed/unreachable results.
	Err string `json:"error,omitempty"`
}

// Stats are a host's counts for the recap, as PLAY RECAP prints them.
type Stats struct {
	OK          int `json:"ok"`
	Changed     int `json:"changed"`
	Unreachable int `json:"unreachable"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	Rescued     int `json:"rescued"`
	Ignored     int `json:"ignored"`
}

// Sink receives every event of a run, in order, from one goroutine at a
// time. It must not block for long: the run waits for it. A sink that
// journals changes (fsync per entry) relies on that ordering.
type Sink interface {
	Event(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Event implements Sink.
func (f SinkFunc) Event(e Event) { f(e) }
