package k8s_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
)

// nodeArtifacts says which artifact a test with VM nodes lacks ("" =
// none): the kubelet and kube-proxy binaries (make k8s-artifacts), the
// images and CNI plugins (make k8s-images). addons_e2e_test.go uses it too.
func nodeArtifacts() string {
	for _, f := range []string{
		filepath.Join(kubeBinDir(), "kubelet"), filepath.Join(kubeBinDir(), "kube-proxy"),
		filepath.Join(artifactsDir(), "images", "SHA256SUMS"), filepath.Join(artifactsDir(), "cni", "bin", "SHA256SUMS"),
	} {
		if _, err := os.Stat(f); err != nil {
			return f + " (make k8s-artifacts k8s-images)"
		}
	}
	return ""
}

// nodeKplay runs bin with --json in dir, bounded to 30 minutes (VM nodes
// are slow).
func nodeKplay(t *testing.T, bin, dir string, args ...string) run {
	t.Helper()
	return labtest.Kplay(t, bin, dir, 30*time.Minute, args...)
}

// nodeSSH runs cmd on host over the lab's ssh_config (bounded).
func nodeSSH(t *testing.T, l *lab.Lab, host, cmd string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", "-F", l.SSHConfig(), "-o", "ConnectTimeout=10", host, cmd).CombinedOutput()
	return string(out), err
}

// nodeWait runs cmd on host until it prints want (trimmed) or d passes;
// it returns the last output.
func nodeWait(t *testing.T, l *lab.Lab, host, cmd, want string, d time.Duration) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, _ := nodeSSH(t, l, host, cmd)
		if strings.TrimSpace(out) == want {
			return out, true
		}
		if time.Now().After(deadline) {
			return out, false
		}
		time.Sleep(3 * time.Second)
	}
}

