package roletest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/roles"
)

// kubeadmVars are the variables roles/node/templates/kubeadm-config.yaml.tmpl
// reads, as the roles resolve them for a host of kind (init,
// control-plane, node) with address ip.
func kubeadmVars(kind, ip string) map[string]any {
	return map[string]any{
		"kubeadm_config_kind": kind, "node_k8s_name": "m-" + ip, "node_ip": ip,
		"kubeadm_ignore_preflight_errors": []any{"ImagePull", "ExternalEtcdVersion"},
		"kubeadm_untaint":                 false, "kubeadm_token": "abcdef.0123456789abcdef", "kubeadm_token_ttl": "24h0m0s",
		"kubeadm_ca_hash": "sha256:" + strings.Repeat("ab", 32), "kubeadm_timeout": "10m0s",
		"apiserver_port": 6443, "cluster_name": "kplay", "kube_version": "v1.34.4",
		"kubeadm_endpoint": "10.0.0.250:6443", "pki_dir": "/etc/kubernetes/pki",
		"service_cidr": "10.96.0.0/12", "cluster_cidr": "10.244.0.0/16", "cluster_domain": "cluster.local",
		"kubeadm_cert_sans":             []any{"10.0.0.250", "10.0.0.1", "10.0.0.2"},
		"apiserver_extra_args":          map[string]any{},
		"controller_manager_extra_args": map[string]any{"leader-elect-lease-duration": "60s"},
		"scheduler_extra_args":          map[string]any{},
		"node_cidr_mask":                24,
		"kubeadm_etcd_endpoints":        []any{"https://10.0.0.11:2379", "https://10.0.0.12:2379"},
		"cluster_dns_ip":                "10.96.0.10", "node_fail_swap_on": true, "max_pods": 110, "kube_proxy_mode": "nftables",
	}
}

// TestKubeadmConfig renders kubeadm-config.yaml for the first master
// (InitConfiguration + ClusterConfiguration + KubeletConfiguration +
// KubeProxyConfiguration), a joining master and a node (JoinConfiguration),
// checks what each must say, and has kubeadm validate it when the
// artifact folder holds kubeadm (make k8s-artifacts).
func TestKubeadmConfig(t *testing.T) {
	text, err := roles.FS.ReadFile("node/templates/kubeadm-config.yaml.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, ip    string
		want, wantN []string
	}{
		{"init", "10.0.0.1", []string{"kind: InitConfiguration", `advertiseAddress: "10.0.0.1"`, `controlPlaneEndpoint: "10.0.0.250:6443"`,
			"kubernetesVersion: v1.34.4", "external:", "- https://10.0.0.12:2379", "certFile: /etc/kubernetes/pki/apiserver-etcd-client.crt",
			"caFile: /etc/kubernetes/pki/etcd/ca.crt", "- addon/coredns", "criSocket: unix:///run/containerd/containerd.sock",
			`- "10.0.0.250"`, "podSubnet: 10.244.0.0/16", "cgroupDriver: systemd", "- 10.96.0.10", "kind: KubeProxyConfiguration",
			"name: leader-elect-lease-duration", `token: "abcdef.0123456789abcdef"`, "dnsDomain: cluster.local"},
			[]string{"JoinConfiguration", `advertiseAddress: "10.0.0.250"`, "scheduler:"}},
		{"control-plane", "10.0.0.2", []string{"kind: JoinConfiguration", `apiServerEndpoint: "10.0.0.250:6443"`, "controlPlane:",
			`advertiseAddress: "10.0.0.2"`, "sha256:abab"},
			[]string{"InitConfiguration", "ClusterConfiguration"}},
		// What kubeadm init phase control-plane reads on every master.
		{"phase", "10.0.0.2", []string{"kind: InitConfiguration", `advertiseAddress: "10.0.0.2"`, "kind: ClusterConfiguration",
			`controlPlaneEndpoint: "10.0.0.250:6443"`, "- https://10.0.0.12:2379", "name: leader-elect-lease-duration", "regenerates the static pod"},
			[]string{"JoinConfiguration", "bootstrapTokens", "abcdef", "KubeletConfiguration", "KubeProxyConfiguration", "sha256:abab"}},
		{"node", "10.0.0.3", []string{"kind: JoinConfiguration", `apiServerEndpoint: "10.0.0.250:6443"`, `value: "10.0.0.3"`},
			[]string{"controlPlane:", "InitConfiguration"}},
	}
	kubeadm := filepath.Join(artifacts(), "kubernetes", "v1.34.4", "bin", "kubeadm")
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			out, err := engine.NewEvaluator().RenderFile("kubeadm-config.yaml.tmpl", text, kubeadmVars(tc.kind, tc.ip))
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if tc.kind != "phase" && !strings.HasPrefix(string(out), "# Managed by kplay (install_mode kubeadm, "+tc.kind+")") {
				t.Errorf("header: %.80q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantN {
				if strings.Contains(string(out), w) {
					t.Errorf("has %q:\n%s", w, out)
				}
			}
			if _, err := os.Stat(kubeadm); err != nil {
				t.Logf("kubeadm not in the artifact folder: not validated (%v)", err)
				return
			}
			f := filepath.Join(t.TempDir(), "kubeadm-config.yaml")
			if err := os.WriteFile(f, out, 0o600); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command(kubeadm, "config", "validate", "--config", f).CombinedOutput(); err != nil {
				t.Errorf("kubeadm config validate: %v\n%s\n%s", err, msg, out)
			}
		})
	}
}

// artifacts is the control machine's artifact folder ($KPLAY_ARTIFACTS,
// else ~/.cache/kplay/artifacts).
func artifacts() string {
	if d := os.Getenv("KPLAY_ARTIFACTS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "kplay", "artifacts")
}
