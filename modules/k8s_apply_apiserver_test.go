package modules

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/transport"
)

// This file runs k8s_apply against a real kube-apiserver (one process on
// 127.0.0.1 over a one-member etcd, both started and killed by the test).
// It runs with KPLAY_K8S=1 when the binaries are there: kube-apiserver and
// kubectl from the artifacts folder (scripts/k8s-build.sh), etcd from PATH,
// /usr/bin or the lab's base image.

// k8sTestBins finds kube-apiserver, kubectl and etcd, or says why not.
func k8sTestBins() (apiserver, kubectl, etcd, why string) {
	root := os.Getenv("KPLAY_ARTIFACTS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "kplay", "artifacts")
	}
	ver := os.Getenv("KPLAY_KUBE_VERSION")
	if ver == "" {
		ver = "v1.34.4"
	}
	bin := filepath.Join(root, "kubernetes", ver, "bin")
	apiserver, kubectl = filepath.Join(bin, "kube-apiserver"), filepath.Join(bin, "kubectl")
	for _, p := range []string{apiserver, kubectl} {
		if _, err := os.Stat(p); err != nil {
			return "", "", "", "no " + p + " (make k8s-artifacts)"
		}
	}
	cands := []string{"/usr/bin/etcd", "/usr/local/bin/etcd"}
	if p, err := exec.LookPath("etcd"); err == nil {
		cands = append([]string{p}, cands...)
	}
	base, _ := filepath.Glob("/var/lib/kplay-lab/base-*/rootfs/usr/bin/etcd")
	for _, p := range append(cands, base...) {
		if _, err := os.Stat(p); err == nil {
			return apiserver, kubectl, p, ""
		}
	}
	return "", "", "", "no etcd binary (PATH, /usr/bin, lab base image)"
}

// startProc starts a process logging to dir/name.log; the cleanup kills it
// by its PID and waits for it.
func startProc(t *testing.T, dir, name string, argv ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
}

// testPKI writes a CA, a serving cert for 127.0.0.1, an admin client cert
// (system:masters), a service-account key pair and a kubeconfig.
func testPKI(t *testing.T, dir string, port int) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kplay-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, cn string, org []string, server bool) (string, string) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: org},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			tmpl.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalPKCS8PrivateKey(k)
		c := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
		writeFile(t, filepath.Join(dir, name+".crt"), c, 0o600)
		writeFile(t, filepath.Join(dir, name+".key"), key, 0o600)
		return c, key
	}
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	writeFile(t, filepath.Join(dir, "ca.crt"), caPEM, 0o600)
	leaf("apiserver", "kube-apiserver", nil, true)
	crt, key := leaf("admin", "kplay-test-admin", []string{"system:masters"}, false)
	sa, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sad, _ := x509.MarshalPKCS8PrivateKey(sa)
	pub, _ := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	writeFile(t, filepath.Join(dir, "sa.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: sad})), 0o600)
	writeFile(t, filepath.Join(dir, "sa.pub"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})), 0o600)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "https://127.0.0.1:%d", certificate-authority-data: %s}}]
users: [{name: admin, user: {client-certificate-data: %s, client-key-data: %s}}]
contexts: [{name: admin@t, context: {cluster: t, user: admin}}]
current-context: admin@t
`, port, b64(caPEM), b64(crt), b64(key))
	writeFile(t, filepath.Join(dir, "admin.conf"), kc, 0o600)
}

// startAPIServer starts etcd and kube-apiserver on loopback and waits (at
// most 3 minutes) until /readyz says ok; it returns the kubeconfig path.
func startAPIServer(t *testing.T, apiserver, etcd string) string {
	t.Helper()
	dir := t.TempDir()
	cp, pp, ap := freePort(t), freePort(t), freePort(t)
	testPKI(t, dir, ap)
	client, peer := fmt.Sprintf("http://127.0.0.1:%d", cp), fmt.Sprintf("http://127.0.0.1:%d", pp)
	startProc(t, dir, "etcd", etcd, "--name", "t", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "t="+peer)
	p := func(n string) string { return filepath.Join(dir, n) }
	startProc(t, dir, "apiserver", apiserver, "--etcd-servers", client, "--bind-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(ap), "--advertise-address", "192.0.2.10", "--cert-dir", p("certs"),
		"--tls-cert-file", p("apiserver.crt"), "--tls-private-key-file", p("apiserver.key"), "--client-ca-file", p("ca.crt"),
		"--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", p("sa.pub"),
		"--service-account-signing-key-file", p("sa.key"), "--service-cluster-ip-range", "10.96.0.0/12",
		"--authorization-mode", "RBAC")
	cert, err := tls.LoadX509KeyPair(p("admin.crt"), p("admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(readString(t, p("ca.crt"))))
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool}}}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", ap))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p("admin.conf")
			}
		}
		time.Sleep(time.Second)
	}
	log, _ := os.ReadFile(p("apiserver.log"))
	t.Fatalf("kube-apiserver not ready in 3m; log tail:\n%s", tail(string(log), 40))
	return ""
}

const apiserverManifest = `apiVersion: v1
kind: Namespace
metadata: {name: kplay-t}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf, namespace: kplay-t, labels: {app.kubernetes.io/managed-by: kplay}}
data: {color: %C%}
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kplay-t}
spec:
  clusterIP: 10.96.0.10
  selector: {k8s-app: dns}
  ports: [{name: dns, port: 53, protocol: UDP}]
