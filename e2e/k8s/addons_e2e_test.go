package k8s_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// addonsVars switches every add-on on; the lab's nspawn hosts run no pods
// (the node play is skipped), so the rollout gates are off.
// One master without a VIP (lb_hosts empty: the lb-pair role skips it):
// the API endpoint is h1:6443. lb_port moves off 6443, because preflight
// still checks it on h1, a member of the lab's lb group.
const addonsVars = `{"addons_wait": false, "addons_dashboard": true, "addons_ingress_nginx": true, "addons_logging": true,
  "vip": "", "lb_hosts": [], "lb_port": 16443}`

// TestE2EAddonsOnLab is issue 7's check of the addons role on a fresh
// 1-host lab k8sa (h1: etcd, master; no VIP):
// site.yaml without the node play, every add-on on. --check predicts the
// first run's changes one to one; the objects are there through the API
// (flannel with cluster_cidr, kube-dns at cluster_dns_ip, dashboard,
// ingress-nginx, fluent-bit), owned by field manager kplay, the manifests
// stored on h1; a second run changes nothing. A changed add-on variable
// (coredns_replicas) is predicted by --check as exactly one change, which
// the real run then makes; kplay rollback puts the Deployment back and the
// next run changes nothing; an add-on switched to absent is deleted, once.
func TestE2EAddonsOnLab(t *testing.T) {
	skipUnlessK8s(t, "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
	bin := labtest.BuildKplay(t)
	l := upLab(t, lab.Config{Name: "k8sa", Hosts: 1})
	work := t.TempDir()
	admin := filepath.Join(work, "pki", "kubeconfig", "admin.conf")
	args := []string{"-i", l.Inventory(), "site.yaml", "-e", "pki_local_dir=" + filepath.Join(work, "pki"),
		"--skip-tags", "node", "-e", addonsVars}

	check := kplay(t, bin, work, append([]string{"--check"}, args...)...)
	check.MustSucceed(t, "site.yaml --check on the fresh lab")
	first := kplay(t, bin, work, args...)
	first.MustSucceed(t, "site.yaml")
	t.Logf("site.yaml first run: %v", first.Took.Round(time.Second))
	samePrediction(t, check, first)
	for _, want := range []string{"flannel", "CoreDNS", "dashboard", "ingress-nginx", "logging"} {
		if !slices.ContainsFunc(first.ChangedIn("addons : "), func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("first run did not apply %s: %q", want, first.ChangedIn("addons : "))
		}
	}
	t.Run("objects", func(t *testing.T) { checkAddonObjects(t, l, admin) })

	second := kplay(t, bin, work, args...)
	second.MustSucceed(t, "site.yaml again")
	second.MustChangeNothing(t, "second run")

	t.Run("variable change, check, rollback", func(t *testing.T) { checkAddonChange(t, bin, work, admin, args) })
	t.Run("absent", func(t *testing.T) { checkAddonAbsent(t, bin, work, admin, args) })
}

// checkAddonObjects reads the add-ons back through the API (admin.conf,
// through the VIP) and the stored manifests on h1.
func checkAddonObjects(t *testing.T, l *lab.Lab, admin string) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-n", "kube-flannel", "get", "ds", "kube-flannel-ds", "-o", "jsonpath={.spec.template.spec.containers[0].image}"}, "ghcr.io/flannel-io/flannel:v0.28.10"},
		{[]string{"-n", "kube-system", "get", "svc", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"}, "10.96.0.10"},
		{[]string{"-n", "kube-system", "get", "deploy", "coredns", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}"}, "2 registry.k8s.io/coredns/coredns:v1.14.6"},
		{[]string{"-n", "kubernetes-dashboard", "get", "deploy", "kubernetes-dashboard", "-o", "name"}, "deployment.apps/kubernetes-dashboard"},
		{[]string{"-n", "ingress-nginx", "get", "deploy", "ingress-nginx-controller", "-o", "name"}, "deployment.apps/ingress-nginx-controller"},
		{[]string{"get", "ingressclass", "nginx", "-o", "jsonpath={.spec.controller}"}, "k8s.io/ingress-nginx"},
		{[]string{"-n", "logging", "get", "ds", "fluent-bit", "-o", "name"}, "daemonset.apps/fluent-bit"},
		{[]string{"-n", "kube-system", "get", "cm", "coredns", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}"}, "kplay"},
	}
	for _, c := range cases {
		if got, err := kubectl(t, admin, c.args...); err != nil || got != c.want {
			t.Errorf("kubectl %q: %q (%v), want %q", c.args, got, err, c.want)
		}
	}
	netconf := mustKubectl(t, admin, "-n", "kube-flannel", "get", "cm", "kube-flannel-cfg", "-o", "jsonpath={.data.net-conf\\.json}")
	var nc struct {
		Network string
		Backend struct{ Type string }
	}
	if err := json.Unmarshal([]byte(netconf), &nc); err != nil || nc.Network != "10.244.0.0/16" || nc.Backend.Type != "vxlan" {
		t.Errorf("flannel net-conf.json %q (%v): want Network 10.244.0.0/16, vxlan", netconf, err)
	}
	out := mustSSH(t, l, "h1", "cd /etc/kubernetes/addons && stat -c '%a %n' *.yaml && ls .previous | wc -l")
	for _, f := range []string{"600 coredns.yaml", "600 dashboard.yaml", "600 flannel.yaml", "600 ingress-nginx.yaml", "600 logging.yaml"} {
		if !strings.Contains(out, f) {
			t.Errorf("stored manifests on h1: %q lacks %q", out, f)
		}
	}
}

// checkAddonChange: --check with coredns_replicas=3 predicts exactly the
// CoreDNS task and changes nothing; the real run makes that change; kplay
// rollback puts 2 replicas back and the next run (defaults) changes
// nothing.
func checkAddonChange(t *testing.T, bin, work, admin string, args []string) {
	changedArgs := append(slices.Clone(args), "-e", "coredns_replicas=3")
	check := kplay(t, bin, work, append([]string{"--check"}, changedArgs...)...)
	check.MustSucceed(t, "--check with coredns_replicas=3")
	if got := check.Changed(); len(got) != 1 || !strings.Contains(got[0], "CoreDNS") {
		t.Errorf("--check with coredns_replicas=3 predicted %q, want exactly the CoreDNS task", got)
	}
	replicas := func() string {
		return mustKubectl(t, admin, "-n", "kube-system", "get", "deploy", "coredns", "-o", "jsonpath={.spec.replicas}")
	}
	if got := replicas(); got != "2" {
		t.Fatalf("--check changed the replicas to %s", got)
	}
	real := kplay(t, bin, work, changedArgs...)
	real.MustSucceed(t, "site.yaml with coredns_replicas=3")
	samePrediction(t, check, real)
	if got := replicas(); got != "3" {
		t.Fatalf("coredns replicas %s after the run, want 3", got)
	}
	out, code := kplayText(t, bin, work, "rollback", "-i", l2inv(args))
	if code != 0 {
		t.Fatalf("kplay rollback: exit %d\n%s", code, out)
	}
	t.Logf("kplay rollback:\n%s", tail(out, 800))
	if got := replicas(); got != "2" {
		t.Errorf("coredns replicas %s after kplay rollback, want 2", got)
	}
	after := kplay(t, bin, work, args...)
	after.MustSucceed(t, "site.yaml after kplay rollback")
	after.MustChangeNothing(t, "run after kplay rollback")
}

// checkAddonAbsent: addons_logging=absent deletes the logging objects
// (one changed task), and a second such run changes nothing.
func checkAddonAbsent(t *testing.T, bin, work, admin string, args []string) {
	absent := append(slices.Clone(args), "-e", "addons_logging=absent")
	r := kplay(t, bin, work, absent...)
	r.MustSucceed(t, "site.yaml with addons_logging=absent")
	if got := r.Changed(); len(got) != 1 || !strings.Contains(got[0], "logging") {
		t.Errorf("addons_logging=absent changed %q, want the logging task only", got)
	}
	if got, _ := kubectl(t, admin, "-n", "logging", "get", "ds", "fluent-bit", "--ignore-not-found", "-o", "name"); got != "" {
		t.Errorf("fluent-bit still there: %q", got)
	}
	again := kplay(t, bin, work, absent...)
	again.MustSucceed(t, "site.yaml with addons_logging=absent again")
	again.MustChangeNothing(t, "absent again")
}

// l2inv is the inventory path of a site.yaml argument list ("-i PATH").
func l2inv(args []string) string {
	for i, a := range args {
		if a == "-i" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// TestE2EAddonsPodsOnVM runs the add-ons for real: a lab of one nspawn
// master (no VIP) and one QEMU VM node; site.yaml with the node play and
// the default add-ons (flannel, CoreDNS) and their gates on: flannel's
// DaemonSet rolled out from the offline image, the node Ready through
// flannel's CNI config, CoreDNS rolled out. Then a busybox pod resolves
// kubernetes.default through kube-dns, and a second run changes nothing.
// Preflight's kernel module check is skipped: the VM boots without
// br_netfilter, which the node role loads later in the same run.
func TestE2EAddonsPodsOnVM(t *testing.T) {
	if os.Getenv(k8sEnv) != "1" {
		t.Skip("Kubernetes e2e: set KPLAY_E2E=1 KPLAY_K8S=1 (make e2e-k8s)")
	}
	labtest.SkipVM(t)
	if miss := nodeArtifacts(); miss != "" {
		t.Skipf("addons on VM: artifact missing: %s", miss)
	}
	bin := labtest.BuildKplay(t)
	l := labtest.StartVM(t, 1, 1)
	// Lab hosts have no default route (no outside network): the node role
	// routes the service network itself (node_service_route), which
	// host-network pods (flannel) need to reach the kubernetes Service.
	// Preflight passes the kernel modules the node role loads.
	work := t.TempDir()
	admin := filepath.Join(work, "pki", "kubeconfig", "admin.conf")
	args := []string{"-i", l.Inventory(), "site.yaml", "-e", "pki_local_dir=" + filepath.Join(work, "pki"),
		"-e", `{"vip": "", "lb_hosts": [], "lb_port": 16443, "addons_wait_timeout": 900}`, "--connect-timeout", "60"}
	first := kplay(t, bin, work, args...)
	first.MustSucceed(t, "site.yaml with a VM node")
	t.Logf("site.yaml first run: %v", first.Took.Round(time.Second))
	if got := mustKubectl(t, admin, "get", "nodes", "h2", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); got != "True" {
		t.Errorf("node h2 Ready = %q", got)
	}
	if got := mustKubectl(t, admin, "-n", "kube-system", "get", "deploy", "coredns", "-o", "jsonpath={.status.availableReplicas}"); got != "2" {
		t.Errorf("coredns available replicas %q, want 2", got)
	}
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kplay-dnscheck", "namespace": "default"},
	  "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "docker.io/library/busybox:1.35.0",
	  "imagePullPolicy": "Never", "command": ["nslookup", "kubernetes.default.svc.cluster.local", "10.96.0.10"]}]}}`
	podFile := filepath.Join(work, "dnscheck.json")
	if err := os.WriteFile(podFile, []byte(pod), 0o600); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, admin, "apply", "-f", podFile)
	var phase string
	waitFor(5*time.Minute, func() bool {
		phase, _ = kubectl(t, admin, "get", "pod", "kplay-dnscheck", "-o", "jsonpath={.status.phase}")
		return phase == "Succeeded" || phase == "Failed"
	})
	logs, _ := kubectl(t, admin, "logs", "kplay-dnscheck")
	if phase != "Succeeded" || !strings.Contains(logs, "10.96.0.1") {
		t.Errorf("nslookup through kube-dns: phase %q, output:\n%s", phase, logs)
	}
	second := kplay(t, bin, work, args...)
	second.MustSucceed(t, "site.yaml again")
	second.MustChangeNothing(t, "second run")
}
