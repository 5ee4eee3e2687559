// Package k8s_test holds the end-to-end tests of the Kubernetes roles
// (master, node, addons): each boots its own kplay lab, runs the embedded
// site.yaml with a freshly built kplay and the Kubernetes binaries of the
// artifact folder, and checks the cluster with kubectl. They run only with
// KPLAY_E2E=1 and KPLAY_K8S=1 (make e2e-k8s) and skip otherwise, or when
// the artifacts are missing (make k8s-artifacts builds them).
package k8s_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// k8sEnv must be 1 (besides labtest.EnvVar) for these tests to run: they
// take minutes of CPU.
const k8sEnv = "KPLAY_K8S"

// kubeVersion is the release the roles deploy by default (roles/common).
const kubeVersion = "v1.34.4"

// artifactsDir is the control machine's artifact folder, as the roles
// resolve it: $KPLAY_ARTIFACTS, else ~/.cache/kplay/artifacts.
func artifactsDir() string {
	if d := os.Getenv("KPLAY_ARTIFACTS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "kplay", "artifacts")
}

// kubeBinDir is where the Kubernetes binaries of kubeVersion are.
func kubeBinDir() string {
	return filepath.Join(artifactsDir(), "kubernetes", kubeVersion, "bin")
}

// skipUnlessK8s skips t unless lab tests and Kubernetes tests are asked
// for, a lab can run here, and the binaries (with their SHA256SUMS) exist.
func skipUnlessK8s(t *testing.T, bins ...string) {
	t.Helper()
	if os.Getenv(k8sEnv) != "1" {
		t.Skipf("Kubernetes lab test: set %s=1 and %s=1 (make e2e-k8s)", labtest.EnvVar, k8sEnv)
	}
	labtest.Skip(t)
	sums, err := os.ReadFile(filepath.Join(kubeBinDir(), "SHA256SUMS"))
	if err != nil {
		t.Skipf("Kubernetes binaries missing (make k8s-artifacts): %v", err)
	}
	for _, b := range bins {
		if !strings.Contains(string(sums), "  "+b+"\n") {
			t.Skipf("%s not in %s/SHA256SUMS (make k8s-artifacts)", b, kubeBinDir())
		}
	}
}

// upLab brings up the lab c (Dir defaults to a temp dir) for t and tears it
// down after it. Each test file uses its own lab name, so helpers' labs do
// not collide.
func upLab(t *testing.T, c lab.Config) *lab.Lab {
	t.Helper()
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	if c.Log == nil {
		c.Log = logWriter{t}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, c)
	if err != nil {
		t.Fatalf("lab up %s: %v", c.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down %s: %v", c.Name, err)
		}
	})
	return l
}

// logWriter sends the lab's progress lines to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

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

// run is one kplay run: its events, exit code, wall time and output.
type run struct {
	events []event
	code   int
	took   time.Duration
	raw    string
}

// kplay runs the built binary with --json in dir, bounded to 15 minutes
// (a rolling restart of three apiservers takes minutes on a loaded machine).
func kplay(t *testing.T, bin, dir string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
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

// kplayText runs the built binary without --json (bounded) and returns
// its combined output and exit code.
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

// changedIn lists the changed pairs whose task starts with prefix.
func (r run) changedIn(prefix string) []string {
	var out []string
	for _, c := range r.changed() {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
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

// mustChangeNothing fails t when any host of r changed something.
func (r run) mustChangeNothing(t *testing.T, what string) {
	t.Helper()
	for h, c := range r.recap() {
		if c["changed"] != 0 {
			t.Errorf("%s: %s changed=%d: %q", what, h, c["changed"], r.changed())
		}
	}
}

// samePrediction fails t unless the --check run predicted exactly the
// changed task/host pairs of the real run.
func samePrediction(t *testing.T, check, real run) {
	t.Helper()
	c, r := check.changed(), real.changed()
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

// kubectl runs the artifact folder's kubectl on the control machine with
// the kubeconfig kc (bounded to 30 s per call).
func kubectl(t *testing.T, kc string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	full := append([]string{"--kubeconfig", kc, "--request-timeout", "10s"}, args...)
	out, err := exec.CommandContext(ctx, filepath.Join(kubeBinDir(), "kubectl"), full...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// mustKubectl is kubectl that fails t on error.
func mustKubectl(t *testing.T, kc string, args ...string) string {
	t.Helper()
	out, err := kubectl(t, kc, args...)
	if err != nil {
		t.Fatalf("kubectl %q: %v\n%s", args, err, out)
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

// vipOf is the lab's VIP, as its inventory sets it: .250 of the hosts' /24.
func vipOf(l *lab.Lab) string {
	ip := l.Hosts()[0].IP
	return ip[:strings.LastIndex(ip, ".")] + ".250"
}

// ipOf is a lab host's address.
func ipOf(t *testing.T, l *lab.Lab, host string) string {
	t.Helper()
	for _, h := range l.Hosts() {
		if h.Name == host {
			return h.IP
		}
	}
	t.Fatalf("no lab host %s", host)
	return ""
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
