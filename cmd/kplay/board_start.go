package main

import (
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kplay/kplay/engine"
	"golang.org/x/term"
)

// startBoard puts the live board in front of text (making it the run's
// sink) when out is a terminal and neither --json nor --no-progress was
// given; it returns nil, changing nothing, otherwise: CI logs and pipes
// get the plain append-only log.
func startBoard(f *playFlags, opts *engine.Options, out io.Writer, text *textSink) *liveSink {
	file, ok := out.(*os.File)
	if f.json || f.noProgress || !ok || !term.IsTerminal(int(file.Fd())) || os.Getenv("TERM") == "dumb" {
		return nil
	}
	l := newLiveSink(text, terminalWidth(file), time.Now, expectedTasks(f, opts), !f.noColor && colorWanted(file))
	l.Start()
	opts.Sink = l
	return l
}

// expectedTasks estimates how many tasks the run will have, for the
// board's bar: each play's tasks as --tags/--skip-tags select them, rescue
// sections left out (they run only on failure), plus fact gathering,
// once per serial batch; plays matching no host run no task.
// Includes and handlers are not known ahead; the bar grows when the run
// has more. 0 (no total shown) when a playbook does not load: the run
// will say why.
func expectedTasks(f *playFlags, opts *engine.Options) int {
	only, skip := commaList(f.tags), commaList(f.skipTags)
	n := 0
	for _, path := range opts.Playbooks {
		pb, err := engine.LoadPlaybook(path, loadOptions(opts))
		if err != nil {
			return 0
		}
		for _, p := range pb.Plays {
			per := countTasks(p, only, skip, p.PreTasks) + countTasks(p, only, skip, p.Tasks) + countTasks(p, only, skip, p.PostTasks)
			if p.GatherFacts {
				per++
			}
			hosts, err := playHosts(opts, p.Hosts)
			if err != nil || len(hosts) == 0 {
				continue // the run will say so, or the play is skipped
			}
			n += per * serialBatchCount(p.Serial, len(hosts))
		}
	}
	return n
}

// countTasks counts the selected tasks of ts, blocks opened.
func countTasks(p *engine.Play, only, skip []string, ts []*engine.Task) int {
	n := 0
	for _, t := range ts {
		if t.IsBlock() {
			n += countTasks(p, only, skip, t.Block) + countTasks(p, only, skip, t.Always)
			continue
		}
		if tagsSelect(taskTags(p, t), only, skip) {
			n++
		}
	}
	return n
}

// serialBatchCount is how many batches serial makes of n hosts (numbers,
// "N%" or a list whose last value repeats, as the engine reads them); a
// value it cannot read counts as one batch of all, since the run will
// report it.
func serialBatchCount(serial []any, n int) int {
	if len(serial) == 0 {
		return 1
	}
	count := 0
	for rest, i := n, 0; rest > 0; i++ {
		size := batchSizeOf(serial[min(i, len(serial)-1)], n)
		if size <= 0 || size > rest {
			size = rest
		}
		rest -= size
		count++
	}
	return count
}

// batchSizeOf reads one serial value for n hosts (0 when unreadable).
func batchSizeOf(spec any, n int) int {
	switch v := spec.(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	case string:
		s := strings.TrimSpace(v)
		if pct, ok := strings.CutSuffix(s, "%"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
			if err != nil {
				return 0
			}
			return max(1, int(math.Floor(float64(n)*f/100)))
		}
		size, _ := strconv.Atoi(s)
		return size
	}
	return 0
}
