package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TimeoutError is why a task failed on a host when its timeout: (or the
// run's Options.TaskTimeout) ran out: the task's context is cancelled with
// it as the cause, which ends the remote command (the transports kill the
// command's process group on cancellation).
type TimeoutError struct {
	After time.Duration
}

func (e *TimeoutError) Error() string { return fmt.Sprintf("timed out after %v", e.After) }

// timeout is the task's time limit on one host: its timeout: keyword,
// else the innermost enclosing block's (blocks pass it on to their tasks,
// as Ansible's keyword inheritance does), else the run's TaskTimeout; 0
// means none.
func (tr *taskRun) timeout(s *scope) (time.Duration, error) {
	v := tr.t.Timeout
	for i := len(tr.f.blocks) - 1; v == nil && i >= 0; i-- {
		v = tr.f.blocks[i].Timeout
	}
	if v == nil {
		return tr.p.r.opts.TaskTimeout, nil
	}
	d, err := toDuration(v, s)
	if err != nil {
		return 0, fmt.Errorf("%s: timeout: %w", tr.t.Pos, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s: timeout: %v is negative", tr.t.Pos, d)
	}
	return d, nil
}

// executeTimed runs one attempt of the task under its time limit, as
// Ansible's task timeout bounds each execution. A result that the limit
// cut short becomes a failure "MODULE: timed out after D" that keeps the
// changes the module reported before it stopped, so they are journaled.
func (tr *taskRun) executeTimed(ctx context.Context, o *outcome, s *scope) *TaskResult {
	d, err := tr.timeout(s)
	if err != nil {
		return errResult(err)
	}
	if d <= 0 {
		return tr.execute(ctx, o, s)
	}
	te := &TimeoutError{After: d}
	tctx, cancel := context.WithTimeoutCause(ctx, d, te)
	defer cancel()
	res := tr.execute(tctx, o, s)
	if ctx.Err() != nil || !errors.Is(context.Cause(tctx), te) {
		return res
	}
	if !res.Failed || res.Status == StatusUnreachable {
		return res // finished just as the limit ran out, or the link died
	}
	out := errResult(fmt.Errorf("%s: %w", tr.t.Module, te))
	out.Changed, out.Changes, out.Diff = res.Changed, res.Changes, res.Diff
	out.Stdout, out.Stderr, out.Cmd = res.Stdout, res.Stderr, res.Cmd
	return out
}