`

func TestK8sApplyRealAPIServer(t *testing.T) {
	if os.Getenv("KPLAY_K8S") == "" {
		t.Skip("set KPLAY_K8S=1 to run k8s_apply against a real kube-apiserver")
	}
	apiserver, kubectl, etcd, why := k8sTestBins()
	if why != "" {
		t.Skip(why)
	}
	kc := startAPIServer(t, apiserver, etcd)
	dest := filepath.Join(t.TempDir(), "addons", "t.yaml")
	req := func(color string, check bool, extra map[string]any) *Request {
		args := map[string]any{"definition": strings.ReplaceAll(apiserverManifest, "%C%", color), "dest": dest,
			"kubectl": kubectl, "kubeconfig": kc}
		for k, v := range extra {
			args[k] = v
		}
		r := newReq(args, nil, nil)
		r.Check, r.Diff = check, true
		return r
	}
	get := func(args ...string) string {
		out, err := exec.Command(kubectl, append([]string{"--kubeconfig", kc}, args...)...).CombinedOutput()
		if err != nil {
			return "error: " + string(out)
		}
		return strings.TrimSpace(string(out))
	}
	color := func() string { return get("-n", "kplay-t", "get", "cm", "conf", "-o", "jsonpath={.data.color}") }
	if r := runModule(t, K8sApply{}, req("red", true, nil)); !r.Changed || !strings.Contains(r.Msg, "namespace kplay-t is created") {
		t.Fatalf("check on an empty cluster: changed=%v %q", r.Changed, r.Msg)
	}
	if got := get("get", "ns", "kplay-t", "--ignore-not-found", "-o", "name"); got != "" {
		t.Fatalf("check mode created %q", got)
	}
	first := runModule(t, K8sApply{}, req("red", false, nil))
	if !first.Changed || first.Failed || color() != "red" {
		t.Fatalf("apply: changed=%v failed=%v %s %s, color %q", first.Changed, first.Failed, first.Stdout, first.Stderr, color())
	}
	if ip := get("-n", "kplay-t", "get", "svc", "dns", "-o", "jsonpath={.spec.clusterIP}"); ip != "10.96.0.10" {
		t.Errorf("service clusterIP %q", ip)
	}
	if mgr := get("-n", "kplay-t", "get", "cm", "conf", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[0].manager}"); mgr != "kplay" {
		t.Errorf("field manager %q, want kplay", mgr)
	}
	for _, check := range []bool{true, false} {
		if r := runModule(t, K8sApply{}, req("red", check, nil)); r.Changed {
			t.Fatalf("re-apply (check=%v): changed (%s, diff %+v)", check, r.Msg, r.Diff)
		}
	}
	predicted := runModule(t, K8sApply{}, req("blue", true, nil))
	if !predicted.Changed || len(predicted.Diff) != 1 || !strings.Contains(predicted.Diff[0].After, "blue") || color() != "red" {
		t.Fatalf("check with a new color: changed=%v diff %+v color %q", predicted.Changed, predicted.Diff, color())
	}
	changed := runModule(t, K8sApply{}, req("blue", false, nil))
	if !changed.Changed || color() != "blue" || fmt.Sprint(changed.Diff) != fmt.Sprint(predicted.Diff) {
		t.Fatalf("apply blue: changed=%v color %q diff %+v, predicted %+v", changed.Changed, color(), changed.Diff, predicted.Diff)
	}
	undo := changed.Changes[len(changed.Changes)-1].Backup
	sh := func() string {
		var out strings.Builder
		if err := (&transport.Local{}).Exec(t.Context(), "sh "+undo, nil, &out, &out); err != nil {
			t.Fatalf("undo: %v: %s", err, out.String())
		}
		return strings.TrimSpace(out.String())
	}
	if got := sh(); got != "changed" || color() != "red" {
		t.Fatalf("undo: %q, color %q, want red back", got, color())
	}
	if got := sh(); got != "" {
		t.Errorf("second undo: %q, want no change", got)
	}
	// The undo script put the objects back; the stored manifest still says
	// blue (kplay rollback restores it from the journal's file entry).
	if r := runModule(t, K8sApply{}, req("red", false, nil)); len(r.Changes) != 1 || r.Changes[0].Kind != KindFile || !strings.HasPrefix(r.Msg, "stored manifest") {
		t.Errorf("apply red after the undo: want only the stored manifest rewritten: %s %+v", r.Msg, r.Changes)
	}
	gone := runModule(t, K8sApply{}, req("red", false, map[string]any{"state": "absent"}))
	if !gone.Changed || !strings.Contains(color(), "NotFound") {
		t.Fatalf("absent: changed=%v, color %q", gone.Changed, color())
	}
	if r := runModule(t, K8sApply{}, req("red", false, map[string]any{"state": "absent"})); r.Changed {
		t.Errorf("absent again: changed (%s)", r.Msg)
	}
}
