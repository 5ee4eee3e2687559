package roletest_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/pki"
	"github.com/kplay/kplay/roles"
)

// The master role's preflight (roles/master/tasks/preflight*.yaml) run by
// the engine against this machine as a local "master" h1 whose ip is
// 127.0.0.1: certificates made by package pki in a temp folder, etcd and
// the control plane endpoint played by listeners on 127.0.0.1.

// results keeps the host_result events of a run by task name (without the
// "master : master preflight | " prefix).
type results struct {
	mu  sync.Mutex
	got map[string]engine.Event
}

func (r *results) Event(e engine.Event) {
	if e.Type != engine.EventHostResult {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[strings.TrimPrefix(e.Task, "master : master preflight | ")] = e
}

// want checks that task ended with status and a message containing msg.
func (r *results) want(t *testing.T, task string, status engine.Status, msg string) {
	t.Helper()
	e, ok := r.got[task]
	if !ok {
		t.Errorf("task %q did not run", task)
		return
	}
	if e.Status != status || !strings.Contains(e.Msg, msg) {
		t.Errorf("task %q: %s %q, want %s with %q", task, e.Status, e.Msg, status, msg)
	}
}

// runPreflight runs tasks_from (preflight or preflight_cidrs) of the master
// role on h1 with the inventory vars and the checks in skip skipped.
func runPreflight(t *testing.T, tasksFrom string, vars map[string]any, skip ...string) *results {
	t.Helper()
	for _, tool := range []string{"sh", "bash", "ss", "awk", "timeout", "curl", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s missing: %v", tool, err)
		}
	}
	dir := t.TempDir()
	var inv strings.Builder
	inv.WriteString("all:\n  vars:\n    ansible_connection: local\n")
	for k, v := range vars {
		fmt.Fprintf(&inv, "    %s: %q\n", k, fmt.Sprint(v))
	}
	fmt.Fprintf(&inv, "    preflight_skip: [%s]\n", strings.Join(skip, ", "))
	inv.WriteString("  children:\n    etcd:\n      hosts:\n        h1: {ip: 127.0.0.1}\n    master:\n      hosts:\n        h1:\n")
	pb := "- hosts: master\n  gather_facts: false\n  tasks:\n    - include_role: {name: master, tasks_from: " + tasksFrom + "}\n"
	invPath, pbPath := filepath.Join(dir, "hosts.yaml"), filepath.Join(dir, "site.yaml")
	for p, s := range map[string]string{invPath: inv.String(), pbPath: pb} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	i, err := inventory.Load(invPath)
	if err != nil {
		t.Fatalf("inventory:\n%s\n%v", inv.String(), err)
	}
	r := &results{got: map[string]engine.Event{}}
	if _, err := engine.Run(t.Context(), engine.Options{Inventory: i, Playbooks: []string{pbPath}, RolesFS: roles.FS, Sink: r}); err != nil {
		t.Fatalf("run: %v", err)
	}
	return r
}

