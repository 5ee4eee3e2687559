package vrrpprobe

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strconv"
	"testing"
)

// pcapStream builds a little-endian pcap stream of link type link.
func pcapStream(link uint32, frames ...[]byte) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], link)
	b.Write(h)
	for _, f := range frames {
		r := make([]byte, 16)
		binary.LittleEndian.PutUint32(r[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(r[12:], uint32(len(f)))
		b.Write(r)
		b.Write(f)
	}
	return b.Bytes()
}

func ether(ethertype uint16, vlan bool, payload []byte) []byte {
	f := make([]byte, 12, 18+len(payload))
	if vlan {
		f = append(f, 0x81, 0x00, 0x00, 0x05)
	}
	f = binary.BigEndian.AppendUint16(f, ethertype)
	return append(f, payload...)
}

func TestReadPcap(t *testing.T) {
	mc := ipv4("10.77.0.13", "224.0.0.18", 112, vrrp2(51, 100, 1))
	uc := ipv4("10.77.0.11", "10.77.0.12", 112, vrrp2(51, 120, 1))
	v6 := ipv6("fe80::1", "ff02::12", 112, vrrp3(52, 100, 100))
	other := ipv4("10.77.0.13", "10.77.0.12", 6, []byte("tcp segment"))
	sll := append(make([]byte, 16), mc...)
	sll2 := append(make([]byte, 20), uc...)
	tests := []struct {
		name string
		in   []byte
		want []string // src/vrid
	}{
		{"ethernet", pcapStream(1, ether(0x0800, false, mc), ether(0x0800, true, uc), ether(0x86dd, false, v6), ether(0x0806, false, []byte("arp"))), []string{"10.77.0.13/51", "10.77.0.11/51", "fe80::1/52"}},
		{"raw ip", pcapStream(101, other, mc), []string{"10.77.0.13/51"}},
		{"linux sll", pcapStream(113, sll), []string{"10.77.0.13/51"}},
		{"linux sll2", pcapStream(276, sll2), []string{"10.77.0.11/51"}},
		{"cut in a record", pcapStream(1, ether(0x0800, false, mc), ether(0x0800, false, uc))[:24+16+14+len(mc)+10], []string{"10.77.0.13/51"}},
		{"header only", pcapStream(1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adverts, err := ReadPcap(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadPcap: %v", err)
			}
			var got []string
			for _, a := range adverts {
				got = append(got, a.Src+"/"+strconv.Itoa(a.VRID))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadPcapErrors(t *testing.T) {
	big := pcapStream(1)
	big = append(big, make([]byte, 16)...)
	binary.LittleEndian.PutUint32(big[24+8:], 1<<30)
	for name, in := range map[string][]byte{
		"empty":     nil,
		"not pcap":  []byte("this is not a pcap stream at all"),
		"huge snap": big,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadPcap(bytes.NewReader(in)); err == nil {
				t.Error("no error")
			}
		})
	}
}

func FuzzReadPcap(f *testing.F) {
	f.Add(pcapStream(1, ether(0x0800, true, ipv4("10.0.0.1", "224.0.0.18", 112, vrrp2(51, 100, 1)))))
	f.Add(pcapStream(276, append(make([]byte, 20), ipv6("fe80::1", "ff02::12", 112, vrrp3(1, 1, 1))...)))
	f.Fuzz(func(t *testing.T, in []byte) {
		adverts, _ := ReadPcap(bytes.NewReader(in))
		for _, a := range adverts {
			if a.VRID < 1 || a.VRID > 255 {
				t.Fatalf("impossible vrid in %+v", a)
			}
		}
	})
}
