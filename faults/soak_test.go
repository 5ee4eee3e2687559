package faults

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
)

// TestSoak runs the benchmark's 20-task playbook SOAK_RUNS times (default
// 200) on 20 sshd hosts, restarting or stopping-then-starting a random
// host's sshd during every 10th run. No run may hang (per-run deadline),
// runs without a fault must succeed, and at the end the goroutines, open
// file descriptors and in-use heap must be back where they were after the
// first run (bounded wait; heap within a margin).
func TestSoak(t *testing.T) {
	if os.Getenv("KPLAY_SOAK") != "1" {
		t.Skip("the soak runs with KPLAY_SOAK=1 (make soak; SOAK_RUNS=N)")
	}
	runs := 200
	if s := os.Getenv("SOAK_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SOAK_RUNS=%q: want a positive number", s)
		}
		runs = n
	}
	f := newFleet(t, 20, nil)
	copyBenchPlay(t, f)
	opts := f.options(t, "site.yml", nil)
	opts.ExtraVars = map[string]any{"tpl": "app.conf.tmpl"}
	opts.JournalDir = ""

	runtime.MemProfileRate = soakProfileRate
	soakRun(t, opts, 0) // warm up: lazy package state, first connections
	goroutines, fds, heap := counts()
	kheap, hheap := heapOfKplay()
	writeHeapProfile(t, "start")
	rng := rand.New(rand.NewPCG(1, 2))
	faults, unreachable := 0, 0
	start := time.Now()
	for i := 1; i <= runs; i++ {
		var inject func()
		if i%10 == 0 {
			h := f.hosts[rng.IntN(len(f.hosts))]
			delay := time.Duration(rng.IntN(300)) * time.Millisecond
			stopStart := rng.IntN(2) == 0
			inject = func() {
				time.Sleep(delay)
				if stopStart {
					h.Stop(t)
					time.Sleep(200 * time.Millisecond)
				}
				h.Restart(t)
			}
			faults++
		}
		if code := soakRunWith(t, opts, i, inject); code == engine.ExitUnreachable {
			unreachable++
		}
	}
	took := time.Since(start)
	g2, fd2, heap2 := settleCounts(goroutines, fds, 10*time.Second)
	kheap2, hheap2 := heapOfKplay()
	writeHeapProfile(t, "end")
	line := fmt.Sprintf("SOAK | %d runs x 20 tasks x 20 hosts in %v (%v/run) | %d faults, %d runs with a host unreachable | goroutines %d -> %d | fds %d -> %d | heap in use %.1f -> %.1f MiB; live heap outside the test's sshd hosts %.1f -> %.1f MiB, their logs %.1f -> %.1f MiB |",
		runs, took.Round(time.Second), (took / time.Duration(runs)).Round(time.Millisecond), faults, unreachable,
		goroutines, g2, fds, fd2, mib(heap), mib(heap2), mib(kheap), mib(kheap2), mib(hheap), mib(hheap2))
	fmt.Println(line)
	t.Log(line)
	if g2 > goroutines {
		t.Errorf("goroutine leak: %d after the first run, %d at the end", goroutines, g2)
	}
	if fd2 > fds {
		t.Errorf("file descriptor leak: %d after the first run, %d at the end", fds, fd2)
	}
	if margin := max(kheap/2, 4<<20); kheap2 > kheap+margin {
		t.Errorf("kplay's heap grew: %.1f MiB after the first run, %.1f MiB at the end", mib(kheap), mib(kheap2))
	}
}

// soakRun runs once and fails the test unless every host succeeded.
func soakRun(t *testing.T, opts engine.Options, i int) {
	t.Helper()
	if code := soakRunWith(t, opts, i, nil); code != engine.ExitOK {
		t.Fatalf("run %d: exit %d", i, code)
	}
}

