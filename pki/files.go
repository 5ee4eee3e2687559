package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// loadPair reads base.crt and base.key. A missing certificate gives an
// error wrapping os.ErrNotExist.
func loadPair(base string) (*x509.Certificate, crypto.Signer, error) {
	crtPEM, err := os.ReadFile(base + ".crt")
	if err != nil {
		return nil, nil, err
	}
	cert, err := parseCert(crtPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.crt: %w", base, err)
	}
	keyPEM, err := os.ReadFile(base + ".key")
	if err != nil {
		return cert, nil, fmt.Errorf("%s.key: %w", base, errors.Unwrap(err))
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return cert, nil, fmt.Errorf("%s.key: %w", base, err)
	}
	return cert, key, nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
			return k, nil
		}
		if k, err2 := x509.ParseECPrivateKey(block.Bytes); err2 == nil {
			return k, nil
		}
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	return signer, nil
}

// writePair writes base.key (0600) then base.crt, each atomically.
func writePair(base string, der []byte, key crypto.Signer) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		return err
	}
	if err := writeFile(base+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return err
	}
	return writeFile(base+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// writeFile replaces path atomically with data, 0600 from the first byte.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Status is one certificate's expiry, for `kplay certs check`.
type Status struct {
	Path     string    `json:"path"`
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"`
	Names    []string  `json:"names,omitempty"`
}

// Check lists every certificate under dir with its days left at now: the
// *.crt files and the client certificates embedded in the *.conf
// kubeconfigs (files that are not kubeconfigs are skipped).
func Check(dir string, now time.Time) ([]Status, error) {
	var out []Status
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		inspect := Inspect
		switch {
		case strings.HasSuffix(path, ".crt"):
		case strings.HasSuffix(path, ".conf"):
			inspect = InspectKubeconfig
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		st, err := inspect(rel, data, now)
		if errors.Is(err, ErrNotKubeconfig) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, st)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// Inspect reads one PEM certificate (path names it in the Status) and says
// when it expires, counted from now.
func Inspect(path string, data []byte, now time.Time) (Status, error) {
	cert, err := parseCert(data)
	if err != nil {
		return Status{}, err
	}
	return status(path, cert, now), nil
}

// InspectKubeconfig reads the client certificate embedded in a kubeconfig
// (client-certificate-data of its first user) and says when it expires.
// It fails with ErrNotKubeconfig for other files and ErrNoEmbeddedCert when
// the certificate is a file reference.
func InspectKubeconfig(path string, data []byte, now time.Time) (Status, error) {
	cert, _, err := parseKubeconfigCert(data)
	if err != nil {
		return Status{}, err
	}
	return status(path, cert, now), nil
}

func status(path string, cert *x509.Certificate, now time.Time) Status {
	return Status{Path: path, Subject: cert.Subject.CommonName, Issuer: cert.Issuer.CommonName,
		NotAfter: cert.NotAfter, DaysLeft: int(cert.NotAfter.Sub(now).Hours() / 24),
		Names: sanStrings(cert.DNSNames, cert.IPAddresses)}
}
