package engine

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ipFilters are the address helpers the Kubernetes roles need (the first
// service IP of a CIDR, the DNS IP, the network of a node address). They
// follow Ansible's ansible.utils.ipaddr where they share its names.
func ipFilters() map[string]exprFunc {
	return map[string]exprFunc{
		"ipaddr":   func(a ...any) (any, error) { return ipFilter(a, 0) },
		"ipv4":     func(a ...any) (any, error) { return ipFilter(a, 4) },
		"ipv6":     func(a ...any) (any, error) { return ipFilter(a, 6) },
		"nthhost":  nthHost,
		"nth_host": nthHost,
		"network":  ipQuery("network"),
		"prefix":   ipQuery("prefix"),
		"netmask":  ipQuery("netmask"),
		"ipmath":   ipMath,
		"ipwrap":   ipQuery("wrap"),
	}
}

// ipValue is a parsed address, with its prefix length when one was written.
type ipValue struct {
	p         netip.Prefix
	hasPrefix bool
}

func parseIPValue(v any) (ipValue, bool) {
	s, ok := v.(string)
	if !ok {
		return ipValue{}, false
	}
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return ipValue{p: p, hasPrefix: true}, err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ipValue{}, false
	}
	return ipValue{p: netip.PrefixFrom(a, a.BitLen())}, true
}

// ipFilter is ipaddr/ipv4/ipv6(value, query=""): false when value is not an
// address (of that version), else the query's answer. A list is filtered.
func ipFilter(args []any, version int) (any, error) {
	if err := need(args, 1, 2); err != nil {
		return nil, err
	}
	query := arg(args, 1)
	if l, ok := args[0].([]any); ok {
		out := []any{}
		for _, it := range l {
			r, err := ipFilter([]any{it, query}, version)
			if err != nil {
				return nil, err
			}
			if r != false {
				out = append(out, r)
			}
		}
		return out, nil
	}
	v, ok := parseIPValue(args[0])
	if !ok || (version == 4 && !v.p.Addr().Is4()) || (version == 6 && !v.p.Addr().Is6()) {
		return false, nil
	}
	if n, ok := queryIndex(query); ok {
		a, err := nth(v.p, n)
		if err != nil {
			return false, nil
		}
		return fmt.Sprintf("%s/%d", a, v.p.Bits()), nil
	}
	return answer(v, toString(query))
}

func queryIndex(q any) (int, bool) {
	if n, ok := asInt(q); ok {
		return n, true
	}
	if s, ok := q.(string); ok && s != "" {
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	return 0, false
}

// answer evaluates one ipaddr query on v.
func answer(v ipValue, query string) (any, error) {
	addr, bits := v.p.Addr(), v.p.Bits()
	masked := v.p.Masked()
	switch query {
	case "":
		if v.hasPrefix {
			return v.p.String(), nil
		}
		return addr.String(), nil
	case "address":
		return addr.String(), nil
	case "net":
		if v.hasPrefix && masked.Addr() == addr {
			return masked.String(), nil
		}
		return false, nil
	case "host":
		if bits == addr.BitLen() || masked.Addr() != addr {
			return fmt.Sprintf("%s/%d", addr, bits), nil
		}
		return false, nil
	case "network":
		return masked.Addr().String(), nil
	case "subnet", "cidr":
		return masked.String(), nil
	case "prefix":
		return bits, nil
	case "netmask":
		return maskString(addr, bits), nil
	case "broadcast":
		if !addr.Is4() {
			return false, nil
		}
		last, _ := nth(v.p, -1)
		return last.String(), nil
	case "size":
		if addr.BitLen()-bits > 62 {
			return nil, errors.New("size: network too large")
		}
		return 1 << (addr.BitLen() - bits), nil
	case "private":
		if addr.IsPrivate() {
			return answer(v, "")
		}
		return false, nil
	case "public":
		if addr.IsGlobalUnicast() && !addr.IsPrivate() {
			return answer(v, "")
		}
		return false, nil
	case "wrap":
		if addr.Is6() {
			return "[" + addr.String() + "]", nil
		}
		return addr.String(), nil
	}
	return nil, fmt.Errorf("unknown query %q", query)
}

func maskString(addr netip.Addr, bits int) string {
	m := net.CIDRMask(bits, addr.BitLen())
	a, _ := netip.AddrFromSlice(m)
	return a.String()
}

// nth returns the n-th address of p's network (negative counts from the end).
func nth(p netip.Prefix, n int) (netip.Addr, error) {
	base := p.Masked().Addr()
	size := new(big.Int).Lsh(big.NewInt(1), uint(base.BitLen()-p.Bits()))
	off := big.NewInt(int64(n))
	if n < 0 {
		off.Add(off, size)
	}
	if off.Sign() < 0 || off.Cmp(size) >= 0 {
		return netip.Addr{}, fmt.Errorf("address %d is outside %s", n, p.Masked())
	}
	return addOffset(base, off)
}

func addOffset(a netip.Addr, off *big.Int) (netip.Addr, error) {
	b := a.AsSlice()
	x := new(big.Int).SetBytes(b)
	x.Add(x, off)
	if x.Sign() < 0 || x.BitLen() > len(b)*8 {
		return netip.Addr{}, fmt.Errorf("%s + %s overflows", a, off)
	}
	out := x.FillBytes(make([]byte, len(b)))
	r, _ := netip.AddrFromSlice(out)
	return r, nil
}

// nthHost is nthhost(cidr, n): the n-th address of the network, without
// prefix: service_cidr | nthhost(1) is the kubernetes service IP.
func nthHost(args ...any) (any, error) {
	if err := need(args, 2, 2); err != nil {
		return nil, err
	}
	v, ok := parseIPValue(args[0])
	if !ok {
		return nil, fmt.Errorf("%q is not an address or network", toString(args[0]))
	}
	n, ok := queryIndex(args[1])
	if !ok {
		return nil, errors.New("index must be an integer")
	}
	a, err := nth(v.p, n)
	if err != nil {
		return nil, err
	}
	return a.String(), nil
}

// ipQuery is a one-argument helper that must get a valid address.
func ipQuery(query string) exprFunc {
	return func(args ...any) (any, error) {
		if err := need(args, 1, 1); err != nil {
			return nil, err
		}
		v, ok := parseIPValue(args[0])
		if !ok {
			return nil, fmt.Errorf("%q is not an address or network", toString(args[0]))
		}
		return answer(v, query)
	}
}

// ipMath is ipmath(address, n): the address n after (or before) it.
func ipMath(args ...any) (any, error) {
	if err := need(args, 2, 2); err != nil {
		return nil, err
	}
	v, ok := parseIPValue(args[0])
	if !ok {
		return nil, fmt.Errorf("%q is not an address", toString(args[0]))
	}
	n, ok := queryIndex(args[1])
	if !ok {
		return nil, errors.New("offset must be an integer")
	}
	a, err := addOffset(v.p.Addr(), big.NewInt(int64(n)))
	if err != nil {
		return nil, err
	}
	return a.String(), nil
}
