package main

import (
	"io"
	"os"
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
// sections left out (they run only on failure), plus fact gathering.
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
			if p.GatherFacts {
				n++
			}
			n += countTasks(p, only, skip, p.PreTasks) + countTasks(p, only, skip, p.Tasks) + countTasks(p, only, skip, p.PostTasks)
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
