package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/shell"
)

// tmuxPlaybook is a run on ten local hosts with slow tasks and an
// until-loop that fails once on every host, so that the board has
// something to show for a few seconds.
const tmuxPlaybook = `- name: deploy the API
  hosts: all
  gather_facts: false
  tasks:
    - name: check the hosts
      command: 'true'
      changed_when: false
    - name: download artifacts
      shell: sleep {{ 1 + (inventory_hostname[-2:] | int) % 3 }}
    - name: wait for the API
      shell: test -e {{ inventory_hostname }}.up || { touch {{ inventory_hostname }}.up; exit 1; }
      register: api
      until: api.rc == 0
      retries: 5
      delay: 2
    - name: restart workers
      shell: sleep 1
`

// boardBarRe matches the board's progress bar line.
var boardBarRe = regexp.MustCompile(`(?m)^\[[#.]+\] \d+/\d+ tasks · \d`)

// tmuxSession runs a command in a detached tmux pane on a private server
// (killed at cleanup) and captures the pane.
type tmuxSession struct {
	t    *testing.T
	sock string
}

func startTmux(t *testing.T, dir, command string, width, height int) *tmuxSession {
	t.Helper()
	s := &tmuxSession{t: t, sock: filepath.Join(dir, "tmux.sock")}
	s.run("new-session", "-d", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// capture is the visible pane (-e: with colour escapes).
func (s *tmuxSession) capture(escapes bool) string {
	args := []string{"capture-pane", "-p", "-t", "0"}
	if escapes {
		args = append(args, "-e")
	}
	return s.run(args...)
}

// waitFor polls the pane until ok accepts it, for at most limit.
func (s *tmuxSession) waitFor(what string, limit time.Duration, ok func(pane string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	pane := ""
	for time.Now().Before(deadline) {
		if pane = s.capture(false); ok(pane) {
			return pane
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("the pane never showed %s; last capture:\n%s", what, pane)
	return ""
}

// TestBoardInTmux runs kplay on a real terminal (a tmux pane) on ten
// hosts: mid-run the board is under the log, with the task, the host
// counts, the slowest hosts, the retries and the bar; at the end the
// recap and the slowest tasks are there and no board is left, neither on
// the screen nor in the scrollback. Set KPLAY_BOARD_PNG=FILE.png to save
// the pane during the retries as a PNG and as text in FILE.txt
// (docs/board.png and docs/board.txt are made so).
func TestBoardInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("a real run of several seconds")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "kplay")); err != nil {
		t.Fatal(err)
	}
	var hosts strings.Builder
	hosts.WriteString("all:\n  vars: {ansible_connection: local}\n  hosts:\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&hosts, "    web%02d:\n", i)
	}
	writeFile(t, filepath.Join(dir, "hosts.yaml"), hosts.String())
	writeFile(t, filepath.Join(dir, "site.yaml"), tmuxPlaybook)
	s := startTmux(t, dir, "cd "+shell.Quote(dir)+" && env -u NO_COLOR ./kplay -i hosts.yaml site.yaml; echo kplay exited $?; sleep 600", 100, 30)

	pane := s.waitFor("the board on download artifacts", 30*time.Second, func(p string) bool {
		return strings.Contains(p, "running: download artifacts (site.yaml:8:7) for ") &&
			strings.Contains(p, " · 10 running · ") && boardBarRe.MatchString(p)
	})
	for _, want := range []string{"  hosts: 0/10 done · 10 running · 0 queued · 0 failed · 0 unreachable", "  slowest: web", "] 1/4 tasks · "} {
		if !strings.Contains(pane, want) {
			t.Errorf("mid-run pane lacks %q:\n%s", want, pane)
		}
	}
	s.waitFor("the retries", 30*time.Second, func(p string) bool {
		return strings.Contains(p, "running: wait for the API (site.yaml:10:7)") && strings.Contains(p, "  retries: 1 failed, 5 left: web")
	})
	shot := s.capture(true)
	writePanePNG(t, shot, filepath.Join(dir, "board.png"))
	if png := os.Getenv("KPLAY_BOARD_PNG"); png != "" {
		// A moment later, for a picture whose clocks have moved.
		s.waitFor("the retries a second on", 30*time.Second, func(p string) bool {
			return strings.Contains(p, "running: wait for the API (site.yaml:10:7) for 1s")
		})
		shot = s.capture(true)
		writePanePNG(t, shot, png)
		if err := os.WriteFile(strings.TrimSuffix(png, ".png")+".txt", []byte(s.capture(false)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	final := s.waitFor("the end of the run", 60*time.Second, func(p string) bool { return strings.Contains(p, "kplay exited") })
	if !strings.Contains(final, "kplay exited 0") {
		t.Fatalf("kplay failed:\n%s", final)
	}
	for _, want := range []string{"PLAY RECAP ***", "web10 : ok=4 ", "SLOWEST TASKS ***", "download artifacts (site.yaml:8:7) on web", "Total time: "} {
		if !strings.Contains(final, want) {
			t.Errorf("final pane lacks %q:\n%s", want, final)
		}
	}
	all := s.run("capture-pane", "-p", "-t", "0", "-S", "-")
	if boardBarRe.MatchString(all) || strings.Contains(all, "  hosts: ") {
		t.Errorf("the board was left in the pane or its scrollback:\n%s", all)
	}
	if n := strings.Count(all, "TASK [download artifacts] ***"); n != 1 {
		t.Errorf("the task's banner is %d times in the scrollback, want once:\n%s", n, all)
	}
	if n := strings.Count(all, "changed: [web07]"); n != 3 {
		t.Errorf("web07's changed lines are %d times in the scrollback, want 3:\n%s", n, all)
	}
}
