// Package pki creates and keeps the certificates of a Kubernetes control
// plane on the control machine, natively with crypto/x509 (no cfssl or
// openssl): three CAs (kubernetes, etcd, front-proxy), the service-account
// key pair, etcd server/peer certificates per member, the API server's
// certificates, the kubelets' serving certificates and the components'
// kubeconfigs (client certificate, key and CA embedded), in kubeadm's file
// layout. Ensure is idempotent: a valid certificate whose names still match
// the inventory is kept; one whose names, issuer or key no longer match is
// re-issued and reported, and so is a kubeconfig whose server moved.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Member is one etcd member or master: its name and cluster address.
type Member struct {
	Name string `json:"name"`
	IP   string `json:"ip"`
}

// Spec says which certificates the cluster needs.
type Spec struct {
	// Dir is the folder on the control machine (0700) holding every file.
	Dir             string
	ClusterDomain   string // default cluster.local
	KubernetesSvcIP string // first address of the service CIDR
	VIP             string
	Masters         []Member
	Etcd            []Member
	// Nodes get a kubelet serving certificate and a kubelet kubeconfig;
	// with any node there is also a kube-proxy kubeconfig.
	Nodes []Member
	// ControlPlaneEndpoint is the host:port every kubeconfig but the
	// controller-manager's and scheduler's points at (the VIP and LB port);
	// default: the first master's ip and APIServerPort. Its host is added to
	// the apiserver certificate's names.
	ControlPlaneEndpoint string
	// APIServerPort is each apiserver's own port (default 6443), which the
	// controller-manager and scheduler kubeconfigs of a master point at.
	APIServerPort int
	// ClusterName names the cluster in kubeconfigs (default kubernetes).
	ClusterName       string
	ExtraAPIServerSAN []string
	EtcdCertSANs      []string
	// KeyAlgo is "rsa" (2048, default) or "ecdsa" (P-256).
	KeyAlgo      string
	CertValidity time.Duration // default 1 year
	CAValidity   time.Duration // default 10 years
	// Now is the clock (tests pin it); zero means time.Now.
	Now time.Time
	// RenewBefore re-issues leaves that expire sooner than this (default 30 days).
	RenewBefore time.Duration
	// DryRun reports what Ensure would write and writes nothing (check mode).
	DryRun bool
}

// Change is one file Ensure wrote.
type Change struct {
	Path string `json:"path"`
	// Action is "created", "reissued" (new certificate) or "rewritten" (a
	// kubeconfig whose certificate was kept but whose server or CA changed).
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
}

// certSpec is one certificate to keep.
type certSpec struct {
	name     string // path under Dir without extension
	ca       string // issuing CA's name under Dir; "" = self-signed CA
	cn       string
	orgs     []string
	isCA     bool
	server   bool
	client   bool
	dnsNames []string
	ips      []net.IP
}

func (s *Spec) defaults() {
	if s.ClusterDomain == "" {
		s.ClusterDomain = "cluster.local"
	}
	if s.KeyAlgo == "" {
		s.KeyAlgo = "rsa"
	}
	if s.CertValidity == 0 {
		s.CertValidity = 365 * 24 * time.Hour
	}
	if s.CAValidity == 0 {
		s.CAValidity = 10 * 365 * 24 * time.Hour
	}
	if s.RenewBefore == 0 {
		s.RenewBefore = 30 * 24 * time.Hour
	}
	if s.APIServerPort == 0 {
		s.APIServerPort = 6443
	}
	if s.ClusterName == "" {
		s.ClusterName = "kubernetes"
	}
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
}

