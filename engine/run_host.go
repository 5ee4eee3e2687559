package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kplay/kplay/transport"
)

// taskRun is one task being run on the hosts of a batch.
type taskRun struct {
	p *playRun
	t *Task
	f *frame

	name   string // rendered display name (taskName)
	hvOnce sync.Once
	hv     map[string]any
}

// outcome is what a task did on one host, applied to the run (stats,
// variables, handlers, events) once every host has finished the task.
type outcome struct {
	host     string
	res      *TaskResult
	labels   []any // loop item labels, one per res.Items
	dur      time.Duration
	delegate string
	facts    map[string]any // set_fact
	incVars  map[string]any // include_vars
	includes []include
	// args are the rendered arguments of each item run (module tasks),
	// argsHash their hash; registered replaces the registered value of a
	// task skipped by --resume.
	args       []any
	argsHash   string
	registered map[string]any
	// interrupted is set when the run was cancelled while the task ran.
	interrupted bool
}

// runHosts runs the task on every host (or the first, for run_once) in
// parallel, at most Forks (or the task's throttle) at a time. Each
// goroutine fills its own slot; no launch happens after cancellation.
func (tr *taskRun) runHosts(ctx context.Context, hosts []string) []*outcome {
	targets := hosts
	if tr.t.RunOnce && len(hosts) > 0 {
		targets = hosts[:1]
	}
	outs := make([]*outcome, len(targets))
	limit := tr.p.r.opts.Forks
	if th := tr.t.Throttle; th > 0 && (limit == 0 || th < limit) {
		limit = th
	}
	var g errgroup.Group
	if limit > 0 {
		g.SetLimit(limit)
	}
	for i, h := range targets {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			outs[i] = tr.onHostSafe(ctx, h)
			return nil
		})
	}
	_ = g.Wait()
	return outs
}

// onHostSafe is onHost turning a panic (a bug in a module) into that
// host's failure, so that one bad module call does not end the run.
func (tr *taskRun) onHostSafe(ctx context.Context, host string) (o *outcome) {
	defer func() {
		if v := recover(); v != nil {
			res := errResult(fmt.Errorf("%s: internal error in %s: %v", tr.t.Pos, tr.t.Module, v))
			o = &outcome{host: host, res: res}
		}
	}()
	return tr.onHost(ctx, host)
}

// onHost runs the task on one host: loop expansion, then each item.
func (tr *taskRun) onHost(ctx context.Context, host string) *outcome {
	r := tr.p.r
	start := r.now()
	o := &outcome{host: host}
	r.sink.emit(Event{Type: EventHostStart, Task: tr.displayName(), Host: host, IsHandler: tr.f.handler})
	s := tr.p.scope(r.hostState(host), tr.t, tr.f, tr)
	tr, kwErr := tr.forHost(s) // templated boolean keywords, rendered for this host
	items, looping, err := tr.loopItems(s)
	if kwErr != nil {
		err = kwErr
	}
	if err == nil && tr.resumable() && tr.resume(o, s, items, looping) {
		tr.finalize(o.res)
		o.dur = r.now().Sub(start)
		return o
	}
	switch {
	case err != nil:
		o.res = errResult(err)
	case !looping:
		o.res = tr.runItem(ctx, o, s)
	default:
		o.res = tr.runLoop(ctx, o, s, items)
	}
	tr.finalize(o.res)
	if _, builtin := builtins[tr.t.Module]; !builtin {
		o.argsHash = argsHash(tr.t.Module, o.args)
	}
	o.dur = r.now().Sub(start)
	o.interrupted = ctx.Err() != nil && o.res.Status != StatusOK && o.res.Status != StatusChanged && o.res.Status != StatusSkipped
	tr.finished(o)
	return o
}

// runLoop runs the task once per item, with the loop variable set, and
// gathers the results as Ansible's results list.
func (tr *taskRun) runLoop(ctx context.Context, o *outcome, s *scope, items []any) *TaskResult {
	res := &TaskResult{}
	for i, item := range items {
		if ctx.Err() != nil {
			break
		}
		is := s.child(tr.itemVars(o, i, item))
		ir := tr.runItem(ctx, o, is)
		ir.Item = item
		tr.finalize(ir)
		res.Items = append(res.Items, ir)
		o.labels = append(o.labels, tr.label(is, item))
		if ir.Status == StatusUnreachable {
			break
		}
		if i < len(items)-1 && tr.t.LoopPause != nil {
			if d, err := toDuration(tr.t.LoopPause, s); err == nil {
				_ = sleepCtx(ctx, d)
			}
		}
	}
	aggregate(res)
	return res
}

