package vrrpprobe

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestListenLoopback sends VRRP adverts to 127.0.0.1 with a raw IP socket
// while Listen listens on lo: the packet socket must see them (once, not
// also as outgoing) and parse them. Needs root (CAP_NET_RAW).
func TestListenLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for raw sockets")
	}
	pc, err := net.ListenPacket("ip4:112", "127.0.0.1")
	if err != nil {
		t.Skipf("raw ip socket: %v", err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var sent atomic.Int32
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := pc.WriteTo(vrrp2(213, 77, 1, "127.0.0.99"), &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}); err == nil {
				sent.Add(1)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	var out, errOut bytes.Buffer
	if code := Main(ctx, []string{"vrrp", "--if", "lo", "--seconds", "1", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("__probe vrrp: exit %d: %s", code, errOut.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report %q: %v", out.String(), err)
	}
	var ours []Instance
	for _, in := range Instances(rep.Adverts) {
		if in.VRID == 213 {
			ours = append(ours, in)
		}
	}
	if len(ours) != 1 || ours[0].Src != "127.0.0.1" || ours[0].Priority != 77 || ours[0].Multicast || ours[0].Version != 2 {
		t.Fatalf("instances with vrid 213: %+v, want one unicast v2 from 127.0.0.1 priority 77", ours)
	}
	if seen, n := ours[0].Adverts, int(sent.Load()); seen > n {
		t.Errorf("%d adverts seen, %d sent: outgoing copies counted", seen, n)
	}
}

func TestMainUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"arp"}, {"vrrp"}, {"vrrp", "--if", "lo", "--seconds", "0"}, {"vrrp", "--if", "lo", "extra"}} {
		var out, errOut bytes.Buffer
		if code := Main(t.Context(), args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--if") && !strings.Contains(errOut.String(), "usage") {
			t.Errorf("Main(%q) = %d, stderr %q; want 2 and a usage line", args, code, errOut.String())
		}
	}
}
