package engine

import (
	"context"
	"fmt"
	"slices"
)

// handlerSet is a play's handlers and, per host, the ones notified and not
// yet run.
type handlerSet struct {
	list    []*Task
	pending map[string]map[*Task]bool
	warned  map[string]bool
}

func newHandlerSet(list []*Task) *handlerSet {
	return &handlerSet{list: list, pending: map[string]map[*Task]bool{}, warned: map[string]bool{}}
}

// add appends handlers that arrive at run time (include_role).
func (hs *handlerSet) add(list []*Task) {
	for _, h := range list {
		if !slices.Contains(hs.list, h) {
			hs.list = append(hs.list, h)
		}
	}
}

// match returns the handlers a notify name selects: by name, by "role :
// name", or by listen topic.
func (hs *handlerSet) match(name string) []*Task {
	var out []*Task
	for _, h := range hs.list {
		if h.Name == name || h.DisplayName() == name || slices.Contains(h.Listen, name) {
			out = append(out, h)
		}
	}
	return out
}

// notify queues the task's notified handlers on host (called when the
// task changed something there). Names may hold expressions.
func (p *playRun) notify(tr *taskRun, host string) {
	if len(tr.t.Notify) == 0 {
		return
	}
	var s *scope
	for _, name := range tr.t.Notify {
		if hasTemplate(name) {
			if s == nil {
				s = p.scope(p.r.hostState(host), tr.t, tr.f, nil)
			}
			if r, err := s.renderString(name); err == nil {
				name = r
			}
		}
		hs := p.handlers.match(name)
		if len(hs) == 0 {
			if !p.handlers.warned[name] {
				p.handlers.warned[name] = true
				p.r.sink.emit(Event{Type: EventWarning, Task: tr.t.DisplayName(), TaskPos: posPtr(tr.t.Pos),
					Msg: fmt.Sprintf("%s: the handler %q is not defined", tr.t.Pos, name)})
			}
			continue
		}
		set := p.handlers.pending[host]
		if set == nil {
			set = map[*Task]bool{}
			p.handlers.pending[host] = set
		}
		for _, h := range hs {
			set[h] = true
		}
	}
}

// flushHandlers runs the notified handlers on hosts, each once per host,
// in the order they are defined (not notified), only on the hosts that
// notified them and are still in the play. A handler notifying another
// one makes it run in the same flush.
func (p *playRun) flushHandlers(ctx context.Context, hosts []string) {
	announced := false
	for pass := 0; pass <= len(p.handlers.list); pass++ {
		ran := false
		for _, h := range p.handlers.list {
			if p.stopped(ctx) {
				return
			}
			var targets []string
			for _, host := range hosts {
				if p.handlers.pending[host][h] {
					delete(p.handlers.pending[host], h)
					if p.live(host) || p.forceHandlers() && p.state[host] == hostFailed {
						targets = append(targets, host)
					}
				}
			}
			if len(targets) == 0 {
				continue
			}
			if !announced {
				announced = true
				p.r.sink.emit(Event{Type: EventHandlerRun, Play: playName(p.play), Hosts: targets})
			}
			ran = true
			p.runTask(ctx, h, targets, &frame{handler: true})
		}
		if !ran {
			return
		}
	}
}

// forceHandlers tells whether handlers run on hosts that failed after
// being notified (force_handlers on the play, or --force-handlers).
func (p *playRun) forceHandlers() bool {
	return p.play.ForceHandlers || p.r.opts.ForceHandlers
}
