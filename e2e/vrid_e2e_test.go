package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// vridTask is the lb-pair preflight task that probes the vrid.
const vridTask = "lb-pair | vrid not used by a foreign VRRP router"

// TestE2EVridConflict is the "vrid unused" preflight (ROLES.md 3) on a
// 3-host lab named vrid (lb hosts h1, h2): a foreign keepalived on h3
// (not an lb host) with a multicast instance for our vrid 51 stops
// site.yaml in the preflight play, with --check too, naming h3's address
// and the vrid, before any host is changed; the foreign instance on vrid
// 61 lets site.yaml pass (up to the lb-pair play: the master, node and
// addons plays need Kubernetes artifacts and are skipped by tag); a re-run
// with our own keepalived on h1, h2 running finds no conflict, and the
// BACKUP's probe lists the unicast adverts of our MASTER (the VIP holder;
// a BACKUP sends none); a foreign unicast instance on vrid 51 with h1, h2
// as peers stops the run too (keepalived 2.2 flaps under its adverts); one
// sending to another address, whose frames are flooded, only warns and
// leaves our routers' states alone. The probe runs kplay's own listener
// here (lab hosts have no tcpdump).
func TestE2EVridConflict(t *testing.T) {
	labtest.Skip(t)
	bin := labtest.BuildKplay(t)
	l := startNamedLab(t, "vrid", 3)
	work := t.TempDir()
	vip := vipOf(l)
	foreignAddr := strings.TrimSuffix(vip, ".250") + ".240"
	h1, h2, h3 := l.Hosts()[0].IP, l.Hosts()[1].IP, l.Hosts()[2].IP
	args := []string{"-i", l.Inventory(), "site.yaml", "-e", "vip=" + vip, "--skip-tags", "master,node,addons",
		"-e", "pki_local_dir=" + filepath.Join(work, "pki"), "-e", "lb_backend_port=2379"}

	startForeignVRRP(t, l, "h3", 51, foreignAddr, nil)
	for _, mode := range []string{"run", "--check"} {
		a := args
		if mode == "--check" {
			a = append(append([]string{}, args...), "--check")
		}
		r := kplay(t, bin, work, a...)
		checkVridStop(t, r, mode, h3+" vrid 51 (VRRPv2 multicast")
	}

	stopForeignVRRP(t, l, "h3")
	startForeignVRRP(t, l, "h3", 61, foreignAddr, nil)
	first := kplay(t, bin, work, args...)
	first.MustSucceed(t, "site.yaml with the foreign router on vrid 61")
	if msg := vridMsg(first, "h1"); !strings.Contains(msg, "vrid 51: no foreign VRRP router") || !strings.Contains(msg, h3+" vrid 61 (VRRPv2 multicast") {
		t.Errorf("probe report on h1: %q, want no conflict and %s on vrid 61 listed", msg, h3)
	}
	holders := vipHolders(t, l, vip, "h1", "h2")
	if len(holders) != 1 {
		t.Fatalf("VIP %s held by %q, want one of h1, h2", vip, holders)
	}

	again := kplay(t, bin, work, args...)
	again.MustSucceed(t, "site.yaml again with our keepalived running")
	// Only the MASTER (the VIP holder) advertises: its peer hears it.
	master, backup := holders[0], map[string]string{"h1": "h2", "h2": "h1"}[holders[0]]
	if msg := vridMsg(again, master); !strings.Contains(msg, "vrid 51: no foreign VRRP router") {
		t.Errorf("re-run probe report on %s (MASTER): %q, want no conflict", master, msg)
	}
	msg := vridMsg(again, backup)
	if !strings.Contains(msg, "vrid 51: no foreign VRRP router") || !strings.Contains(msg, l.Hosts()[hostIndex(master)].IP+" vrid 51 (VRRPv2 unicast") {
		t.Errorf("re-run probe report on %s (BACKUP): %q, want no conflict and %s's unicast adverts for vrid 51 listed", backup, msg, master)
	}
	t.Logf("probe report on %s with our keepalived running: %s", backup, msg)

	// A foreign unicast router on our vrid whose peers are h1, h2: its
	// adverts reach our keepalived (which flaps under them), so preflight
	// stops the run as for a multicast one.
	stopForeignVRRP(t, l, "h3")
	startForeignVRRP(t, l, "h3", 51, foreignAddr, []string{h1, h2})
	stopped := kplay(t, bin, work, args...)
	checkVridStop(t, stopped, "foreign unicast to h1, h2", h3+" vrid 51 (VRRPv2 unicast to ")
	for _, f := range stopped.Failures() {
		if !strings.Contains(f, "(its unicast peers overlap ours") {
			t.Errorf("foreign unicast to h1, h2: failure %q does not say why", f)
		}
	}

	// A foreign unicast router on our vrid sending to another address
	// (whose frames are flooded to every port, so the probe sees them):
	// a warning on both, the run goes on, and our routers do not change
	// state under its adverts.
	stopForeignVRRP(t, l, "h3")
	flooded := strings.TrimSuffix(vip, ".250") + ".241"
	mustSSH(t, l, "h3", "ip neigh replace "+flooded+" lladdr ff:ff:ff:ff:ff:ff dev eth0 nud permanent")
	since := strings.TrimSpace(mustSSH(t, l, "h1", "date +%s"))
	startForeignVRRP(t, l, "h3", 51, foreignAddr, []string{flooded})
	warned := kplay(t, bin, work, args...)
	warned.MustSucceed(t, "site.yaml with a foreign unicast router on vrid 51 sending elsewhere")
	checkNoFlap(t, l, since)
	for _, h := range []string{"h1", "h2"} {
		want := "WARNING: vrid 51 is also used by a foreign unicast VRRP router on eth0 in 4 s (kplay probe): " + h3 + " vrid 51 (VRRPv2 unicast to " + flooded + ","
		if msg := vridMsg(warned, h); !strings.Contains(msg, want) {
			t.Errorf("probe report on %s: %q, want %q", h, msg, want)
		}
		if !shown(warned, h, "lb-pair | vrid shared with a foreign unicast router", want) {
			t.Errorf("%s: the warning was not shown as its own task", h)
		}
	}
	if shown(again, "h1", "lb-pair | vrid shared with a foreign unicast router", "") {
		t.Errorf("a warning was shown without a foreign router on our vrid")
	}
	t.Logf("with a foreign unicast router on vrid 51 sending elsewhere: %s", vridMsg(warned, "h1"))
}

