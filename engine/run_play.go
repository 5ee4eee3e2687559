package engine

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kplay/kplay/journal"
)

// Host states in a play: a host with a state has left the play.
const (
	hostFailed      = "failed"
	hostUnreachable = "unreachable"
	hostEnded       = "ended"   // meta: end_host
	hostAborted     = "aborted" // any_errors_fatal or max_fail_percentage ended the play
)

// playRun is one play being run: its hosts, batch, variables and handlers.
// Its fields change only between tasks (when every host goroutine of the
// task has returned), so goroutines may read them during a task.
type playRun struct {
	r     *runner
	pb    *Playbook
	play  *Play
	hosts []string // every host of the play
	batch []string // the current serial batch

	roleDefaults map[string]any
	roleVars     map[string]any
	varsFiles    map[string]any
	secrets      []string // values of the play's secrets files, masked in events

	state    map[string]string // host -> hostFailed, hostUnreachable, hostEnded
	failInfo map[string]map[string]any
	failRole map[string]*Role           // role a host failed in, for its rollback tasks
	changes  map[string][]journal.Entry // per host, with rollback_on_failure
	ended    bool                       // meta: end_play, any_errors_fatal, max_fail_percentage
	handlers *handlerSet

	magicVars map[string]any // see refreshMagic

	includeMu sync.Mutex
	included  map[string]*loaded
	roleSeen  map[string]bool // role instances applied, for include_role's dependencies (under includeMu)
}

// runPlay selects the play's hosts and runs it batch by batch.
func (r *runner) runPlay(ctx context.Context, pb *Playbook, play *Play) error {
	p := &playRun{r: r, pb: pb, play: play, state: map[string]string{},
		failInfo: map[string]map[string]any{}, included: map[string]*loaded{},
		failRole: map[string]*Role{}, changes: map[string][]journal.Entry{}}
	p.handlers = newHandlerSet(play.Handlers)
	hosts, err := r.playHosts(pb, play)
	if err != nil {
		return err
	}
	p.hosts = hosts
	r.sink.emit(Event{Type: EventPlayStart, Playbook: pb.Path, Play: playName(play), PlayPos: posPtr(play.Pos), Hosts: hosts})
	defer r.sink.emit(Event{Type: EventPlayEnd, Playbook: pb.Path, Play: playName(play), PlayPos: posPtr(play.Pos)})
	if len(hosts) == 0 {
		r.sink.emit(Event{Type: EventWarning, Play: playName(play), Msg: "skipping: no hosts matched"})
		return nil
	}
	for _, h := range hosts {
		r.statsFor(h) // the recap lists every host of a play, even with nothing run
	}
	p.collectRoleVars()
	if err := p.loadVarsFiles(); err != nil {
		return err
	}
	batches, err := serialBatches(play.Serial, hosts)
	if err != nil {
		return fmt.Errorf("%s: play %q: %w", play.Pos, playName(play), err)
	}
	for _, b := range batches {
		if ctx.Err() != nil || p.ended {
			break
		}
		p.batch = b
		p.runBatch(ctx)
		if p.allFailed(b) {
			break
		}
	}
	p.finish()
	return nil
}

func playName(p *Play) string {
	if p.Name != "" {
		return p.Name
	}
	return p.Hosts
}

func posPtr(p Pos) *Pos {
	if p.File == "" {
		return nil
	}
	return &p
}

