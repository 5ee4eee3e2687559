package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
)

// writer is a loop on a lab host writing a key through the etcd members
// every 100 ms and counting successes and failures, until stopped.
type writer struct {
	t    *testing.T
	l    *lab.Lab
	host string
}

// startWriter starts the loop on host, writing through the members at
// ips the way a cluster client (kube-apiserver) does: etcdctl is given
// every endpoint, so a member restarting is not a failed write while
// the cluster has quorum. The last failure's output is kept in
// /tmp/kplay-writer.err for the test's message.
func startWriter(t *testing.T, l *lab.Lab, host string, ips ...string) *writer {
	t.Helper()
	eps := make([]string, len(ips))
	for i, ip := range ips {
		eps[i] = "https://" + ip + ":2379"
	}
	loop := `rm -f /tmp/kplay-writer.stop /tmp/kplay-writer.count /tmp/kplay-writer.err; ok=0; bad=0; i=0; ` +
		`while [ ! -e /tmp/kplay-writer.stop ]; do i=$((i+1)); ` +
		`if ETCDCTL_ENDPOINTS=` + strings.Join(eps, ",") + ` timeout 5 /usr/local/bin/kplay-etcdctl put writer-$i v >/tmp/kplay-writer.out 2>&1; ` +
		`then ok=$((ok+1)); else bad=$((bad+1)); { date +%T.%N; cat /tmp/kplay-writer.out; } > /tmp/kplay-writer.err; fi; ` +
		`echo "$ok $bad" > /tmp/kplay-writer.count; sleep 0.1; done`
	mustSSH(t, l, host, "nohup sh -c '"+loop+"' >/dev/null 2>&1 &")
	w := &writer{t: t, l: l, host: host}
	t.Cleanup(func() { ssh(t, l, host, "touch /tmp/kplay-writer.stop") })
	if _, ok := waitFor(10*time.Second, func() bool { ok, _ := w.counts(); return ok > 0 }); !ok {
		t.Fatalf("writer on %s wrote nothing", host)
	}
	return w
}

// etcdIPs are the addresses of the etcd members of the site lab (h1-h3).
func etcdIPs(l *lab.Lab) []string {
	return []string{l.Hosts()[0].IP, l.Hosts()[1].IP, l.Hosts()[2].IP}
}

// counts reads how many writes succeeded and failed so far.
func (w *writer) counts() (ok, bad int) {
	out, err := ssh(w.t, w.l, w.host, "cat /tmp/kplay-writer.count")
	if err != nil {
		return 0, 0
	}
	sprintfScan(strings.TrimSpace(out), &ok, &bad)
	return ok, bad
}

// stop ends the loop and fails the test if a write failed.
func (w *writer) stop(what string) {
	w.t.Helper()
	before, _ := w.counts()
	waitFor(5*time.Second, func() bool { ok, _ := w.counts(); return ok > before })
	mustSSH(w.t, w.l, w.host, "touch /tmp/kplay-writer.stop")
	ok, bad := w.counts()
	w.t.Logf("%s: writer: %d writes ok, %d failed", what, ok, bad)
	if bad != 0 {
		last, _ := ssh(w.t, w.l, w.host, "cat /tmp/kplay-writer.err")
		w.t.Errorf("%s: %d writes failed (of %d); the last failure: %s", what, bad, ok+bad, strings.TrimSpace(last))
	}
}

// checkFlagChange changes one etcd setting: only the etcd hosts change,
// their members restart one at a time with no failed write, and a snapshot
// lands on the control machine first.
func checkFlagChange(t *testing.T, l *lab.Lab, bin, work string, args []string) {
	w := startWriter(t, l, "h1", etcdIPs(l)...)
	r := kplay(t, bin, work, append(args, "-e", "etcd_snapshot_count=20000")...)
	r.MustSucceed(t, "site.yaml with etcd_snapshot_count=20000")
	w.stop("etcd flag change")
	for h, c := range r.Recap() {
		isEtcd := h == "h1" || h == "h2" || h == "h3"
		if isEtcd != (c["changed"] > 0) {
			t.Errorf("%s changed=%d: only the etcd hosts should change: %q", h, c["changed"], r.Changed())
		}
	}
	restarted := 0
	for _, c := range r.Changed() {
		if strings.HasPrefix(c, "etcd : restart etcd member and wait for health @ ") {
			restarted++
		}
	}
	if restarted != 3 {
		t.Errorf("%d members restarted, want 3: %q", restarted, r.Changed())
	}
	snaps, _ := filepath.Glob(filepath.Join(work, "backup", "etcd", "snapshot-*.db"))
	if len(snaps) == 0 {
		t.Errorf("no etcd snapshot on the control machine in %s", filepath.Join(work, "backup", "etcd"))
	} else if st, err := os.Stat(snaps[0]); err != nil || st.Size() == 0 {
		t.Errorf("snapshot %s empty or unreadable: %v", snaps[0], err)
	}
	env := mustSSH(t, l, "h2", "grep SNAPSHOT_COUNT /etc/etcd/etcd.env")
	if !strings.Contains(env, "ETCD_SNAPSHOT_COUNT=20000") {
		t.Errorf("h2 etcd.env: %q", env)
	}
	checkRollback(t, l, bin, work, args)
}

