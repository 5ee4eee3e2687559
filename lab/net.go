package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// linkExists says whether a network interface of that name exists here.
func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// netnsExists says whether a named network namespace exists.
func netnsExists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// disableIPv6 turns IPv6 off on an interface of this namespace.
func disableIPv6(dev string) {
	os.WriteFile("/proc/sys/net/ipv6/conf/"+dev+"/disable_ipv6", []byte("1"), 0o644)
}

// bridgeAlias is what a lab's bridge carries as its alias.
func bridgeAlias(owner string) string { return "kplay-lab:" + owner }

// ownBridge says whether the interface named p.Bridge is this lab's: its
// alias names the lab (a lab state from before aliases, Owner "", takes
// an alias-less bridge as its own).
func ownBridge(p netPlan) bool {
	b, _ := os.ReadFile("/sys/class/net/" + p.Bridge + "/ifalias")
	alias := strings.TrimSpace(string(b))
	if p.Owner == "" {
		return alias == ""
	}
	return alias == bridgeAlias(p.Owner)
}

// ErrSubnetTaken is matched (errors.Is) by the error of Up when another
// lab holds the subnet this lab's name hashes to: another name may work.
var ErrSubnetTaken = errors.New("lab subnet taken")

// subnetTaken is an error that is ErrSubnetTaken with its own message.
type subnetTaken string

func (e subnetTaken) Error() string        { return string(e) }
func (e subnetTaken) Is(target error) bool { return target == ErrSubnetTaken }

// checkBridgeAddr fails when the lab's subnet is already in use on an
// interface that is not the lab's own bridge (another lab whose name
// hashes to the same subnet has a bridge of the same name: not ours).
func checkBridgeAddr(p netPlan) error {
	_, subnet, _ := net.ParseCIDR(p.Gw + "/24")
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	for _, ifc := range ifs {
		if ifc.Name == p.Bridge && ownBridge(p) {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if ok && (subnet.Contains(ipn.IP) || ipn.Contains(subnet.IP)) {
				return subnetTaken(fmt.Sprintf("bridge address %s/24 already used: %s has %s (another lab, or pick another --name)", p.Gw, ifc.Name, ipn))
			}
		}
	}
	return nil
}

// bridgeUp creates the lab's bridge with the gateway address, no IPv6.
func bridgeUp(ctx context.Context, p netPlan) error {
	if err := checkBridgeAddr(p); err != nil {
		return err
	}
	if !linkExists(p.Bridge) {
		// The create is the claim: of two labs racing for one subnet, the
		// loser's add fails, or finds the winner's bridge not its own.
		if _, err := run(ctx, "ip", "link", "add", p.Bridge, "type", "bridge"); err != nil {
			if linkExists(p.Bridge) {
				return subnetTaken(fmt.Sprintf("bridge %s (subnet 10.77.%d.0/24) was just created by another lab: pick another --name", p.Bridge, p.Subnet))
			}
			return fmt.Errorf("create bridge: %w", err)
		}
		if p.Owner != "" {
			if _, err := run(ctx, "ip", "link", "set", "dev", p.Bridge, "alias", bridgeAlias(p.Owner)); err != nil {
				return fmt.Errorf("name bridge: %w", err)
			}
		}
	} else if !ownBridge(p) {
		return subnetTaken(fmt.Sprintf("bridge %s (subnet 10.77.%d.0/24) belongs to another lab: pick another --name", p.Bridge, p.Subnet))
	}
	disableIPv6(p.Bridge)
	out, _ := run(ctx, "ip", "-o", "-4", "addr", "show", "dev", p.Bridge)
	if !strings.Contains(out, " "+p.Gw+"/24 ") {
		if _, err := run(ctx, "ip", "addr", "add", p.Gw+"/24", "dev", p.Bridge); err != nil {
			return fmt.Errorf("address bridge: %w", err)
		}
	}
	if _, err := run(ctx, "ip", "link", "set", p.Bridge, "up"); err != nil {
		return fmt.Errorf("bridge up: %w", err)
	}
	return nil
}