// checkNoFlap: neither lb host changed VRRP state since epoch, with a
// foreign router on our vrid on the link; on failure it shows their
// keepalived logs since then.
func checkNoFlap(t *testing.T, l *lab.Lab, epoch string) {
	t.Helper()
	start, err := strconv.Atoi(epoch)
	if err != nil {
		t.Fatalf("epoch %q: %v", epoch, err)
	}
	for _, h := range []string{"h1", "h2"} {
		st := strings.Fields(mustSSH(t, l, h, "/etc/keepalived/kplay-vrrp-state.sh"))
		if len(st) != 2 {
			t.Fatalf("%s: VRRP state file: %q", h, st)
		}
		if at, err := strconv.Atoi(st[1]); err != nil || at >= start {
			log, _ := ssh(t, l, h, "journalctl -o short-precise --no-pager -u keepalived --since @"+epoch+" | tail -40")
			t.Errorf("%s: VRRP state %q changed after the foreign unicast router started (at %s); keepalived since:\n%s", h, st, epoch, log)
		}
	}
}

// checkVridStop: the run failed in preflight on the lb hosts at the vrid
// probe, naming the foreign address and vrid 51, and nothing changed.
func checkVridStop(t *testing.T, r run, mode, foreign string) {
	t.Helper()
	r.MustStopInPreflight(t, mode)
	fails := r.Failures()
	want := "vrid 51 is used by a foreign VRRP router on eth0 in 4 s (kplay probe): " + foreign
	if len(fails) != 2 || !strings.Contains(fails[0], want) || !strings.Contains(fails[1], want) {
		t.Errorf("%s: failures %q, want h1 and h2 failing with %q", mode, fails, want)
	}
	t.Logf("%s: preflight stopped the run:\n%s", mode, strings.Join(fails, "\n"))
}

