package lab_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// TestE2EVMNode is issue 7's lab check: one nspawn host and one QEMU VM
// (lab k8svm). The VM answers SSH with its own host key, runs its own
// kernel with pure cgroup v2, boots systemd to running (or degraded, with
// the reason logged), has containerd active, pings the nspawn host over
// the lab bridge and back; stop/start keeps its disk; Down twice leaves no
// QEMU, tap, netns or mount.
func TestE2EVMNode(t *testing.T) {
	labtest.SkipVM(t)
	dir := t.TempDir()
	if err := lab.CheckSubnet("k8svm"); err != nil {
		t.Skipf("lab k8svm's subnet is taken (a k8svm lab is up?): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Minute)
	defer cancel()
	start := time.Now()
	l, err := lab.Up(ctx, lab.Config{Name: "k8svm", Hosts: 1, VMNodes: 1, Dir: dir,
		BootTimeout: 10 * time.Minute, Log: testLog{t}})
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("MEASURE | lab up -n 1 --vm-nodes 1: %.1fs", time.Since(start).Seconds())
	downed := false
	t.Cleanup(func() {
		if !downed {
			l.Down(context.Background())
		}
	})
	vm := l.Hosts()[1]
	if !vm.VM || vm.Name != "h2" {
		t.Fatalf("second host %+v: want the VM h2", vm)
	}
	if rss, err := l.VMRSS("h2"); err != nil {
		t.Errorf("VMRSS(h2): %v", err)
	} else {
		t.Logf("MEASURE | vm h2 qemu rss after boot: %d MiB", rss)
	}
	checkVM(t, l)
	mustSSH(t, l, "h2", "echo kept > /var/lib/kplay-e2e-mark")

	before := vmStatus(t, l)
	if err := l.Stop(ctx, "h2"); err != nil {
		t.Fatalf("stop h2: %v", err)
	}
	if s := vmStatus(t, l); s.State != "stopped" || s.QemuPid != 0 || linkThere(vm.Veth) {
		t.Errorf("after stop: %+v, tap there %v; want stopped, no qemu, no tap", s, linkThere(vm.Veth))
	}
	if pidAlive(before.QemuPid) {
		t.Errorf("qemu %d still alive after stop", before.QemuPid)
	}
	start = time.Now()
	if err := l.Start(ctx, "h2"); err != nil {
		t.Fatalf("start h2: %v", err)
	}
	t.Logf("MEASURE | lab start h2 (reboot on the kept disk) to ssh: %.1fs", time.Since(start).Seconds())
	if got := mustSSH(t, l, "h2", "cat /var/lib/kplay-e2e-mark"); got != "kept" {
		t.Errorf("after stop/start: mark = %q, want kept (disk kept)", got)
	}
	after := vmStatus(t, l)

	for range 2 {
		if err := l.Down(ctx); err != nil {
			t.Fatalf("lab down: %v", err)
		}
	}
	downed = true
	for _, left := range leftovers(t, l, []int{before.QemuPid, after.QemuPid}) {
		t.Errorf("after lab down: %s", left)
	}
}

// checkVM runs the in-guest checks on h2.
func checkVM(t *testing.T, l *lab.Lab) {
	t.Helper()
	if got := mustSSH(t, l, "h2", "hostname"); got != "h2" {
		t.Errorf("vm hostname = %q, want h2", got)
	}
	if got := mustSSH(t, l, "h2", "stat -f -c %T /sys/fs/cgroup"); got != "cgroup2fs" {
		t.Errorf("vm /sys/fs/cgroup is %q, want cgroup2fs", got)
	}
	t.Logf("vm kernel: %s", mustSSH(t, l, "h2", "uname -r"))
	state, _ := sshOut(t, l, "h2", "timeout 300 systemctl is-system-running --wait")
	failed, _ := sshOut(t, l, "h2", "systemctl --failed --no-legend --plain")
	t.Logf("vm systemctl is-system-running = %q; failed units: %q", state, failed)
	if state != "running" && state != "degraded" {
		t.Errorf("vm systemctl is-system-running = %q, want running or degraded", state)
	}
	if got, _ := sshOut(t, l, "h2", "systemctl is-active containerd"); got != "active" {
		t.Errorf("vm containerd is %q, want active", got)
	}
	if got := mustSSH(t, l, "h1", "ping -c1 -W5 h2 >/dev/null && echo ok"); got != "ok" {
		t.Errorf("h1 ping h2 = %q", got)
	}
	if got := mustSSH(t, l, "h2", "ping -c1 -W5 h1 >/dev/null && echo ok"); got != "ok" {
		t.Errorf("h2 ping h1 = %q", got)
	}
	if got, err := sshOut(t, l, "h2", "curl -sS -m 5 -o /dev/null http://deb.debian.org/ && echo reached"); err == nil {
		t.Errorf("vm reaches the outside network: %q", got)
	}
}

// vmStatus is h2's status line.
func vmStatus(t *testing.T, l *lab.Lab) lab.HostStatus {
	t.Helper()
	for _, s := range l.Status() {
		if s.Name == "h2" {
			return s
		}
	}
	t.Fatal("no h2 in lab status")
	return lab.HostStatus{}
}

// linkThere says whether a network interface exists on this machine.
func linkThere(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// pidAlive says whether a process with that pid runs (and is no zombie).
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && len(data) > 0
}

// testLog sends the lab's progress lines (boot-to-SSH times) to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
