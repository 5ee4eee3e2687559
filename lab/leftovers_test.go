package lab_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/lab"
)

// leftovers lists what a lab left on the machine: namespaces, links, mounts
// under its dir, cgroups, nspawn propagate dirs and processes among pids.
func leftovers(t *testing.T, l *lab.Lab, pids []int) []string {
	t.Helper()
	var left []string
	ns, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	bridge, _ := l.Bridge()
	for _, h := range l.Hosts() {
		if h.Netns != "" && strings.Contains(string(ns), h.Netns) {
			left = append(left, "netns "+h.Netns)
		}
		for _, p := range []string{"/sys/class/net/" + h.Veth, "/run/systemd/nspawn/propagate/" + h.Machine,
			"/sys/fs/cgroup/unified/kplay-lab/" + l.Name(), "/sys/fs/cgroup/systemd/kplay-lab/" + l.Name()} {
			if _, err := os.Stat(p); err == nil {
				left = append(left, p)
			}
		}
	}
	if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
		left = append(left, "bridge "+bridge)
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], filepath.Clean(l.Dir())+"/") {
			left = append(left, "mount "+f[1])
		}
	}
	for _, pid := range pids {
		if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(data) > 0 {
			left = append(left, fmt.Sprintf("process %d: %s", pid, strings.ReplaceAll(string(data), "\x00", " ")))
		}
	}
	return left
}
