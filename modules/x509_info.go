package modules

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"
)

// X509InfoArgs are the arguments of x509_certificate_info.
type X509InfoArgs struct {
	Path string `arg:"path,required"`
}

// X509Info reads a PEM certificate from the host (or, delegated, from the
// control machine) and returns its names and validity, parsed in the
// engine: preflight checks compare the SANs of the certificates a run will
// use with what the cluster needs, without openssl on either side. The name
// and the returned keys follow Ansible's community.crypto module. It never
// changes anything and runs in check mode too.
type X509Info struct{}

// Run implements Module.
func (X509Info) Run(ctx context.Context, req *Request) (Result, error) {
	var a X509InfoArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	fi, err := StatWith(ctx, req.Conn, a.Path, StatOptions{Follow: true})
	if err != nil {
		return Result{}, err
	}
	if !fi.Exists || fi.Kind == "directory" {
		return Result{Failed: true, Msg: fmt.Sprintf("certificate %s: not found or not a file", a.Path)}, nil
	}
	b, err := readAll(ctx, req.Conn, a.Path)
	if err != nil {
		return Result{}, err
	}
	cert, err := firstCertificate(b)
	if err != nil {
		return Result{Failed: true, Msg: fmt.Sprintf("certificate %s: %v", a.Path, err)}, nil
	}
	return Result{Data: certData(cert)}, nil
}

// firstCertificate parses the first CERTIFICATE block of a PEM file.
func firstCertificate(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("no PEM CERTIFICATE block")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

// certData is the result of x509_certificate_info for cert: Ansible's
// subject_alt_name ("DNS:x", "IP:y") plus the plain dns_names and
// ip_addresses lists that checks compare most easily.
func certData(cert *x509.Certificate) map[string]any {
	dns, ips, sans := []any{}, []any{}, []any{}
	for _, d := range cert.DNSNames {
		dns = append(dns, d)
		sans = append(sans, "DNS:"+d)
	}
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
		sans = append(sans, "IP:"+ip.String())
	}
	return map[string]any{
		"subject":          cert.Subject.String(),
		"issuer":           cert.Issuer.String(),
		"serial_number":    cert.SerialNumber.String(),
		"not_before":       cert.NotBefore.UTC().Format(time.RFC3339),
		"not_after":        cert.NotAfter.UTC().Format(time.RFC3339),
		"expired":          time.Now().After(cert.NotAfter),
		"dns_names":        dns,
		"ip_addresses":     ips,
		"subject_alt_name": sans,
	}
}
