package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// kubeconfigSpec is one kubeconfig to keep: its client certificate's
// subject and the API server it points at.
type kubeconfigSpec struct {
	name   string // path under Dir, e.g. kubeconfig/admin.conf
	cn     string // also the kubeconfig's user name
	orgs   []string
	server string // https://host:port
}

// The kubeconfig file layout (the subset kplay writes), in kubectl's field
// order; yaml marshals it the same way every time, so an unchanged
// kubeconfig renders to the same bytes.
type kubeconfig struct {
	APIVersion     string         `yaml:"apiVersion"`
	Kind           string         `yaml:"kind"`
	Clusters       []namedCluster `yaml:"clusters"`
	Contexts       []namedContext `yaml:"contexts"`
	CurrentContext string         `yaml:"current-context"`
	Preferences    struct{}       `yaml:"preferences"`
	Users          []namedUser    `yaml:"users"`
}

type namedCluster struct {
	Cluster struct {
		CAData string `yaml:"certificate-authority-data,omitempty"`
		Server string `yaml:"server"`
	} `yaml:"cluster"`
	Name string `yaml:"name"`
}

type namedContext struct {
	Context struct {
		Cluster string `yaml:"cluster"`
		User    string `yaml:"user"`
	} `yaml:"context"`
	Name string `yaml:"name"`
}

type namedUser struct {
	Name string `yaml:"name"`
	User struct {
		CertData string `yaml:"client-certificate-data,omitempty"`
		KeyData  string `yaml:"client-key-data,omitempty"`
	} `yaml:"user"`
}

// ErrNotKubeconfig says a file is not a kubeconfig (kind Config); `kplay
// certs check` skips such files.
var ErrNotKubeconfig = errors.New("not a kubeconfig")

// ErrNoEmbeddedCert says a kubeconfig's user has no client-certificate-data
// (it names a file, as kubelet does after rotating its certificate).
var ErrNoEmbeddedCert = errors.New("no embedded client certificate")

// kubeconfigList is every kubeconfig the spec needs; endpoint is
// https://<control plane endpoint>.
func (s *Spec) kubeconfigList(endpoint string) []kubeconfigSpec {
	var list []kubeconfigSpec
	if len(s.Masters) > 0 {
		list = append(list,
			kubeconfigSpec{name: "kubeconfig/admin.conf", cn: "kubernetes-admin", orgs: []string{"kubeadm:cluster-admins"}, server: endpoint},
			kubeconfigSpec{name: "kubeconfig/super-admin.conf", cn: "kubernetes-super-admin", orgs: []string{"system:masters"}, server: endpoint})
	}
	for _, m := range s.Masters {
		own := "https://" + net.JoinHostPort(m.IP, fmt.Sprint(s.APIServerPort))
		list = append(list,
			kubeconfigSpec{name: "kubeconfig/controller-manager/" + m.Name + ".conf", cn: "system:kube-controller-manager", server: own},
			kubeconfigSpec{name: "kubeconfig/scheduler/" + m.Name + ".conf", cn: "system:kube-scheduler", server: own})
	}
	for _, n := range s.Nodes {
		list = append(list, kubeconfigSpec{name: "kubeconfig/kubelet/" + n.Name + ".conf", cn: "system:node:" + n.Name,
			orgs: []string{"system:nodes"}, server: endpoint})
	}
	if len(s.Nodes) > 0 {
		list = append(list, kubeconfigSpec{name: "kubeconfig/kube-proxy.conf", cn: "system:kube-proxy", server: endpoint})
	}
	return list
}

