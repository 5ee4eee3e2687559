package pki

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// editKubeconfig rewrites dir/name through f.
func editKubeconfig(t *testing.T, dir, name string, f func(*kubeconfig)) {
	t.Helper()
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		t.Fatal(err)
	}
	f(&kc)
	out, err := yaml.Marshal(&kc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// embedCert puts a client certificate for k signed by the CA at caName
// into dir/name.
func embedCert(t *testing.T, spec Spec, name, caName string, k kubeconfigSpec) {
	t.Helper()
	spec.defaults()
	ca, caKey, err := loadPair(filepath.Join(spec.Dir, caName))
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := spec.issueClient(k, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	real, _, _ := loadPair(filepath.Join(spec.Dir, "ca"))
	data, err := renderKubeconfig(spec.ClusterName, kubeconfigSpec{cn: k.cn, server: "https://10.77.0.11:6443"}, real, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spec.Dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestKubeconfigRepaired(t *testing.T) {
	const admin = "kubeconfig/admin.conf"
	tests := []struct {
		name   string
		break_ func(t *testing.T, spec Spec)
		action string
		reason string
	}{
		{"server edited", func(t *testing.T, spec Spec) {
			editKubeconfig(t, spec.Dir, admin, func(kc *kubeconfig) { kc.Clusters[0].Cluster.Server = "https://10.9.9.9:6443" })
		}, "rewritten", "server https://10.9.9.9:6443 -> https://10.77.0.11:6443"},
		{"CA data replaced", func(t *testing.T, spec Spec) {
			other, _ := os.ReadFile(filepath.Join(spec.Dir, "etcd/ca.crt"))
			editKubeconfig(t, spec.Dir, admin, func(kc *kubeconfig) {
				kc.Clusters[0].Cluster.CAData = base64.StdEncoding.EncodeToString(other)
			})
		}, "rewritten", "certificate-authority-data is not ca.crt"},
		{"cluster renamed", func(t *testing.T, spec Spec) {
			editKubeconfig(t, spec.Dir, admin, func(kc *kubeconfig) { kc.Clusters[0].Name = "other" })
		}, "rewritten", "names or layout differ"},
		{"key swapped", func(t *testing.T, spec Spec) {
			editKubeconfig(t, spec.Dir, admin, func(kc *kubeconfig) {
				_, _, key, _ := parseKubeconfig(mustRead(t, spec.Dir, "kubeconfig/super-admin.conf"))
				kc.Users[0].User.KeyData = base64.StdEncoding.EncodeToString(mustKeyPEM(t, key))
			})
		}, "reissued", "client key does not match"},
		{"another user's kubeconfig", func(t *testing.T, spec Spec) {
			os.WriteFile(filepath.Join(spec.Dir, admin), mustRead(t, spec.Dir, "kubeconfig/scheduler/m1.conf"), 0o600)
		}, "reissued", `common name "system:kube-scheduler", want "kubernetes-admin"`},
		{"wrong organization", func(t *testing.T, spec Spec) {
			embedCert(t, spec, admin, "ca", kubeconfigSpec{cn: "kubernetes-admin", orgs: []string{"system:masters"}})
		}, "reissued", `organization "system:masters", want "kubeadm:cluster-admins"`},
		{"signed by another CA", func(t *testing.T, spec Spec) {
			embedCert(t, spec, admin, "front-proxy-ca", kubeconfigSpec{cn: "kubernetes-admin", orgs: []string{"kubeadm:cluster-admins"}})
		}, "reissued", "not signed by ca"},
		{"readable by others", func(t *testing.T, spec Spec) {
			os.Chmod(filepath.Join(spec.Dir, admin), 0o644)
		}, "rewritten", "mode 0644, want 0600"},
		{"not a kubeconfig", func(t *testing.T, spec Spec) {
			os.WriteFile(filepath.Join(spec.Dir, admin), []byte("clusters: [\n"), 0o600)
		}, "reissued", "not a kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := kcSpec(t)
			if _, err := Ensure(spec); err != nil {
				t.Fatal(err)
			}
			tt.break_(t, spec)
			changes, err := Ensure(spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != 1 || changes[0].Path != filepath.Join(spec.Dir, admin) || changes[0].Action != tt.action ||
				!strings.Contains(changes[0].Reason, tt.reason) {
				t.Fatalf("changes %+v, want %s %s: %s", changes, admin, tt.action, tt.reason)
			}
			kc, _ := readKubeconfig(t, spec.Dir, admin)
			if kc.Clusters[0].Name != "lab" || kc.Clusters[0].Cluster.Server != "https://10.77.0.11:6443" {
				t.Errorf("repaired kubeconfig: %+v", kc.Clusters)
			}
			if again, err := Ensure(spec); err != nil || len(again) != 0 {
				t.Errorf("after the repair: %v %+v", err, again)
			}
		})
	}
}

func mustRead(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustKeyPEM(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestKubeconfigsFollowANewCA(t *testing.T) {
	spec := kcSpec(t)
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	other := kcSpec(t)
	if _, err := Ensure(other); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".crt", ".key"} {
		os.WriteFile(filepath.Join(spec.Dir, "ca"+ext), mustRead(t, other.Dir, "ca"+ext), 0o600)
	}
	changes, err := Ensure(spec)
	if err != nil {
		t.Fatal(err)
	}
	got := changed(spec.Dir, changes)
	kubeconfigs := 0
	for name, c := range got {
		if strings.HasPrefix(name, "kubeconfig/") {
			kubeconfigs++
			if c.Action != "reissued" || c.Reason != "client certificate not signed by ca" {
				t.Errorf("%s: %+v", name, c)
			}
			readKubeconfig(t, spec.Dir, name)
		}
	}
	// 8 kubeconfigs, apiserver, apiserver-kubelet-client, kubelet/w3
	if kubeconfigs != 8 || len(changes) != 11 {
		t.Errorf("after a CA swap: %d kubeconfigs of %d changes, want 8 of 11: %+v", kubeconfigs, len(changes), changes)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	spec := kcSpec(t)
	spec.Dir = filepath.Join(spec.Dir, "pki")
	dry := spec
	dry.DryRun = true
	predicted, err := Ensure(dry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spec.Dir); !os.IsNotExist(err) {
		t.Fatalf("dry run created the folder: %v", err)
	}
	changes, err := Ensure(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(predicted) != len(changes) || len(changes) != 3+1+2+1+3+1+2+4+2+1 {
		t.Errorf("predicted %d, wrote %d, want %d", len(predicted), len(changes), 3+1+2+1+3+1+2+4+2+1)
	}
	// A lost CA: the dry run says every kubeconfig would get a new certificate.
	os.Remove(filepath.Join(spec.Dir, "ca.crt"))
	os.Remove(filepath.Join(spec.Dir, "ca.key"))
	snap := snapshot(t, spec.Dir)
	predicted, err = Ensure(dry)
	if err != nil {
		t.Fatal(err)
	}
	if c := changed(spec.Dir, predicted)["kubeconfig/admin.conf"]; c.Action != "reissued" || c.Reason != "its CA would be created" {
		t.Errorf("admin.conf under a new CA: %+v", c)
	}
	if !mapsEqual(snap, snapshot(t, spec.Dir)) {
		t.Error("dry run changed files")
	}
	if changes, err = Ensure(spec); err != nil || len(changes) != len(predicted) {
		t.Errorf("predicted %d, wrote %d (%v)", len(predicted), len(changes), err)
	}
}

func TestEndpointValidation(t *testing.T) {
	tests := []struct {
		endpoint string
		masters  bool
		nodes    bool
		port     int
		want     string // error substring; "" = ok
	}{
		{"10.77.0.250:6443", true, true, 0, ""},
		{"api.example.com:443", true, true, 0, ""},
		{"[fd00::1]:6443", true, true, 0, ""},
		{"", true, true, 0, ""},
		{"", false, false, 0, ""},
		{"", false, true, 0, "nodes need a control plane endpoint"},
		{"10.77.0.250", true, true, 0, `control plane endpoint "10.77.0.250": want host:port`},
		{"https://10.77.0.250:6443", true, true, 0, "without a scheme"},
		{"10.77.0.250:0", true, true, 0, `port "0" is not a number from 1 to 65535`},
		{"10.77.0.250:https", true, true, 0, `port "https"`},
		{"bad_host!:6443", true, true, 0, `host "bad_host!" is neither`},
		{":6443", true, true, 0, `host "" is neither`},
		{"", true, true, 70000, "apiserver port 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			spec := kcSpec(t)
			spec.DryRun = true
			spec.ControlPlaneEndpoint, spec.APIServerPort = tt.endpoint, tt.port
			if !tt.masters {
				spec.Masters = nil
			}
			if !tt.nodes {
				spec.Nodes = nil
			}
			_, err := Ensure(spec)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEndpointNameInAPIServerCert(t *testing.T) {
	spec := kcSpec(t)
	spec.ControlPlaneEndpoint = "api.lab.example:16443"
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, spec.Dir, "ca", "apiserver", x509.ExtKeyUsageServerAuth, "api.lab.example"); err != nil {
		t.Error(err)
	}
	kc, _ := readKubeconfig(t, spec.Dir, "kubeconfig/admin.conf")
	if got := kc.Clusters[0].Cluster.Server; got != "https://api.lab.example:16443" {
		t.Errorf("server %s", got)
	}
}

// kubectlPath is the kubectl of the Kubernetes artifacts (KPLAY_KUBECTL
// overrides); the test skips when it was not built.
func kubectlPath(t *testing.T) string {
	t.Helper()
	kubectl := os.Getenv("KPLAY_KUBECTL")
	if kubectl == "" {
		root := os.Getenv("KPLAY_ARTIFACTS")
		if root == "" {
			home, _ := os.UserHomeDir()
			root = filepath.Join(home, ".cache", "kplay", "artifacts")
		}
		kubectl = filepath.Join(root, "kubernetes", "v1.34.4", "bin", "kubectl")
	}
	if _, err := os.Stat(kubectl); err != nil {
		t.Skipf("no kubectl: %v", err)
	}
	return kubectl
}

func runKubectl(t *testing.T, kubectl string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestKubectlReadsKubeconfig has kubectl parse a written kubeconfig.
func TestKubectlReadsKubeconfig(t *testing.T) {
	kubectl := kubectlPath(t)
	spec := kcSpec(t)
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(spec.Dir, "kubeconfig/kubelet/w3.conf")
	out := runKubectl(t, kubectl, "--kubeconfig", conf, "config", "view", "--raw",
		"-o", "jsonpath={.current-context} {.clusters[0].cluster.server} {.users[0].user.client-certificate-data}")
	kc, _ := readKubeconfig(t, spec.Dir, "kubeconfig/kubelet/w3.conf")
	want := "system:node:w3@lab https://10.77.0.11:6443 " + kc.Users[0].User.CertData
	if out != want {
		t.Errorf("kubectl says %q, want %q", out, want)
	}
}

// TestKubectlTalksTLS has kubectl use admin.conf against a TLS server on
// 127.0.0.1 holding the apiserver certificate and requiring a client
// certificate from ca.crt: the CA data, the client certificate and key and
// the server's names all have to fit.
func TestKubectlTalksTLS(t *testing.T) {
	kubectl := kubectlPath(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	spec := kcSpec(t)
	spec.Now = time.Now()
	spec.ControlPlaneEndpoint = ln.Addr().String()
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	ca, _, _ := loadPair(filepath.Join(spec.Dir, "ca"))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := &http.Server{
		TLSConfig: &tls.Config{ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sub := r.TLS.PeerCertificates[0].Subject
			fmt.Fprintf(w, "%s %s %s", r.URL.Path, sub.CommonName, strings.Join(sub.Organization, ","))
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.ServeTLS(ln, filepath.Join(spec.Dir, "apiserver.crt"), filepath.Join(spec.Dir, "apiserver.key"))
	t.Cleanup(func() { srv.Close() })
	out := runKubectl(t, kubectl, "--kubeconfig", filepath.Join(spec.Dir, "kubeconfig/admin.conf"),
		"--request-timeout=20s", "get", "--raw", "/whoami")
	if want := "/whoami kubernetes-admin kubeadm:cluster-admins"; out != want {
		t.Errorf("kubectl got %q, want %q", out, want)
	}
}
