package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// launcherScript boots one host: it moves itself into the host's own cgroup
// (systemd-nspawn --keep-unit uses the caller's cgroup), runs nspawn, and
// boots again when the guest rebooted (exit 133), a bounded number of times.
// Arguments: host dir, machine name, netns name, cgroup path.
const launcherScript = `#!/bin/sh
# kplay lab launcher, written by kplay lab up. Usage: launcher.sh HOSTDIR MACHINE NETNS CGROUP
set -u
hd=$1 machine=$2 netns=$3 cg=$4
if [ -f /sys/fs/cgroup/cgroup.procs ]; then roots=/sys/fs/cgroup; else roots="/sys/fs/cgroup/unified /sys/fs/cgroup/systemd"; fi
for r in $roots; do
  [ -d "$r" ] || continue
  mkdir -p "$r/$cg" && echo $$ > "$r/$cg/cgroup.procs"
done
boots=0
while :; do
  rm -rf "/run/systemd/nspawn/propagate/$machine"
  SYSTEMD_NSPAWN_API_VFS_WRITABLE=network systemd-nspawn --quiet --boot \
    --machine="$machine" --directory="$hd/root" --network-namespace-path="/run/netns/$netns" \
    --capability=CAP_NET_ADMIN --register=no --keep-unit --console=passive \
    --resolv-conf=off --timezone=off --link-journal=no &
  echo $! > "$hd/nspawn.pid"
  wait $!
  rc=$?
  echo "kplay-lab: systemd-nspawn exited $rc at $(date -u +%FT%TZ)"
  [ "$rc" -eq 133 ] && [ "$boots" -lt 10 ] || break
  boots=$((boots+1))
done
rm -f "$hd/nspawn.pid"
exit "$rc"
`

// cgroupRoots lists the cgroup hierarchies a host's processes are put in:
// the unified and name=systemd ones on a hybrid machine, or the one v2 root.
func cgroupRoots() []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.procs"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	var roots []string
	for _, r := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"} {
		if _, err := os.Stat(r); err == nil {
			roots = append(roots, r)
		}
	}
	return roots
}

// cgroupOf is a host's cgroup path below each root.
func (l *Lab) cgroupOf(h Host) string {
	return filepath.Join("kplay-lab", l.cfg.Name, h.Name)
}

// consoleLog is a host's boot output; it lives outside the host dir so it
// outlives a failed Up (which tears the hosts down) and Down.
func (l *Lab) consoleLog(h Host) string {
	return filepath.Join(l.cfg.Dir, "logs", h.Name+".console.log")
}

// hostDir is where a host's overlay dirs and pid files live.
func (l *Lab) hostDir(h Host) string {
	return filepath.Join(l.cfg.Dir, "hosts", h.Name)
}