// TestE2ENodeOnVM is the node role on a real kernel: a lab of one nspawn
// host (etcd, master; no VIP with one master) and one QEMU VM (the node). site.yaml (with a label and a taint for the node) brings
// kubelet, kube-proxy and containerd up on the VM with the offline images;
// the Node registers with the label and taint; a static
// hostNetwork pod from the offline busybox image runs (pause sandbox,
// containerd, kubelet for real); a second run changes nothing. The addons
// play is skipped (addons_e2e_test.go). Then a bridge CNI config (the CNI plugins the role pushed) makes the Node
// Ready, which the role's Ready gate waits for on the next run.
func TestE2ENodeOnVM(t *testing.T) {
	skipUnlessK8s(t, "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kubelet", "kube-proxy")
	labtest.SkipVM(t)
	if miss := nodeArtifacts(); miss != "" {
		t.Skipf("node e2e: artifact missing: %s", miss)
	}
	bin := labtest.BuildKplay(t)
	l := labtest.StartVM(t, 1, 1)
	master, node := "h1", "h2"
	work := t.TempDir()
	extra := filepath.Join(work, "extra.yaml")
	// On a fresh VM overlay, br_netfilter and nf_conntrack are not loaded
	// yet: preflight passes them as loadable, the node role loads them.
	vars := "node_labels: {kplay.io/e2e: \"yes\"}\nnode_taints: [\"kplay.io/e2e=yes:PreferNoSchedule\"]\n" +
		"pki_local_dir: " + filepath.Join(work, "pki") + "\n" +
		// One master: no VIP and no LB pair (it needs two hosts); the
		// kubeconfigs point at the master itself.
		"vip: \"\"\nlb_hosts: []\nlb_port: 16443\n"
	if err := os.WriteFile(extra, []byte(vars), 0o600); err != nil {
		t.Fatal(err)
	}
	// The addons play (flannel, CoreDNS) has its own test; a VM in
	// software emulation answers SSH slowly under load.
	args := []string{"-i", l.Inventory(), "site.yaml", "-e", "@" + extra, "--skip-tags", "addons", "--connect-timeout", "60"}

	first := nodeKplay(t, bin, work, args...)
	first.MustSucceed(t, "site.yaml")
	kc := "kubectl --kubeconfig /etc/kubernetes/admin.conf "

	t.Run("services", func(t *testing.T) {
		out, err := nodeSSH(t, l, node, "systemctl is-active containerd kubelet kube-proxy")
		if err != nil || strings.Count(out, "active") != 3 || strings.Contains(out, "inactive") {
			t.Errorf("services on %s: %v\n%s", node, err, out)
		}
	})
	t.Run("images", func(t *testing.T) {
		out, err := nodeSSH(t, l, node, "ctr -n k8s.io images ls -q")
		for _, ref := range []string{"registry.k8s.io/pause:3.10", "registry.k8s.io/coredns/coredns:", "ghcr.io/flannel-io/flannel:", "docker.io/library/busybox:"} {
			if err != nil || !strings.Contains(out, ref) {
				t.Errorf("containerd on %s lacks %s: %v\n%s", node, ref, err, out)
			}
		}
	})
	t.Run("config", func(t *testing.T) {
		checks := map[string]string{
			"grep -c 'SystemdCgroup = true' /etc/containerd/config.toml":                           "1",
			"grep -c 'sandbox_image = \"registry.k8s.io/pause:3.10\"' /etc/containerd/config.toml": "1",
			"grep -A1 clusterDNS: /var/lib/kubelet/config.yaml | tail -n1":                         "- 10.96.0.10",
			"grep -c 'server: https://' /etc/kubernetes/kubelet.conf":                              "1",
		}
		for cmd, want := range checks {
			if out, _ := nodeSSH(t, l, node, cmd); strings.TrimSpace(out) != want {
				t.Errorf("%s on %s: %q, want %q", cmd, node, strings.TrimSpace(out), want)
			}
		}
	})
	t.Run("node registered with label and taint", func(t *testing.T) {
		out, err := nodeSSH(t, l, master, kc+"get node "+node+
			` -o jsonpath='{.status.nodeInfo.kubeletVersion} {.metadata.labels.kplay\.io/e2e} {.spec.taints[?(@.key=="kplay.io/e2e")].effect}'`)
		if err != nil || strings.TrimSpace(out) != kubeVersion+" yes PreferNoSchedule" {
			t.Errorf("node %s: %v: %q, want %q", node, err, out, kubeVersion+" yes PreferNoSchedule")
		}
	})
	t.Run("static pod from the offline images", func(t *testing.T) {
		pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: kplay-e2e, namespace: default}\nspec:\n  hostNetwork: true\n" +
			"  containers:\n  - {name: sleep, image: docker.io/library/busybox:1.35.0, imagePullPolicy: Never, command: [sleep, \"3600\"]}\n"
		if out, err := nodeSSH(t, l, node, "cat > /etc/kubernetes/manifests/kplay-e2e.yaml <<'EOF'\n"+pod+"EOF"); err != nil {
			t.Fatalf("write static pod: %v\n%s", err, out)
		}
		out, ok := nodeWait(t, l, master, kc+"get pod -n default kplay-e2e-"+node+" -o jsonpath='{.status.phase}'", "Running", 10*time.Minute)
		if !ok {
			desc, _ := nodeSSH(t, l, master, kc+"describe pod -n default kplay-e2e-"+node+" | tail -n 20")
			logs, _ := nodeSSH(t, l, node, "journalctl -u kubelet -n 30 --no-pager")
			t.Errorf("static pod not Running after 10m: %q\n%s\n%s", out, desc, logs)
		}
		nodeSSH(t, l, node, "rm -f /etc/kubernetes/manifests/kplay-e2e.yaml")
	})

	second := nodeKplay(t, bin, work, args...)
	second.MustSucceed(t, "site.yaml again")
	if len(second.Changed()) != 0 {
		t.Errorf("second run changed %d task/host pairs: %q", len(second.Changed()), second.Changed())
	}

	t.Run("Ready with a CNI config", func(t *testing.T) {
		cidr, err := nodeSSH(t, l, master, kc+"get node "+node+" -o jsonpath='{.spec.podCIDR}'")
		cidr = strings.TrimSpace(cidr)
		if err != nil || cidr == "" {
			t.Fatalf("podCIDR of %s: %v %q", node, err, cidr)
		}
		conf := fmt.Sprintf(`{"cniVersion":"0.3.1","name":"kplay-e2e","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,`+
			`"ipam":{"type":"host-local","ranges":[[{"subnet":"%s"}]]}},{"type":"portmap","capabilities":{"portMappings":true}}]}`, cidr)
		if out, err := nodeSSH(t, l, node, "echo '"+conf+"' > /etc/cni/net.d/10-kplay-e2e.conflist"); err != nil {
			t.Fatalf("write CNI config: %v\n%s", err, out)
		}
		third := nodeKplay(t, bin, work, append(args, "--tags", "node")...)
		third.MustSucceed(t, "node play with a CNI config (Ready gate)")
		out, _ := nodeSSH(t, l, master, kc+"get node "+node+` -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'`)
		if strings.TrimSpace(out) != "True" {
			t.Errorf("node %s Ready = %q after the Ready gate passed", node, out)
		}
	})
}
