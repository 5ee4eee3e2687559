package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A lab VM is a QEMU guest with its own kernel (pure cgroup v2 inside), for
// kubelet and a container runtime, which an nspawn host cannot run on a
// hybrid cgroup v1 machine. QEMU runs in software emulation (TCG): this
// machine's /dev/kvm cannot run a stock kernel (docs/lab.md). Its disk is a
// qcow2 overlay over the cached image's disk.raw, its NIC a tap with the
// host's fixed MAC on the lab bridge, its serial console the host's
// console log.

// qemuBin is the QEMU system emulator the lab runs.
const qemuBin = "qemu-system-x86_64"

// vmSpec is what a lab's VMs boot from and with; lab.json keeps it so that
// `lab start hN` boots a VM as `lab up` did.
type vmSpec struct {
	Image  string `json:"image"`      // VM image dir (vmlinuz, initrd.img, disk.raw)
	CPUs   int    `json:"cpus"`       // vCPUs per VM
	Memory int    `json:"memory_mib"` // memory per VM
}

// vmDefaults validates the VM fields of c and fills in their defaults.
func (c *Config) vmDefaults() error {
	if c.VMNodes < 0 || c.Hosts+c.VMNodes > MaxHosts {
		return fmt.Errorf("lab size %d hosts + %d vms: want at most %d in all", c.Hosts, c.VMNodes, MaxHosts)
	}
	if c.VMCPUs == 0 {
		c.VMCPUs = 2
	}
	if c.VMMemory == 0 {
		c.VMMemory = 2048
	}
	if c.VMCPUs < 1 || c.VMCPUs > 64 {
		return fmt.Errorf("vm cpus %d: want 1 to 64", c.VMCPUs)
	}
	if c.VMMemory < 256 || c.VMMemory > 1<<20 {
		return fmt.Errorf("vm memory %d MiB: want 256 to %d", c.VMMemory, 1<<20)
	}
	return nil
}

// checkVMTools fails clearly when VMs cannot run here.
func checkVMTools() error {
	for _, t := range []string{qemuBin, "qemu-img"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("kplay lab --vm-nodes needs %s, not found (run `make lab-deps`): %w", t, err)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("kplay lab --vm-nodes needs /dev/net/tun for the VMs' taps: %w", err)
	}
	return nil
}

// useVMImage builds (once) the image the lab's VMs boot and records it
// with the VMs' size; a lab without VMs needs none.
func (l *Lab) useVMImage(ctx context.Context) error {
	if l.cfg.VMNodes == 0 {
		return nil
	}
	img, err := ensureVMImage(ctx, l.cfg)
	if err != nil {
		return err
	}
	l.vm = vmSpec{Image: img, CPUs: l.cfg.VMCPUs, Memory: l.cfg.VMMemory}
	return nil
}

// vmFile is a file of a VM's host dir: disk.qcow2, initrd.img, qemu.pid,
// qmp.sock, seed/.
func (l *Lab) vmFile(h Host, name string) string { return filepath.Join(l.hostDir(h), name) }

// vmPrepare gives a VM a fresh disk (overlay over the image) and an initrd
// carrying its identity: hostname, hosts, machine-id, SSH host key,
// authorized key and its address.
func (l *Lab) vmPrepare(ctx context.Context, h Host) error {
	if err := removeTree(l.hostDir(h)); err != nil {
		return err
	}
	seed := l.vmFile(h, "seed")
	if err := l.writeHostFiles(seed, h); err != nil {
		return err
	}
	unit := filepath.Join(seed, "etc/systemd/network/10-kplay-lab.network")
	if err := writeFile(unit, []byte(vmNetworkUnit(h)), 0o644); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := os.Chmod(filepath.Join(seed, "root"), 0o700); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := vmInitrd(filepath.Join(l.vm.Image, "initrd.img"), seed, l.vmFile(h, "initrd.img")); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	_, err := run(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
		"-b", filepath.Join(l.vm.Image, "disk.raw"), l.vmFile(h, "disk.qcow2"))
	if err != nil {
		return fmt.Errorf("host %s: disk: %w", h.Name, err)
	}
	return nil
}

