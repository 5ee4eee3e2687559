package k8s_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// kubeadmInventory is the kubeadm test's inventory over the lab's hosts:
// h1 etcd (one member: the external etcd kubeadm is pointed at), h2 and
// h3 the keepalived + nginx pair holding the VIP, the VMs h4 (kubeadm
// init) and h5 (kubeadm join as a worker, or with secondMaster as a
// second control plane). Masters need a VM: kubelet runs the static pods
// and wants cgroup v2 (LAB.md).
func kubeadmInventory(l *lab.Lab, pki string, secondMaster bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: %q\n    kplay_known_hosts: %q\n",
		l.KeyFile(), l.KnownHosts())
	fmt.Fprintf(&b, "    vip: %s\n    install_mode: kubeadm\n    pki_local_dir: %q\n", labtest.VIPOf(l), pki)
	// In software emulation the apiserver answers slowly: with kubeadm's
	// 15 s leases, controller-manager and scheduler lose leadership,
	// restart and back off (no CSR approved for minutes).
	for _, c := range []string{"controller_manager_extra_args", "scheduler_extra_args"} {
		fmt.Fprintf(&b, "    %s: {leader-elect-lease-duration: 60s, leader-elect-renew-deadline: 40s}\n", c)
	}
	b.WriteString("  hosts:\n")
	for _, h := range l.Hosts() {
		fmt.Fprintf(&b, "    %s: {ansible_host: %s, ip: %s}\n", h.Name, h.IP, h.IP)
	}
	groups := [][2]string{{"etcd", "h1"}, {"lb", "h2 h3"}, {"master", "h4"}, {"node", "h5"}}
	if secondMaster {
		groups = groups[:3]
		groups[2][1] = "h4 h5"
	}
	b.WriteString("  children:\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "    %s:\n      hosts:\n", g[0])
		for _, h := range strings.Fields(g[1]) {
			fmt.Fprintf(&b, "        %s: {}\n", h)
		}
	}
	return b.String()
}

// TestE2EKubeadm is install_mode kubeadm on real kernels: 3 nspawn hosts
// (external etcd, the LB pair with the VIP) and 2 QEMU VMs. site.yaml
// (without the addons play) runs kubeadm init on h4 with kplay's
// kubeadm-config.yaml (VIP endpoint, external etcd, the pre-placed CAs,
// the offline control-plane images) and kubeadm join on h5 with the
// bootstrap token and CA hash. Then: the API is ready through the VIP
// (kubeadm's admin.conf on the master and kplay's admin.conf on the
// control machine), the control-plane static pods and kube-proxy run,
// both Nodes registered, the apiserver advertises h4's own address; a
// second run changes nothing and --check predicts that. A worker join, not
// a second control-plane join: in software emulation a second apiserver
// would double the slowest part, and the join path (token, CA hash,
// discovery through the VIP) is the same one. KPLAY_KUBEADM_SECOND=master
// makes h5 a second control plane instead (kubeadm join --control-plane
// after h4's init, gated on its own /readyz), with the same checks on
// both masters; CI runs the worker join.
func TestE2EKubeadm(t *testing.T) {
	skipUnlessK8s(t, "kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")
	labtest.SkipVM(t)
	if miss := nodeArtifacts(); miss != "" {
		t.Skipf("kubeadm e2e: artifact missing: %s", miss)
	}
	sums, _ := os.ReadFile(filepath.Join(artifactsDir(), "images", "SHA256SUMS"))
	if !strings.Contains(string(sums), "kube-apiserver_"+kubeVersion+".tar") {
		t.Skipf("kubeadm e2e: control-plane images missing (scripts/images-build.sh control-plane)")
	}
	start := time.Now()
	bin := labtest.BuildKplay(t)
	l := upLab(t, lab.Config{Name: "kadm", Hosts: 3, VMNodes: 2, BootTimeout: 10 * time.Minute})
	work := t.TempDir()
	pki := filepath.Join(work, "pki")
	inv := filepath.Join(work, "hosts.yaml")
	secondMaster := os.Getenv("KPLAY_KUBEADM_SECOND") == "master"
	masters := []string{"h4"}
	if secondMaster {
		masters = append(masters, "h5")
	}
	if err := os.WriteFile(inv, []byte(kubeadmInventory(l, pki, secondMaster)), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-i", inv, "site.yaml", "--skip-tags", "addons", "--connect-timeout", "60"}
	master, vip := "h4", labtest.VIPOf(l)

	fresh := nodeKplay(t, bin, work, append(args, "--check")...)
	fresh.MustSucceed(t, "site.yaml --check on the fresh lab")
	first := nodeKplay(t, bin, work, args...)
	first.MustSucceed(t, "site.yaml (kubeadm)")
	labtest.SamePrediction(t, fresh, first)
	t.Logf("first run: %s after the start (--check before it: %s)", time.Since(start).Round(time.Second), fresh.Took.Round(time.Second))
	kc := "kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout 20s "

	t.Run("ready through the VIP", func(t *testing.T) {
		out, err := nodeSSH(t, l, master, "grep -c 'server: https://"+vip+":6443' /etc/kubernetes/admin.conf; "+kc+"get --raw /readyz")
		if err != nil || strings.Join(strings.Fields(out), " ") != "1 ok" {
			t.Errorf("kubeadm's admin.conf on %s through the VIP: %v %q, want 1 ok", master, err, out)
		}
		got, err := kubectl(t, filepath.Join(pki, "kubeconfig", "admin.conf"), "get", "--raw", "/readyz")
		if err != nil || got != "ok" {
			t.Errorf("kplay's admin.conf (control machine) through the VIP: %v %q", err, got)
		}
	})
	t.Run("static pods and kube-proxy running", func(t *testing.T) {
		var want []string
		for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
			for _, m := range masters {
				want = append(want, c+"-"+m+"=Running")
			}
		}
		sort.Strings(want)
		out, ok := nodeWait(t, l, master, kc+"-n kube-system get pods -l tier=control-plane -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}' | tr ' ' '\\n' | sort | xargs",
			strings.Join(want, " "), 3*time.Minute)
		if !ok {
			t.Errorf("control-plane static pods: %q, want %q", out, want)
		}
		out, ok = nodeWait(t, l, master, kc+"-n kube-system get pods -l k8s-app=kube-proxy -o jsonpath='{range .items[*]}{.spec.nodeName}={.status.phase} {end}' | tr ' ' '\\n' | sort | xargs",
			"h4=Running h5=Running", 5*time.Minute)
		if !ok {
			t.Errorf("kube-proxy pods: %q, want on h4 and h5 Running", out)
		}
	})
	t.Run("nodes registered", func(t *testing.T) {
		out, err := nodeSSH(t, l, master, kc+"get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion} {end}'")
		if err != nil || strings.TrimSpace(out) != "h4="+kubeVersion+" h5="+kubeVersion {
			t.Errorf("nodes: %v %q, want h4 and h5 at %s", err, out, kubeVersion)
		}
	})
	t.Run("advertises its own address, external etcd", func(t *testing.T) {
		for _, m := range masters {
			out, err := nodeSSH(t, l, m, "grep -oE -- '--(advertise-address|etcd-servers)=[^ ]+' /etc/kubernetes/manifests/kube-apiserver.yaml | sort | xargs")
			want := "--advertise-address=" + labtest.IPOf(t, l, m) + " --etcd-servers=https://" + labtest.IPOf(t, l, "h1") + ":2379"
			if err != nil || strings.TrimSpace(out) != want {
				t.Errorf("kube-apiserver manifest on %s: %v %q, want %q", m, err, out, want)
			}
		}
	})

	second := nodeKplay(t, bin, work, args...)
	second.MustSucceed(t, "site.yaml again")
	second.MustChangeNothing(t, "second run")
	check := nodeKplay(t, bin, work, append(args, "--check")...)
	check.MustSucceed(t, "site.yaml --check on the installed cluster")
	labtest.SamePrediction(t, check, second)
	t.Run("flag change and rollback", func(t *testing.T) { checkKubeadmFlag(t, l, bin, work, inv, args, masters) })
	t.Logf("kubeadm e2e: %s in all", time.Since(start).Round(time.Second))
}