// itemVars are the variables of loop item i plus the facts earlier items
// set (set_fact in a loop sees them, as in Ansible), except where an extra
// var of the same name outranks a fact.
func (tr *taskRun) itemVars(o *outcome, i int, item any) map[string]any {
	lv := tr.loopVars(i, item)
	if len(o.facts) == 0 {
		return lv
	}
	vars := make(map[string]any, len(o.facts)+len(lv))
	for k, v := range o.facts {
		if _, extra := tr.p.r.extra[k]; !extra {
			vars[k] = v
		}
	}
	for k, v := range lv {
		vars[k] = v
	}
	return vars
}

// loopVars are the variables of loop item i: loop_var, index_var and
// ansible_loop_var.
func (tr *taskRun) loopVars(i int, item any) map[string]any {
	loopVar := tr.t.LoopVar
	if loopVar == "" {
		loopVar = "item"
	}
	vars := map[string]any{loopVar: item, "ansible_loop_var": loopVar}
	if tr.t.IndexVar != "" {
		vars[tr.t.IndexVar] = i
	}
	return vars
}

func (tr *taskRun) label(s *scope, item any) any {
	if tr.t.LoopLabel == "" {
		return item
	}
	l, err := s.render(tr.t.LoopLabel)
	if err != nil {
		return item
	}
	return l
}

// runItem evaluates when, then runs the task with until/retries.
func (tr *taskRun) runItem(ctx context.Context, o *outcome, s *scope) *TaskResult {
	ok, err := tr.conditions(s)
	if err != nil {
		return errResult(err)
	}
	if !ok {
		return &TaskResult{Skipped: true, Status: StatusSkipped, Msg: "Conditional result was False"}
	}
	if _, builtin := builtins[tr.t.Module]; !builtin {
		if a, err := tr.args(s); err == nil {
			o.args = append(o.args, a) // for the hash journals and --resume compare
		}
	}
	return tr.attempts(ctx, o, s)
}