// playHosts renders the play's host pattern with the extra and play vars,
// matches it, applies --limit and drops hosts that failed earlier.
func (r *runner) playHosts(pb *Playbook, play *Play) ([]string, error) {
	s := newScope(r.ev, []layer{{"play vars", play.Vars, true}, {"extra vars", r.extra, true}, {"magic", r.preHostMagic(pb), false}})
	pattern, err := s.renderString(play.Hosts)
	if err != nil {
		return nil, fmt.Errorf("%s: play hosts: %w", play.Pos, err)
	}
	hosts, err := r.inv.Match(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: play hosts: %w", play.Pos, err)
	}
	if r.opts.Limit != "" {
		sel, err := r.inv.Limit(hosts, r.opts.Limit)
		if err != nil {
			return nil, &OptionsError{Msg: "limit " + r.opts.Limit, Err: err}
		}
		hosts = sel.Hosts
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := hosts[:0:0]
	for _, h := range hosts {
		if !r.removed[h] && (r.opts.Only == nil || slices.Contains(r.opts.Only, h)) && (play.only == nil || slices.Contains(play.only, h)) {
			out = append(out, h)
		}
	}
	return out, nil
}

// collectRoleVars merges the defaults and vars of every role of the play
// (dependencies first), as Ansible exposes them to the whole play.
func (p *playRun) collectRoleVars() {
	p.roleDefaults, p.roleVars = map[string]any{}, map[string]any{}
	seen := map[*Role]bool{}
	var walk func(refs []*RoleRef)
	walk = func(refs []*RoleRef) {
		for _, ref := range refs {
			if ref.Role == nil || seen[ref.Role] {
				continue
			}
			seen[ref.Role] = true
			walk(ref.Role.Deps)
			p.roleDefaults = mergeVars(p.roleDefaults, ref.Role.Defaults)
			p.roleVars = mergeVars(p.roleVars, ref.Role.Vars)
		}
	}
	walk(p.play.Roles)
}

// loadVarsFiles reads the play's vars_files (names may use extra and play
// vars), relative to the playbook.
func (p *playRun) loadVarsFiles() error {
	p.varsFiles = map[string]any{}
	s := newScope(p.r.ev, []layer{{"play vars", p.play.Vars, true}, {"extra vars", p.r.extra, true}})
	files := append(append([]string{}, p.play.VarsFiles...), p.play.Secrets...)
	for i, name := range files {
		rendered, err := s.renderString(name)
		if err != nil {
			return fmt.Errorf("%s: vars_files %s: %w", p.play.Pos, name, err)
		}
		fsys, rel := p.fileFS(rendered)
		vars, err := LoadVarsFile(fsys, rel)
		if err != nil {
			return err
		}
		p.varsFiles = mergeVars(p.varsFiles, vars)
		if i >= len(p.play.VarsFiles) {
			walkStrings(vars, func(v string) { p.addSecret(v) })
		}
	}
	return nil
}

// fileFS returns the file system and name to read a playbook-relative or
// absolute file from.
func (p *playRun) fileFS(name string) (fs.FS, string) {
	if filepath.IsAbs(name) {
		return os.DirFS("/"), strings.TrimPrefix(filepath.Clean(name), "/")
	}
	if p.pb.FS != nil {
		return p.pb.FS, name
	}
	return os.DirFS(p.pb.Dir), name
}

// serialBatches splits hosts per the play's serial: numbers, "N%", or a
// list whose last value repeats.
func serialBatches(serial []any, hosts []string) ([][]string, error) {
	if len(serial) == 0 {
		return [][]string{hosts}, nil
	}
	var out [][]string
	rest := hosts
	for i := 0; len(rest) > 0; i++ {
		spec := serial[min(i, len(serial)-1)]
		n, err := batchSize(spec, len(hosts))
		if err != nil {
			return nil, err
		}
		if n <= 0 || n > len(rest) {
			n = len(rest)
		}
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return out, nil
}

func batchSize(spec any, total int) (int, error) {
	switch v := spec.(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		return int(v), nil
	case string:
		s := strings.TrimSpace(v)
		if pct, ok := strings.CutSuffix(s, "%"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
			if err != nil {
				return 0, fmt.Errorf("serial %q: not a percentage", v)
			}
			return max(1, int(math.Floor(float64(total)*f/100))), nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("serial %q: not a number or percentage", v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("serial %v: not a number or percentage", spec)
}

// runBatch runs the play's sections on the current batch: facts,
// pre_tasks, roles and tasks, post_tasks, each followed by its handlers.
func (p *playRun) runBatch(ctx context.Context) {
	defer p.rollbackFailed(ctx)
	if p.play.GatherFacts {
		p.gatherFacts(ctx)
	}
	for _, sec := range [][]*Task{p.play.PreTasks, p.play.Tasks, p.play.PostTasks} {
		if ctx.Err() != nil || p.ended {
			return
		}
		p.runTasks(ctx, sec, p.batch, &frame{})
		if ctx.Err() == nil && !p.ended {
			p.flushHandlers(ctx, p.batch)
		}
	}
}

// live returns whether host is still in the play.
func (p *playRun) live(host string) bool {
	return p.state[host] == ""
}

// liveOf keeps the hosts still in the play.
func (p *playRun) liveOf(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if p.live(h) {
			out = append(out, h)
		}
	}
	return out
}

// allFailed tells whether no host of the batch is left but failed or
// unreachable ones; Ansible then stops the play.
func (p *playRun) allFailed(batch []string) bool {
	for _, h := range batch {
		if s := p.state[h]; s != hostFailed && s != hostUnreachable {
			return false
		}
	}
	return true
}

// finish takes failed and unreachable hosts out of the rest of the run.
func (p *playRun) finish() {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	for h, s := range p.state {
		if s == hostFailed || s == hostUnreachable || s == hostAborted {
			p.r.removed[h] = true
		}
	}
}

// stopped tells whether no further task of the play may start.
func (p *playRun) stopped(ctx context.Context) bool {
	return ctx.Err() != nil || p.ended
}

// checkFatal ends the play for every host when any_errors_fatal is set and
// a host failed, or when more than max_fail_percentage of the batch failed.
func (p *playRun) checkFatal(newFailures int) {
	if newFailures == 0 {
		return
	}
	if p.play.AnyErrFatal {
		p.abort("any_errors_fatal: a host failed, ending the play")
		return
	}
	if p.play.MaxFailPct != nil {
		failed := 0
		for _, h := range p.batch {
			if s := p.state[h]; s == hostFailed || s == hostUnreachable {
				failed++
			}
		}
		pct := 100 * float64(failed) / float64(len(p.batch))
		if pct > *p.play.MaxFailPct {
			p.abort(fmt.Sprintf("max_fail_percentage %g exceeded (%d of %d hosts failed), ending the play",
				*p.play.MaxFailPct, failed, len(p.batch)))
		}
	}
}

// abort ends the play and keeps every host of the play out of the rest of
// the run, as Ansible marks them failed (without counting a failure).
func (p *playRun) abort(msg string) {
	p.ended = true
	p.r.sink.emit(Event{Type: EventWarning, Play: playName(p.play), Msg: msg})
	for _, h := range p.hosts {
		if p.state[h] == "" {
			p.state[h] = hostAborted
		}
	}
}
