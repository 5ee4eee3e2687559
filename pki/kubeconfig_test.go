package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// kcSpec is testSpec with a node and kubeconfigs pointing at the first master.
func kcSpec(t *testing.T) Spec {
	t.Helper()
	spec := testSpec(t)
	spec.Etcd = spec.Etcd[:1]
	spec.Nodes = []Member{{"w3", "10.77.0.13"}}
	spec.ControlPlaneEndpoint = "10.77.0.11:6443"
	spec.ClusterName = "lab"
	return spec
}

// readKubeconfig parses a written kubeconfig and checks that its client
// certificate chains to ca.crt for client auth and matches its key.
func readKubeconfig(t *testing.T, dir, name string) (*kubeconfig, *x509.Certificate) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	kc, cert, key, err := parseKubeconfig(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ca, _, err := loadPair(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	caData, _ := base64.StdEncoding.DecodeString(kc.Clusters[0].Cluster.CAData)
	if !bytes.Equal(caData, pemCert(ca.Raw)) {
		t.Errorf("%s: certificate-authority-data is not ca.crt", name)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CurrentTime: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Errorf("%s: client certificate: %v", name, err)
	}
	if !keyMatches(cert, key) {
		t.Errorf("%s: client key does not match its certificate", name)
	}
	return kc, cert
}

func TestKubeconfigsCreated(t *testing.T) {
	spec := kcSpec(t)
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cn, org, server string
	}{
		{"kubeconfig/admin.conf", "kubernetes-admin", "kubeadm:cluster-admins", "https://10.77.0.11:6443"},
		{"kubeconfig/super-admin.conf", "kubernetes-super-admin", "system:masters", "https://10.77.0.11:6443"},
		{"kubeconfig/controller-manager/m1.conf", "system:kube-controller-manager", "", "https://10.77.0.11:6443"},
		{"kubeconfig/controller-manager/m2.conf", "system:kube-controller-manager", "", "https://10.77.0.12:6443"},
		{"kubeconfig/scheduler/m2.conf", "system:kube-scheduler", "", "https://10.77.0.12:6443"},
		{"kubeconfig/kubelet/w3.conf", "system:node:w3", "system:nodes", "https://10.77.0.11:6443"},
		{"kubeconfig/kube-proxy.conf", "system:kube-proxy", "", "https://10.77.0.11:6443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc, cert := readKubeconfig(t, spec.Dir, tt.name)
			if cert.Subject.CommonName != tt.cn || strings.Join(cert.Subject.Organization, ",") != tt.org {
				t.Errorf("subject CN %q O %q, want %q %q", cert.Subject.CommonName, cert.Subject.Organization, tt.cn, tt.org)
			}
			if got := kc.Clusters[0].Cluster.Server; got != tt.server {
				t.Errorf("server %s, want %s", got, tt.server)
			}
			ctx := tt.cn + "@lab"
			if kc.CurrentContext != ctx || kc.Contexts[0].Name != ctx || kc.Contexts[0].Context.Cluster != "lab" ||
				kc.Contexts[0].Context.User != tt.cn || kc.Users[0].Name != tt.cn || kc.Clusters[0].Name != "lab" {
				t.Errorf("names: %+v", kc)
			}
			fi, err := os.Stat(filepath.Join(spec.Dir, tt.name))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("mode: %v %v", fi.Mode(), err)
			}
		})
	}
}

func TestKubeletServingCert(t *testing.T) {
	spec := kcSpec(t)
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"w3", "10.77.0.13", "127.0.0.1"} {
		if err := verify(t, spec.Dir, "ca", "kubelet/w3", x509.ExtKeyUsageServerAuth, name); err != nil {
			t.Errorf("kubelet/w3 for %q: %v", name, err)
		}
	}
	if err := verify(t, spec.Dir, "ca", "kubelet/w3", x509.ExtKeyUsageServerAuth, "10.77.0.11"); err == nil {
		t.Error("w3's serving cert is valid for another address")
	}
	cert, _, _ := loadPair(filepath.Join(spec.Dir, "kubelet/w3"))
	if cert.Subject.CommonName != "system:node:w3" || !slices.Equal(cert.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("subject %v", cert.Subject)
	}
	if fi, err := os.Stat(filepath.Join(spec.Dir, "kubelet/w3.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode: %v", err)
	}
}

// changed indexes changes by path under dir.
func changed(dir string, changes []Change) map[string]Change {
	out := map[string]Change{}
	for _, c := range changes {
		rel, _ := filepath.Rel(dir, c.Path)
		out[rel] = c
	}
	return out
}

func TestKubeconfigsFollowTheEndpoint(t *testing.T) {
	spec := kcSpec(t)
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	if again, err := Ensure(spec); err != nil || len(again) != 0 {
		t.Fatalf("second run: %v %+v", err, again)
	}
	_, before := readKubeconfig(t, spec.Dir, "kubeconfig/kubelet/w3.conf")
	spec.ControlPlaneEndpoint = "10.77.0.250:6443" // a VIP comes
	dry := spec
	dry.DryRun = true
	snap := snapshot(t, spec.Dir)
	predicted, err := Ensure(dry)
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, spec.Dir); !mapsEqual(got, snap) {
		t.Error("dry run changed files")
	}
	changes, err := Ensure(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(predicted, changes) {
		t.Errorf("dry run predicted %+v, the run did %+v", predicted, changes)
	}
	got := changed(spec.Dir, changes)
	want := "server https://10.77.0.11:6443 -> https://10.77.0.250:6443"
	for _, name := range []string{"kubeconfig/admin.conf", "kubeconfig/super-admin.conf", "kubeconfig/kubelet/w3.conf", "kubeconfig/kube-proxy.conf"} {
		if c := got[name]; c.Action != "rewritten" || c.Reason != want {
			t.Errorf("%s: %+v, want rewritten: %s", name, c, want)
		}
	}
	if c := got["apiserver.crt"]; c.Action != "reissued" || !strings.Contains(c.Reason, "10.77.0.250") {
		t.Errorf("apiserver.crt: %+v, want reissued with the new endpoint in its names", c)
	}
	if len(changes) != 5 {
		t.Errorf("%d changes, want 4 kubeconfigs and apiserver.crt (the masters' own kubeconfigs stay): %+v", len(changes), changes)
	}
	kc, after := readKubeconfig(t, spec.Dir, "kubeconfig/kubelet/w3.conf")
	if kc.Clusters[0].Cluster.Server != "https://10.77.0.250:6443" || !after.Equal(before) {
		t.Errorf("rewritten kubeconfig: server %s, same certificate %v", kc.Clusters[0].Cluster.Server, after.Equal(before))
	}
	if err := verify(t, spec.Dir, "ca", "apiserver", x509.ExtKeyUsageServerAuth, "10.77.0.250"); err != nil {
		t.Error(err)
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
