package labtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
)

// Event is the part of a kplay --json event line the lab suites read.
type Event struct {
	Type   string                    `json:"type"`
	Play   string                    `json:"play"`
	Task   string                    `json:"task"`
	Host   string                    `json:"host"`
	Status string                    `json:"status"`
	Msg    string                    `json:"msg"`
	Recap  map[string]map[string]int `json:"recap"`
}

// Run is one kplay run: its events, exit code, wall time and output.
type Run struct {
	Events []Event
	Code   int
	Took   time.Duration
	Raw    string
}

// Kplay runs the kplay binary bin with --json in dir, bounded by timeout,
// and parses its events; only a failure to run it at all fails t.
func Kplay(t testing.TB, bin, dir string, timeout time.Duration, args ...string) Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--json")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	r := Run{Took: time.Since(start), Raw: string(out) + stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kplay %q: %v", args, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("kplay --json line %q: %v", sc.Text(), err)
		}
		r.Events = append(r.Events, e)
	}
	return r
}

// KplayText runs bin without --json (bounded to 5 minutes) and returns its
// combined output and exit code.
func KplayText(t testing.TB, bin, dir string, args ...string) (string, int) {
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

// Changed lists the "task @ host" pairs the run reported changed, sorted.
func (r Run) Changed() []string {
	var out []string
	for _, e := range r.Events {
		if e.Type == "host_result" && e.Status == "changed" {
			out = append(out, e.Task+" @ "+e.Host)
		}
	}
	sort.Strings(out)
	return out
}

// ChangedIn is Changed limited to tasks whose name starts with prefix.
func (r Run) ChangedIn(prefix string) []string {
	var out []string
	for _, c := range r.Changed() {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// Failures lists the failed and unreachable host results with their messages.
func (r Run) Failures() []string {
	var out []string
	for _, e := range r.Events {
		if e.Type == "host_result" && (e.Status == "failed" || e.Status == "unreachable") {
			out = append(out, fmt.Sprintf("%s @ %s: %s", e.Task, e.Host, e.Msg))
		}
	}
	return out
}

// Recap is the run's final per-host counts.
func (r Run) Recap() map[string]map[string]int {
	for i := len(r.Events) - 1; i >= 0; i-- {
		if r.Events[i].Type == "recap" {
			return r.Events[i].Recap
		}
	}
	return nil
}

// MustSucceed fails t with the run's failures when it did not exit 0.
func (r Run) MustSucceed(t testing.TB, what string) {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("%s: exit %d; failures:\n%s\noutput tail:\n%s", what, r.Code, strings.Join(r.Failures(), "\n"), Tail(r.Raw, 3000))
	}
}

// MustChangeNothing fails t when any host of r changed something.
func (r Run) MustChangeNothing(t testing.TB, what string) {
	t.Helper()
	for h, c := range r.Recap() {
		if c["changed"] != 0 {
			t.Errorf("%s: %s changed=%d: %q", what, h, c["changed"], r.Changed())
		}
	}
}

// MustStopInPreflight fails t unless the run failed on a host (exit 2) in
// the preflight play: no task ran in a later play, and no host changed.
func (r Run) MustStopInPreflight(t testing.TB, what string) {
	t.Helper()
	if r.Code != 2 {
		t.Fatalf("%s: exit %d, want 2 (a host failed)\n%s", what, r.Code, Tail(r.Raw, 3000))
	}
	for _, e := range r.Events {
		if e.Type == "host_result" && e.Play != "preflight" {
			t.Fatalf("%s: a task ran after preflight failed: %s @ %s", what, e.Task, e.Host)
		}
	}
	for h, c := range r.Recap() {
		if c["changed"] != 0 {
			t.Errorf("%s: %s changed=%d although preflight failed", what, h, c["changed"])
		}
	}
}

// SamePrediction fails t unless the --check run predicted exactly the
// changed task/host pairs of the real run.
func SamePrediction(t testing.TB, check, real Run) {
	t.Helper()
	c, r := check.Changed(), real.Changed()
	if !slices.Equal(c, r) {
		t.Errorf("--check predicted %d changed task/host pairs, the run changed %d\nonly predicted: %q\nonly changed: %q",
			len(c), len(r), minus(c, r), minus(r, c))
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Tail is the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// SSH runs cmd on a lab host through the lab's ssh_config (bounded to a
// minute).
func SSH(t testing.TB, l *lab.Lab, host, cmd string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", "-F", l.SSHConfig(), "-o", "ConnectTimeout=5", host, cmd).CombinedOutput()
	return string(out), err
}

// MustSSH is SSH that fails t on error.
func MustSSH(t testing.TB, l *lab.Lab, host, cmd string) string {
	t.Helper()
	out, err := SSH(t, l, host, cmd)
	if err != nil {
		t.Fatalf("ssh %s %q: %v\n%s", host, cmd, err, out)
	}
	return out
}

// WaitFor polls cond every 200 ms until it holds or d passes; it returns
// how long it took and whether cond held.
func WaitFor(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), cond()
}

// VIPOf is the lab's VIP, as its inventory sets it: .250 of the hosts' /24.
func VIPOf(l *lab.Lab) string {
	ip := l.Hosts()[0].IP
	return ip[:strings.LastIndex(ip, ".")] + ".250"
}

// IPOf is a lab host's address.
func IPOf(t testing.TB, l *lab.Lab, host string) string {
	t.Helper()
	for _, h := range l.Hosts() {
		if h.Name == host {
			return h.IP
		}
	}
	t.Fatalf("no lab host %s", host)
	return ""
}

// VIPHolders lists the hosts among hosts whose eth0 carries vip; a host
// that does not answer counts as not holding it.
func VIPHolders(t testing.TB, l *lab.Lab, vip string, hosts ...string) []string {
	t.Helper()
	var out []string
	for _, h := range hosts {
		addrs, err := SSH(t, l, h, "ip -o -4 addr show dev eth0")
		if err == nil && strings.Contains(addrs, " "+vip+"/") {
			out = append(out, h)
		}
	}
	return out
}
