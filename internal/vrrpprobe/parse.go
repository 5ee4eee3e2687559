// Package vrrpprobe finds the VRRP routers on a link: it parses VRRP v2
// (RFC 3768) and v3 (RFC 5798) advertisements from IP packets, from pcap
// streams (tcpdump -w -) and from a raw socket of its own (Linux, see
// capture_linux.go), so that kplay can tell, before it starts keepalived,
// whether a virtual router id is already used on the segment.
package vrrpprobe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Proto is VRRP's IP protocol number.
const Proto = 112

// Advert is one VRRP advertisement as seen on the wire: who sent it, for
// which virtual router, and whether it went to the VRRP multicast group
// (224.0.0.18, ff02::12) or to a unicast peer.
type Advert struct {
	Version   int    `json:"version"`
	VRID      int    `json:"vrid"`
	Priority  int    `json:"priority"`
	Src       string `json:"src"`
	Dst       string `json:"dst"`
	Multicast bool   `json:"multicast"`
	// Interval is the advertisement interval in centiseconds (v2 carries
	// seconds: multiplied by 100).
	Interval int `json:"interval_cs"`
	// Addrs are the virtual addresses the advert announces.
	Addrs []string `json:"addrs,omitempty"`
}

// ErrNotVRRP says a packet is well formed but carries no VRRP
// advertisement (another protocol, a fragment, a non-advert type).
var ErrNotVRRP = errors.New("not a VRRP advertisement")

// vrrp multicast groups (RFC 5798 5.1.1.2, 5.1.2.2).
var (
	group4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	group6 = netip.MustParseAddr("ff02::12")
)

// ParseIP parses an IPv4 or IPv6 packet (starting at the IP header) that
// carries a VRRP advertisement. Bad input gives an error, never a panic.
func ParseIP(pkt []byte) (Advert, error) {
	if len(pkt) < 1 {
		return Advert{}, errors.New("parse ip: empty packet")
	}
	switch pkt[0] >> 4 {
	case 4:
		return parseIPv4(pkt)
	case 6:
		return parseIPv6(pkt)
	}
	return Advert{}, fmt.Errorf("parse ip: version %d: %w", pkt[0]>>4, ErrNotVRRP)
}

func parseIPv4(pkt []byte) (Advert, error) {
	if len(pkt) < 20 {
		return Advert{}, fmt.Errorf("parse ipv4: %d bytes, header needs 20", len(pkt))
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:4]))
	if ihl < 20 || total < ihl || len(pkt) < total {
		return Advert{}, fmt.Errorf("parse ipv4: header length %d, total length %d, have %d bytes", ihl, total, len(pkt))
	}
	if pkt[9] != Proto {
		return Advert{}, fmt.Errorf("parse ipv4: protocol %d: %w", pkt[9], ErrNotVRRP)
	}
	if binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0 {
		return Advert{}, fmt.Errorf("parse ipv4: fragment: %w", ErrNotVRRP)
	}
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	a, err := parseVRRP(pkt[ihl:total], 4)
	if err != nil {
		return Advert{}, err
	}
	a.Src, a.Dst, a.Multicast = src.String(), dst.String(), dst == group4
	return a, nil
}

func parseIPv6(pkt []byte) (Advert, error) {
	if len(pkt) < 40 {
		return Advert{}, fmt.Errorf("parse ipv6: %d bytes, header needs 40", len(pkt))
	}
	plen := int(binary.BigEndian.Uint16(pkt[4:6]))
	if len(pkt) < 40+plen {
		return Advert{}, fmt.Errorf("parse ipv6: payload length %d, have %d bytes", plen, len(pkt)-40)
	}
	if pkt[6] != Proto {
		return Advert{}, fmt.Errorf("parse ipv6: next header %d: %w", pkt[6], ErrNotVRRP)
	}
	src := netip.AddrFrom16([16]byte(pkt[8:24]))
	dst := netip.AddrFrom16([16]byte(pkt[24:40]))
	a, err := parseVRRP(pkt[40:40+plen], 16)
	if err != nil {
		return Advert{}, err
	}
	a.Src, a.Dst, a.Multicast = src.String(), dst.String(), dst == group6
	return a, nil
}

// parseVRRP parses the VRRP message; addrLen is 4 or 16 (the IP family).
func parseVRRP(b []byte, addrLen int) (Advert, error) {
	if len(b) < 8 {
		return Advert{}, fmt.Errorf("parse vrrp: %d bytes, header needs 8", len(b))
	}
	a := Advert{Version: int(b[0] >> 4), VRID: int(b[1]), Priority: int(b[2])}
	if typ := b[0] & 0x0f; typ != 1 {
		return Advert{}, fmt.Errorf("parse vrrp: type %d: %w", typ, ErrNotVRRP)
	}
	switch {
	case a.Version == 2 && addrLen == 4:
		a.Interval = int(b[5]) * 100
	case a.Version == 3:
		a.Interval = int(binary.BigEndian.Uint16(b[4:6]) & 0x0fff)
	default:
		return Advert{}, fmt.Errorf("parse vrrp: version %d over ipv%d: %w", a.Version, map[int]int{4: 4, 16: 6}[addrLen], ErrNotVRRP)
	}
	if a.VRID == 0 {
		return Advert{}, errors.New("parse vrrp: vrid 0 is invalid")
	}
	n := int(b[3])
	if len(b) < 8+n*addrLen {
		return Advert{}, fmt.Errorf("parse vrrp: %d addresses need %d bytes, have %d", n, 8+n*addrLen, len(b))
	}
	for i := range n {
		raw := b[8+i*addrLen : 8+(i+1)*addrLen]
		addr, _ := netip.AddrFromSlice(raw)
		a.Addrs = append(a.Addrs, addr.String())
	}
	return a, nil
}
