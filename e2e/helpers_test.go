package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
)

// event is the part of a kplay --json event line the tests read.
type event struct {
	Type   string                    `json:"type"`
	Play   string                    `json:"play"`
	Task   string                    `json:"task"`
	Host   string                    `json:"host"`
	Status string                    `json:"status"`
	Msg    string                    `json:"msg"`
	Recap  map[string]map[string]int `json:"recap"`
}

// run is one kplay run: its events, exit code and wall time.
type run struct {
	events []event
	code   int
	took   time.Duration
	raw    string
}

// kplay runs the built binary with --json (bounded to 10 minutes) in dir.
func kplay(t *testing.T, bin, dir string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--json")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	r := run{took: time.Since(start), raw: string(out) + stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kplay %q: %v", args, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("kplay --json line %q: %v", sc.Text(), err)
		}
		r.events = append(r.events, e)
	}
	return r
}

// kplayText runs the built binary without --json and returns its combined
// output and exit code.
func kplayText(t *testing.T, bin, dir string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kplay %q: %v", args, err)
	}
	return string(out), 0
}

// changed lists the "task @ host" pairs a run reported changed, sorted.
func (r run) changed() []string {
	var out []string
	for _, e := range r.events {
		if e.Type == "host_result" && e.Status == "changed" {
			out = append(out, e.Task+" @ "+e.Host)
		}
	}
	sort.Strings(out)
	return out
}

// failures lists the failed host results with their messages.
func (r run) failures() []string {
	var out []string
	for _, e := range r.events {
		if e.Type == "host_result" && (e.Status == "failed" || e.Status == "unreachable") {
			out = append(out, fmt.Sprintf("%s @ %s: %s", e.Task, e.Host, e.Msg))
		}
	}
	return out
}

// recap is the run's final per-host counts.
func (r run) recap() map[string]map[string]int {
	for i := len(r.events) - 1; i >= 0; i-- {
		if r.events[i].Type == "recap" {
			return r.events[i].Recap
		}
	}
	return nil
}

// mustSucceed fails t with the run's failures when it did not exit 0.
func (r run) mustSucceed(t *testing.T, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d; failures:\n%s\noutput tail:\n%s", what, r.code, strings.Join(r.failures(), "\n"), tail(r.raw, 3000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// ssh runs cmd on a lab host through the lab's ssh_config (bounded).
func ssh(t *testing.T, l *lab.Lab, host, cmd string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", "-F", l.SSHConfig(), "-o", "ConnectTimeout=5", host, cmd).CombinedOutput()
	return string(out), err
}

// mustSSH is ssh that fails t on error.
func mustSSH(t *testing.T, l *lab.Lab, host, cmd string) string {
	t.Helper()
	out, err := ssh(t, l, host, cmd)
	if err != nil {
		t.Fatalf("ssh %s %q: %v\n%s", host, cmd, err, out)
	}
	return out
}

// vipHolders lists the hosts among hosts whose eth0 carries vip; a host
// that does not answer counts as not holding it.
func vipHolders(t *testing.T, l *lab.Lab, vip string, hosts ...string) []string {
	t.Helper()
	var out []string
	for _, h := range hosts {
		addrs, err := ssh(t, l, h, "ip -o -4 addr show dev eth0")
		if err == nil && strings.Contains(addrs, " "+vip+"/") {
			out = append(out, h)
		}
	}
	return out
}

// waitFor polls cond every 200 ms until it holds or d passes; it returns
// how long it took and whether cond held.
func waitFor(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), cond()
}

// vipOf picks the lab's VIP: address .250 of the hosts' /24.
func vipOf(l *lab.Lab) string {
	ip := l.Hosts()[0].IP
	return ip[:strings.LastIndex(ip, ".")] + ".250"
}

// sprintfScan reads space-separated integers from s.
func sprintfScan(s string, into ...*int) {
	fmt.Sscan(s, toAny(into)...)
}

func toAny(ps []*int) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}
