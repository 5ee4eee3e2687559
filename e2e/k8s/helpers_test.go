// Package k8s_test holds the end-to-end tests of the Kubernetes roles
// (master, node, addons): each boots its own kplay lab, runs the embedded
// site.yaml with a freshly built kplay and the Kubernetes binaries of the
// artifact folder, and checks the cluster with kubectl. They run only with
// KPLAY_E2E=1 and KPLAY_K8S=1 (make e2e-k8s) and skip otherwise, or when
// the artifacts are missing (make k8s-artifacts builds them).
package k8s_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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

// The run helpers are labtest's (shared with the other lab suites).
type (
	event = labtest.Event
	run   = labtest.Run
)

// kplay runs the built binary with --json in dir, bounded to 15 minutes.
func kplay(t *testing.T, bin, dir string, args ...string) run {
	t.Helper()
	return labtest.Kplay(t, bin, dir, 15*time.Minute, args...)
}

var (
	kplayText  = labtest.KplayText
	tail       = labtest.Tail
	ssh        = labtest.SSH
	mustSSH    = labtest.MustSSH
	waitFor    = labtest.WaitFor
	vipOf      = labtest.VIPOf
	vipHolders = labtest.VIPHolders
)

var (
	ipOf           = labtest.IPOf
	samePrediction = labtest.SamePrediction
)
