package modules

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// testCertPEM is a self-signed certificate with the given SANs, made at
// test time.
func testCertPEM(t *testing.T, dns []string, ips ...string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: dns}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestX509Info(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "apiserver.crt")
	writeFile(t, good, testCertPEM(t, []string{"kubernetes", "h1"}, "10.96.0.1", "127.0.0.1"), 0o644)
	junk := filepath.Join(dir, "junk.crt")
	writeFile(t, junk, "not a certificate\n", 0o644)
	tests := []struct {
		name, path string
		failed     bool
		sans       []any
	}{
		{"certificate", good, false, []any{"DNS:kubernetes", "DNS:h1", "IP:10.96.0.1", "IP:127.0.0.1"}},
		{"missing", filepath.Join(dir, "nope.crt"), true, nil},
		{"directory", dir, true, nil},
		{"not PEM", junk, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newReq(map[string]any{"path": tt.path}, nil, nil)
			req.Check = true
			res := runModule(t, X509Info{}, req)
			if res.Failed != tt.failed || res.Changed || len(res.Changes) != 0 {
				t.Fatalf("failed=%v changed=%v changes=%d (msg %q), want failed=%v and no change",
					res.Failed, res.Changed, len(res.Changes), res.Msg, tt.failed)
			}
			if tt.failed {
				if res.Msg == "" {
					t.Error("a failure without a message")
				}
				return
			}
			if got := res.Data["subject_alt_name"].([]any); !slices.Equal(got, tt.sans) {
				t.Errorf("subject_alt_name = %v, want %v", got, tt.sans)
			}
			if got := res.Data["ip_addresses"].([]any); !slices.Equal(got, []any{"10.96.0.1", "127.0.0.1"}) {
				t.Errorf("ip_addresses = %v", got)
			}
			if res.Data["subject"] != "CN=kube-apiserver" || res.Data["expired"] != false {
				t.Errorf("subject %v, expired %v", res.Data["subject"], res.Data["expired"])
			}
		})
	}
}

func TestX509InfoBadArgs(t *testing.T) {
	if _, err := (X509Info{}).Run(t.Context(), newReq(map[string]any{"src": "/x"}, nil, nil)); err == nil {
		t.Error("unknown argument src accepted")
	}
}