// runningSnapshotCount is ETCD_SNAPSHOT_COUNT in the environment of the
// etcd process running on host.
func runningSnapshotCount(t *testing.T, l *lab.Lab, host string) string {
	out := mustSSH(t, l, host, `tr '\0' '\n' < /proc/$(systemctl show -p MainPID --value etcd)/environ | grep ^ETCD_SNAPSHOT_COUNT=`)
	return strings.TrimSpace(out)
}

// checkRollback: kplay rollback puts the previous etcd.env back, then the
// etcd role's rollback tasks restart the members onto it one at a time,
// each gated on cluster health, while the writer loses no write: right
// after the rollback every running member has the old flag. The next site.yaml run (with the old settings) finds etcd
// running on its files and changes nothing.
func checkRollback(t *testing.T, l *lab.Lab, bin, work string, args []string) {
	w := startWriter(t, l, "h1", etcdIPs(l)...)
	out, code := kplayText(t, bin, work, "rollback", "-i", l.Inventory())
	w.stop("kplay rollback restarting the members")
	t.Logf("kplay rollback:\n%s", tail(out, 2500))
	if code != 0 {
		t.Fatalf("kplay rollback: exit %d", code)
	}
	if !strings.Contains(out, "rollback tasks of role etcd (play etcd) ran on h1, h2, h3") {
		t.Errorf("kplay rollback did not run the etcd role's rollback tasks on h1-h3")
	}
	if n := len(regexp.MustCompile(`(?m)^changed: \[h[123]\]`).FindAllString(out, -1)); n != 3 {
		t.Errorf("%d members restarted by the rollback tasks, want 3", n)
	}
	for _, h := range []string{"h1", "h2", "h3"} {
		if env := mustSSH(t, l, h, "grep SNAPSHOT_COUNT /etc/etcd/etcd.env"); !strings.Contains(env, "=10000") {
			t.Errorf("%s etcd.env after rollback: %q", h, env)
		}
		if got := runningSnapshotCount(t, l, h); got != "ETCD_SNAPSHOT_COUNT=10000" {
			t.Errorf("%s: running etcd has %q right after kplay rollback, want 10000", h, got)
		}
	}
	mustSSH(t, l, "h1", "/usr/local/bin/kplay-etcdctl endpoint health --cluster")
	again := kplay(t, bin, work, args...)
	again.MustSucceed(t, "site.yaml after kplay rollback")
	for h, c := range again.Recap() {
		if c["changed"] != 0 {
			t.Errorf("after rollback, site.yaml: %s changed=%d: %q", h, c["changed"], again.Changed())
		}
	}
}

// checkAddMembers grows the cluster from 3 to 4 (h4) then 5 (h5) members
// with playbooks/etcd-add-member.yaml while a writer loop runs.
func checkAddMembers(t *testing.T, l *lab.Lab, bin, work, vip string) {
	inv, err := os.ReadFile(l.Inventory())
	if err != nil {
		t.Fatal(err)
	}
	w := startWriter(t, l, "h1", etcdIPs(l)...)
	for i, add := range []string{"h4", "h5"} {
		var extra strings.Builder
		for _, h := range []string{"h4", "h5"}[:i+1] {
			extra.WriteString("        " + h + ": {}\n")
		}
		grown := strings.Replace(string(inv), "        h3: {}\n", "        h3: {}\n"+extra.String(), 1)
		path := filepath.Join(work, "hosts-"+add+".yaml")
		if err := os.WriteFile(path, []byte(grown), 0o600); err != nil {
			t.Fatal(err)
		}
		r := kplay(t, bin, work, "-i", path, "etcd-add-member.yaml", "-e", "vip="+vip,
			"-e", "pki_local_dir="+filepath.Join(work, "pki"))
		r.MustSucceed(t, "etcd-add-member.yaml adding "+add)
		t.Logf("adding %s took %v", add, r.Took.Round(time.Millisecond))
		members := mustSSH(t, l, "h1", "/usr/local/bin/kplay-etcdctl member list -w simple")
		if n := strings.Count(members, ", started, "); n != 4+i {
			t.Fatalf("after adding %s: %d started members, want %d:\n%s", add, n, 4+i, members)
		}
		mustSSH(t, l, add, "/usr/local/bin/kplay-etcdctl endpoint health --cluster")
	}
	w.stop("adding two members")
}
