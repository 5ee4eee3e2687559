package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/journal"
)

// Report is the outcome of a run: what the recap prints and what decides
// the exit code. Host failures live here; Run's error is kept for problems
// that stop the run itself.
type Report struct {
	RunID       string
	Stats       map[string]*Stats
	HostOrder   []string // hosts in the order they first appeared in a play
	Failed      []string // hosts with at least one unrescued, unignored failure
	Unreachable []string
	Interrupted bool
	Duration    time.Duration
}

// Exit codes of a run, as ansible-playbook documents them (STYLE.md).
const (
	ExitOK          = 0
	ExitError       = 1
	ExitFailed      = 2
	ExitUnreachable = 3
	ExitParse       = 4
	ExitOptions     = 5
	ExitInterrupted = 99
)

// ExitCode maps the report to ansible-playbook's exit status: 99 when
// interrupted, else 3 when a host was unreachable (unreachable wins over
// failed, as in Ansible's strategy), else 2 when a host failed, else 0.
// Ansible's task queue manager internally uses 4 for unreachable hosts; its
// documented code, and kplay's, is 3 so that 4 stays "parse error".
func (r *Report) ExitCode() int {
	switch {
	case r == nil:
		return ExitError
	case r.Interrupted:
		return ExitInterrupted
	case len(r.Unreachable) > 0:
		return ExitUnreachable
	case len(r.Failed) > 0:
		return ExitFailed
	}
	return ExitOK
}

// OptionsError reports unusable run options (no inventory, no playbook, a
// bad --limit or tag); the CLI exits 5 on it.
type OptionsError struct {
	Msg string
	Err error
}

func (e *OptionsError) Error() string {
	if e.Err != nil {
		return "bad options: " + e.Msg + ": " + e.Err.Error()
	}
	return "bad options: " + e.Msg
}

func (e *OptionsError) Unwrap() error { return e.Err }

// Run loads every playbook of opts and runs them in order on the inventory.
// It returns an error only when the run cannot happen (a *LoadError chain
// for playbooks that do not parse, an *OptionsError for bad options); what
// happens on hosts is in the Report. Cancelling ctx stops the run cleanly:
// no task is started after it, running commands see the cancellation and
// the report is marked Interrupted.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	var pbs []*Playbook
	for _, path := range opts.Playbooks {
		pb, err := LoadPlaybook(path, loadOptions(opts))
		if err != nil {
			return nil, err
		}
		pbs = append(pbs, pb)
	}
	return runPlaybooks(ctx, opts, pbs)
}

func checkOptions(opts Options) error {
	if opts.Inventory == nil {
		return &OptionsError{Msg: "no inventory"}
	}
	if len(opts.Playbooks) == 0 {
		return &OptionsError{Msg: "no playbook given"}
	}
	if opts.Forks < 0 {
		return &OptionsError{Msg: fmt.Sprintf("forks %d is negative", opts.Forks)}
	}
	return nil
}

// runner holds the state of one run across its playbooks.
type runner struct {
	opts   Options
	ev     *Evaluator
	inv    *inventory.Inventory
	sink   *eventSink
	runID  string
	now    func() time.Time
	extra  map[string]any
	backup string
	conns  *connCache

	tc templCache

	mu          sync.Mutex // guards the fields below, which host goroutines reach
	hosts       map[string]*hostState
	stats       map[string]*Stats
	order       []string
	removed     map[string]bool // failed or unreachable: out of the rest of the run
	failed      map[string]bool
	unreachable map[string]bool
	groups      map[string]any

	// Used only by the goroutine that runs the plays.
	started     bool // --start-at-task reached (or not asked)
	interrupted bool
}

// clock is opts.Now, or time.Now when unset.
func (opts Options) clock() func() time.Time {
	if opts.Now == nil {
		return time.Now
	}
	return opts.Now
}

func newRunner(opts Options) *runner {
	now := opts.clock()
	start := now()
	r := &runner{
		opts: opts, ev: sharedEvaluator(), inv: opts.Inventory, now: now,
		runID:  journal.NewID(start), // the journal's id format, so a journaling sink can reuse it
		extra:  opts.ExtraVars,
		backup: "." + start.UTC().Format("20060102T150405Z") + ".kplay~",
		hosts:  map[string]*hostState{}, stats: map[string]*Stats{},
		removed: map[string]bool{}, failed: map[string]bool{}, unreachable: map[string]bool{},
		started: opts.StartAtTask == "",
	}
	if r.extra == nil {
		r.extra = map[string]any{}
	}
	r.sink = &eventSink{sink: opts.Sink, runID: r.runID, now: now}
	r.conns = newConnCache(r)
	return r
}

// runPlaybooks runs already loaded playbooks; Run and tests share it.
func runPlaybooks(ctx context.Context, opts Options, pbs []*Playbook) (*Report, error) {
	if opts.Inventory == nil {
		return nil, &OptionsError{Msg: "no inventory"}
	}
	r := newRunner(opts)
	defer r.conns.close()
	start := r.now()
	jr, err := r.openJournal(pbs, start)
	if err != nil {
		return nil, err
	}
	r.sink.emit(Event{Type: EventRunStart})
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			if ctx.Err() != nil {
				break
			}
			if err := r.runPlay(ctx, pb, play); err != nil {
				_ = finishJournal(jr, &Report{Failed: []string{"(run stopped: " + err.Error() + ")"}})
				return nil, err
			}
		}
	}
	if ctx.Err() != nil {
		r.interrupted = true
		r.sink.emit(Event{Type: EventInterrupted, Msg: "interrupted: " + context.Cause(ctx).Error()})
	}
	rep := r.report(start)
	r.sink.emit(Event{Type: EventRecap, Recap: rep.Stats, Hosts: rep.HostOrder})
	if err := finishJournal(jr, rep); err != nil {
		r.sink.emit(Event{Type: EventWarning, Msg: err.Error()})
	}
	if err := r.startNotReached(); err != nil {
		return nil, err
	}
	return rep, nil
}

func (r *runner) report(start time.Time) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{RunID: r.runID, Stats: r.stats, HostOrder: append([]string(nil), r.order...),
		Interrupted: r.interrupted, Duration: r.now().Sub(start)}
	for _, h := range r.order {
		if r.unreachable[h] {
			rep.Unreachable = append(rep.Unreachable, h)
		}
		if r.failed[h] {
			rep.Failed = append(rep.Failed, h)
		}
	}
	return rep
}

// statsFor returns the host's stats, adding the host to the recap order.
func (r *runner) statsFor(host string) *Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statsLocked(host)
}

func (r *runner) statsLocked(host string) *Stats {
	s, ok := r.stats[host]
	if !ok {
		s = &Stats{}
		r.stats[host] = s
		r.order = append(r.order, host)
	}
	return s
}

// eventSink serializes events and stamps them with the run id and time.
type eventSink struct {
	mu    sync.Mutex
	sink  Sink
	runID string
	now   func() time.Time
}

func (s *eventSink) emit(e Event) {
	if s.sink == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e.RunID = s.runID
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	s.sink.Event(e)
}

// loadOptions tells the loader where roles and playbooks come from.
func loadOptions(opts Options) LoadOptions {
	lo := LoadOptions{RolesFS: opts.RolesFS, PlaybooksFS: opts.PlaybooksFS, RolePaths: opts.RolePaths}
	if opts.Inventory != nil {
		lo.OverrideDir = opts.Inventory.Dir
	}
	return lo
}
