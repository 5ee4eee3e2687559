package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testSpec(t *testing.T) Spec {
	return Spec{
		Dir:             t.TempDir(),
		KubernetesSvcIP: "10.96.0.1",
		VIP:             "10.77.0.100",
		Masters:         []Member{{"m1", "10.77.0.11"}, {"m2", "10.77.0.12"}},
		Etcd:            []Member{{"e1", "10.77.0.11"}, {"e2", "10.77.0.12"}, {"e3", "10.77.0.13"}},
		KeyAlgo:         "ecdsa", // fast in tests; rsa is covered once below
		Now:             time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
	}
}

func TestEnsureCreatesThenKeeps(t *testing.T) {
	spec := testSpec(t)
	dry := spec
	dry.DryRun = true
	predicted, err := Ensure(dry)
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(spec.Dir); len(ents) != 0 {
		t.Fatalf("dry run wrote %d files", len(ents))
	}
	changes, err := Ensure(spec)
	if len(predicted) != len(changes) {
		t.Errorf("dry run predicted %d files, the run wrote %d", len(predicted), len(changes))
	}
	if err != nil {
		t.Fatal(err)
	}
	// 3 CAs, healthcheck, 3x(server, peer), apiserver, 3 apiserver clients,
	// admin and super-admin, 2x(controller-manager, scheduler), sa.key
	if len(changes) != 3+1+6+1+3+2+4+1 {
		t.Fatalf("first run wrote %d files: %+v", len(changes), changes)
	}
	again, err := Ensure(spec)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run: %v, %+v", err, again)
	}
	for _, f := range []string{"ca.key", "etcd/e1/server.key", "sa.key", "apiserver.crt"} {
		fi, err := os.Stat(filepath.Join(spec.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 600", f, fi.Mode().Perm())
		}
	}
}

func verify(t *testing.T, dir, ca, leaf string, usage x509.ExtKeyUsage, name string) error {
	t.Helper()
	caCert, _, err := loadPair(filepath.Join(dir, ca))
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := loadPair(filepath.Join(dir, leaf))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage},
		CurrentTime: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	return err
}

func TestCertsVerify(t *testing.T) {
	spec := testSpec(t)
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	ok := []struct {
		ca, leaf string
		usage    x509.ExtKeyUsage
		name     string
	}{
		{"etcd/ca", "etcd/e2/server", x509.ExtKeyUsageServerAuth, "10.77.0.12"},
		{"etcd/ca", "etcd/e2/peer", x509.ExtKeyUsageClientAuth, ""},
		{"etcd/ca", "etcd/e1/server", x509.ExtKeyUsageServerAuth, "e1"},
		{"ca", "apiserver", x509.ExtKeyUsageServerAuth, "10.77.0.100"},
		{"ca", "apiserver", x509.ExtKeyUsageServerAuth, "10.77.0.12"},
		{"ca", "apiserver", x509.ExtKeyUsageServerAuth, "10.96.0.1"},
		{"ca", "apiserver", x509.ExtKeyUsageServerAuth, "kubernetes.default.svc.cluster.local"},
		{"etcd/ca", "apiserver-etcd-client", x509.ExtKeyUsageClientAuth, ""},
		{"front-proxy-ca", "front-proxy-client", x509.ExtKeyUsageClientAuth, ""},
	}
	for _, c := range ok {
		if err := verify(t, spec.Dir, c.ca, c.leaf, c.usage, c.name); err != nil {
			t.Errorf("%s for %q: %v", c.leaf, c.name, err)
		}
	}
	if err := verify(t, spec.Dir, "etcd/ca", "etcd/e2/server", x509.ExtKeyUsageServerAuth, "10.77.0.11"); err == nil {
		t.Error("e2's server cert is valid for e1's address")
	}
	if err := verify(t, spec.Dir, "ca", "etcd/e1/server", x509.ExtKeyUsageServerAuth, "e1"); err == nil {
		t.Error("etcd cert verifies against the kubernetes CA")
	}
}

