package pki

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// endpoint checks ControlPlaneEndpoint (default: the first master's
// ip:APIServerPort) and returns its host and https://host:port; "" when
// there are neither masters nor nodes (no kubeconfig is needed).
func (s *Spec) endpoint() (host, url string, err error) {
	ep := s.ControlPlaneEndpoint
	if ep == "" {
		switch {
		case len(s.Masters) > 0:
			ep = net.JoinHostPort(s.Masters[0].IP, strconv.Itoa(s.APIServerPort))
		case len(s.Nodes) > 0:
			return "", "", fmt.Errorf("nodes need a control plane endpoint (host:port) or masters")
		default:
			return "", "", nil
		}
	}
	host, err = splitEndpoint(ep)
	if err != nil {
		return "", "", fmt.Errorf("control plane endpoint %q: %w", ep, err)
	}
	return host, "https://" + ep, nil
}

// splitEndpoint checks a host:port (IPv6 in brackets) and returns the host.
func splitEndpoint(ep string) (string, error) {
	if strings.Contains(ep, "://") {
		return "", fmt.Errorf("want host:port without a scheme (e.g. 10.77.0.100:6443)")
	}
	host, port, err := net.SplitHostPort(ep)
	if err != nil {
		return "", fmt.Errorf("want host:port (e.g. 10.77.0.100:6443): %w", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	if net.ParseIP(host) == nil && !isDNSName(host) {
		return "", fmt.Errorf("host %q is neither an IP address nor a DNS name", host)
	}
	return host, nil
}

// isDNSName accepts lower- or upper-case RFC 1123 names.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func sanStrings(dns []string, ips []net.IP) []string {
	out := uniq(dns)
	for _, ip := range uniqIPs(ips) {
		out = append(out, ip.String())
	}
	sort.Strings(out)
	return out
}

func uniq(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func uniqIPs(in []net.IP) []net.IP {
	var out []net.IP
	for _, ip := range in {
		if !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}

func parseIPs(ss ...string) []net.IP {
	var ips []net.IP
	for _, s := range ss {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		}
	}
	return ips
}

func onlyIPs(ss []string) []net.IP { return parseIPs(ss...) }

func nonIPs(ss []string) []string {
	var out []string
	for _, s := range ss {
		if net.ParseIP(s) == nil {
			out = append(out, s)
		}
	}
	return out
}
