package modules

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/internal/vrrpprobe"
	"github.com/kplay/kplay/transport"
)

// TestMain lets this test binary stand in for kplay on the "host": the
// vrrp_probe tests upload it, and it answers `__probe ...` as kplay does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "__probe" {
		os.Exit(vrrpprobe.Main(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestVRRPProbeArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    map[string]any
		wantErr string
		check   func(VRRPProbeArgs) bool
	}{
		{"defaults", map[string]any{"interface": "eth0", "vrid": 51}, "",
			func(a VRRPProbeArgs) bool { return a.Mode == "unicast" && a.Method == "auto" && a.Seconds == 4 }},
		{"advert_int 2", map[string]any{"interface": "eth0", "vrid": "51", "advert_int": 2}, "",
			func(a VRRPProbeArgs) bool { return a.Seconds == 7 }},
		{"peers as a comma list", map[string]any{"iface": "eth0", "vrid": 1, "peers": "10.0.0.1, 10.0.0.2"}, "",
			func(a VRRPProbeArgs) bool { return len(a.Peers) == 2 && a.Peers[1] == "10.0.0.2" }},
		{"no vrid", map[string]any{"interface": "eth0"}, `missing required parameter "vrid"`, nil},
		{"vrid 256", map[string]any{"interface": "eth0", "vrid": 256}, "vrid 256 is not in 1-255", nil},
		{"bad mode", map[string]any{"interface": "eth0", "vrid": 5, "mode": "broadcast"}, `mode "broadcast"`, nil},
		{"bad method", map[string]any{"interface": "eth0", "vrid": 5, "method": "nmap"}, `method "nmap"`, nil},
		{"bad interface", map[string]any{"interface": "eth0; reboot", "vrid": 5}, "not an interface name", nil},
		{"interface with a command", map[string]any{"interface": "$(reboot)", "vrid": 5}, "not an interface name", nil},
		{"interface too long", map[string]any{"interface": "abcdefghijklmnop", "vrid": 5}, "not an interface name", nil},
		{"too long", map[string]any{"interface": "eth0", "vrid": 5, "seconds": 3600}, "at most 300", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := decodeVRRPProbe(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(a) {
				t.Fatalf("decode: %+v, %v", a, err)
			}
		})
	}
}