// vridMsg is the probe task's message on host (it must have run there,
// once, and reported no change).
func vridMsg(r run, host string) string {
	var msgs []string
	for _, e := range r.Events {
		if e.Type == "host_result" && e.Host == host && strings.HasSuffix(e.Task, vridTask) {
			if e.Status != "ok" {
				return fmt.Sprintf("status %s: %s", e.Status, e.Msg)
			}
			msgs = append(msgs, e.Msg)
		}
	}
	if len(msgs) != 1 {
		return fmt.Sprintf("probe ran %d times: %q", len(msgs), msgs)
	}
	return msgs[0]
}

// shown says whether task ran (ok, not skipped) on host with a message
// containing want.
func shown(r run, host, task, want string) bool {
	for _, e := range r.Events {
		if e.Type == "host_result" && e.Host == host && strings.HasSuffix(e.Task, task) && e.Status == "ok" && strings.Contains(e.Msg, want) {
			return true
		}
	}
	return false
}

func hostIndex(name string) int {
	var i int
	fmt.Sscanf(name, "h%d", &i)
	return i - 1
}

// startNamedLab is labtest.Start with a fixed lab name (this test's own
// network, apart from the other suites' labs).
func startNamedLab(t *testing.T, name string, n int) *lab.Lab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, lab.Config{Name: name, Hosts: n, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("lab up %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down %s: %v", name, err)
		}
	})
	return l
}

// foreignPid is where the foreign keepalived keeps its pid on the host.
const foreignPid = "/run/kplay-test-keepalived.pid"

// startForeignVRRP starts a keepalived of its own on host (config file
// written by the test, not the role's) with one VRRP instance for vrid
// holding addr, multicast (or unicast to peers when given), waits until
// it holds addr (it is advertising), and registers its stop.
func startForeignVRRP(t *testing.T, l *lab.Lab, host string, vrid int, addr string, peers []string) {
	t.Helper()
	unicast := ""
	if len(peers) > 0 {
		unicast = fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", l.Hosts()[hostIndex(host)].IP, strings.Join(peers, "\n        "))
	}
	conf := fmt.Sprintf(`global_defs {
    router_id foreign
}
vrrp_instance FOREIGN {
    state MASTER
    interface eth0
    virtual_router_id %d
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass foreign1
    }
%s    virtual_ipaddress {
        %s/32 dev eth0
    }
}
`, vrid, unicast, addr)
	mustSSH(t, l, host, "mkdir -p /etc/kplay-test && cat > /etc/kplay-test/foreign.conf <<'EOF'\n"+conf+"EOF\n"+
		"keepalived --vrrp -f /etc/kplay-test/foreign.conf -p "+foreignPid+" -r /run/kplay-test-vrrp.pid")
	t.Cleanup(func() { stopForeignVRRP(t, l, host) })
	if _, ok := waitFor(20*time.Second, func() bool {
		out, err := ssh(t, l, host, "ip -o -4 addr show dev eth0")
		return err == nil && strings.Contains(out, " "+addr+"/32")
	}); !ok {
		t.Fatalf("the foreign keepalived on %s (vrid %d) did not take %s within 20 s", host, vrid, addr)
	}
}

// stopForeignVRRP stops the foreign keepalived by its pid (after checking
// the pid is that keepalived) and waits until it is gone; safe to call
// twice, and from a cleanup (its own context: t.Context() is done then).
func stopForeignVRRP(t *testing.T, l *lab.Lab, host string) {
	t.Helper()
	script := `p=$(cat ` + foreignPid + ` 2>/dev/null) || exit 0
if [ -n "$p" ] && tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q 'kplay-test/foreign.conf'; then
  kill "$p"
  for i in $(seq 50); do [ -d /proc/$p ] || break; sleep 0.2; done
  [ -d /proc/$p ] && { echo "keepalived $p still running" >&2; exit 1; }
fi
rm -f ` + foreignPid
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", "-F", l.SSHConfig(), "-o", "ConnectTimeout=5", host, script).CombinedOutput()
	if err != nil {
		t.Errorf("stop the foreign keepalived on %s: %v\n%s", host, err, out)
	}
}