// soakRunWith runs the playbook under a deadline while inject (if any)
// breaks a host; a run with a fault may end with unreachable hosts, one
// without must succeed.
func soakRunWith(t *testing.T, opts engine.Options, i int, inject func()) int {
	t.Helper()
	done := make(chan *engine.Report, 1)
	go func() { done <- runNoFatal(t, opts, 2*time.Minute) }()
	if inject != nil {
		inject()
	}
	rep := <-done
	if rep == nil {
		t.Fatalf("run %d stuck or failed", i)
	}
	code := rep.ExitCode()
	if code != engine.ExitOK && (inject == nil || code != engine.ExitUnreachable) {
		t.Fatalf("run %d (fault: %v): exit %d, failed %v, unreachable %v", i, inject != nil, code, rep.Failed, rep.Unreachable)
	}
	return code
}

// counts measures goroutines, open fds and in-use heap after a GC.
func counts() (goroutines, fds int, heap uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, _ := os.ReadDir("/proc/self/fd")
	return runtime.NumGoroutine(), len(ents), ms.HeapInuse
}

// soakProfileRate samples one allocation in 512 bytes for heapOfKplay.
const soakProfileRate = 512

// heapOfKplay estimates the live heap allocated by anything but the test
// harness's sshd hosts, whose logs (sshd -e, LogLevel VERBOSE) grow in
// this process with every connection: the heap profile's in-use bytes
// (scaled as pprof does) of every allocation site whose stack has no
// internal/sshtest or os/exec frame; and the estimate for those with one.
func heapOfKplay() (kplay, harness uint64) {
	runtime.GC()
	runtime.GC() // the profile reflects the state as of the last completed GC
	n, _ := runtime.MemProfile(nil, true)
	recs := make([]runtime.MemProfileRecord, n+100)
	n, _ = runtime.MemProfile(recs, true)
	var k, h float64
	for _, r := range recs[:n] {
		if r.InUseObjects() == 0 {
			continue
		}
		bytes, objs := float64(r.InUseBytes()), float64(r.InUseObjects())
		est := bytes / (1 - math.Exp(-bytes/objs/soakProfileRate))
		if harnessStack(r.Stack()) {
			h += est
		} else {
			k += est
		}
	}
	return uint64(k), uint64(h)
}

func harnessStack(pcs []uintptr) bool {
	frames := runtime.CallersFrames(pcs)
	for {
		fr, more := frames.Next()
		// sshd's log lines reach the test through os/exec's copying
		// goroutines; kplay's SSH transport starts no process.
		if strings.Contains(fr.Function, "/internal/sshtest.") || strings.HasPrefix(fr.Function, "os/exec.") {
			return true
		}
		if !more {
			return false
		}
	}
}

// settleCounts waits (bounded) for goroutines and fds to come back to at
// most the given numbers, and returns the last counts.
func settleCounts(goroutines, fds int, limit time.Duration) (int, int, uint64) {
	deadline := time.Now().Add(limit)
	for {
		g, fd, heap := counts()
		if g <= goroutines && fd <= fds || time.Now().After(deadline) {
			return g, fd, heap
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeHeapProfile writes SOAK_PROFILE_DIR/heap-<name>.pprof when that
// variable is set, to compare with go tool pprof -base.
func writeHeapProfile(t *testing.T, name string) {
	dir := os.Getenv("SOAK_PROFILE_DIR")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, "heap-"+name+".pprof"))
	if err != nil {
		t.Errorf("heap profile: %v", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Errorf("heap profile: %v", err)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// copyBenchPlay copies bench/play (the 20-task playbook, its files and
// templates) into the fleet's folder, writing under each host's root.
func copyBenchPlay(t *testing.T, f *fleet) {
	t.Helper()
	src := filepath.Join("..", "bench", "play")
	b, err := os.ReadFile(filepath.Join(src, "site.yml"))
	if err != nil {
		t.Fatal(err)
	}
	play := string(b)
	old := `app_root: "/tmp/kplay-bench/{{ inventory_hostname }}"`
	if !strings.Contains(play, old) {
		t.Fatalf("bench/play/site.yml no longer sets %s", old)
	}
	f.write(t, "site.yml", strings.Replace(play, old, `app_root: "{{ root }}"`, 1))
	for _, dir := range []string{"files", "templates"} {
		ents, err := os.ReadDir(filepath.Join(src, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			c, err := os.ReadFile(filepath.Join(src, dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			f.write(t, filepath.Join(dir, e.Name()), string(c))
		}
	}
}