// conditions evaluates the when of the enclosing blocks and of the task
// (a condition folded into the task by the loader is evaluated once).
func (tr *taskRun) conditions(s *scope) (bool, error) {
	var conds []string
	for _, b := range tr.f.blocks {
		conds = append(conds, b.When...)
	}
	conds = append(conds, tr.t.When...)
	seen := map[string]bool{}
	for _, c := range conds {
		if seen[c] {
			continue
		}
		seen[c] = true
		ok, err := s.evalBool(c)
		if err != nil {
			return false, fmt.Errorf("when %s: %w", c, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// attempts runs the task until its until condition holds (retries + 1
// runs at most, delay apart), applying changed_when and failed_when to
// each result. Unreachable results are never retried.
func (tr *taskRun) attempts(ctx context.Context, o *outcome, s *scope) *TaskResult {
	retries, delay, err := tr.untilParams(s)
	if err != nil {
		return errResult(err)
	}
	for attempt := 1; ; attempt++ {
		res := tr.executeTimed(ctx, o, s)
		tr.overrides(s, res)
		if tr.t.Until == "" || res.Status == StatusUnreachable || ctx.Err() != nil {
			return res
		}
		res.Attempts = attempt
		ok, err := s.child(tr.registerAs(res)).evalBool(tr.t.Until)
		if err != nil {
			return errResult(fmt.Errorf("until %s: %w", tr.t.Until, err))
		}
		if ok {
			return res
		}
		if attempt > retries {
			res.Failed = true
			if res.Msg == "" {
				res.Msg = fmt.Sprintf("until condition not met after %d attempts", attempt)
			}
			return res
		}
		shown := tr.p.mask(res)
		if tr.t.NoLog || tr.p.play.NoLog {
			shown = censored(shown)
		}
		tr.p.r.sink.emit(Event{Type: EventRetry, Task: tr.displayName(), Host: o.host, Attempt: attempt,
			Retries: retries + 1 - attempt, Result: shown, IsHandler: tr.f.handler})
		if sleepCtx(ctx, delay) != nil {
			return res
		}
	}
}

// untilParams reads retries (default 3) and delay (default 5s).
func (tr *taskRun) untilParams(s *scope) (int, time.Duration, error) {
	if tr.t.Until == "" {
		return 0, 0, nil
	}
	retries := 3
	if tr.t.Retries != nil {
		v, err := s.render(tr.t.Retries)
		if err != nil {
			return 0, 0, fmt.Errorf("retries: %w", err)
		}
		n, err := toInt(v)
		if err != nil {
			return 0, 0, fmt.Errorf("retries: %w", err)
		}
		retries = max(n, 0)
	}
	delay := 5 * time.Second
	if tr.t.Delay != nil {
		d, err := toDuration(tr.t.Delay, s)
		if err != nil {
			return 0, 0, fmt.Errorf("delay: %w", err)
		}
		delay = d
	}
	return retries, delay, nil
}

// registerAs binds the result under the task's register name (for until,
// changed_when and failed_when).
func (tr *taskRun) registerAs(res *TaskResult) map[string]any {
	if tr.t.Register == "" {
		return nil
	}
	return map[string]any{tr.t.Register: resultMap(res)}
}

// overrides applies changed_when and failed_when (each a list of
// conditions that must all hold) with the registered result visible.
func (tr *taskRun) overrides(s *scope, res *TaskResult) {
	if res.Status == StatusUnreachable || res.Skipped || (len(tr.t.ChangedWhen) == 0 && len(tr.t.FailedWhen) == 0) {
		return
	}
	rs := s.child(tr.registerAs(res))
	if len(tr.t.ChangedWhen) > 0 {
		ok, err := allTrue(rs, tr.t.ChangedWhen)
		if err != nil {
			setErr(res, fmt.Errorf("changed_when: %w", err))
			return
		}
		res.Changed = ok
		rs = s.child(tr.registerAs(res))
	}
	if len(tr.t.FailedWhen) > 0 {
		ok, err := allTrue(rs, tr.t.FailedWhen)
		if err != nil {
			setErr(res, fmt.Errorf("failed_when: %w", err))
			return
		}
		res.Failed = ok
		if ok && res.Msg == "" {
			res.Msg = "failed_when condition met"
		}
	}
}

func allTrue(s *scope, conds []string) (bool, error) {
	for _, c := range conds {
		ok, err := s.evalBool(c)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// ignores reports the task's ignore_errors and ignore_unreachable, which
// blocks pass on to their tasks.
func (tr *taskRun) ignores() (errs, unreachable bool) {
	errs, unreachable = tr.t.IgnoreErrs, tr.t.IgnoreUnrch || tr.p.play.IgnoreUnreachable
	for _, b := range tr.f.blocks {
		errs = errs || b.IgnoreErrs
		unreachable = unreachable || b.IgnoreUnrch
	}
	return errs, unreachable
}

// finalize decides the engine's verdict from the result's flags.
func (tr *taskRun) finalize(res *TaskResult) {
	ignoreErrs, ignoreUnreachable := tr.ignores()
	switch {
	case res.Status == StatusUnreachable:
		if ignoreUnreachable {
			res.Status = StatusIgnored
		}
	case res.Skipped:
		res.Status = StatusSkipped
	case res.Failed && ignoreErrs:
		res.Status = StatusIgnored
	case res.Failed:
		res.Status = StatusFailed
	case res.Changed:
		res.Status = StatusChanged
	default:
		res.Status = StatusOK
	}
}

// errResult is a failure that stopped the task before or inside a module;
// errors that wrap transport.ErrUnreachable make the host unreachable.
func errResult(err error) *TaskResult {
	res := &TaskResult{}
	setErr(res, err)
	return res
}

func setErr(res *TaskResult, err error) {
	res.Failed = true
	res.Msg = err.Error()
	res.Err = err.Error()
	if errors.Is(err, transport.ErrUnreachable) {
		res.Failed = false
		res.Status = StatusUnreachable
		return
	}
	res.Status = StatusFailed
}

// aggregate sets a loop task's flags from its items, as Ansible does.
func aggregate(res *TaskResult) {
	if len(res.Items) == 0 {
		res.Skipped, res.Msg = true, "No items in the list"
		return
	}
	res.Skipped = true
	for _, it := range res.Items {
		res.Changed = res.Changed || it.Changed
		if it.Status == StatusFailed || it.Status == StatusIgnored && it.Failed {
			res.Failed = true
		}
		if !it.Skipped {
			res.Skipped = false
		}
		res.Changes = append(res.Changes, it.Changes...)
		res.Diff = append(res.Diff, it.Diff...)
		if it.Status == StatusUnreachable {
			res.Status = StatusUnreachable
			res.Msg = it.Msg
		}
	}
	switch {
	case res.Status == StatusUnreachable:
	case res.Failed:
		res.Msg = "One or more items failed"
	case res.Skipped:
		res.Msg = "All items skipped"
	default:
		res.Msg = "All items completed"
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