// qemuArgs is the command line that boots VM h, detached (-daemonize) with
// a pid file and a QMP socket for a clean power-off.
func (l *Lab) qemuArgs(h Host) []string {
	cmdline := "root=/dev/vda rw console=ttyS0 net.ifnames=0 ipv6.disable=1 apparmor=0 panic=-1"
	return []string{
		"-name", "guest=" + h.Machine, "-nodefaults", "-no-user-config", "-display", "none",
		"-machine", "pc", "-accel", "tcg,tb-size=256", "-cpu", "max",
		"-smp", strconv.Itoa(l.vm.CPUs), "-m", strconv.Itoa(l.vm.Memory),
		"-kernel", filepath.Join(l.vm.Image, "vmlinuz"), "-initrd", l.vmFile(h, "initrd.img"),
		"-append", cmdline,
		"-drive", "file=" + l.vmFile(h, "disk.qcow2") + ",if=virtio,format=qcow2,discard=unmap",
		"-netdev", "tap,id=n0,ifname=" + h.Veth + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n0,mac=" + h.MAC,
		"-device", "virtio-rng-pci",
		"-chardev", "file,id=s0,append=on,path=" + l.consoleLog(h), "-serial", "chardev:s0",
		"-qmp", "unix:" + l.vmFile(h, "qmp.sock") + ",server=on,wait=off",
		"-pidfile", l.vmFile(h, "qemu.pid"), "-daemonize",
	}
}

// vmPowerOn wires a VM's tap to the bridge and starts QEMU, which detaches
// once the VM runs; QEMU then joins the host's cgroup (crash, freeze).
func (l *Lab) vmPowerOn(ctx context.Context, h Host) error {
	if err := tapUp(ctx, l.plan, h); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.consoleLog(h)), 0o755); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	os.Remove(l.vmFile(h, "qemu.pid"))
	if _, err := run(ctx, qemuBin, l.qemuArgs(h)...); err != nil {
		return fmt.Errorf("host %s: start vm: %w", h.Name, err)
	}
	pid := l.qemuPid(h)
	if pid == 0 {
		return fmt.Errorf("host %s: start vm: no qemu running after start (see %s)", h.Name, l.consoleLog(h))
	}
	for _, r := range cgroupRoots() {
		cg := filepath.Join(r, l.cgroupOf(h))
		if err := os.MkdirAll(cg, 0o755); err != nil {
			return fmt.Errorf("host %s: cgroup: %w", h.Name, err)
		}
		if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("host %s: cgroup: %w", h.Name, err)
		}
	}
	return nil
}

// qemuPid is the VM's running QEMU, or 0; the command line must name this
// VM's disk, so a reused pid is never taken for it.
func (l *Lab) qemuPid(h Host) int {
	pid := readPid(l.vmFile(h, "qemu.pid"))
	if pidMatches(pid, qemuBin, "file="+l.vmFile(h, "disk.qcow2")+",") {
		return pid
	}
	return 0
}

// vmPowerOff stops a VM: with clean, an ACPI power-button press (QMP
// system_powerdown) and up to a minute for the guest to halt; then SIGTERM
// (QEMU exits at once: a power cut), SIGKILL; then the cgroup and the tap.
func (l *Lab) vmPowerOff(ctx context.Context, h Host, clean bool) error {
	var errs []error
	want := []string{qemuBin, "file=" + l.vmFile(h, "disk.qcow2") + ","}
	if f := l.freezeFile(h); f != "" { // a frozen QEMU handles no signal
		os.WriteFile(f, []byte("0"), 0o644)
	}
	if pid := l.qemuPid(h); pid > 0 {
		if clean && qmpCommand(l.vmFile(h, "qmp.sock"), "system_powerdown") == nil {
			waitGone(pid, time.Minute, want...)
		}
		errs = append(errs, terminate(pid, 5*time.Second, want...))
	}
	errs = append(errs, l.clearCgroup(h))
	os.Remove(l.vmFile(h, "qemu.pid"))
	os.Remove(l.vmFile(h, "qmp.sock"))
	errs = append(errs, tapDown(ctx, l.plan, h))
	return joinErrs(fmt.Sprintf("host %s: power off", h.Name), errs)
}

