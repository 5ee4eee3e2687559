package vrrpprobe

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

// vrrp2 builds a VRRPv2 message (RFC 3768 5.1) announcing addrs.
func vrrp2(vrid, prio, advSec byte, addrs ...string) []byte {
	b := []byte{0x21, vrid, prio, byte(len(addrs)), 1, advSec, 0, 0}
	for _, a := range addrs {
		ip := netip.MustParseAddr(a).As4()
		b = append(b, ip[:]...)
	}
	return append(b, "pass1234"...) // authentication data
}

// vrrp3 builds a VRRPv3 message (RFC 5798 5.1) with a centisecond interval.
func vrrp3(vrid, prio byte, cs uint16, addrs ...string) []byte {
	b := []byte{0x31, vrid, prio, byte(len(addrs)), byte(cs >> 8 & 0x0f), byte(cs), 0, 0}
	for _, a := range addrs {
		b = append(b, netip.MustParseAddr(a).AsSlice()...)
	}
	return b
}

// ipv4 wraps payload in an IPv4 header (no options).
func ipv4(src, dst string, proto byte, payload []byte) []byte {
	h := make([]byte, 20)
	h[0], h[8], h[9] = 0x45, 255, proto
	binary.BigEndian.PutUint16(h[2:4], uint16(20+len(payload)))
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:16], s[:])
	copy(h[16:20], d[:])
	return append(h, payload...)
}

// ipv6 wraps payload in an IPv6 header.
func ipv6(src, dst string, next byte, payload []byte) []byte {
	h := make([]byte, 40)
	h[0], h[6], h[7] = 0x60, next, 255
	binary.BigEndian.PutUint16(h[4:6], uint16(len(payload)))
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:24], s[:])
	copy(h[24:40], d[:])
	return append(h, payload...)
}

func TestParseIP(t *testing.T) {
	tests := []struct {
		name string
		pkt  []byte
		want Advert
	}{
		{"v2 multicast", ipv4("10.77.0.13", "224.0.0.18", 112, vrrp2(51, 100, 1, "10.77.0.250")),
			Advert{Version: 2, VRID: 51, Priority: 100, Src: "10.77.0.13", Dst: "224.0.0.18", Multicast: true, Interval: 100, Addrs: []string{"10.77.0.250"}}},
		{"v2 unicast two addrs", ipv4("10.0.0.1", "10.0.0.2", 112, vrrp2(7, 254, 2, "10.0.0.9", "10.0.0.10")),
			Advert{Version: 2, VRID: 7, Priority: 254, Src: "10.0.0.1", Dst: "10.0.0.2", Interval: 200, Addrs: []string{"10.0.0.9", "10.0.0.10"}}},
		{"v3 ipv4 multicast", ipv4("192.168.1.5", "224.0.0.18", 112, vrrp3(255, 1, 50)),
			Advert{Version: 3, VRID: 255, Priority: 1, Src: "192.168.1.5", Dst: "224.0.0.18", Multicast: true, Interval: 50}},
		{"v3 ipv6 multicast", ipv6("fe80::1", "ff02::12", 112, vrrp3(51, 110, 100, "2001:db8::1")),
			Advert{Version: 3, VRID: 51, Priority: 110, Src: "fe80::1", Dst: "ff02::12", Multicast: true, Interval: 100, Addrs: []string{"2001:db8::1"}}},
		{"v3 ipv6 unicast", ipv6("fe80::1", "fe80::2", 112, vrrp3(9, 90, 4095)),
			Advert{Version: 3, VRID: 9, Priority: 90, Src: "fe80::1", Dst: "fe80::2", Interval: 4095}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIP(tt.pkt)
			if err != nil {
				t.Fatalf("ParseIP: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseIPRejects(t *testing.T) {
	frag := ipv4("10.0.0.1", "224.0.0.18", 112, vrrp2(1, 1, 1))
	frag[7] = 8 // fragment offset 64
	badType := vrrp2(1, 1, 1)
	badType[0] = 0x22
	tests := []struct {
		name   string
		pkt    []byte
		notVRR bool
	}{
		{"empty", nil, false},
		{"ip version 5", []byte{0x50}, true},
		{"short ipv4", ipv4("10.0.0.1", "10.0.0.2", 112, nil)[:19], false},
		{"tcp", ipv4("10.0.0.1", "10.0.0.2", 6, vrrp2(1, 1, 1)), true},
		{"fragment", frag, true},
		{"short vrrp", ipv4("10.0.0.1", "10.0.0.2", 112, []byte{0x21, 1, 1}), false},
		{"type 2", ipv4("10.0.0.1", "10.0.0.2", 112, badType), true},
		{"v2 over ipv6", ipv6("fe80::1", "ff02::12", 112, vrrp2(1, 1, 1)), true},
		{"vrid 0", ipv4("10.0.0.1", "224.0.0.18", 112, vrrp2(0, 1, 1)), false},
		{"addresses cut", ipv4("10.0.0.1", "224.0.0.18", 112, vrrp3(1, 1, 100, "10.0.0.9")[:10]), false},
		{"total length beyond data", ipv4("10.0.0.1", "224.0.0.18", 112, vrrp2(1, 1, 1))[:25], false},
		{"udp over ipv6", ipv6("fe80::1", "ff02::12", 17, vrrp3(1, 1, 100)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIP(tt.pkt)
			if err == nil {
				t.Fatal("ParseIP: no error")
			}
			if got := errors.Is(err, ErrNotVRRP); got != tt.notVRR {
				t.Errorf("errors.Is(%v, ErrNotVRRP) = %v, want %v", err, got, tt.notVRR)
			}
		})
	}
}

func FuzzParseIP(f *testing.F) {
	f.Add(ipv4("10.77.0.13", "224.0.0.18", 112, vrrp2(51, 100, 1, "10.77.0.250")))
	f.Add(ipv6("fe80::1", "ff02::12", 112, vrrp3(51, 110, 100, "2001:db8::1")))
	f.Add([]byte{0x45})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		a, err := ParseIP(pkt)
		if err != nil {
			return
		}
		if a.VRID < 1 || a.VRID > 255 || (a.Version != 2 && a.Version != 3) {
			t.Fatalf("accepted an impossible advert %+v", a)
		}
		if _, err := netip.ParseAddr(a.Src); err != nil {
			t.Fatalf("source %q: %v", a.Src, err)
		}
	})
}
