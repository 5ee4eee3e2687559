// Package lab runs a local lab of real Debian hosts on this one machine:
// each host is a systemd-nspawn container booting systemd on an overlay over
// a shared debootstrapped base image, with its own network namespace on a
// private bridge, reachable over SSH with keys the lab generates. kplay's
// tests, demo and benchmarks use it as a fleet of servers (see docs/lab.md).
package lab

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// DefaultStateDir is where base images and labs live unless Config says
// otherwise; it is on the root file system so overlays work.
const DefaultStateDir = "/var/lib/kplay-lab"

// MaxHosts bounds a lab's size: hosts get addresses .11 to .210 of the lab's /24.
const MaxHosts = 200

// Config says which lab to bring up; the zero value plus Hosts is a valid
// "default" lab under DefaultStateDir.
type Config struct {
	Name        string        // lab name, [a-z0-9-], default "default"
	Hosts       int           // number of hosts, default 3
	Dir         string        // lab directory, default StateDir/Name
	StateDir    string        // base image cache root, default DefaultStateDir
	Mirror      string        // Debian mirror, default from the apt sources
	BootTimeout time.Duration // bound on waiting for every sshd, default 180s (10m with VMs)
	Log         io.Writer     // progress lines, default io.Discard

	// VMNodes adds that many QEMU VMs (own kernel, cgroup v2) after the
	// nspawn hosts, for kubelet and a container runtime (vm.go).
	VMNodes  int
	VMCPUs   int // vCPUs per VM, default 2
	VMMemory int // MiB per VM, default 2048
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)

// withDefaults validates c and fills in every default.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "default"
	}
	if !nameRE.MatchString(c.Name) {
		return c, fmt.Errorf("lab name %q: want 1-20 of [a-z0-9-], starting with a letter or digit", c.Name)
	}
	if c.Hosts == 0 {
		c.Hosts = 3
	}
	if c.Hosts < 1 || c.Hosts > MaxHosts {
		return c, fmt.Errorf("lab size %d: want 1 to %d hosts", c.Hosts, MaxHosts)
	}
	if err := c.vmDefaults(); err != nil {
		return c, err
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.Dir == "" {
		c.Dir = filepath.Join(c.StateDir, c.Name)
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, fmt.Errorf("lab dir %s: %w", c.Dir, err)
	}
	c.Dir = dir
	if c.BootTimeout == 0 {
		c.BootTimeout = 180 * time.Second
		if c.VMNodes > 0 { // software-emulated VMs on a busy machine take minutes
			c.BootTimeout = 10 * time.Minute
		}
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c, nil
}

// subnetOf gives each lab name its own third octet of 10.77.x.0/24, so that
// labs with different names can run side by side; "default" gets 0.
func subnetOf(name string) int {
	if name == "default" {
		return 0
	}
	h := fnv.New32a()
	io.WriteString(h, name)
	return 1 + int(h.Sum32()%250)
}

// Host is one lab host: its names and addresses, fixed for the lab's life.
type Host struct {
	Name    string `json:"name"`         // inventory and host name, "h1"
	Index   int    `json:"index"`        // 1-based
	IP      string `json:"ip"`           // address on the lab bridge
	MAC     string `json:"mac"`          // fixed MAC of the guest's eth0
	Netns   string `json:"netns"`        // network namespace, "lab-default-h1"
	Veth    string `json:"veth"`         // machine end of the veth pair, on the bridge
	Machine string `json:"machine"`      // systemd-nspawn machine name (QEMU -name of a VM)
	VM      bool   `json:"vm,omitempty"` // a QEMU VM: Veth is its tap, Netns is empty
}

// netPlan is the lab's network: bridge, its address and the hosts.
type netPlan struct {
	Subnet int    `json:"subnet"`
	Bridge string `json:"bridge"`
	Gw     string `json:"gateway"`
	Hosts  []Host `json:"hosts"`
	// Owner is the lab's name, set as the bridge's alias (kplay-lab:NAME)
	// when the bridge is made: two lab names can hash to one subnet, and
	// a lab must never take, or take down, another lab's bridge.
	Owner string `json:"owner,omitempty"`
}

// planNet derives every name and address of a lab from its name and size.
func planNet(name string, n int) netPlan {
	s := subnetOf(name)
	p := netPlan{Subnet: s, Bridge: fmt.Sprintf("kplay%d", s), Gw: fmt.Sprintf("10.77.%d.1", s), Owner: name}
	for i := 1; i <= n; i++ {
		p.Hosts = append(p.Hosts, Host{
			Name:    fmt.Sprintf("h%d", i),
			Index:   i,
			IP:      fmt.Sprintf("10.77.%d.%d", s, 10+i),
			MAC:     fmt.Sprintf("02:4b:50:%02x:00:%02x", s, i),
			Netns:   fmt.Sprintf("lab-%s-h%d", name, i),
			Veth:    fmt.Sprintf("kp%d-h%d", s, i),
			Machine: fmt.Sprintf("kplay-%s-h%d", name, i),
		})
	}
	return p
}

// planNetVM is planNet for n nspawn hosts followed by vms QEMU VMs, which
// take the next names and addresses (h6, h7 after five hosts) and a tap
// named like a veth.
func planNetVM(name string, n, vms int) netPlan {
	p := planNet(name, n+vms)
	for i := n; i < n+vms; i++ {
		p.Hosts[i].VM = true
		p.Hosts[i].Netns = ""
	}
	return p
}

// GroupsVM is Groups for n nspawn hosts and vms VMs after them: with VMs,
// node is the VMs (the hosts that can run kubelet) and nothing else.
func GroupsVM(n, vms int) map[string][]int {
	g := Groups(n)
	if vms > 0 {
		g["node"] = nil
		for i := n + 1; i <= n+vms; i++ {
			g["node"] = append(g["node"], i)
		}
	}
	return g
}

// Groups assigns the shipped inventory groups for n hosts: etcd and master
// are h1-h3 (h1 alone below 3 hosts); lb is the next two hosts, or the first
// masters when no host is left; node is the hosts after those, or the
// masters when none is left.
func Groups(n int) map[string][]int {
	m := 1
	if n >= 3 {
		m = 3
	}
	seq := func(from, to int) []int {
		var s []int
		for i := from; i <= to; i++ {
			s = append(s, i)
		}
		return s
	}
	g := map[string][]int{"etcd": seq(1, m), "master": seq(1, m)}
	rest := n - m
	switch {
	case rest >= 2:
		g["lb"] = seq(m+1, m+2)
	case rest == 1:
		g["lb"] = seq(m+1, m+1)
	default:
		g["lb"] = seq(1, min(2, m))
	}
	used := m + min(rest, 2)
	if used < n {
		g["node"] = seq(used+1, n)
	} else {
		g["node"] = seq(1, m)
	}
	return g
}

// ErrNotRoot says the lab needs root: namespaces, mounts and cgroups.
var ErrNotRoot = errors.New("kplay lab needs root (namespaces, mounts, cgroups): run it with sudo")

// checkRoot fails with ErrNotRoot unless the process runs as root.
func checkRoot() error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	return nil
}
