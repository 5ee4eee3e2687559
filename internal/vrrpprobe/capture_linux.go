package vrrpprobe

import (
	"context"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Listen captures VRRP advertisements arriving on iface for d (or until
// ctx ends) with a packet socket (AF_PACKET, as tcpdump uses; needs
// CAP_NET_RAW). Packets this host sends are not counted. The socket joins
// the link-layer VRRP multicast groups, so a NIC that filters multicast
// still passes the adverts; the membership ends with the socket. Nothing
// is sent.
func Listen(ctx context.Context, iface string, d time.Duration) ([]Advert, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", iface, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: packet socket: %w", iface, err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return nil, fmt.Errorf("listen on %s: bind: %w", iface, err)
	}
	joinGroups(fd, ifi.Index)
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("listen on %s: receive timeout: %w", iface, err)
	}
	return readAdverts(ctx, fd, iface, time.Now().Add(d))
}

// readAdverts reads packets from fd until deadline or ctx's end.
func readAdverts(ctx context.Context, fd int, iface string, deadline time.Time) ([]Advert, error) {
	var out []Advert
	buf := make([]byte, 1<<16)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			continue
		case err != nil:
			return out, fmt.Errorf("listen on %s: receive: %w", iface, err)
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok || ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if a, err := ParseIP(buf[:n]); err == nil {
			out = append(out, a)
		}
	}
	return out, ctx.Err()
}

// joinGroups asks the interface to pass the VRRP multicast MACs
// (01:00:5e:00:00:12 for 224.0.0.18, 33:33:00:00:00:12 for ff02::12). A
// failure is not fatal: most links pass them anyway.
func joinGroups(fd, ifindex int) {
	for _, mac := range [][6]byte{{0x01, 0x00, 0x5e, 0, 0, 0x12}, {0x33, 0x33, 0, 0, 0, 0x12}} {
		mr := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_MULTICAST, Alen: 6}
		copy(mr.Address[:], mac[:])
		_ = unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
