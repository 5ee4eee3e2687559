package engine

import "fmt"

// startNotReached is the end-of-run check of --start-at-task: a name that
// matched no task means nothing the user asked for ran (only the implicit
// fact gathering, if any), which Ansible refuses as "No matching task
// found". It emits a warning and returns an *OptionsError (exit 5); an
// interrupted run is reported as interrupted instead.
func (r *runner) startNotReached() error {
	if r.started || r.interrupted {
		return nil
	}
	msg := fmt.Sprintf("--start-at-task %q: no matching task found (nothing ran)", r.opts.StartAtTask)
	r.sink.emit(Event{Type: EventWarning, Msg: msg})
	return &OptionsError{Msg: msg}
}