// certList is the kubeadm layout for this spec, CAs first; endpointHost
// is the control plane endpoint's host (a name of the apiserver).
func (s *Spec) certList(endpointHost string) ([]certSpec, error) {
	list := []certSpec{
		{name: "ca", cn: "kubernetes", isCA: true},
		{name: "etcd/ca", cn: "etcd-ca", isCA: true},
		{name: "front-proxy-ca", cn: "front-proxy-ca", isCA: true},
		{name: "etcd/healthcheck-client", ca: "etcd/ca", cn: "kube-etcd-healthcheck-client", client: true},
	}
	for _, m := range s.Etcd {
		if err := checkMember(m); err != nil {
			return nil, fmt.Errorf("etcd member: %w", err)
		}
		dns := append([]string{m.Name, "localhost"}, nonIPs(s.EtcdCertSANs)...)
		ips := append(parseIPs(m.IP, "127.0.0.1", "::1"), onlyIPs(s.EtcdCertSANs)...)
		for _, kind := range []string{"server", "peer"} {
			list = append(list, certSpec{name: "etcd/" + m.Name + "/" + kind, ca: "etcd/ca", cn: m.Name,
				server: true, client: true, dnsNames: dns, ips: ips})
		}
	}
	for _, n := range s.Nodes {
		if err := checkMember(n); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		list = append(list, certSpec{name: "kubelet/" + n.Name, ca: "ca", cn: "system:node:" + n.Name,
			orgs: []string{"system:nodes"}, server: true, dnsNames: []string{n.Name}, ips: parseIPs(n.IP, "127.0.0.1")})
	}
	if len(s.Masters) > 0 {
		api, err := s.apiserverCert(endpointHost)
		if err != nil {
			return nil, err
		}
		list = append(list, api,
			certSpec{name: "apiserver-etcd-client", ca: "etcd/ca", cn: "kube-apiserver-etcd-client", client: true},
			certSpec{name: "apiserver-kubelet-client", ca: "ca", cn: "kube-apiserver-kubelet-client", client: true},
			certSpec{name: "front-proxy-client", ca: "front-proxy-ca", cn: "front-proxy-client", client: true},
		)
	}
	return list, nil
}

func (s *Spec) apiserverCert(endpointHost string) (certSpec, error) {
	dns := []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + s.ClusterDomain, "localhost"}
	var ipStrs []string
	for _, m := range s.Masters {
		if err := checkMember(m); err != nil {
			return certSpec{}, fmt.Errorf("master: %w", err)
		}
		dns = append(dns, m.Name)
		ipStrs = append(ipStrs, m.IP)
	}
	for _, extra := range []string{s.KubernetesSvcIP, s.VIP} {
		if extra != "" {
			if net.ParseIP(extra) == nil {
				return certSpec{}, fmt.Errorf("%q is not an IP address", extra)
			}
			ipStrs = append(ipStrs, extra)
		}
	}
	ipStrs = append(ipStrs, "127.0.0.1")
	sans := append(slices.Clone(s.ExtraAPIServerSAN), endpointHost)
	dns = append(dns, nonIPs(sans)...)
	ips := append(parseIPs(ipStrs...), onlyIPs(sans)...)
	return certSpec{name: "apiserver", ca: "ca", cn: "kube-apiserver", server: true, dnsNames: dns, ips: ips}, nil
}

func checkMember(m Member) error {
	if m.Name == "" || strings.ContainsAny(m.Name, "/\\ ") || m.Name == "." || m.Name == ".." {
		return fmt.Errorf("bad name %q", m.Name)
	}
	if net.ParseIP(m.IP) == nil {
		return fmt.Errorf("%s: %q is not an IP address", m.Name, m.IP)
	}
	return nil
}

// Ensure creates what is missing and re-issues what no longer matches,
// returning what it wrote (nothing on a second run).
func Ensure(spec Spec) ([]Change, error) {
	spec.defaults()
	if spec.Dir == "" {
		return nil, errors.New("pki: no folder given")
	}
	if spec.APIServerPort < 1 || spec.APIServerPort > 65535 {
		return nil, fmt.Errorf("pki: apiserver port %d is not from 1 to 65535", spec.APIServerPort)
	}
	host, url, err := spec.endpoint()
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	list, err := spec.certList(host)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if !spec.DryRun {
		if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
	}
	var changes []Change
	reissuedCA := map[string]bool{}
	for _, c := range list {
		ch, err := spec.ensureCert(c, reissuedCA)
		if err != nil {
			return changes, fmt.Errorf("pki: %s: %w", c.name, err)
		}
		if ch != nil {
			changes = append(changes, *ch)
			if c.isCA {
				reissuedCA[c.name] = true
			}
		}
	}
	for _, k := range spec.kubeconfigList(url) {
		ch, err := spec.ensureKubeconfig(k, reissuedCA["ca"])
		if err != nil {
			return changes, fmt.Errorf("pki: %s: %w", k.name, err)
		}
		if ch != nil {
			changes = append(changes, *ch)
		}
	}
	ch, err := spec.ensureSAKey()
	if err != nil {
		return changes, fmt.Errorf("pki: sa.key: %w", err)
	}
	if ch != nil {
		changes = append(changes, *ch)
	}
	return changes, nil
}

