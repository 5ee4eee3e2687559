// Package labtest brings a kplay lab up for a test and tears it down after
// it, skipping (never failing) where this machine cannot run a lab, so a
// test package can run on real hosts when it can and stay green when not.
package labtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
)

// EnvVar must be set to 1 for lab tests to run: they boot real hosts and
// take seconds, so the ordinary `go test ./...` skips them (`make e2e` sets it).
const EnvVar = "KPLAY_E2E"

// seq makes lab names unique within one test process.
var seq atomic.Int32

// Available says why this machine cannot run a lab, or nil if it can:
// root, systemd-nspawn and ip, and either a cached base image or debootstrap
// plus a reachable Debian mirror to build one.
func Available() error {
	if os.Geteuid() != 0 {
		return lab.ErrNotRoot
	}
	for _, t := range []string{"systemd-nspawn", "ip", "mount"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s not found (make lab-deps)", t)
		}
	}
	if lab.BaseCached("") {
		return nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("no cached base image and no debootstrap (make lab-deps)")
	}
	return mirrorReachable(lab.DetectMirror())
}

// mirrorReachable dials the mirror's host, bounded to a few seconds.
func mirrorReachable(mirror string) error {
	u, err := url.Parse(mirror)
	if err != nil || u.Host == "" {
		return fmt.Errorf("no cached base image and mirror %q is not a URL", mirror)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return fmt.Errorf("no cached base image and mirror %s unreachable: %w", mirror, err)
	}
	c.Close()
	return nil
}

// Skip skips t unless lab tests are asked for (KPLAY_E2E=1) and possible.
func Skip(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvVar) != "1" {
		t.Skipf("lab test: set %s=1 (make e2e) to boot real hosts", EnvVar)
	}
	if err := Available(); err != nil {
		t.Skipf("lab test: this machine cannot run a lab: %v", err)
	}
}

// Start brings up a lab of n hosts in a temp dir for t and registers its
// teardown; it skips t where labs cannot run, and fails t if Up fails.
func Start(t testing.TB, n int) *lab.Lab {
	t.Helper()
	Skip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var l *lab.Lab
	var err error
	// freeName checks the subnet, but a lab started in parallel can take
	// it before this one's bridge exists: then another name, a few times.
	for range 3 {
		dir := t.TempDir() // removed after Down, which is registered later
		l, err = lab.Up(ctx, lab.Config{Name: freeName("t"), Hosts: n, Dir: dir, Log: logWriter{t}})
		if !errors.Is(err, lab.ErrSubnetTaken) {
			break
		}
		t.Logf("lab up: %v; trying another name", err)
	}
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}

// freeName picks a unique lab name whose subnet no running lab uses.
func freeName(prefix string) string {
	var name string
	for range 50 {
		name = fmt.Sprintf("%s%d-%d", prefix, os.Getpid()%100000, seq.Add(1))
		if lab.CheckSubnet(name) == nil {
			break
		}
	}
	return name
}

// logWriter sends the lab's progress lines to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// AvailableVM says why this machine cannot run lab VMs, or nil if it can:
// what Available needs, plus QEMU and qemu-img, and either a cached VM image
// or debootstrap and mkfs.ext4 to build one.
func AvailableVM() error {
	if err := Available(); err != nil {
		return err
	}
	for _, t := range []string{"qemu-system-x86_64", "qemu-img"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s not found (make lab-deps)", t)
		}
	}
	if lab.VMImageCached("") {
		return nil
	}
	for _, t := range []string{"debootstrap", "mkfs.ext4"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("no cached vm image and no %s (make lab-deps)", t)
		}
	}
	return mirrorReachable(lab.DetectMirror())
}

// SkipVM skips t unless lab tests are asked for and lab VMs can run here.
func SkipVM(t testing.TB) {
	t.Helper()
	Skip(t)
	if err := AvailableVM(); err != nil {
		t.Skipf("lab vm test: this machine cannot run lab VMs: %v", err)
	}
}

// StartVM brings up a lab of n nspawn hosts plus vms QEMU VMs (group node
// = the VMs) in a temp dir for t and registers its teardown; it skips t
// where VMs cannot run. VMs boot in software emulation: allow minutes.
func StartVM(t testing.TB, n, vms int) *lab.Lab {
	t.Helper()
	SkipVM(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, lab.Config{Name: freeName("v"), Hosts: n, VMNodes: vms, Dir: dir,
		BootTimeout: 10 * time.Minute, Log: logWriter{t}})
	if err != nil {
		t.Fatalf("lab up with %d vms: %v", vms, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}
