package lab

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestPlanNet(t *testing.T) {
	for _, name := range []string{"default", "t12345-9", "a-very-long-lab-name"} {
		p := planNet(name, MaxHosts)
		seen := map[string]bool{}
		for _, h := range p.Hosts {
			if len(h.Veth) > 15 || len(p.Bridge) > 15 {
				t.Errorf("%s: interface name too long: %q %q", name, h.Veth, p.Bridge)
			}
			for _, v := range []string{h.IP, h.MAC, h.Veth, h.Netns, h.Machine} {
				if seen[v] {
					t.Errorf("%s: %q used twice", name, v)
				}
				seen[v] = true
			}
		}
	}
	p := planNet("default", 2)
	want := Host{Name: "h2", Index: 2, IP: "10.77.0.12", MAC: "02:4b:50:00:00:02",
		Netns: "lab-default-h2", Veth: "kp0-h2", Machine: "kplay-default-h2"}
	if p.Bridge != "kplay0" || p.Gw != "10.77.0.1" || p.Hosts[1] != want {
		t.Errorf("planNet(default, 2) = %+v, want bridge kplay0 10.77.0.1 and %+v", p, want)
	}
}

func TestGroups(t *testing.T) {
	tests := []struct {
		n                         int
		etcd, master, lb, nodeGrp []int
	}{
		{1, []int{1}, []int{1}, []int{1}, []int{1}},
		{2, []int{1}, []int{1}, []int{2}, []int{1}},
		{3, []int{1, 2, 3}, []int{1, 2, 3}, []int{1, 2}, []int{1, 2, 3}},
		{4, []int{1, 2, 3}, []int{1, 2, 3}, []int{4}, []int{1, 2, 3}},
		{5, []int{1, 2, 3}, []int{1, 2, 3}, []int{4, 5}, []int{1, 2, 3}},
		{7, []int{1, 2, 3}, []int{1, 2, 3}, []int{4, 5}, []int{6, 7}},
	}
	for _, tt := range tests {
		g := Groups(tt.n)
		want := map[string][]int{"etcd": tt.etcd, "master": tt.master, "lb": tt.lb, "node": tt.nodeGrp}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("Groups(%d) = %v, want %v", tt.n, g, want)
		}
	}
}

func TestInventoryYAML(t *testing.T) {
	l := &Lab{cfg: Config{Name: "default", Dir: "/srv/my lab"}, plan: planNet("default", 5)}
	var inv struct {
		All struct {
			Vars     map[string]any                       `yaml:"vars"`
			Hosts    map[string]map[string]string         `yaml:"hosts"`
			Children map[string]map[string]map[string]any `yaml:"children"`
		} `yaml:"all"`
	}
	if err := yaml.Unmarshal([]byte(l.inventoryYAML()), &inv); err != nil {
		t.Fatalf("inventory does not parse: %v\n%s", err, l.inventoryYAML())
	}
	if got := inv.All.Vars["kplay_known_hosts"]; got != "/srv/my lab/known_hosts" {
		t.Errorf("kplay_known_hosts = %v", got)
	}
	if got := inv.All.Vars["ansible_ssh_private_key_file"]; got != "/srv/my lab/id_ed25519" {
		t.Errorf("ansible_ssh_private_key_file = %v", got)
	}
	if got := inv.All.Vars["vip"]; got != "10.77.0.250" {
		t.Errorf("vip = %v, want 10.77.0.250 (never a host's address)", got)
	}
	if h := inv.All.Hosts["h4"]; h["ansible_host"] != "10.77.0.14" || h["ip"] != "10.77.0.14" {
		t.Errorf("h4 vars = %v", h)
	}
	lb := inv.All.Children["lb"]["hosts"]
	_, h4 := lb["h4"]
	_, h5 := lb["h5"]
	if len(lb) != 2 || !h4 || !h5 {
		t.Errorf("lb hosts = %v", lb)
	}
	if _, ok := inv.All.Children["masters"]["children"]["master"]; !ok {
		t.Errorf("masters alias missing: %v", inv.All.Children["masters"])
	}
}