// ensureCert keeps, creates or re-issues one certificate.
func (s *Spec) ensureCert(c certSpec, reissuedCA map[string]bool) (*Change, error) {
	crtPath := filepath.Join(s.Dir, c.name+".crt")
	if s.DryRun && reissuedCA[c.ca] {
		// The issuer would be new: so would this certificate.
		if _, err := os.Stat(crtPath); err == nil {
			return &Change{Path: crtPath, Action: "reissued", Reason: "its CA would be created"}, nil
		}
		return &Change{Path: crtPath, Action: "created"}, nil
	}
	var parent *x509.Certificate
	var parentKey crypto.Signer
	if c.ca != "" {
		var err error
		parent, parentKey, err = loadPair(filepath.Join(s.Dir, c.ca))
		if err != nil {
			return nil, fmt.Errorf("issuer %s: %w", c.ca, err)
		}
	}
	existing, key, err := loadPair(filepath.Join(s.Dir, c.name))
	action, reason := "created", ""
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		action, reason = "reissued", err.Error()
	default:
		reason = s.mismatch(c, existing, parent, reissuedCA[c.ca])
		if reason == "" && !keyMatches(existing, key) {
			reason = "key does not match the certificate"
		}
		if reason == "" {
			return nil, nil
		}
		if c.isCA {
			return nil, fmt.Errorf("the CA no longer fits (%s); replacing a CA is a cluster-wide rotation, refused here", reason)
		}
		action = "reissued"
	}
	if s.DryRun {
		return &Change{Path: crtPath, Action: action, Reason: reason}, nil
	}
	if key == nil || action == "reissued" {
		if key, err = newKey(s.KeyAlgo); err != nil {
			return nil, err
		}
	}
	der, err := s.sign(c, key, parent, parentKey)
	if err != nil {
		return nil, err
	}
	if err := writePair(filepath.Join(s.Dir, c.name), der, key); err != nil {
		return nil, err
	}
	return &Change{Path: crtPath, Action: action, Reason: reason}, nil
}

// mismatch says why an existing certificate no longer fits, or "".
func (s *Spec) mismatch(c certSpec, cert, parent *x509.Certificate, parentNew bool) string {
	gotOrgs, wantOrgs := slices.Sorted(slices.Values(cert.Subject.Organization)), slices.Sorted(slices.Values(c.orgs))
	switch {
	case cert.Subject.CommonName != c.cn:
		return fmt.Sprintf("common name %q, want %q", cert.Subject.CommonName, c.cn)
	case !slices.Equal(gotOrgs, wantOrgs):
		return fmt.Sprintf("organization %q, want %q", strings.Join(gotOrgs, ","), strings.Join(wantOrgs, ","))
	case !c.isCA && s.Now.Add(s.RenewBefore).After(cert.NotAfter):
		return fmt.Sprintf("expires %s", cert.NotAfter.Format("2006-01-02"))
	case c.isCA && s.Now.After(cert.NotAfter):
		return "expired"
	case parentNew:
		return "its CA was re-created"
	case parent != nil && cert.CheckSignatureFrom(parent) != nil:
		return "not signed by " + c.ca
	}
	if want, got := sanStrings(c.dnsNames, c.ips), sanStrings(cert.DNSNames, cert.IPAddresses); !slices.Equal(want, got) {
		return fmt.Sprintf("names %s, want %s", strings.Join(got, ","), strings.Join(want, ","))
	}
	return ""
}

func (s *Spec) sign(c certSpec, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: c.cn, Organization: c.orgs},
		NotBefore:    s.Now.Add(-5 * time.Minute),
		NotAfter:     s.Now.Add(s.CertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		DNSNames:     uniq(c.dnsNames),
		IPAddresses:  uniqIPs(c.ips),
	}
	if c.isCA {
		tmpl.NotAfter = s.Now.Add(s.CAValidity)
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		parent, parentKey = tmpl, key
	}
	if c.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if c.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	return x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
}

func (s *Spec) ensureSAKey() (*Change, error) {
	path := filepath.Join(s.Dir, "sa.key")
	if _, err := os.Stat(path); err == nil {
		return nil, nil
	}
	if s.DryRun {
		return &Change{Path: path, Action: "created"}, nil
	}
	key, err := newKey(s.KeyAlgo)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(s.Dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})); err != nil {
		return nil, err
	}
	if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return nil, err
	}
	return &Change{Path: path, Action: "created"}, nil
}

func newKey(algo string) (crypto.Signer, error) {
	switch algo {
	case "rsa":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ecdsa":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unknown key algorithm %q (rsa, ecdsa)", algo)
}
