package vrrpprobe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Link-layer types of pcap files (www.tcpdump.org/linktypes.html) that
// ReadPcap understands.
const (
	linkEthernet = 1
	linkRaw      = 101
	linkRawAlt   = 12
	linkSLL      = 113
	linkSLL2     = 276
	linkIPv4     = 228
	linkIPv6     = 229
)

// maxSnap bounds one pcap record, so a corrupt length never makes ReadPcap
// allocate gigabytes.
const maxSnap = 1 << 18

// ReadPcap reads a classic pcap stream (as `tcpdump -w -` writes it) and
// returns the VRRP advertisements in it, in order; other packets are
// skipped. A stream cut in the middle of a record (tcpdump stopped by
// timeout) ends the reading without error.
func ReadPcap(r io.Reader) ([]Advert, error) {
	var gh [24]byte
	if _, err := io.ReadFull(r, gh[:]); err != nil {
		return nil, fmt.Errorf("read pcap header: %w", err)
	}
	var bo binary.ByteOrder
	switch m := binary.LittleEndian.Uint32(gh[:4]); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("read pcap header: magic %#x is not pcap", m)
	}
	link := bo.Uint32(gh[20:24]) & 0x0fffffff
	var out []Advert
	var rh [16]byte
	for {
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return out, fmt.Errorf("read pcap record: %w", err)
		}
		n := bo.Uint32(rh[8:12])
		if n > maxSnap {
			return out, fmt.Errorf("read pcap record: length %d exceeds %d", n, maxSnap)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return out, fmt.Errorf("read pcap record: %w", err)
		}
		if a, err := ParseFrame(link, data); err == nil {
			out = append(out, a)
		}
	}
}

// ParseFrame parses one captured frame of the given pcap link type down to
// its VRRP advertisement.
func ParseFrame(link uint32, data []byte) (Advert, error) {
	switch link {
	case linkEthernet:
		return parseEthernet(data)
	case linkRaw, linkRawAlt, linkIPv4, linkIPv6:
		return ParseIP(data)
	case linkSLL:
		if len(data) < 16 {
			return Advert{}, fmt.Errorf("parse sll: %d bytes, header needs 16", len(data))
		}
		return ParseIP(data[16:])
	case linkSLL2:
		if len(data) < 20 {
			return Advert{}, fmt.Errorf("parse sll2: %d bytes, header needs 20", len(data))
		}
		return ParseIP(data[20:])
	}
	return Advert{}, fmt.Errorf("parse frame: link type %d unsupported", link)
}

// parseEthernet skips an Ethernet header and up to two VLAN tags.
func parseEthernet(f []byte) (Advert, error) {
	off := 12
	for range 3 {
		if len(f) < off+2 {
			return Advert{}, fmt.Errorf("parse ethernet: %d bytes, truncated header", len(f))
		}
		switch binary.BigEndian.Uint16(f[off : off+2]) {
		case 0x8100, 0x88a8:
			off += 4
			continue
		case 0x0800, 0x86dd:
			return ParseIP(f[off+2:])
		default:
			return Advert{}, fmt.Errorf("parse ethernet: ethertype %#04x: %w", binary.BigEndian.Uint16(f[off:off+2]), ErrNotVRRP)
		}
	}
	return Advert{}, fmt.Errorf("parse ethernet: too many vlan tags: %w", ErrNotVRRP)
}
