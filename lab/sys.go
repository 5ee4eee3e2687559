package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run executes a host command and returns its output; a failure names the
// command and carries what it printed.
func run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		return msg, fmt.Errorf("%s %s: %s: %w", name, strings.Join(args, " "), msg, err)
	}
	return out.String(), nil
}

// mountsUnder lists mount points at or below dir, deepest first, so they
// can be unmounted in that order.
func mountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return nil
	}
	dir = filepath.Clean(dir)
	var ms []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		mp := unescapeMount(f[1])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			ms = append(ms, mp)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i]) > len(ms[j]) })
	return ms
}

// unescapeMount decodes the octal escapes (\040 for space) of /proc/mounts.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll unmounts everything at or below dir; a busy mount is detached
// lazily so that teardown never hangs on it.
func unmountAll(dir string) error {
	for _, mp := range mountsUnder(dir) {
		if err := syscall.Unmount(mp, 0); err != nil {
			if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", mp, err)
			}
		}
	}
	if left := mountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("unmount %s: still mounted: %s", dir, strings.Join(left, ", "))
	}
	return nil
}

// removeTree deletes dir after unmounting what is below it; it refuses to
// delete through a mount that is still there.
func removeTree(dir string) error {
	if err := unmountAll(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// cmdlineOf reads a process's argv; a gone process or a zombie gives nil.
func cmdlineOf(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// pidMatches says whether pid is alive and its argv holds every one of want,
// the check made before any signal so a reused pid is never hit.
func pidMatches(pid int, want ...string) bool {
	if pid <= 1 {
		return false
	}
	argv := strings.Join(cmdlineOf(pid), "\x00")
	if argv == "" {
		return false
	}
	for _, w := range want {
		if !strings.Contains(argv, w) {
			return false
		}
	}
	return true
}

// readPid reads a pid file; a missing or bad file gives 0.
func readPid(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0
	}
	return pid
}

// errStillAlive says a process outlived every signal the lab sent.
var errStillAlive = errors.New("still running after SIGKILL")

// terminate stops the process pid if its argv still holds want: SIGTERM,
// a second SIGTERM, then SIGKILL, each followed by a bounded wait.
func terminate(pid int, grace time.Duration, want ...string) error {
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, grace}, {syscall.SIGTERM, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}}
	for _, s := range steps {
		if !pidMatches(pid, want...) {
			return nil
		}
		if err := syscall.Kill(pid, s.sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal pid %d: %w", pid, err)
		}
		if waitGone(pid, s.wait, want...) {
			return nil
		}
	}
	return fmt.Errorf("stop pid %d: %w", pid, errStillAlive)
}

// waitGone polls until pid no longer matches want, up to d.
func waitGone(pid int, d time.Duration, want ...string) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !pidMatches(pid, want...) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !pidMatches(pid, want...)
}

// writeFile writes data to path atomically (temp file and rename), making
// the parent directory first.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
