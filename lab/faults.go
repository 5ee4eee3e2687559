package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Down removes everything the lab made on this machine: processes (by pid
// after a cmdline check), cgroups, mounts, namespaces, veths, the bridge,
// nspawn's propagate dirs and the hosts' disks. Keys and the lab dir stay,
// so known_hosts stays valid for the next Up. Safe to call twice.
func (l *Lab) Down(ctx context.Context) error {
	start := time.Now()
	var errs []error
	errs = append(errs, l.eachHost(func(h Host) error {
		if h.VM { // its disk goes next: no clean halt needed
			return l.vmPowerOff(ctx, h, false)
		}
		return l.powerOff(ctx, h)
	}))
	for _, h := range l.plan.Hosts {
		errs = append(errs, removeTree(l.hostDir(h)))
	}
	errs = append(errs, removeTree(filepath.Join(l.cfg.Dir, "hosts")), bridgeDown(ctx, l.plan))
	for _, r := range cgroupRoots() {
		os.Remove(filepath.Join(r, "kplay-lab", l.cfg.Name))
		os.Remove(filepath.Join(r, "kplay-lab"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab %s down: %w", l.cfg.Name, err)
	}
	for _, f := range []string{"lab.json", "hosts.yaml", "ssh_config", "known_hosts"} {
		os.Remove(filepath.Join(l.cfg.Dir, f))
	}
	fmt.Fprintf(l.cfg.Log, "lab %s down in %.1fs\n", l.cfg.Name, time.Since(start).Seconds())
	return nil
}

// host finds a host by inventory name or address.
func (l *Lab) host(name string) (Host, error) {
	for _, h := range l.plan.Hosts {
		if h.Name == name || h.IP == name {
			return h, nil
		}
	}
	return Host{}, fmt.Errorf("lab %s: no host %q (hosts h1-h%d)", l.cfg.Name, name, len(l.plan.Hosts))
}

// Stop powers a host off: the guest halts, its processes end and its network
// namespace goes, so peers see it vanish from the wire. Its disk stays.
func (l *Lab) Stop(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if err := l.powerOff(ctx, h); err != nil {
		return err
	}
	return unmountAll(filepath.Join(l.hostDir(h), "root"))
}

// Start powers a stopped host on again (same disk, fresh namespace) and
// waits until its sshd answers.
func (l *Lab) Start(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if l.mainPid(h) > 0 {
		return fmt.Errorf("start host %s: already running", h.Name)
	}
	if err := l.powerOff(ctx, h); err != nil { // clear leftovers of a crash
		return err
	}
	if err := l.powerOn(ctx, h); err != nil {
		return err
	}
	return l.waitSSH(ctx, []Host{h})
}

// Partition cuts a running host off the lab network (its veth goes down);
// the host keeps running and sees its link drop.
func (l *Lab) Partition(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	return setLink(ctx, h, false)
}

// Heal puts a partitioned host back on the lab network.
func (l *Lab) Heal(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	return setLink(ctx, h, true)
}

// HostStatus is one host's line in `kplay lab status`.
type HostStatus struct {
	Host
	State       string // running, stopped, partitioned or frozen
	NspawnPid   int
	LauncherPid int
	QemuPid     int // a VM's QEMU
}

// Status reports each host's state and pids.
func (l *Lab) Status() []HostStatus {
	var st []HostStatus
	for _, h := range l.plan.Hosts {
		s := HostStatus{Host: h, State: "stopped", NspawnPid: l.nspawnPid(h), LauncherPid: l.launcherPid(h)}
		if h.VM {
			s.NspawnPid, s.LauncherPid, s.QemuPid = 0, 0, l.qemuPid(h)
		}
		if s.NspawnPid > 0 || s.QemuPid > 0 {
			s.State = "running"
			if !linkUp(h) {
				s.State = "partitioned"
			}
			if l.isFrozen(h) {
				s.State = "frozen"
			}
		}
		st = append(st, s)
	}
	return st
}

// clearCgroup kills what is left in a host's cgroups (processes there are
// the host's by construction) and removes the cgroup dirs, deepest first.
func (l *Lab) clearCgroup(h Host) error {
	var dirs []string
	for _, r := range cgroupRoots() {
		top := filepath.Join(r, l.cgroupOf(h))
		os.WriteFile(filepath.Join(top, "cgroup.freeze"), []byte("0"), 0o644) // a frozen task ignores SIGKILL until thawed
		dirs = append(dirs, cgroupTree(top)...)
	}
	if len(dirs) == 0 {
		return nil
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := cgroupPids(dirs)
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("host %s: cgroup: %d processes survive SIGKILL", h.Name, len(pids))
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var errs []error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// cgroupTree lists a cgroup dir and all dirs below it.
func cgroupTree(top string) []string {
	var dirs []string
	filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	return dirs
}

// cgroupPids lists the processes in the given cgroup dirs.
func cgroupPids(dirs []string) []int {
	var pids []int
	for _, d := range dirs {
		data, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