// qmpCommand sends one command to QEMU's QMP socket and reads its answer.
func qmpCommand(sock, command string) error {
	c, err := net.DialTimeout("unix", sock, 3*time.Second)
	if err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	dec := json.NewDecoder(c)
	var msg map[string]any
	if err := dec.Decode(&msg); err != nil { // the greeting
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	for _, cmd := range []string{"qmp_capabilities", command} {
		fmt.Fprintf(c, "{\"execute\": %q}\n", cmd)
		for { // skip events until the reply
			msg = nil
			if err := dec.Decode(&msg); err != nil {
				return fmt.Errorf("qmp %s: %w", cmd, err)
			}
			if e, ok := msg["error"]; ok {
				return fmt.Errorf("qmp %s: %v", cmd, e)
			}
			if _, ok := msg["return"]; ok {
				break
			}
		}
	}
	return nil
}

// tapUp (re)creates a VM's tap on the lab bridge, IPv6 off.
func tapUp(ctx context.Context, p netPlan, h Host) error {
	if err := tapDown(ctx, p, h); err != nil {
		return err
	}
	if _, err := run(ctx, "ip", "tuntap", "add", "dev", h.Veth, "mode", "tap"); err != nil {
		return fmt.Errorf("host %s: tap: %w", h.Name, err)
	}
	disableIPv6(h.Veth)
	if _, err := run(ctx, "ip", "link", "set", h.Veth, "master", p.Bridge, "up"); err != nil {
		return fmt.Errorf("host %s: tap: %w", h.Name, err)
	}
	return nil
}

// tapDown deletes a VM's tap if it is there: the VM is off the wire.
func tapDown(ctx context.Context, p netPlan, h Host) error {
	return linkDown(ctx, p, h, "tap")
}

// VMRSS is the resident memory of VM name's QEMU process in MiB, or an
// error when it does not run; docs and tests report it.
func (l *Lab) VMRSS(name string) (int, error) {
	h, err := l.host(name)
	if err != nil {
		return 0, err
	}
	pid := l.qemuPid(h)
	if !h.VM || pid == 0 {
		return 0, fmt.Errorf("vm rss %s: not a running vm", h.Name)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("vm rss %s: %w", h.Name, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.Atoi(f[1])
			return kb / 1024, err
		}
	}
	return 0, errors.New("vm rss: no VmRSS in /proc status")
}

// vmStarted is when a VM's QEMU started (its pid file's time), for the
// boot-to-SSH time `lab up` prints.
func (l *Lab) vmStarted(h Host) time.Time {
	if fi, err := os.Stat(l.vmFile(h, "qemu.pid")); err == nil {
		return fi.ModTime()
	}
	return time.Time{}
}

// mainPid is the process that is the host: nspawn, or a VM's QEMU; 0 when
// the host is off.
func (l *Lab) mainPid(h Host) int {
	if h.VM {
		return l.qemuPid(h)
	}
	return l.nspawnPid(h)
}

// logVM prints a VM's boot-to-SSH time and QEMU memory once its sshd answers.
func (l *Lab) logVM(h Host) {
	rss, _ := l.VMRSS(h.Name)
	fmt.Fprintf(l.cfg.Log, "vm %s (%s): sshd up %.1fs after qemu start; qemu pid %d, rss %d MiB\n",
		h.Name, h.IP, time.Since(l.vmStarted(h)).Seconds(), l.qemuPid(h), rss)
}
