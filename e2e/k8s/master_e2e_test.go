package k8s_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// masters are the lab's masters (and etcd members) on a 5-host lab; h4 and
// h5 are the dedicated LB pair holding the VIP.
var masters = []string{"h1", "h2", "h3"}

// TestE2EMasterOnLab is issue 7's check of the master role on a fresh
// 5-host lab k8sm (h1-h3 etcd + masters, h4-h5 lb): --check predicts the
// real run's changes one to one; site.yaml gives three apiservers ready on
// their own address and through the VIP with the user's admin.conf,
// healthy controller-managers and schedulers, one holder of each leader
// lease, every master in the kubernetes endpoints, and a working
// control plane (a Deployment is stored and read back, its ReplicaSet and
// pods made by the controller-manager, the pods seen by the scheduler); a
// second run changes nothing. HA: with the VIP holder and one master
// powered off, kubectl through the VIP answers within 15 s; powered on
// again, every master is ready. Then an apiserver flag change restarts the
// apiservers one at a time; `kplay rollback` puts the previous unit files
// back and its master rollback tasks restart the apiservers onto them one
// master at a time (only the apiservers), all ready right after; the next
// run changes nothing in the master role.
func TestE2EMasterOnLab(t *testing.T) {
	skipUnlessK8s(t, "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
	bin := labtest.BuildKplay(t)
	l := upLab(t, lab.Config{Name: "k8sm", Hosts: 5})
	work := t.TempDir()
	admin := filepath.Join(work, "pki", "kubeconfig", "admin.conf")
	// The nspawn masters are the lab's node group too, but they cannot run
	// kubelet: the node and addons plays are for labs with VM nodes.
	args := []string{"-i", l.Inventory(), "site.yaml", "--skip-tags", "node,addons",
		"-e", "pki_local_dir=" + filepath.Join(work, "pki")}

	t.Run("preflight service_cidr overlaps the lab", func(t *testing.T) { checkCIDRPreflight(t, l, bin, work, args) })
	check := kplay(t, bin, work, append([]string{"--check"}, args...)...)
	check.MustSucceed(t, "site.yaml --check on the fresh lab")
	first := kplay(t, bin, work, args...)
	first.MustSucceed(t, "site.yaml")
	t.Logf("site.yaml first run: %v; --check run: %v", first.Took.Round(time.Second), check.Took.Round(time.Second))
	if len(first.ChangedIn("master : ")) == 0 {
		t.Fatal("the first run changed nothing in the master role")
	}
	samePrediction(t, check, first)
	checkMasterPreflightPassed(t, first)
	if !strings.Contains(first.Raw, "admin kubeconfig: "+admin) {
		t.Errorf("the run does not say where admin.conf is (%s)", admin)
	}

	t.Run("control plane", func(t *testing.T) { checkControlPlane(t, l, admin) })
	t.Run("workload objects", func(t *testing.T) { checkDeployment(t, admin) })

	second := kplay(t, bin, work, args...)
	second.MustSucceed(t, "site.yaml again")
	t.Logf("site.yaml second run: %v", second.Took.Round(time.Second))
	second.MustChangeNothing(t, "second run")

	t.Run("HA", func(t *testing.T) { checkMasterFailover(t, l, admin) })
	t.Run("flag change and rollback", func(t *testing.T) { checkFlagRollback(t, l, bin, work, admin, args) })
}

// checkControlPlane: /readyz through the VIP (admin.conf's server) and on
// each master's own address at v1.34.4 with etcd checked, controller-manager
// and scheduler /healthz on every master, one holder per leader lease,
// every master ip in the kubernetes EndpointSlice.
func checkControlPlane(t *testing.T, l *lab.Lab, admin string) {
	server := mustKubectl(t, admin, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	if want := "https://" + vipOf(l) + ":6443"; server != want {
		t.Errorf("admin.conf server = %q, want %q (the VIP)", server, want)
	}
	if got := mustKubectl(t, admin, "get", "--raw", "/readyz"); got != "ok" {
		t.Errorf("/readyz through the VIP = %q", got)
	}
	for _, m := range masters {
		srv := "https://" + ipOf(t, l, m) + ":6443"
		verbose := mustKubectl(t, admin, "--server", srv, "get", "--raw", "/readyz?verbose")
		if !strings.Contains(verbose, "[+]etcd ok") || !strings.Contains(verbose, "readyz check passed") {
			t.Errorf("%s /readyz?verbose:\n%s", m, verbose)
		}
		if v := mustKubectl(t, admin, "--server", srv, "version", "-o", "json"); !strings.Contains(v, `"gitVersion": "`+kubeVersion+`"`) {
			t.Errorf("%s version: %s", m, v)
		}
		health := mustSSH(t, l, m, "curl -sk https://127.0.0.1:10257/healthz; echo; curl -sk https://127.0.0.1:10259/healthz")
		if strings.Fields(health)[0] != "ok" || len(strings.Fields(health)) != 2 || strings.Fields(health)[1] != "ok" {
			t.Errorf("%s controller-manager, scheduler /healthz: %q", m, health)
		}
	}
	for _, lease := range []string{"kube-controller-manager", "kube-scheduler"} {
		holder := mustKubectl(t, admin, "-n", "kube-system", "get", "lease", lease, "-o", "jsonpath={.spec.holderIdentity}")
		if !strings.HasPrefix(holder, "h1_") && !strings.HasPrefix(holder, "h2_") && !strings.HasPrefix(holder, "h3_") {
			t.Errorf("lease %s held by %q, want a master", lease, holder)
		}
	}
	eps := mustKubectl(t, admin, "-n", "default", "get", "endpointslices", "-l", "kubernetes.io/service-name=kubernetes",
		"-o", "jsonpath={.items[*].endpoints[*].addresses[*]}")
	for _, m := range masters {
		if !strings.Contains(" "+eps+" ", " "+ipOf(t, l, m)+" ") {
			t.Errorf("kubernetes endpoints %q lack %s (%s)", eps, m, ipOf(t, l, m))
		}
	}
	if strings.Contains(eps, vipOf(l)) {
		t.Errorf("kubernetes endpoints %q contain the VIP: an apiserver advertises it", eps)
	}
}

// checkDeployment: a Deployment created through the VIP is read back; the
// active controller-manager makes its ReplicaSet and two pods; the active
// scheduler reports them unschedulable (the lab has no kubelet yet).
func checkDeployment(t *testing.T, admin string) {
	mustKubectl(t, admin, "create", "deployment", "kplay-e2e", "--image=registry.k8s.io/pause:3.10", "--replicas=2")
	if got := mustKubectl(t, admin, "get", "deployment", "kplay-e2e", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}"); got != "2 registry.k8s.io/pause:3.10" {
		t.Errorf("deployment read back: %q", got)
	}
	var pods, rs, sched string
	if _, ok := waitFor(90*time.Second, func() bool {
		rs, _ = kubectl(t, admin, "get", "rs", "-l", "app=kplay-e2e", "-o", "name")
		pods, _ = kubectl(t, admin, "get", "pods", "-l", "app=kplay-e2e", "-o", "name")
		sched, _ = kubectl(t, admin, "get", "events", "--field-selector", "reason=FailedScheduling", "-o", "name")
		return len(strings.Fields(rs)) == 1 && len(strings.Fields(pods)) == 2 && sched != ""
	}); !ok {
		t.Errorf("within 90 s: replicasets %q, pods %q, FailedScheduling events %q (want 1, 2, some)", rs, pods, sched)
	}
	mustKubectl(t, admin, "delete", "deployment", "kplay-e2e", "--wait=false")
}

// checkMasterFailover powers off the VIP holder and the master h1; the API
// must answer through the VIP within 15 s, reads and writes; powered on
// again, both come back and every master's /readyz is ok.
func checkMasterFailover(t *testing.T, l *lab.Lab, admin string) {
	holders := vipHolders(t, l, vipOf(l), "h4", "h5")
	if len(holders) != 1 {
		t.Fatalf("before failover: VIP held by %q", holders)
	}
	down := []string{holders[0], "h1"}
	stopping := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	for _, h := range down {
		if err := l.Stop(ctx, h); err != nil {
			t.Fatalf("lab stop %s: %v", h, err)
		}
	}
	t.Cleanup(func() {
		for _, h := range down {
			l.Start(context.WithoutCancel(ctx), h)
		}
	})
	took, ok := waitFor(15*time.Second, func() bool {
		out, err := kubectl(t, admin, "get", "--raw", "/readyz", "--request-timeout", "3s")
		return err == nil && out == "ok"
	})
	if !ok {
		t.Fatalf("no ready API through the VIP within 15 s after stopping %q", down)
	}
	t.Logf("API ready through the VIP %v after %q were off (%v after the first power-off began)",
		took.Round(100*time.Millisecond), down, time.Since(stopping).Round(100*time.Millisecond))
	mustKubectl(t, admin, "-n", "default", "create", "configmap", "kplay-failover", "--from-literal=k=v")
	if got := mustKubectl(t, admin, "-n", "default", "get", "configmap", "kplay-failover", "-o", "jsonpath={.data.k}"); got != "v" {
		t.Errorf("configmap written during the failover reads %q", got)
	}
	for _, h := range down {
		if err := l.Start(ctx, h); err != nil {
			t.Fatalf("lab start %s: %v", h, err)
		}
	}
	if _, ok := waitFor(4*time.Minute, func() bool { return allReady(t, l, admin) }); !ok {
		t.Errorf("after starting %q again: not every master is ready", down)
	}
}

// allReady says whether every master's own /readyz is ok.
func allReady(t *testing.T, l *lab.Lab, admin string) bool {
	for _, m := range masters {
		out, err := kubectl(t, admin, "--server", "https://"+ipOf(t, l, m)+":6443", "get", "--raw", "/readyz", "--request-timeout", "5s")
		if err != nil || out != "ok" {
			return false
		}
	}
	return true
}

// runningFlag says whether the kube-apiserver running on host has flag on
// its command line.
func runningFlag(t *testing.T, l *lab.Lab, host, flag string) bool {
	out := mustSSH(t, l, host, `tr '\0' '\n' < /proc/$(systemctl show -p MainPID --value kube-apiserver)/cmdline`)
	return strings.Contains(out, flag)
}

// checkFlagRollback: an apiserver_extra_args change rewrites the unit on
// the three masters and restarts them one at a time (every apiserver
// ready, the flag live); kplay rollback restores the previous unit files
// and the master role's rollback tasks restart the apiservers onto them,
// one master at a time, each gated on its /readyz: right after the
// rollback every apiserver runs without the flag and is ready, the rollback
// tasks restarted no controller-manager or scheduler (their files did not
// change; they may restart on their own when their apiserver goes away),
// and the next run (--check agreeing) changes nothing of the master role
// and restarts nothing.
func checkFlagRollback(t *testing.T, l *lab.Lab, bin, work, admin string, args []string) {
	const flag = "--default-watch-cache-size=200"
	r := kplay(t, bin, work, append(args, "-e", `{"apiserver_extra_args": {"default-watch-cache-size": 200}}`)...)
	r.MustSucceed(t, "site.yaml with an apiserver flag")
	t.Logf("flag change run: %v", r.Took.Round(time.Second))
	restarts := r.ChangedIn("master : restart kube-apiserver")
	if len(restarts) != 3 || len(r.ChangedIn("master : restart kube-controller-manager")) != 0 {
		t.Errorf("restarted: %q, want the 3 apiservers only", r.Changed())
	}
	for _, m := range masters {
		if !runningFlag(t, l, m, flag) {
			t.Errorf("%s: apiserver runs without %s after the change", m, flag)
		}
	}
	if !allReady(t, l, admin) {
		t.Errorf("not every apiserver ready after the flag change")
	}
	out, code := kplayText(t, bin, work, "rollback", "-i", l.Inventory())
	t.Logf("kplay rollback:\n%s", tail(out, 2500))
	if code != 0 {
		t.Fatalf("kplay rollback: exit %d", code)
	}
	if want := "rollback tasks of role master (play master) ran on h1, h2, h3"; !strings.Contains(out, want) {
		t.Errorf("kplay rollback did not say %q", want)
	}
	for _, m := range masters {
		if unit := mustSSH(t, l, m, "cat /etc/systemd/system/kube-apiserver.service"); strings.Contains(unit, flag) {
			t.Errorf("%s: the unit still has %s after kplay rollback", m, flag)
		}
		if runningFlag(t, l, m, flag) {
			t.Errorf("%s: apiserver still runs with %s right after kplay rollback", m, flag)
		}
		for _, unit := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
			restarted := strings.Contains(taskSection(out, "master : master rollback | "+unit), "changed: ["+m+"]")
			if restarted != (unit == "kube-apiserver") {
				t.Errorf("%s: the rollback tasks restarted %s: %v, want the apiserver only (its unit was restored)", m, unit, restarted)
			}
		}
	}
	if !allReady(t, l, admin) {
		t.Errorf("not every apiserver ready right after kplay rollback")
	}
	check := kplay(t, bin, work, append([]string{"--check"}, args...)...)
	check.MustSucceed(t, "site.yaml --check after kplay rollback")
	again := kplay(t, bin, work, args...)
	again.MustSucceed(t, "site.yaml after kplay rollback")
	t.Logf("run after rollback: %v", again.Took.Round(time.Second))
	samePrediction(t, check, again)
	// The HA check rebooted h1 and h4; /run/kplay came back at boot from
	// kplay's tmpfiles.d entry, so the flag change run created nothing
	// there for kplay rollback to take away: the run after it changes
	// nothing at all.
	if c := again.Changed(); len(c) > 0 {
		t.Errorf("after kplay rollback the run changed %q, want nothing", c)
	}
	t.Logf("run after rollback changed: %q", again.Changed())
}