func TestSANChangeReissuesOnlyWhatChanged(t *testing.T) {
	spec := testSpec(t)
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	spec.Masters = append(spec.Masters, Member{"m3", "10.77.0.13"})
	changes, err := Ensure(spec)
	if err != nil {
		t.Fatal(err)
	}
	// The apiserver cert gains m3's address; m3 gets its kubeconfigs.
	if len(changes) != 3 || !strings.HasSuffix(changes[0].Path, "apiserver.crt") || changes[0].Action != "reissued" ||
		!strings.Contains(changes[0].Reason, "10.77.0.13") ||
		!strings.HasSuffix(changes[1].Path, "kubeconfig/controller-manager/m3.conf") || changes[1].Action != "created" ||
		!strings.HasSuffix(changes[2].Path, "kubeconfig/scheduler/m3.conf") || changes[2].Action != "created" {
		t.Fatalf("adding a master: %+v", changes)
	}
	if err := verify(t, spec.Dir, "ca", "apiserver", x509.ExtKeyUsageServerAuth, "10.77.0.13"); err != nil {
		t.Error(err)
	}
}

func TestRenewSoonExpiring(t *testing.T) {
	spec := testSpec(t)
	spec.Etcd = spec.Etcd[:1]
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	spec.Now = spec.Now.Add(340 * 24 * time.Hour) // 25 days left on leaves
	changes, err := Ensure(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if strings.Contains(c.Path, "ca.crt") || c.Action != "reissued" || !strings.Contains(c.Reason, "expires") {
			t.Errorf("unexpected change %+v", c)
		}
	}
	if len(changes) != 7+6 {
		t.Errorf("renewed %d leaves, want 7 certificates and 6 kubeconfigs: %+v", len(changes), changes)
	}
	st, err := Check(spec.Dir, spec.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.DaysLeft < 300 {
			t.Errorf("%s: %d days left after renewal", s.Path, s.DaysLeft)
		}
	}
}

func TestRefusesForeignCAAndBadInput(t *testing.T) {
	spec := testSpec(t)
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	other := testSpec(t)
	if _, err := Ensure(other); err != nil {
		t.Fatal(err)
	}
	// Replace the etcd CA: its leaves no longer verify and are re-issued.
	for _, ext := range []string{".crt", ".key"} {
		data, _ := os.ReadFile(filepath.Join(other.Dir, "etcd/ca"+ext))
		os.WriteFile(filepath.Join(spec.Dir, "etcd/ca"+ext), data, 0o600)
	}
	changes, err := Ensure(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 8 {
		t.Errorf("after an etcd CA swap re-issued %d, want 8 (healthcheck, 6 member certs, apiserver-etcd-client): %+v", len(changes), changes)
	}
	// A CA that no longer fits is never replaced silently.
	for _, ext := range []string{".crt", ".key"} {
		data, _ := os.ReadFile(filepath.Join(spec.Dir, "front-proxy-ca"+ext))
		os.WriteFile(filepath.Join(spec.Dir, "ca"+ext), data, 0o600)
	}
	if _, err := Ensure(spec); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a mismatched CA: %v", err)
	}
	bad := testSpec(t)
	bad.Etcd = []Member{{"e1", "not-an-ip"}}
	if _, err := Ensure(bad); err == nil || !strings.Contains(err.Error(), "not an IP") {
		t.Errorf("bad ip: %v", err)
	}
	bad = testSpec(t)
	bad.Masters[0].Name = "../x"
	if _, err := Ensure(bad); err == nil {
		t.Error("bad name accepted")
	}
}

func TestRSA(t *testing.T) {
	spec := testSpec(t)
	spec.KeyAlgo = "rsa"
	spec.Etcd, spec.Masters = spec.Etcd[:1], nil
	if _, err := Ensure(spec); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, spec.Dir, "etcd/ca", "etcd/e1/server", x509.ExtKeyUsageServerAuth, "10.77.0.11"); err != nil {
		t.Error(err)
	}
}
