package faults

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kplay/kplay/journal"
)

// killPlaybook copies a 4 MiB file and a small one to every host, pauses
// in a command, then writes one more file.
const killPlaybook = `
- hosts: all
  gather_facts: false
  tasks:
    - name: data
      copy: {src: data.bin, dest: "{{ root }}/data.bin"}
    - name: conf
      copy: {content: "new {{ inventory_hostname }}\n", dest: "{{ root }}/app.conf"}
    - name: pause
      shell: "touch MARKS/{{ inventory_hostname }}; sleep 2"
    - name: after
      copy: {content: "after\n", dest: "{{ root }}/after"}
`

// TestKplayKilled kills kplay (SIGKILL, then in another run SIGINT) while
// 20 hosts receive a 4 MiB file: no host has a partial file or a temp file
// left, the journal names exactly the files that changed, --resume
// finishes the run and rollback then puts every host back as it was.
func TestKplayKilled(t *testing.T) {
	gate(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		for _, inCopy := range []bool{true, false} {
			name := sig.String() + map[bool]string{true: "/in-copy", false: "/in-command"}[inCopy]
			t.Run(name, func(t *testing.T) { testKilled(t, sig, inCopy) })
		}
	}
}

func testKilled(t *testing.T, sig syscall.Signal, inCopy bool) {
	bin := kplayBin(t)
	f := newFleet(t, 20, nil)
	marks := filepath.Join(f.dir, "marks")
	if err := os.MkdirAll(marks, 0o755); err != nil {
		t.Fatal(err)
	}
	f.write(t, "site.yaml", strings.ReplaceAll(killPlaybook, "MARKS", marks))
	data := strings.Repeat("kplay-fault-data\n", 4<<16) // 4 MiB + some
	f.write(t, "files/data.bin", data)
	for _, h := range f.names {
		f.write(t, filepath.Join("hosts", h, "data.bin"), "old data\n")
		f.write(t, filepath.Join("hosts", h, "app.conf"), "old\n")
	}
	kh := f.write(t, "known_hosts", knownHostsOf(t, f))
	before := f.snapAll(t)
	flags := []string{"-i", "hosts.yaml", "--known-hosts", kh, "--ssh-config", "none",
		"--ssh-keepalive", "0.5", "--connect-timeout", "3"}

	cmd := f.kplay(bin, append([]string{"site.yaml"}, flags...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	where := f.waitInFlight(t, marks, inCopy, 30*time.Second)
	sent := time.Now()
	_ = cmd.Process.Signal(sig)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("kplay did not end within 20s of %v:\n%s", sig, out.String())
	}
	exitTook := time.Since(sent)
	code := exitCode(werr)
	if want := map[syscall.Signal]int{syscall.SIGKILL: -1, syscall.SIGINT: 99}[sig]; code != want {
		t.Errorf("kplay exit %d after %v, want %d:\n%s", code, sig, want, out.String())
	}
	// A host may still be finishing a write kplay left (the remote script
	// ends when its input closes): give them a bounded moment.
	after := f.settle(t, 10*time.Second)
	files := checkNoTemp(t, after)
	f.checkOldOrNew(t, after, data)
	runs := filepath.Join(f.dir, ".kplay", "runs")
	id, err := journal.Latest(runs, "run")
	if err != nil {
		t.Fatalf("latest run: %v", err)
	}
	entries := readJournal(t, runs, id)
	changes := f.checkJournal(t, entries, before, after)

	f.resumeThenRollback(t, bin, flags, before, after, data)
	summary(t, "kplay "+sig.String()+" mid-run on 20 sshd hosts ("+where+")",
		map[syscall.Signal]string{syscall.SIGKILL: "killed (no report); run left as running in kplay runs",
			syscall.SIGINT: "interrupted, exit 99"}[sig],
		exitTook, filesLine(20, files)+"; --resume completes all, rollback restores all",
		journalLine(changes, len(entries)))
}

// resumeThenRollback runs kplay --resume, which must finish the run on
// every host (journaling exactly what it changed), then kplay rollback,
// which must put every host back as it was before the first run.
func (f *fleet) resumeThenRollback(t *testing.T, bin string, flags []string, before, after map[string]snapshot, data string) {
	t.Helper()
	runs := filepath.Join(f.dir, ".kplay", "runs")
	// --resume finishes the run: every host has every new file.
	f.mustRun(t, bin, append([]string{"site.yaml", "--resume"}, flags...)...)
	resumed := f.snapAll(t)
	for _, h := range f.names {
		checkVersion(t, resumed[h], h, "data.bin", data)
		checkVersion(t, resumed[h], h, "app.conf", "new "+h+"\n")
		checkVersion(t, resumed[h], h, "after", "after\n")
	}
	rid, _ := journal.Latest(runs, "run")
	f.checkJournal(t, readJournal(t, runs, rid), after, resumed)

	// Rollback of the resumed run undoes it and the run it continued.
	f.mustRun(t, bin, append([]string{"rollback"}, flags...)...)
	rolled := f.snapAll(t)
	if c := changedFiles(before, rolled); len(flatten(c)) > 0 {
		t.Errorf("after rollback, files differ from before the run: %v", c)
	}
	checkNoTemp(t, rolled)
}

// kplay prepares the kplay binary run in the fleet's folder, with no
// agent and no config file of the machine.
func (f *fleet) kplay(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = f.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.dir, "NO_COLOR=1"}
	return cmd
}

func (f *fleet) mustRun(t *testing.T, bin string, args ...string) {
	t.Helper()
	cmd := f.kplay(bin, args...)
	timer := time.AfterFunc(120*time.Second, func() { _ = cmd.Process.Kill() }) // bounded
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kplay %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// waitInFlight waits until a host has a kplay temp file (a copy in
// flight; when inCopy) or until a host reached the pause command; it says
// which.
func (f *fleet) waitInFlight(t *testing.T, marks string, inCopy bool, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, h := range f.names {
			if !inCopy {
				break
			}
			ents, _ := os.ReadDir(f.roots[h])
			for _, e := range ents {
				if strings.Contains(e.Name(), ".kplay-") && strings.HasSuffix(e.Name(), ".tmp") {
					return "while copying a 4 MiB file"
				}
			}
		}
		if ents, _ := os.ReadDir(marks); len(ents) > 0 {
			return "while hosts ran a command"
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the run did not start copying within %v", limit)
	return ""
}

// settle waits (bounded) until no host has a temp file and returns the
// hosts' files.
func (f *fleet) settle(t *testing.T, limit time.Duration) map[string]snapshot {
	deadline := time.Now().Add(limit)
	for {
		s := f.snapAll(t)
		tmp := false
		for _, sn := range s {
			for rel := range sn {
				tmp = tmp || strings.HasSuffix(rel, ".tmp")
			}
		}
		if !tmp || time.Now().After(deadline) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fleet) checkOldOrNew(t *testing.T, s map[string]snapshot, data string) {
	t.Helper()
	for _, h := range f.names {
		checkVersion(t, s[h], h, "data.bin", "old data\n", data)
		checkVersion(t, s[h], h, "app.conf", "old\n", "new "+h+"\n")
		checkVersion(t, s[h], h, "after", absent, "after\n")
	}
}

func knownHostsOf(t *testing.T, f *fleet) string {
	var b strings.Builder
	for _, p := range f.knownHosts() {
		c, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(c)
	}
	return b.String()
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -2
	}
	return 0
}

func flatten(m map[string][]string) []string {
	var out []string
	for h, l := range m {
		for _, p := range l {
			out = append(out, h+":"+p)
		}
	}
	return out
}