// taskSection is the text output of the task whose name starts with
// name: from its TASK line to the next blank line.
func taskSection(out, name string) string {
	i := strings.Index(out, "TASK ["+name)
	if i < 0 {
		return ""
	}
	sec := out[i:]
	if j := strings.Index(sec, "\n\n"); j >= 0 {
		sec = sec[:j]
	}
	return sec
}

// checkCIDRPreflight: a service_cidr overlapping the lab's network stops
// site.yaml in the preflight play on every master (the master role's cidrs
// check), naming the network, before any host is changed.
func checkCIDRPreflight(t *testing.T, l *lab.Lab, bin, work string, args []string) {
	r := kplay(t, bin, work, append(args, "-e", "service_cidr=10.77.0.0/16")...)
	r.MustStopInPreflight(t, "service_cidr overlapping the lab")
	fails := strings.Join(r.Failures(), "\n")
	t.Logf("preflight failures:\n%s", fails)
	for _, m := range masters {
		want := "master preflight | service and pod networks overlap nothing @ " + m + ": " + m + ": service_cidr 10.77.0.0/16 overlaps " + ipOf(t, l, m) + "/24 on "
		if !strings.Contains(fails, want) {
			t.Errorf("no failure %q", want)
		}
	}
}

// checkMasterPreflightPassed: in the real run every master passed the
// master role's own preflight (apiserver SANs, the endpoint through
// the VIP answering, etcd /health with apiserver-etcd-client).
func checkMasterPreflightPassed(t *testing.T, r run) {
	t.Helper()
	// The ports were checked by the preflight play (its ports report); the
	// master role repeats that only when used without it.
	for _, task := range []string{"apiserver certificate names everything clients use",
		"control plane endpoint reachable", "etcd reachable with the apiserver's client certificate"} {
		var ok []string
		for _, e := range r.Events {
			if e.Type == "host_result" && e.Task == "master : master preflight | "+task && e.Status == "ok" {
				ok = append(ok, e.Host)
			}
		}
		if len(ok) != len(masters) {
			t.Errorf("master preflight %q ok on %q, want every master", task, ok)
		}
	}
}
