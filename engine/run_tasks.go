package engine

import (
	"context"
	"path"
	"slices"
)

// frame is where a task runs: its enclosing blocks (whose vars, become and
// environment it inherits), per-host variables of an include (loop item,
// include vars, ansible_failed_result in rescue) and whether a failure is
// caught by an enclosing rescue.
type frame struct {
	blocks    []*Task
	inc       map[string]map[string]any
	rescuable bool
	handler   bool
	// implicit marks engine-made tasks (Gathering Facts), which run
	// whatever --tags and --start-at-task say.
	implicit bool
}

// push returns the frame of a block's children.
func (f *frame) push(b *Task, rescuable bool) *frame {
	return &frame{blocks: append(slices.Clip(f.blocks), b), inc: f.inc, rescuable: rescuable, handler: f.handler}
}

// withInc returns f with per-host variables added.
func (f *frame) withInc(add map[string]map[string]any) *frame {
	inc := make(map[string]map[string]any, len(add))
	for h, vars := range f.inc {
		inc[h] = vars
	}
	for h, vars := range add {
		inc[h] = mergeVars(inc[h], vars)
	}
	c := *f
	c.inc = inc
	return &c
}

// runTasks runs tasks in order on hosts, one task at a time across them
// (the linear strategy). Hosts that leave the play stop running tasks.
func (p *playRun) runTasks(ctx context.Context, tasks []*Task, hosts []string, f *frame) {
	for _, t := range tasks {
		if p.stopped(ctx) {
			return
		}
		live := p.liveOf(hosts)
		if len(live) == 0 {
			return
		}
		if t.IsBlock() {
			p.runBlock(ctx, t, live, f)
			continue
		}
		p.runTask(ctx, t, live, f)
	}
}

// runBlock runs block, then rescue for the hosts that failed in it (they
// are then no longer failed unless rescue fails too), then always for
// every host that entered the block and is still reachable.
func (p *playRun) runBlock(ctx context.Context, b *Task, hosts []string, f *frame) {
	p.runTasks(ctx, b.Block, hosts, f.push(b, f.rescuable || len(b.Rescue) > 0))
	var failedHere []string
	for _, h := range hosts {
		if p.state[h] == hostFailed {
			failedHere = append(failedHere, h)
		}
	}
	if len(b.Rescue) > 0 && len(failedHere) > 0 && !p.stopped(ctx) {
		add := map[string]map[string]any{}
		for _, h := range failedHere {
			delete(p.state, h)
			add[h] = p.failInfo[h]
		}
		p.runTasks(ctx, b.Rescue, failedHere, f.push(b, f.rescuable).withInc(add))
	}
	if len(b.Always) == 0 || p.stopped(ctx) {
		return
	}
	var always, wasFailed []string
	for _, h := range hosts {
		switch p.state[h] {
		case "":
			always = append(always, h)
		case hostFailed:
			always = append(always, h)
			wasFailed = append(wasFailed, h)
			delete(p.state, h)
		}
	}
	p.runTasks(ctx, b.Always, always, f.push(b, f.rescuable))
	for _, h := range wasFailed {
		if p.state[h] == "" {
			p.state[h] = hostFailed
		}
	}
}

// runTask runs one task (not a block) on hosts.
func (p *playRun) runTask(ctx context.Context, t *Task, hosts []string, f *frame) {
	if !f.handler && !f.implicit && (!p.r.reachedStart(t) || !p.r.selected(p.taskTags(t, f))) {
		return
	}
	p.refreshMagic()
	if t.Module == "meta" {
		p.runMeta(ctx, t, hosts, f)
		return
	}
	tr := &taskRun{p: p, t: t, f: f, name: p.taskName(t)}
	p.r.sink.emit(Event{Type: EventTaskStart, Play: playName(p.play), Task: tr.name, TaskPos: posPtr(t.Pos),
		Module: t.Module, IsHandler: f.handler, Hosts: hosts})
	outs := tr.runHosts(ctx, hosts)
	failures := p.apply(tr, hosts, outs)
	if !f.rescuable {
		p.checkFatal(failures)
	}
	p.runIncludes(ctx, tr, outs)
}

// reachedStart implements --start-at-task: tasks are skipped until one
// whose name matches (a glob) is met; then every task runs.
func (r *runner) reachedStart(t *Task) bool {
	if r.started {
		return true
	}
	for _, name := range []string{t.Name, t.DisplayName()} {
		if ok, _ := path.Match(r.opts.StartAtTask, name); ok || name == r.opts.StartAtTask {
			r.started = true
			return true
		}
	}
	return false
}

// taskTags are the task's tags with those of its blocks and the play.
func (p *playRun) taskTags(t *Task, f *frame) []string {
	tags := append([]string{}, p.play.Tags...)
	for _, b := range f.blocks {
		tags = append(tags, b.Tags...)
	}
	return append(tags, t.Tags...)
}

// selected applies --tags and --skip-tags as Ansible does: "always" runs
// unless skipped by name, "never" runs only when asked for, "tagged" and
// "untagged" select by the presence of tags, "all" is every task but
// "never" ones.
func (r *runner) selected(tags []string) bool {
	has := func(name string) bool { return slices.Contains(tags, name) }
	only, skip := r.opts.Tags, r.opts.SkipTags
	run := true
	if len(only) > 0 {
		run = false
		for _, o := range only {
			switch {
			case has(o):
				run = true
			case o == "all" && !has("never"):
				run = true
			case o == "tagged" && len(tags) > 0 && !has("never"):
				run = true
			case o == "untagged" && len(tags) == 0:
				run = true
			}
		}
		if has("always") {
			run = true
		}
	} else if has("never") && !has("always") {
		run = false
	}
	for _, s := range skip {
		switch {
		case has(s):
			run = false
		case s == "all" && !has("always"):
			run = false
		case s == "tagged" && len(tags) > 0 && !has("always"):
			run = false
		case s == "untagged" && len(tags) == 0:
			run = false
		}
	}
	return run
}
