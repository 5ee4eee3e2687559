package lab_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// sshOut runs cmd on host with the machine's OpenSSH client and the lab's
// ssh_config (strict host key checking against the lab's known_hosts).
// ConnectTimeout also bounds the banner exchange, which an emulated VM's
// sshd under load was seen to take over 3 s for (CI: "Connection timed
// out during banner exchange" right after the lab saw sshd up): 30 s
// unless extra sets one (ssh takes the first value given).
func sshOut(t *testing.T, l *lab.Lab, host, cmd string, extra ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	args := append(append([]string{"-F", l.SSHConfig()}, extra...), "-o", "BatchMode=yes", "-o", "ConnectTimeout=30")
	out, err := exec.CommandContext(ctx, "ssh", append(args, host, cmd)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// mustSSH is sshOut that fails the test on error.
func mustSSH(t *testing.T, l *lab.Lab, host, cmd string) string {
	t.Helper()
	out, err := sshOut(t, l, host, cmd)
	if err != nil {
		t.Fatalf("ssh %s %q: %v: %s", host, cmd, err, out)
	}
	return out
}

// TestMain lets tests share one lab (labtest.Shared) and tears it down.
func TestMain(m *testing.M) { labtest.Main(m) }

func TestLabHosts(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		labtest.Skip(t)
		t.Skip("no ssh client (make lab-deps)")
	}
	l := labtest.Shared(t, 3)
	for _, h := range l.Hosts() {
		if got := mustSSH(t, l, h.Name, "hostname"); got != h.Name {
			t.Errorf("%s: hostname = %q, want %q", h.Name, got, h.Name)
		}
		if got := mustSSH(t, l, h.Name, "ip -4 -o addr show dev eth0"); !strings.Contains(got, " "+h.IP+"/24 ") {
			t.Errorf("%s: eth0 = %q, want address %s", h.Name, got, h.IP)
		}
		got, _ := sshOut(t, l, h.Name, "timeout 60 systemctl is-system-running --wait")
		if got != "running" && got != "degraded" {
			t.Errorf("%s: systemctl is-system-running = %q, want running or degraded", h.Name, got)
		}
	}
	mustSSH(t, l, "h1", "echo mine > /opt/marker-$PPID")
	if out, err := sshOut(t, l, "h2", "ls /opt/marker-*"); err == nil {
		t.Errorf("h2 sees h1's /opt/marker: %q", out)
	}
	if got := mustSSH(t, l, "h2", "ping -c1 -W2 h3 >/dev/null && echo ok"); got != "ok" {
		t.Errorf("h2 ping h3 = %q", got)
	}
}

func TestLabHostKeys(t *testing.T) {
	l := labtest.Shared(t, 3)
	key, err := os.ReadFile(l.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	good, err := knownhosts.New(l.KnownHosts())
	if err != nil {
		t.Fatal(err)
	}
	// A known_hosts that holds h2's key under h1's names must be refused.
	data, _ := os.ReadFile(l.KnownHosts())
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	h1, h2 := l.Hosts()[0], l.Hosts()[1]
	swapped := strings.Replace(lines[1], h2.Name+","+h2.IP, h1.Name+","+h1.IP, 1) + "\n"
	badPath := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(badPath, []byte(swapped), 0o644)
	bad, err := knownhosts.New(badPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cb      ssh.HostKeyCallback
		wantErr bool
	}{{"lab known_hosts", good, false}, {"wrong key", bad, true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
				HostKeyCallback: tt.cb, Timeout: 5 * time.Second}
			c, err := ssh.Dial("tcp", net.JoinHostPort(h1.IP, "22"), cc)
			if err == nil {
				c.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("dial %s: err = %v, want error %v", h1.IP, err, tt.wantErr)
			}
		})
	}
}

// stateOf returns a host's state from Status.
func stateOf(t *testing.T, l *lab.Lab, host string) lab.HostStatus {
	t.Helper()
	for _, s := range l.Status() {
		if s.Name == host {
			return s
		}
	}
	t.Fatalf("no host %s in status", host)
	return lab.HostStatus{}
}

