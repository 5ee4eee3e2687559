package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Crash cuts a host's power: every process of the host (launcher, nspawn,
// the guest) gets SIGKILL at once, with no clean halt, then the host is
// cleaned up as by Stop. Peers see it vanish as on a real crash.
func (l *Lab) Crash(ctx context.Context, name string) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	if l.mainPid(h) == 0 {
		return fmt.Errorf("crash host %s: not running", h.Name)
	}
	for _, r := range cgroupRoots() {
		for _, pid := range cgroupPids(cgroupTree(filepath.Join(r, l.cgroupOf(h)))) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return l.Stop(ctx, name)
}

// freezeFile is the cgroup v2 freezer of a host (the unified hierarchy on a
// hybrid machine), or "" when this machine has none.
func (l *Lab) freezeFile(h Host) string {
	for _, r := range cgroupRoots() {
		p := filepath.Join(r, l.cgroupOf(h), "cgroup.freeze")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Freeze stops every process of a running host where it is (cgroup
// freezer): the host hangs, its sockets stay open, peers time out.
func (l *Lab) Freeze(ctx context.Context, name string) error { return l.setFrozen(name, true) }

// Thaw lets a frozen host run on.
func (l *Lab) Thaw(ctx context.Context, name string) error { return l.setFrozen(name, false) }

// setFrozen writes the host's cgroup.freeze.
func (l *Lab) setFrozen(name string, frozen bool) error {
	h, err := l.host(name)
	if err != nil {
		return err
	}
	f := l.freezeFile(h)
	if f == "" {
		return fmt.Errorf("freeze host %s: no cgroup v2 freezer for it (host stopped?)", h.Name)
	}
	v := "0"
	if frozen {
		v = "1"
	}
	if err := os.WriteFile(f, []byte(v), 0o644); err != nil {
		return fmt.Errorf("freeze host %s: %w", h.Name, err)
	}
	return nil
}

// isFrozen says whether the host's cgroup is frozen.
func (l *Lab) isFrozen(h Host) bool {
	f := l.freezeFile(h)
	if f == "" {
		return false
	}
	data, err := os.ReadFile(f)
	return err == nil && strings.TrimSpace(string(data)) == "1"
}