func TestMirrorIn(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"one-line", "# c\ndeb http://m.example/debian bookworm main\n", "http://m.example/debian"},
		{"one-line security only", "deb http://s.example/debian-security bookworm-security main\n", ""},
		{"deb822", "Types: deb\nURIs: http://d.example/debian\nSuites: bookworm bookworm-updates\n", "http://d.example/debian"},
		{"deb822 other suite", "Types: deb\nURIs: http://x.example/\nSuites: nodistro\n\nURIs: http://y/\nSuites: bookworm\n", "http://y/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "s")
			os.WriteFile(p, []byte(tt.text), 0o644)
			if got := mirrorIn(p); got != tt.want {
				t.Errorf("mirrorIn = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		c       Config
		wantErr string
	}{
		{Config{}, ""},
		{Config{Name: "Bad_Name"}, "lab name"},
		{Config{Hosts: MaxHosts + 1}, "lab size"},
		{Config{Hosts: -1}, "lab size"},
	}
	for _, tt := range tests {
		c, err := tt.c.withDefaults()
		if tt.wantErr == "" && (err != nil || c.Dir != "/var/lib/kplay-lab/default" || c.Hosts != 3) {
			t.Errorf("withDefaults(%+v) = %+v, %v", tt.c, c, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("withDefaults(%+v) error = %v, want %q", tt.c, err, tt.wantErr)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/a\040b/c`); got != "/a b/c" {
		t.Errorf("unescapeMount = %q", got)
	}
}

func TestMainUsage(t *testing.T) {
	tests := []struct {
		args    []string
		needLab bool // the command opens a lab (and checks root) first
		code    int
		out     string
	}{
		{nil, false, 5, "usage: kplay lab"},
		{[]string{"help"}, false, 0, "usage: kplay lab"},
		{[]string{"up", "-n", "x"}, false, 5, "invalid value"},
		{[]string{"frobnicate"}, true, 5, `unknown lab command "frobnicate" (commands: up, down, status,`},
		{[]string{"nosuchcmd", "--name", "nolab", "--dir", "/nonexistent/kplay-lab"}, false, 5, `unknown lab command "nosuchcmd"`},
		{[]string{"stop"}, true, 5, "want one HOST"},
		{[]string{"stop", "h9"}, true, 1, `no host "h9"`},
	}
	for _, tt := range tests {
		args := tt.args
		if tt.needLab {
			if os.Geteuid() != 0 {
				continue // not root: these stop at the root check
			}
			dir := t.TempDir()
			l := &Lab{cfg: Config{Name: "u", Dir: dir}, plan: planNet("u", 1)}
			if err := l.saveState(0); err != nil {
				t.Fatal(err)
			}
			args = append([]string{args[0], "--name", "u", "--dir", dir}, args[1:]...)
		}
		var out bytes.Buffer
		if code := Main(context.Background(), args, &out, &out); code != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("Main(%q) = %d, %q; want %d and %q", args, code, out.String(), tt.code, tt.out)
		}
	}
}

func TestCheckBridgeAddr(t *testing.T) {
	clash := netPlan{Bridge: "kplay-none", Gw: "127.0.0.1"} // loopback holds 127/8
	if err := checkBridgeAddr(clash); err == nil || !strings.Contains(err.Error(), "already used") || !errors.Is(err, ErrSubnetTaken) {
		t.Errorf("checkBridgeAddr(127.0.0.1) = %v, want already used (ErrSubnetTaken)", err)
	}
	own := netPlan{Bridge: "lo", Gw: "127.0.0.1"} // the lab's own bridge may hold it
	if err := checkBridgeAddr(own); err != nil {
		t.Errorf("checkBridgeAddr(own bridge) = %v", err)
	}
	// A bridge of our name without our alias is another lab's (two names
	// hashing to one subnet): its address is a clash, not ours.
	other := netPlan{Bridge: "lo", Gw: "127.0.0.1", Owner: "t1-1"}
	if err := checkBridgeAddr(other); err == nil || !strings.Contains(err.Error(), "already used") || !errors.Is(err, ErrSubnetTaken) {
		t.Errorf("checkBridgeAddr(another lab's bridge) = %v, want already used (ErrSubnetTaken)", err)
	}
}

func TestUpMissingTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	want := "systemd-nspawn, not found (run `make lab-deps`)"
	if os.Geteuid() != 0 {
		want = "needs root"
	}
	var out bytes.Buffer
	code := Main(context.Background(), []string{"up", "--dir", t.TempDir()}, &out, &out)
	if code != 1 || !strings.Contains(out.String(), want) {
		t.Errorf("up without tools = %d, %q; want 1 and %q", code, out.String(), want)
	}
}