func TestLabFaults(t *testing.T) {
	l := labtest.Start(t, 2)
	ctx := t.Context()
	mustSSH(t, l, "h2", "echo kept > /opt/disk")
	if err := l.Stop(ctx, "h2"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if s := stateOf(t, l, "h2"); s.State != "stopped" {
		t.Errorf("after stop: state %q, want stopped", s.State)
	}
	if _, err := os.Stat("/run/netns/" + l.Hosts()[1].Netns); err == nil {
		t.Errorf("after stop: netns %s still there", l.Hosts()[1].Netns)
	}
	if out, err := sshOut(t, l, "h2", "true"); err == nil {
		t.Errorf("after stop: ssh h2 works: %s", out)
	}
	if err := l.Start(ctx, "h2"); err != nil {
		t.Fatalf("start: %v", err)
	}
	if got := mustSSH(t, l, "h2", "cat /opt/disk"); got != "kept" {
		t.Errorf("after start: /opt/disk = %q, want kept", got)
	}
	if err := l.Partition(ctx, "h1"); err != nil {
		t.Fatalf("partition: %v", err)
	}
	if s := stateOf(t, l, "h1"); s.State != "partitioned" {
		t.Errorf("after partition: state %q", s.State)
	}
	if out, err := sshOut(t, l, "h1", "true", "-o", "ConnectTimeout=2"); err == nil {
		t.Errorf("partitioned h1 answers ssh: %s", out)
	}
	if err := l.Heal(ctx, "h1"); err != nil {
		t.Fatalf("heal: %v", err)
	}
	if got := mustSSH(t, l, "h1", "ping -c1 -W2 h2 >/dev/null && echo ok"); got != "ok" {
		t.Errorf("after heal: h1 ping h2 = %q", got)
	}
}

func TestLabDownLeavesNothing(t *testing.T) {
	l := labtest.Start(t, 2)
	var pids []int
	for _, s := range l.Status() {
		if s.State != "running" {
			t.Fatalf("%s: state %q before down", s.Name, s.State)
		}
		pids = append(pids, s.NspawnPid, s.LauncherPid)
	}
	if up := leftovers(t, l, pids); len(up) < 5 {
		t.Fatalf("leftovers sees only %q while the lab is up", up)
	}
	ctx := t.Context()
	if err := l.Down(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := l.Down(ctx); err != nil {
		t.Fatalf("second down: %v", err)
	}
	for _, left := range leftovers(t, l, pids) {
		t.Errorf("after down: %s", left)
	}
}

// bannerWithin says whether ip:22 sends an SSH banner within d.
func bannerWithin(ip string, d time.Duration) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "22"), d)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4)
	n, _ := c.Read(buf)
	return string(buf[:n]) == "SSH-"
}

func TestLabCrashFreeze(t *testing.T) {
	l := labtest.Start(t, 2)
	ctx := t.Context()
	h1 := l.Hosts()[0]
	if !bannerWithin(h1.IP, 5*time.Second) {
		t.Fatalf("h1 sends no SSH banner before freeze")
	}
	if err := l.Freeze(ctx, "h1"); err != nil {
		t.Fatalf("freeze: %v", err)
	}
	if s := stateOf(t, l, "h1"); s.State != "frozen" {
		t.Errorf("after freeze: state %q, want frozen", s.State)
	}
	if bannerWithin(h1.IP, 2*time.Second) {
		t.Errorf("frozen h1 still sends an SSH banner")
	}
	if err := l.Thaw(ctx, "h1"); err != nil {
		t.Fatalf("thaw: %v", err)
	}
	if got := mustSSH(t, l, "h1", "hostname"); got != "h1" {
		t.Errorf("after thaw: hostname %q", got)
	}
	if err := l.Crash(ctx, "h2"); err != nil {
		t.Fatalf("crash: %v", err)
	}
	if s := stateOf(t, l, "h2"); s.State != "stopped" || s.LauncherPid != 0 {
		t.Errorf("after crash: %+v, want stopped with no launcher", s)
	}
	if err := l.Start(ctx, "h2"); err != nil {
		t.Fatalf("start after crash: %v", err)
	}
	if got := mustSSH(t, l, "h1", "ping -c1 -W2 h2 >/dev/null && echo ok"); got != "ok" {
		t.Errorf("after crash and start: h1 ping h2 = %q", got)
	}
}

// eventually polls cond every 200ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return cond()
}

func TestLabGuestReboot(t *testing.T) {
	l := labtest.Start(t, 1)
	before := stateOf(t, l, "h1")
	sshOut(t, l, "h1", "systemctl reboot") // the connection may drop: no error check
	rebooted := eventually(60*time.Second, func() bool {
		s := stateOf(t, l, "h1")
		return s.NspawnPid != 0 && s.NspawnPid != before.NspawnPid
	})
	if !rebooted {
		t.Fatalf("h1 not booted again: before %+v, now %+v", before, stateOf(t, l, "h1"))
	}
	if s := stateOf(t, l, "h1"); s.LauncherPid != before.LauncherPid {
		t.Errorf("launcher changed across the reboot: %d -> %d", before.LauncherPid, s.LauncherPid)
	}
	var got string
	eventually(60*time.Second, func() bool {
		got, _ = sshOut(t, l, "h1", "timeout 30 systemctl is-system-running --wait")
		return got == "running" || got == "degraded"
	})
	if got != "running" && got != "degraded" {
		t.Errorf("after reboot: is-system-running = %q", got)
	}
}