// checkKubeadmFlag: an apiserver flag added to the running cluster
// (apiserver_extra_args) is predicted by --check, written to every
// master's kplay-control-plane.yaml, and kubeadm regenerates the
// apiserver's static pod from it: the new apiserver process has the flag,
// ready through the VIP, and kube-system/kubeadm-config has it. kplay
// rollback restores the file and the master role's rollback tasks
// regenerate the manifest without the flag, gated on health.
func checkKubeadmFlag(t *testing.T, l *lab.Lab, bin, work, inv string, args, masters []string) {
	const flag = "--default-watch-cache-size=77"
	kc := "kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout 20s "
	changed := append(append([]string{}, args...), "-e", `{"apiserver_extra_args": {"default-watch-cache-size": "77"}}`)
	check := nodeKplay(t, bin, work, append(changed, "--check")...)
	check.MustSucceed(t, "--check with the flag")
	real := nodeKplay(t, bin, work, changed...)
	real.MustSucceed(t, "site.yaml with the flag")
	labtest.SamePrediction(t, check, real)
	t.Logf("flag run: %s, changed %q", real.Took.Round(time.Second), real.Changed())
	for _, m := range masters {
		if c := real.ChangedIn("master : master kubeadm | static pods follow"); !slices.Contains(c, "master : master kubeadm | static pods follow a changed ClusterConfiguration (one master at a time, gated on health) @ "+m) {
			t.Errorf("%s: the static pods were not regenerated (changed: %q)", m, real.Changed())
		}
		out, err := nodeSSH(t, l, m, "grep -c -- '"+flag+"' /etc/kubernetes/manifests/kube-apiserver.yaml; pgrep -af '^kube-apiserver ' | grep -c -- '"+flag+"'; "+kc+"get --raw /readyz")
		if err != nil || strings.Join(strings.Fields(out), " ") != "1 1 ok" {
			t.Errorf("%s after the flag run: manifest, process, /readyz = %v %q, want 1 1 ok", m, err, out)
		}
	}
	out, err := nodeSSH(t, l, masters[0], kc+"-n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' | grep -c default-watch-cache-size")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Errorf("kube-system/kubeadm-config after the flag run: %v %q, want the flag in it", err, out)
	}

	back := nodeKplay(t, bin, work, "rollback", "-i", inv)
	back.MustSucceed(t, "kplay rollback --json")
	t.Logf("kplay rollback: %s, changed %q", back.Took.Round(time.Second), back.Changed())
	for _, m := range masters {
		if c := back.ChangedIn("master : master rollback | kubeadm static pods"); !slices.ContainsFunc(c, func(s string) bool { return strings.HasSuffix(s, " @ "+m) }) {
			t.Errorf("%s: the rollback tasks did not regenerate the static pods (changed: %q)", m, back.Changed())
		}
		out, err := nodeSSH(t, l, m, "grep -c -- '"+flag+"' /etc/kubernetes/manifests/kube-apiserver.yaml; pgrep -af '^kube-apiserver ' | grep -c -- '"+flag+"'; "+kc+"get --raw /readyz")
		if strings.Join(strings.Fields(out), " ") != "0 0 ok" {
			t.Errorf("%s after kplay rollback: manifest, process, /readyz = %v %q, want 0 0 ok", m, err, out)
		}
	}
}