// bridgeDown deletes the lab's bridge if it is there and its own.
func bridgeDown(ctx context.Context, p netPlan) error {
	if !linkExists(p.Bridge) || !ownBridge(p) {
		return nil
	}
	if _, err := run(ctx, "ip", "link", "del", p.Bridge); err != nil {
		return fmt.Errorf("delete bridge: %w", err)
	}
	return nil
}

// hostNetUp gives a host a fresh network namespace with eth0 (fixed MAC,
// address on the lab's /24, IPv6 off, no route out) wired to the bridge.
func hostNetUp(ctx context.Context, p netPlan, h Host) error {
	if err := hostNetDown(ctx, p, h); err != nil {
		return err
	}
	in := func(script string) error {
		_, err := run(ctx, "ip", "netns", "exec", h.Netns, "sh", "-c", script)
		return err
	}
	hostMAC := strings.Replace(h.MAC, "02:4b:50:", "02:4b:51:", 1)
	steps := [][]string{
		{"netns", "add", h.Netns},
		{"link", "add", h.Veth, "address", hostMAC, "type", "veth", "peer", "name", "eth0", "address", h.MAC, "netns", h.Netns},
	}
	for _, s := range steps {
		if _, err := run(ctx, "ip", s...); err != nil {
			return fmt.Errorf("host %s network: %w", h.Name, err)
		}
	}
	disableIPv6(h.Veth)
	if err := in("for f in all default eth0 lo; do echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done; " +
		"ip link set lo up && ip addr add " + h.IP + "/24 dev eth0 && ip link set eth0 up"); err != nil {
		return fmt.Errorf("host %s network: %w", h.Name, err)
	}
	if _, err := run(ctx, "ip", "link", "set", h.Veth, "master", p.Bridge, "up"); err != nil {
		return fmt.Errorf("host %s network: %w", h.Name, err)
	}
	return nil
}

// hostNetDown deletes a host's namespace and veth; absent ones are fine. A
// veth of that name on another lab's bridge is that lab's: left alone.
func hostNetDown(ctx context.Context, p netPlan, h Host) error {
	if netnsExists(h.Netns) {
		if _, err := run(ctx, "ip", "netns", "del", h.Netns); err != nil {
			return fmt.Errorf("host %s: delete netns: %w", h.Name, err)
		}
	}
	// the netns deletion may remove the pair under us: gone is fine
	return linkDown(ctx, p, h, "veth")
}

// linkDown deletes a host's veth or tap (kind) when it is there and not on
// another lab's bridge (two labs on one subnet have the same link names);
// a link that vanishes meanwhile is fine.
func linkDown(ctx context.Context, p netPlan, h Host, kind string) error {
	if !linkExists(h.Veth) || (linkExists(p.Bridge) && !ownBridge(p)) {
		return nil
	}
	if _, err := run(ctx, "ip", "link", "del", h.Veth); err != nil && linkExists(h.Veth) {
		return fmt.Errorf("host %s: delete %s: %w", h.Name, kind, err)
	}
	return nil
}

// setLink takes a host's veth up or down: down cuts it off the lab network.
func setLink(ctx context.Context, h Host, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	if !linkExists(h.Veth) {
		return fmt.Errorf("host %s: link %s: not there (host stopped?)", h.Name, h.Veth)
	}
	if _, err := run(ctx, "ip", "link", "set", h.Veth, state); err != nil {
		return fmt.Errorf("host %s: link %s: %w", h.Name, state, err)
	}
	return nil
}

// linkUp says whether a host's veth is administratively up.
func linkUp(h Host) bool {
	data, err := os.ReadFile("/sys/class/net/" + h.Veth + "/flags")
	if err != nil {
		return false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(string(data), "0x")), 16, 32)
	return err == nil && v&1 == 1
}

// CheckSubnet says whether the /24 a lab of that name would use is free
// here (or already on the lab's own bridge), so that tests can pick names
// that do not clash with a lab already running.
func CheckSubnet(name string) error {
	return checkBridgeAddr(planNet(name, 1))
}
