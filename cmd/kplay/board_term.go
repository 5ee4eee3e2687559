package main

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kplay/kplay/engine"
	"golang.org/x/term"
)

// boardTick is how often the board is redrawn between events (its clocks
// move); a redraw that would change nothing writes nothing.
const boardTick = 200 * time.Millisecond

// liveSink shows the run's log as textSink does, with the live board
// under it on a terminal. The log is never overwritten: to print log
// lines it erases the board (cursor up over its lines, clearing each),
// writes the lines where the board was, then draws the board
// again below them, all in one write so that nothing flickers. The board
// goes away for good at the recap.
type liveSink struct {
	mu          sync.Mutex
	text        *textSink
	buf, errBuf bytes.Buffer // what text wrote for the current event
	out, errOut io.Writer    // the terminal
	board       board
	now         func() time.Time
	width       func() int
	shown       []string // the board lines on screen
	colored     bool     // task and bar lines in cyan
	closed      bool
	started     bool
	stopOnce    sync.Once
	stop, done  chan struct{}
}

// newLiveSink wraps text (whose writers it takes over until Close) to
// draw the board on out. width reports the terminal's columns; now is the
// clock; total is the expected number of tasks (0 when unknown).
func newLiveSink(text *textSink, width func() int, now func() time.Time, total int, colored bool) *liveSink {
	l := &liveSink{text: text, out: text.out, errOut: text.errOut, now: now, width: width, colored: colored,
		stop: make(chan struct{}), done: make(chan struct{})}
	l.board.total = total
	text.out, text.errOut = &l.buf, &l.errBuf
	return l
}

// Event implements engine.Sink.
func (l *liveSink) Event(e engine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.text.Event(e)
		return
	}
	if e.Type == engine.EventRecap {
		l.closeLocked()
		l.text.Event(e)
		return
	}
	l.board.event(e)
	l.text.Event(e)
	l.flush()
}

// flush writes what text wrote above a fresh board.
func (l *liveSink) flush() {
	lines := l.board.lines(l.now(), l.width())
	if l.buf.Len() == 0 && l.errBuf.Len() == 0 && slices.Equal(lines, l.shown) {
		return
	}
	var frame bytes.Buffer
	l.erase(&frame)
	frame.Write(l.buf.Bytes())
	l.buf.Reset()
	if l.errBuf.Len() > 0 {
		_, _ = l.out.Write(frame.Bytes())
		_, _ = l.errOut.Write(l.errBuf.Bytes())
		l.errBuf.Reset()
		frame.Reset()
	}
	for i, s := range lines {
		switch {
		case !l.colored:
		case i == 0 && len(lines) > 1:
			s = "\x1b[96m" + s + "\x1b[0m" // the task, bright cyan
		case i == len(lines)-1:
			s = "\x1b[36m" + s + "\x1b[0m" // the bar, cyan
		}
		frame.WriteString(s + "\n")
	}
	l.shown = lines
	_, _ = l.out.Write(frame.Bytes())
}

// erase writes the escape sequences that remove the board: up one line
// and clear it, for each of its lines. (Clearing to the end of the screen
// at once would be shorter, but from the top-left corner tmux and some
// terminals move the screen into the scrollback instead.)
func (l *liveSink) erase(w *bytes.Buffer) {
	if len(l.shown) > 0 {
		w.WriteString("\r" + strings.Repeat("\x1b[1A\x1b[2K", len(l.shown)))
	}
	l.shown = nil
}

// Start redraws the board every boardTick until Close.
func (l *liveSink) Start() {
	l.started = true
	go func() {
		defer close(l.done)
		t := time.NewTicker(boardTick)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				l.tick()
			}
		}
	}()
}

// tick redraws the board if its text has changed (a clock moved).
func (l *liveSink) tick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.flush()
	}
}

// Close erases the board, stops the redraws and gives text its writers
// back, so that what is printed after the run (failures, total time)
// goes straight out. It may be called more than once, and on nil (no
// board).
func (l *liveSink) Close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.closeLocked()
	l.mu.Unlock()
	l.stopOnce.Do(func() {
		close(l.stop)
		if l.started {
			<-l.done
		}
	})
}

func (l *liveSink) closeLocked() {
	if l.closed {
		return
	}
	l.closed = true
	var frame bytes.Buffer
	l.erase(&frame)
	frame.Write(l.buf.Bytes())
	l.buf.Reset()
	_, _ = l.out.Write(frame.Bytes())
	_, _ = l.errOut.Write(l.errBuf.Bytes())
	l.errBuf.Reset()
	l.text.out, l.text.errOut = l.out, l.errOut
}

// terminalWidth returns a function reporting f's columns (80 when it
// cannot tell), asked at each redraw so that a resized window is followed.
func terminalWidth(f *os.File) func() int {
	return func() int {
		w, _, err := term.GetSize(int(f.Fd()))
		if err != nil || w <= 0 {
			return 80
		}
		return w
	}
}

// isTerminal reports whether w is a terminal, where the board may be shown.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