// mountHost mounts the host's overlay root over the base unless mounted.
func (l *Lab) mountHost(h Host) (string, error) {
	hd := l.hostDir(h)
	root := filepath.Join(hd, "root")
	for _, d := range []string{"upper", "work", "root"} {
		if err := os.MkdirAll(filepath.Join(hd, d), 0o755); err != nil {
			return "", fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	if len(mountsUnder(root)) > 0 {
		return root, nil
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", l.base, filepath.Join(hd, "upper"), filepath.Join(hd, "work"))
	if err := syscall.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("host %s: mount overlay: %w", h.Name, err)
	}
	return root, nil
}

// writeHostFiles gives a fresh host its identity: hostname, /etc/hosts,
// machine-id, SSH host key and root's authorized_keys.
func (l *Lab) writeHostFiles(root string, h Host) error {
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1\tlocalhost\n")
	for _, o := range l.plan.Hosts {
		fmt.Fprintf(&hosts, "%s\t%s\n", o.IP, o.Name)
	}
	id := make([]byte, 16)
	rand.Read(id)
	keyDir := filepath.Join(l.cfg.Dir, "hostkeys", h.Name)
	priv, err := os.ReadFile(filepath.Join(keyDir, "ssh_host_ed25519_key"))
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	pub, err := os.ReadFile(filepath.Join(keyDir, "ssh_host_ed25519_key.pub"))
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	files := []struct {
		path string
		data string
		mode os.FileMode
	}{
		{"etc/hostname", h.Name + "\n", 0o644},
		{"etc/hosts", hosts.String(), 0o644},
		{"etc/machine-id", hex.EncodeToString(id) + "\n", 0o444},
		{"etc/ssh/ssh_host_ed25519_key", string(priv), 0o600},
		{"etc/ssh/ssh_host_ed25519_key.pub", string(pub), 0o644},
		{"root/.ssh/authorized_keys", authorizedLine(l.key.PublicKey(), "kplay-lab"), 0o600},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(root, f.path), []byte(f.data), f.mode); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	return os.Chmod(filepath.Join(root, "root/.ssh"), 0o700)
}

// launch starts the host's launcher detached (own session, output to the
// host's console log) so it survives the kplay process.
func (l *Lab) launch(h Host) error {
	hd := l.hostDir(h)
	if err := os.MkdirAll(filepath.Dir(l.consoleLog(h)), 0o755); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	logf, err := os.OpenFile(l.consoleLog(h), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	defer logf.Close()
	os.Remove(filepath.Join(hd, "nspawn.pid"))
	cmd := exec.Command("/bin/sh", filepath.Join(l.cfg.Dir, "launcher.sh"), hd, h.Machine, h.Netns, l.cgroupOf(h))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("host %s: start launcher: %w", h.Name, err)
	}
	go cmd.Wait() // reap it if it ends while this process still runs
	return writeFile(filepath.Join(hd, "launcher.pid"), []byte(fmt.Sprintln(cmd.Process.Pid)), 0o644)
}

// nspawnPid is the host's running systemd-nspawn, or 0.
func (l *Lab) nspawnPid(h Host) int {
	pid := readPid(filepath.Join(l.hostDir(h), "nspawn.pid"))
	if pidMatches(pid, "systemd-nspawn", "--machine="+h.Machine) {
		return pid
	}
	return 0
}

// launcherPid is the host's running launcher, or 0.
func (l *Lab) launcherPid(h Host) int {
	hd := l.hostDir(h)
	pid := readPid(filepath.Join(hd, "launcher.pid"))
	if pidMatches(pid, "launcher.sh", hd) {
		return pid
	}
	return 0
}

// powerOff halts a host: SIGTERM to nspawn (a clean guest halt), then the
// launcher, then whatever is left in the host's cgroup; removes the cgroup,
// nspawn's propagate dir and the host's network namespace.
func (l *Lab) powerOff(ctx context.Context, h Host) error {
	if h.VM {
		return l.vmPowerOff(ctx, h, true)
	}
	hd := l.hostDir(h)
	var errs []error
	if pid := readPid(filepath.Join(hd, "nspawn.pid")); pid > 0 {
		errs = append(errs, terminate(pid, 20*time.Second, "systemd-nspawn", "--machine="+h.Machine))
	}
	if pid := readPid(filepath.Join(hd, "launcher.pid")); pid > 0 {
		if !waitGone(pid, 3*time.Second, "launcher.sh", hd) {
			errs = append(errs, terminate(pid, 3*time.Second, "launcher.sh", hd))
		}
	}
	errs = append(errs, l.clearCgroup(h))
	os.Remove(filepath.Join(hd, "nspawn.pid"))
	os.Remove(filepath.Join(hd, "launcher.pid"))
	prop := filepath.Join("/run/systemd/nspawn/propagate", h.Machine)
	errs = append(errs, removeTree(prop), hostNetDown(ctx, l.plan, h))
	return joinErrs(fmt.Sprintf("host %s: power off", h.Name), errs)
}
