package lab_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// kplay runs the built binary and returns its output and exit code.
func kplay(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kplay %q: %v", args, err)
	}
	return string(out), code
}

// recapRE matches one host's line of the play recap.
var recapRE = regexp.MustCompile(`(?m)^(h\d+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// recap maps each host of kplay's output to its ok, changed, unreachable
// and failed counts.
func recap(out string) map[string][4]int {
	r := map[string][4]int{}
	for _, m := range recapRE.FindAllStringSubmatch(out, -1) {
		var c [4]int
		for i := range c {
			fmt.Sscan(m[2+i], &c[i])
		}
		r[m[1]] = c
	}
	return r
}

const e2ePlaybook = `- hosts: all
  tasks:
    - name: record who and where this host is
      shell: echo "{{ inventory_hostname }} $(hostname) {{ ip }} $(ip -4 -o addr show dev eth0 | awk '{print $4}')" > /opt/kplay-e2e-{{ run }}
`

// TestE2EPlaybookOnLab is issue 4's end-to-end check: kplay lab up of 5
// hosts, a playbook over SSH on all of them, each host with its own
// hostname, IP and files; one host stopped with kplay lab stop is reported
// unreachable while the others finish; kplay lab down leaves nothing.
func TestE2EPlaybookOnLab(t *testing.T) {
	labtest.Skip(t)
	bin := labtest.BuildKplay(t)
	dir := t.TempDir()
	name := fmt.Sprintf("e2e%d", os.Getpid()%100000)
	loc := []string{"--name", name, "--dir", dir}
	if out, code := kplay(t, bin, append([]string{"lab", "up", "-n", "5"}, loc...)...); code != 0 {
		t.Fatalf("kplay lab up: exit %d\n%s", code, out)
	}
	l, err := lab.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, s := range l.Status() {
		pids = append(pids, s.NspawnPid, s.LauncherPid)
	}
	downed := false
	t.Cleanup(func() {
		if !downed {
			kplay(t, bin, append([]string{"lab", "down"}, loc...)...)
		}
	})
	pb := filepath.Join(t.TempDir(), "e2e.yaml")
	os.WriteFile(pb, []byte(e2ePlaybook), 0o644)

	out, code := kplay(t, bin, "-i", l.Inventory(), "-e", "run=1", pb)
	if code != 0 {
		t.Fatalf("playbook on 5 hosts: exit %d\n%s", code, out)
	}
	for _, h := range l.Hosts() {
		want := fmt.Sprintf("%s %s %s %s/24", h.Name, h.Name, h.IP, h.IP)
		if got := mustSSH(t, l, h.Name, "cat /opt/kplay-e2e-1"); got != want {
			t.Errorf("%s: /opt/kplay-e2e-1 = %q, want %q", h.Name, got, want)
		}
	}

	if out, code := kplay(t, bin, append([]string{"lab", "stop"}, append(loc, "h5")...)...); code != 0 {
		t.Fatalf("kplay lab stop h5: exit %d\n%s", code, out)
	}
	out, code = kplay(t, bin, "-i", l.Inventory(), "-e", "run=2", pb)
	t.Logf("playbook with h5 stopped (exit %d):\n%s", code, out)
	if code != 3 {
		t.Errorf("playbook with h5 stopped: exit %d, want 3 (unreachable)\n%s", code, out)
	}
	rc := recap(out)
	if rc["h5"][2] != 1 || !strings.Contains(out, "UNREACHABLE") {
		t.Errorf("h5 not reported unreachable: recap %v\n%s", rc["h5"], out)
	}
	for _, h := range l.Hosts()[:4] {
		if c := rc[h.Name]; c[1] != 1 || c[2] != 0 || c[3] != 0 {
			t.Errorf("%s: recap ok/changed/unreachable/failed = %v, want changed=1 and no failure", h.Name, c)
		}
		mustSSH(t, l, h.Name, "test -s /opt/kplay-e2e-2")
	}

	if out, code := kplay(t, bin, append([]string{"lab", "down"}, loc...)...); code != 0 {
		t.Fatalf("kplay lab down: exit %d\n%s", code, out)
	}
	downed = true
	for _, left := range leftovers(t, l, pids) {
		t.Errorf("after kplay lab down: %s", left)
	}
}