// makePKI writes the cluster's certificates for master h1 (127.0.0.1) and
// etcd member h1 into a new folder, the apiserver's naming vip when set.
func makePKI(t *testing.T, vip string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	spec := pki.Spec{Dir: dir, KeyAlgo: "ecdsa", KubernetesSvcIP: "10.96.0.1", VIP: vip,
		Masters: []pki.Member{{Name: "h1", IP: "127.0.0.1"}}, Etcd: []pki.Member{{Name: "h1", IP: "127.0.0.1"}}}
	if vip != "" {
		spec.ControlPlaneEndpoint = vip + ":6443"
	}
	if _, err := pki.Ensure(spec); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMasterPreflightAPIServerSANs(t *testing.T) {
	const vip = "10.0.0.250"
	plain, withVIP := makePKI(t, ""), makePKI(t, vip)
	hostOld := t.TempDir()
	copyFile(t, filepath.Join(plain, "apiserver.crt"), filepath.Join(hostOld, "apiserver.crt"))
	const check, host = "apiserver certificate names everything clients use", "this master's current apiserver certificate"
	tests := []struct {
		name      string
		vars      map[string]any
		status    engine.Status
		msg       string
		hostMsg   string
		hostCheck bool
	}{
		{"names match", map[string]any{"kplay_pki_local_dir": plain, "pki_dir": t.TempDir()}, engine.StatusOK,
			"apiserver.crt names kubernetes, kubernetes.default, kubernetes.default.svc, kubernetes.default.svc.cluster.local, h1, 127.0.0.1, 10.96.0.1", "yet: this run installs it", true},
		{"a VIP the certificate lacks", map[string]any{"kplay_pki_local_dir": plain, "pki_dir": t.TempDir(), "vip": vip}, engine.StatusFailed,
			"h1: the apiserver certificate this run would push (" + plain + "/apiserver.crt) lacks " + vip + ": ", "", false},
		{"a cluster domain the certificate lacks", map[string]any{"kplay_pki_local_dir": plain, "pki_dir": t.TempDir(), "cluster_domain": "example.org"}, engine.StatusFailed,
			"lacks kubernetes.default.svc.example.org: ", "", false},
		{"the host's certificate lacks the VIP", map[string]any{"kplay_pki_local_dir": withVIP, "pki_dir": hostOld, "vip": vip}, engine.StatusOK,
			"", "apiserver.crt here lacks " + vip + ": this run replaces it", true},
		{"skipped in kubeadm mode", map[string]any{"kplay_pki_local_dir": plain, "pki_dir": t.TempDir(), "vip": vip, "install_mode": "kubeadm"}, engine.StatusSkipped,
			"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPreflight(t, "preflight", tt.vars, "cidrs", "ports", "endpoint", "etcd_client")
			r.want(t, check, tt.status, tt.msg)
			if tt.hostCheck {
				r.want(t, host, engine.StatusOK, tt.hostMsg)
			}
		})
	}
	t.Run("skipped by name", func(t *testing.T) {
		r := runPreflight(t, "preflight", map[string]any{"kplay_pki_local_dir": plain, "vip": vip}, "apiserver_sans", "cidrs", "ports", "endpoint", "etcd_client")
		r.want(t, check, engine.StatusSkipped, "")
	})
}

// etcdStandIn serves /health over TLS on 127.0.0.1 with h1's etcd server
// certificate, requiring a client certificate of the etcd CA, as etcd does.
func etcdStandIn(t *testing.T, dir string) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "etcd/h1/server.crt"), filepath.Join(dir, "etcd/h1/server.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "etcd/ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"health":"true","reason":""}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).String()
}

// closedPort is a loopback port nothing listens on (just released).
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestMasterPreflightEtcd(t *testing.T) {
	dir := makePKI(t, "")
	_, port, _ := net.SplitHostPort(etcdStandIn(t, dir))
	foreign := makePKI(t, "")
	wrongClient := filepath.Join(t.TempDir(), "pki")
	copyFile(t, filepath.Join(dir, "etcd/ca.crt"), filepath.Join(wrongClient, "etcd/ca.crt"))
	for _, f := range []string{"apiserver-etcd-client.crt", "apiserver-etcd-client.key"} {
		copyFile(t, filepath.Join(foreign, f), filepath.Join(wrongClient, f))
	}
	const check = "etcd reachable with the apiserver's client certificate"
	tests := []struct {
		name, pkiDir string
		port         any
		status       engine.Status
		msg          string
	}{
		{"member answers", dir, port, engine.StatusOK, "etcd /health ok with apiserver-etcd-client: https://127.0.0.1:" + port},
		{"nothing listens", dir, closedPort(t), engine.StatusFailed, "h1: etcd does not answer with the apiserver-etcd-client certificate: https://127.0.0.1:"},
		{"client certificate of another CA", wrongClient, port, engine.StatusFailed, "h1: etcd does not answer with the apiserver-etcd-client certificate: https://127.0.0.1:" + port},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPreflight(t, "preflight", map[string]any{"kplay_pki_local_dir": tt.pkiDir, "etcd_client_port": tt.port},
				"cidrs", "apiserver_sans", "ports", "endpoint")
			r.want(t, check, tt.status, tt.msg)
		})
	}
}

func TestMasterPreflightEndpointAndPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	busy := l.Addr().(*net.TCPAddr).Port
	free := closedPort(t)
	tests := []struct {
		name, task string
		vars       map[string]any
		skip       string
		status     engine.Status
		msg        string
	}{
		{"endpoint answers", "control plane endpoint reachable", map[string]any{"control_plane_endpoint": fmt.Sprintf("127.0.0.1:%d", busy)},
			"ports", engine.StatusOK, fmt.Sprintf("127.0.0.1:%d connected", busy)},
		{"endpoint refuses", "control plane endpoint reachable", map[string]any{"control_plane_endpoint": fmt.Sprintf("127.0.0.1:%d", free)},
			"ports", engine.StatusOK, fmt.Sprintf("127.0.0.1:%d refused", free)},
		{"default endpoint: the first master's apiserver", "control plane endpoint reachable", map[string]any{"apiserver_port": free},
			"ports", engine.StatusOK, fmt.Sprintf("127.0.0.1:%d refused", free)},
		{"apiserver port held by another program", "preflight : preflight | ports report", map[string]any{"apiserver_port": busy},
			"endpoint", engine.StatusFailed, fmt.Sprintf("h1: ports in use by other programs: %d (held by ", busy)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPreflight(t, "preflight", tt.vars, "cidrs", "apiserver_sans", "etcd_client", tt.skip)
			r.want(t, tt.task, tt.status, tt.msg)
			if tt.status == engine.StatusFailed && !strings.Contains(r.got[tt.task].Msg, "; kube-apiserver.service needs it)") {
				t.Errorf("message does not say who needs the port: %q", r.got[tt.task].Msg)
			}
		})
	}
}

// hostNet is the network of one of this machine's IPv4 interfaces the
// check looks at (not lo, not a CNI's), or "" when there is none.
func hostNet(t *testing.T) (string, string) {
	t.Helper()
	ignore := regexp.MustCompile(`^(cni|flannel|cali|cilium|vxlan\.calico|tunl|kube-ipvs|kube-bridge|nodelocaldns|weave)`)
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil || !p.Addr().Is4() || p.Addr().IsLoopback() || ignore.MatchString(i.Name) {
				continue
			}
			return p.Masked().String(), i.Name
		}
	}
	return "", ""
}

// overlapsHost says whether cidr overlaps a network of this machine.
func overlapsHost(t *testing.T, cidr string) bool {
	t.Helper()
	want := netip.MustParsePrefix(cidr)
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() && p.Overlaps(want) {
			return true
		}
	}
	return false
}

// cidrCase is one run of the CIDR check.
type cidrCase struct {
	name, svc, pods, task string
	status                engine.Status
	msg                   string
}

func TestMasterPreflightCIDRs(t *testing.T) {
	const check = "service and pod networks overlap nothing"
	tests := []cidrCase{
		{"apart", "10.96.0.0/12", "10.244.0.0/16", check, engine.StatusOK, "overlap neither each other nor"},
		{"service inside pods", "10.244.128.0/20", "10.244.0.0/16", check, engine.StatusFailed,
			"h1: service_cidr 10.244.128.0/20 overlaps cluster_cidr 10.244.0.0/16: "},
		{"pods inside service", "10.0.0.0/8", "10.244.0.0/16", check, engine.StatusFailed,
			"h1: service_cidr 10.0.0.0/8 overlaps cluster_cidr 10.244.0.0/16"},
		{"host bits", "10.96.0.1/12", "10.244.0.0/16", "service and pod networks are networks", engine.StatusFailed,
			"h1: service_cidr (10.96.0.1/12) and cluster_cidr (10.244.0.0/16) must be IPv4 networks"},
		{"not a network", "10.96.0.0", "10.244.0.0/16", "service and pod networks are networks", engine.StatusFailed,
			"must be IPv4 networks"},
		{"an inventory host's address", "10.96.0.0/12", "127.0.0.0/16", check, engine.StatusFailed,
			"cluster_cidr 127.0.0.0/16 holds h1's address 127.0.0.1"},
	}
	if hnet, hif := hostNet(t); hnet != "" {
		tests = append(tests, cidrCase{"a host network", hnet, "10.244.0.0/16", check, engine.StatusFailed,
			"h1: service_cidr " + hnet + " overlaps "})
		tests = append(tests, cidrCase{"a host network, named with its interface", hnet, "10.244.0.0/16", check, engine.StatusFailed,
			" on " + hif})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.status == engine.StatusOK && (overlapsHost(t, tt.svc) || overlapsHost(t, tt.pods)) {
				t.Skipf("this machine has a network overlapping %s or %s", tt.svc, tt.pods)
			}
			r := runPreflight(t, "preflight_cidrs", map[string]any{"service_cidr": tt.svc, "cluster_cidr": tt.pods})
			r.want(t, tt.task, tt.status, tt.msg)
		})
	}
}