// ensureKubeconfig keeps, creates or rewrites one kubeconfig. A valid
// embedded certificate is kept when only the server or the CA data
// changed ("rewritten"); a certificate that no longer fits is re-issued.
func (s *Spec) ensureKubeconfig(k kubeconfigSpec, caNew bool) (*Change, error) {
	path := filepath.Join(s.Dir, k.name)
	if s.DryRun && caNew {
		if _, err := os.Stat(path); err == nil {
			return &Change{Path: path, Action: "reissued", Reason: "its CA would be created"}, nil
		}
		return &Change{Path: path, Action: "created"}, nil
	}
	ca, caKey, err := loadPair(filepath.Join(s.Dir, "ca"))
	if err != nil {
		return nil, fmt.Errorf("issuer ca: %w", err)
	}
	v, err := s.judgeKubeconfig(k, path, ca)
	if err != nil || v.action == "" {
		return nil, err
	}
	change := &Change{Path: path, Action: v.action, Reason: v.reason}
	if s.DryRun {
		return change, nil
	}
	if v.cert == nil {
		if v.cert, v.key, err = s.issueClient(k, ca, caKey); err != nil {
			return nil, err
		}
	}
	data, err := renderKubeconfig(s.ClusterName, k, ca, v.cert, v.key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := writeFile(path, data); err != nil {
		return nil, err
	}
	return change, nil
}

// verdict is what to do with an existing kubeconfig: action "" keeps it;
// "rewritten" keeps its certificate and key (cert, key); "created" and
// "reissued" need a new certificate.
type verdict struct {
	action, reason string
	cert           *x509.Certificate
	key            crypto.Signer
}

// judgeKubeconfig compares the file at path with what k asks for.
func (s *Spec) judgeKubeconfig(k kubeconfigSpec, path string, ca *x509.Certificate) (verdict, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return verdict{action: "created"}, nil
	case err != nil:
		return verdict{}, err
	}
	kc, cert, key, err := parseKubeconfig(data)
	if err != nil {
		return verdict{action: "reissued", reason: err.Error()}, nil
	}
	if why := s.clientMismatch(k, cert, key, ca); why != "" {
		return verdict{action: "reissued", reason: why}, nil
	}
	want, err := renderKubeconfig(s.ClusterName, k, ca, cert, key)
	if err != nil {
		return verdict{}, err
	}
	var why []string
	if got := kc.Clusters[0].Cluster.Server; got != k.server {
		why = append(why, fmt.Sprintf("server %s -> %s", got, k.server))
	}
	if got, _ := base64.StdEncoding.DecodeString(kc.Clusters[0].Cluster.CAData); !bytes.Equal(got, pemCert(ca.Raw)) {
		why = append(why, "certificate-authority-data is not ca.crt")
	}
	if len(why) == 0 && !bytes.Equal(want, data) {
		why = append(why, "names or layout differ from the generated kubeconfig")
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o600 {
		why = append(why, fmt.Sprintf("mode %04o, want 0600", fi.Mode().Perm()))
	}
	if len(why) == 0 {
		return verdict{}, nil
	}
	return verdict{action: "rewritten", reason: strings.Join(why, "; "), cert: cert, key: key}, nil
}

// clientMismatch says why an embedded client certificate no longer fits, or "".
func (s *Spec) clientMismatch(k kubeconfigSpec, cert *x509.Certificate, key crypto.Signer, ca *x509.Certificate) string {
	gotOrgs, wantOrgs := slices.Sorted(slices.Values(cert.Subject.Organization)), slices.Sorted(slices.Values(k.orgs))
	switch {
	case cert.Subject.CommonName != k.cn:
		return fmt.Sprintf("common name %q, want %q", cert.Subject.CommonName, k.cn)
	case !slices.Equal(gotOrgs, wantOrgs):
		return fmt.Sprintf("organization %q, want %q", strings.Join(gotOrgs, ","), strings.Join(wantOrgs, ","))
	case s.Now.Add(s.RenewBefore).After(cert.NotAfter):
		return fmt.Sprintf("expires %s", cert.NotAfter.Format("2006-01-02"))
	case cert.CheckSignatureFrom(ca) != nil:
		return "client certificate not signed by ca"
	case !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth):
		return "client certificate lacks client auth usage"
	case !keyMatches(cert, key):
		return "client key does not match the certificate"
	}
	return ""
}

func (s *Spec) issueClient(k kubeconfigSpec, ca *x509.Certificate, caKey crypto.Signer) (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey(s.KeyAlgo)
	if err != nil {
		return nil, nil, err
	}
	der, err := s.sign(certSpec{cn: k.cn, orgs: k.orgs, client: true}, key, ca, caKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// keyMatches says whether key is the private half of cert's public key.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// renderKubeconfig writes the kubeconfig of k with the CA, the client
// certificate and its key embedded; context <user>@<cluster>.
func renderKubeconfig(cluster string, k kubeconfigSpec, ca, cert *x509.Certificate, key crypto.Signer) ([]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	b64 := base64.StdEncoding.EncodeToString
	kc := kubeconfig{APIVersion: "v1", Kind: "Config", CurrentContext: k.cn + "@" + cluster}
	kc.Clusters = make([]namedCluster, 1)
	kc.Clusters[0].Name = cluster
	kc.Clusters[0].Cluster.Server = k.server
	kc.Clusters[0].Cluster.CAData = b64(pemCert(ca.Raw))
	kc.Contexts = make([]namedContext, 1)
	kc.Contexts[0].Name = kc.CurrentContext
	kc.Contexts[0].Context.Cluster, kc.Contexts[0].Context.User = cluster, k.cn
	kc.Users = make([]namedUser, 1)
	kc.Users[0].Name = k.cn
	kc.Users[0].User.CertData = b64(pemCert(cert.Raw))
	kc.Users[0].User.KeyData = b64(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&kc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseKubeconfig reads a kubeconfig with one cluster and one user and
// returns the user's embedded certificate and key.
func parseKubeconfig(data []byte) (*kubeconfig, *x509.Certificate, crypto.Signer, error) {
	cert, kc, err := parseKubeconfigCert(data)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(kc.Clusters) != 1 || len(kc.Users) != 1 {
		return nil, nil, nil, fmt.Errorf("want one cluster and one user, have %d and %d", len(kc.Clusters), len(kc.Users))
	}
	keyPEM, err := base64.StdEncoding.DecodeString(kc.Users[0].User.KeyData)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client-key-data: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client-key-data: %w", err)
	}
	return kc, cert, key, nil
}

// parseKubeconfigCert reads a kubeconfig's first user's embedded client
// certificate.
func parseKubeconfigCert(data []byte) (*x509.Certificate, *kubeconfig, error) {
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNotKubeconfig, err)
	}
	if kc.Kind != "Config" {
		return nil, nil, ErrNotKubeconfig
	}
	if len(kc.Users) == 0 || kc.Users[0].User.CertData == "" {
		return nil, nil, ErrNoEmbeddedCert
	}
	certPEM, err := base64.StdEncoding.DecodeString(kc.Users[0].User.CertData)
	if err != nil {
		return nil, nil, fmt.Errorf("client-certificate-data: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("client-certificate-data: %w", err)
	}
	return cert, &kc, nil
}
