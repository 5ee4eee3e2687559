package faults

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
)

// sitePlaybook writes a file, runs fault_cmd (a host var; true by
// default) under timeout fault_timeout (0: none), then writes another file.
const sitePlaybook = `
- hosts: all
  gather_facts: false
  tasks:
    - name: conf
      copy: {content: "new {{ inventory_hostname }}\n", dest: "{{ root }}/app.conf"}
    - name: fault point
      shell: "{{ fault_cmd | default('true') }}"
      timeout: "{{ fault_timeout | default(0) }}"
    - name: after
      copy: {content: "after\n", dest: "{{ root }}/after"}
`

// faultRun is one run of sitePlaybook on a fleet of n hosts where h1 gets
// fault_cmd; inject is called on the test goroutine while the run goes on
// and returns when the fault is in place.
type faultRun struct {
	f      *fleet
	rec    *recorder
	rep    *engine.Report
	before map[string]snapshot
	after  map[string]snapshot
	at     time.Time             // when the fault was in place (set by inject, else when it returned)
	opts   func(*engine.Options) // replaces the fleet's options (lab runs)
}

func newFaultRun(t *testing.T, n int, roots map[string]string, vars map[string]string) *faultRun {
	t.Helper()
	f := newFleet(t, n, roots)
	f.writeInventory(t, map[string]map[string]string{"h1": vars})
	f.write(t, "site.yaml", sitePlaybook)
	for _, h := range f.names {
		if err := os.WriteFile(filepath.Join(f.roots[h], "app.conf"), []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(f.dir, "marks"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &faultRun{f: f, rec: &recorder{}}
}

// mark is a file outside every host folder that a command can touch to
// say where it is.
func (fr *faultRun) mark(name string) string { return filepath.Join(fr.f.dir, "marks", name) }

// run runs the playbook in the background, calls inject, and waits.
func (fr *faultRun) run(t *testing.T, opts func(*engine.Options), inject func()) {
	t.Helper()
	fr.before = fr.f.snapAll(t)
	o := fr.f.options(t, "site.yaml", fr.rec)
	if fr.opts != nil {
		fr.opts(&o)
	}
	if opts != nil {
		opts(&o)
	}
	done := make(chan *engine.Report, 1)
	go func() {
		defer close(done)
		done <- runNoFatal(t, o, 60*time.Second)
	}()
	if inject != nil {
		inject()
		if fr.at.IsZero() {
			fr.at = time.Now()
		}
	}
	rep, ok := <-done
	if !ok || rep == nil {
		t.Fatal("run failed")
	}
	fr.rep = rep
	fr.after = fr.f.snapAll(t)
}

// check asserts the common outcome: h1 reported once with status and a
// message containing msg, within reportBound of the fault; the others
// finished; h1's app.conf old or new, its after never written; no temp
// files; the journal matches the files. It prints the summary line.
func (fr *faultRun) check(t *testing.T, fault string, status engine.Status, msg string) {
	t.Helper()
	bad := fr.rec.bad("h1")
	var took time.Duration
	switch {
	case len(bad) != 1:
		t.Errorf("h1 reported %d times as failed/unreachable, want once: %+v", len(bad), bad)
	case bad[0].Status != status || !strings.Contains(bad[0].Msg, msg):
		t.Errorf("h1 reported %s %q, want %s containing %q", bad[0].Status, bad[0].Msg, status, msg)
	default:
		took = bad[0].Time.Sub(fr.at)
		if took > reportBound {
			t.Errorf("h1 reported %v after the fault, want at most %v", took, reportBound)
		}
	}
	for _, h := range fr.f.names[1:] {
		if b := fr.rec.bad(h); len(b) > 0 {
			t.Errorf("%s failed too: %+v", h, b)
		}
		checkVersion(t, fr.after[h], h, "after", "after\n")
		checkVersion(t, fr.after[h], h, "app.conf", "new "+h+"\n")
	}
	checkVersion(t, fr.after["h1"], "h1", "app.conf", "old\n", "new h1\n")
	checkVersion(t, fr.after["h1"], "h1", "after", absent)
	files := checkNoTemp(t, fr.after)
	entries := readJournal(t, filepath.Join(fr.f.dir, "runs"), fr.rep.RunID)
	changes := fr.f.checkJournal(t, entries, fr.before, fr.after)
	reported := "h1 " + string(status) + ": " + msgOf(bad)
	summary(t, fault, reported, took, filesLine(len(fr.f.names), files), journalLine(changes, len(entries)))
}

func msgOf(evs []engine.Event) string {
	if len(evs) == 0 {
		return "(nothing)"
	}
	return evs[0].Msg
}

func filesLine(hosts, files int) string {
	return strconv.Itoa(files) + " files on " + strconv.Itoa(hosts) + " hosts: old or new, no temp file"
}

func journalLine(changes, entries int) string {
	return strconv.Itoa(entries) + " entries; their " + strconv.Itoa(changes) + " file changes = the files changed"
}

// runNoFatal is run for a goroutine other than the test's: it reports
// with t.Error and returns nil on failure.
func runNoFatal(t *testing.T, opts engine.Options, limit time.Duration) *engine.Report {
	ctx, cancel := contextWithTimeout(t, limit)
	defer cancel()
	rep, err := engine.Run(ctx, opts)
	if err != nil {
		t.Errorf("run: %v", err)
		return nil
	}
	if ctx.Err() != nil {
		t.Errorf("run did not finish within %v", limit)
	}
	return rep
}

// TestSSHDRestartBetweenTasks restarts h1's sshd after the first task: the
// next task reconnects and the run goes on everywhere.
func TestSSHDRestartBetweenTasks(t *testing.T) {
	gate(t)
	fr := newFaultRun(t, 3, nil, nil)
	reached, resume := make(chan struct{}), make(chan struct{})
	fr.rec.hook = func(e engine.Event) {
		if e.Type == engine.EventHostResult && e.Host == "h1" && e.Task == "conf" {
			close(reached)
			<-resume
		}
	}
	fr.run(t, nil, func() {
		select {
		case <-reached:
		case <-time.After(30 * time.Second):
			t.Error("first task did not finish within 30s")
		}
		fr.f.host("h1").Restart(t)
		close(resume)
	})
	if code := fr.rep.ExitCode(); code != engine.ExitOK {
		t.Errorf("exit %d, want 0: %+v", code, fr.rec.bad("h1"))
	}
	for _, h := range fr.f.names {
		checkVersion(t, fr.after[h], h, "app.conf", "new "+h+"\n")
		checkVersion(t, fr.after[h], h, "after", "after\n")
	}
	files := checkNoTemp(t, fr.after)
	entries := readJournal(t, filepath.Join(fr.f.dir, "runs"), fr.rep.RunID)
	changes := fr.f.checkJournal(t, entries, fr.before, fr.after)
	summary(t, "sshd restarted between tasks (3 sshd hosts)", "nothing: reconnected, run ok (exit 0)", 0,
		filesLine(3, files)+", every task done", journalLine(changes, len(entries)))
}

// TestSSHDStoppedMidTask kills h1's sshd, its connections and the command
// at once while h1 runs a command: h1 is unreachable, the others finish.
func TestSSHDStoppedMidTask(t *testing.T) {
	gate(t)
	fr := newFaultRun(t, 3, nil, nil)
	fr.f.writeInventory(t, map[string]map[string]string{"h1": {"fault_cmd": "touch " + fr.mark("started") + "; sleep 20"}})
	fr.run(t, nil, func() {
		waitFile(t, fr.mark("started"), 30*time.Second)
		// Freeze the whole tree before killing it, so that no process
		// of it runs again: the connection dies without the session
		// reporting the command's exit first (Stop alone kills the
		// command first, and sshd may still send its exit status).
		tree := sshdTree(t, fr.f.host("h1").Dir)
		fr.at = time.Now()
		signalAll(tree, syscall.SIGSTOP)
		signalAll(tree, syscall.SIGKILL)
		fr.f.host("h1").Stop(t)
	})
	fr.check(t, "sshd and its sessions killed mid-command", engine.StatusUnreachable, "connection lost")
}

// TestCommandNeverEnds runs a command that never ends under timeout: 2:
// h1 fails with "timed out after 2s" and the command is killed on h1.
func TestCommandNeverEnds(t *testing.T) {
	gate(t)
	fr := newFaultRun(t, 3, nil, nil)
	pidFile := fr.mark("pid")
	fr.f.writeInventory(t, map[string]map[string]string{"h1": {
		"fault_cmd": "echo $$ > " + pidFile + ".new; mv " + pidFile + ".new " + pidFile + "; exec sleep 1000", "fault_timeout": "2"}})
	fr.run(t, nil, func() { waitFile(t, pidFile, 30*time.Second) })
	fr.check(t, "command never ends (timeout: 2)", engine.StatusFailed, "timed out after 2s")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for pid > 0 && syscall.Kill(pid, 0) == nil && isSleep(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the timed out command (pid %d) still runs on h1", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isSleep(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return err == nil && strings.TrimSpace(string(b)) == "sleep"
}

// TestStalledConnection freezes h1's sshd (SIGSTOP to it and its session
// processes) under a running command: no packet flows, no connection
// closes; the keepalive must declare the link dead.
func TestStalledConnection(t *testing.T) {
	gate(t)
	fr := newFaultRun(t, 3, nil, nil)
	fr.f.writeInventory(t, map[string]map[string]string{"h1": {"fault_cmd": "touch " + fr.mark("started") + "; sleep 20"}})
	var frozen []int
	t.Cleanup(func() { signalAll(frozen, syscall.SIGCONT) })
	fr.run(t, nil, func() {
		waitFile(t, fr.mark("started"), 30*time.Second)
		frozen = sshdTree(t, fr.f.host("h1").Dir)
		signalAll(frozen, syscall.SIGSTOP)
	})
	signalAll(frozen, syscall.SIGCONT)
	fr.check(t, "connection stalls mid-command (sshd SIGSTOPped, keepalive 0.5s x 3)", engine.StatusUnreachable, "no reply to keepalive")
}