func TestVRRPVerdict(t *testing.T) {
	a := VRRPProbeArgs{Interface: "eth0", VRID: 51, Seconds: 4, Mode: "unicast", Peers: []string{"10.0.0.11", "10.0.0.12"}}
	ours := vrrpprobe.Instance{Src: "10.0.0.12", VRID: 51, Version: 2, Priority: 110}
	foreign := vrrpprobe.Instance{Src: "10.0.0.13", VRID: 51, Version: 2, Priority: 100, Multicast: true}
	toUs := vrrpprobe.Instance{Src: "10.0.0.13", VRID: 51, Version: 2, Priority: 100, To: "10.0.0.12"}
	tests := []struct {
		name       string
		insts      []vrrpprobe.Instance
		conflicts  []vrrpprobe.Conflict
		wantFailed bool
		want       []string
	}{
		{"quiet link", nil, nil, false, []string{"vrid 51: no foreign VRRP router on eth0 in 4 s (kplay probe)", "no VRRP adverts"}},
		{"our own", []vrrpprobe.Instance{ours}, nil, false, []string{"no foreign", "10.0.0.12 vrid 51 (VRRPv2 unicast, priority 110)"}},
		{"foreign multicast", []vrrpprobe.Instance{ours, foreign}, []vrrpprobe.Conflict{{Instance: foreign, Fatal: true}}, true,
			[]string{"vrid 51 is used by a foreign VRRP router on eth0", "10.0.0.13 vrid 51 (VRRPv2 multicast, priority 100)", "choose another vrid", "[foreign]"}},
		{"foreign unicast", []vrrpprobe.Instance{foreign}, []vrrpprobe.Conflict{{Instance: foreign}}, false,
			[]string{"WARNING: vrid 51 is also used", "10.0.0.13"}},
		{"foreign unicast to one of ours", []vrrpprobe.Instance{toUs}, []vrrpprobe.Conflict{{Instance: toUs, Fatal: true}}, true,
			[]string{"vrid 51 is used by a foreign VRRP router on eth0", "10.0.0.13 vrid 51 (VRRPv2 unicast to 10.0.0.12, priority 100)", "its unicast peers overlap ours", "choose another vrid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, failed := vrrpVerdict(a, "kplay probe", tt.insts, tt.conflicts)
			if failed != tt.wantFailed {
				t.Errorf("failed = %v, want %v (%s)", failed, tt.wantFailed, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

// sendAdverts sends VRRPv2 adverts for vrid to 127.0.0.1 every 100 ms
// until the test ends (raw socket: root only).
func sendAdverts(t *testing.T, vrid byte) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for raw sockets")
	}
	pc, err := net.ListenPacket("ip4:112", "127.0.0.1")
	if err != nil {
		t.Skipf("raw ip socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done; pc.Close() })
	msg := []byte{0x21, vrid, 100, 0, 1, 1, 0, 0, 'p', 'a', 's', 's', 0, 0, 0, 0}
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			pc.WriteTo(msg, &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)})
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// TestVRRPProbeBuiltin runs the built-in probe through the local
// transport: the first run uploads the binary (here: this test binary) to
// the cache folder, later runs reuse it; a foreign unicast router with our
// vrid warns in unicast mode, fails in multicast mode, and is ours when
// its address is among the peers; check mode does the same.
func TestVRRPProbeBuiltin(t *testing.T) {
	sendAdverts(t, 214)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bin")
	m := VRRPProbe{Binary: func() (string, error) { return self, nil }, BinDir: dir}
	tests := []struct {
		name       string
		args       map[string]any
		check      bool
		wantFailed bool
		want       string
	}{
		{"foreign unicast, we unicast", map[string]any{"mode": "unicast"}, false, false, "WARNING: vrid 214 is also used by a foreign unicast VRRP router on lo in 1 s (kplay probe): 127.0.0.1 vrid 214"},
		{"foreign unicast, we multicast", map[string]any{"mode": "multicast"}, false, true, "vrid 214 is used by a foreign VRRP router on lo in 1 s (kplay probe): 127.0.0.1 vrid 214 (VRRPv2 unicast to 127.0.0.1, priority 100)"},
		{"check mode the same", map[string]any{"mode": "multicast"}, true, true, "vrid 214 is used by a foreign VRRP router"},
		{"ours", map[string]any{"peers": []any{"127.0.0.1"}}, false, false, "vrid 214: no foreign VRRP router on lo"},
		{"other vrid", map[string]any{"vrid": 215, "mode": "multicast"}, false, false, "vrid 215: no foreign VRRP router on lo in 1 s (kplay probe) (seen: 127.0.0.1 vrid 214"},
	}
	var first os.FileInfo
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := map[string]any{"interface": "lo", "vrid": 214, "seconds": 1, "method": "builtin"}
			for k, v := range tt.args {
				args[k] = v
			}
			res, err := m.Run(t.Context(), &Request{Conn: &transport.Local{}, Args: args, Check: tt.check})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if res.Changed || res.Failed != tt.wantFailed || !strings.Contains(res.Msg, tt.want) {
				t.Fatalf("changed %v failed %v msg %q; want failed %v and %q", res.Changed, res.Failed, res.Msg, tt.wantFailed, tt.want)
			}
			insts := res.Data["vrrp"].(map[string]any)["instances"].([]any)
			if len(insts) != 1 || insts[0].(map[string]any)["src"] != "127.0.0.1" {
				t.Errorf("instances %v", insts)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if len(files) != 1 || len(hidden) != 0 || !strings.HasPrefix(filepath.Base(files[0]), "kplay-") {
				t.Fatalf("after run %d the cache holds %q and %q, want one kplay-<sum>", i, files, hidden)
			}
			if fi, err := os.Stat(files[0]); err != nil || (first != nil && !os.SameFile(first, fi)) {
				t.Errorf("run %d uploaded the binary again (or lost it: %v)", i, err)
			} else if first == nil {
				first = fi
			}
		})
	}
}

// pcapOf is a little-endian pcap stream (raw IPv4 link type) of packets.
func pcapOf(pkts ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 101)
	for _, p := range pkts {
		b = append(b, make([]byte, 8)...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// advert4 is an IPv4 packet from src to dst with a VRRPv2 advert.
func advert4(src, dst string, vrid, prio byte) []byte {
	p := []byte{0x45, 0, 0, 36, 0, 0, 0, 0, 255, 112, 0, 0}
	p = append(p, net.ParseIP(src).To4()...)
	p = append(p, net.ParseIP(dst).To4()...)
	return append(p, 0x21, vrid, prio, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

// TestVRRPProbeTcpdump puts a stand-in tcpdump first in PATH (it checks
// the arguments the module passes, prints a pcap stream as `tcpdump -w -`
// does and waits to be stopped by timeout) and checks that auto picks it
// and that a foreign multicast router with our vrid fails the task,
// naming its address and the vrid.
func TestVRRPProbeTcpdump(t *testing.T) {
	dir := t.TempDir()
	stream := pcapOf(advert4("10.9.0.11", "10.9.0.12", 51, 120), advert4("10.9.0.13", "224.0.0.18", 51, 100), advert4("10.9.0.13", "224.0.0.18", 51, 100))
	if err := os.WriteFile(filepath.Join(dir, "capture.pcap"), stream, 0o644); err != nil {
		t.Fatal(err)
	}
	fake := `#!/bin/sh
[ "$*" = "-nn -i lo -U -w - -c 10000 ip proto 112 or ip6 proto 112" ] || { echo "unexpected arguments: $*" >&2; exit 2; }
cat "$(dirname "$0")/capture.pcap"
exec sleep 30
`
	if err := os.WriteFile(filepath.Join(dir, "tcpdump"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	args := map[string]any{"interface": "lo", "vrid": 51, "seconds": 1, "peers": []any{"10.9.0.11", "10.9.0.12"}}
	res, err := VRRPProbe{}.Run(t.Context(), &Request{Conn: &transport.Local{}, Args: args})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := "vrid 51 is used by a foreign VRRP router on lo in 1 s (tcpdump): 10.9.0.13 vrid 51 (VRRPv2 multicast, priority 100)"
	if !res.Failed || res.Changed || !strings.Contains(res.Msg, want) {
		t.Fatalf("failed %v changed %v msg %q; want failed and %q", res.Failed, res.Changed, res.Msg, want)
	}
	v := res.Data["vrrp"].(map[string]any)
	insts, conflicts := v["instances"].([]any), v["conflicts"].([]any)
	if len(insts) != 2 || insts[0].(map[string]any)["ours"] != true || insts[1].(map[string]any)["adverts"] != 2 {
		t.Errorf("instances %v", insts)
	}
	if len(conflicts) != 1 || conflicts[0].(map[string]any)["src"] != "10.9.0.13" || conflicts[0].(map[string]any)["fatal"] != true {
		t.Errorf("conflicts %v", conflicts)
	}
}

func TestVRRPProbeNoInterface(t *testing.T) {
	args := map[string]any{"interface": "kplaynoif0", "vrid": 51, "seconds": 1}
	_, err := VRRPProbe{}.Run(t.Context(), &Request{Conn: &transport.Local{}, Args: args})
	if err == nil || !strings.Contains(err.Error(), "no interface kplaynoif0 on this host") {
		t.Fatalf("err = %v, want it to name the missing interface", err)
	}
}
