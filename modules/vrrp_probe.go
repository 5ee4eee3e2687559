package modules

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/kplay/kplay/internal/vrrpprobe"
)

// VRRPProbeArgs are the arguments of vrrp_probe.
type VRRPProbeArgs struct {
	// Interface to listen on (the VRRP interface).
	Interface string `arg:"interface|iface,required"`
	// VRID is the virtual router id we are about to use.
	VRID int `arg:"vrid,required"`
	// Peers are the addresses our own VRRP routers send from (every lb
	// host's address): their adverts are ours, not a conflict.
	Peers []string `arg:"peers"`
	// Mode is ours: unicast (default) or multicast.
	Mode string `arg:"mode"`
	// AdvertInt is the advert interval in seconds (default 1); the probe
	// listens 3*advert_int+1 s, longer than a master-down interval, unless
	// Seconds says otherwise.
	AdvertInt int `arg:"advert_int"`
	Seconds   int `arg:"seconds"`
	// Method: auto (tcpdump when the host has it, else kplay's own
	// listener), tcpdump or builtin.
	Method string `arg:"method"`
}

// VRRPProbe listens on a host's interface for VRRP advertisements and
// reports every router it saw; it fails when a foreign router uses our
// vrid in a way that collides with ours (see vrrpprobe.Conflicts), so a
// deployment stops before keepalived fights another one. It only reads:
// Changed is always false and check mode behaves the same. Without
// tcpdump on the host it runs a copy of the kplay binary there (cached
// under /var/lib/kplay/bin, see vrrp_probe_exec.go).
type VRRPProbe struct {
	// Binary returns the path of the kplay executable to upload when the
	// host has no tcpdump; nil means this process's own executable.
	Binary func() (string, error)
	// BinDir is where the uploaded copy is cached; "" means
	// /var/lib/kplay/bin.
	BinDir string
}

// Run implements Module.
func (m VRRPProbe) Run(ctx context.Context, req *Request) (Result, error) {
	a, err := decodeVRRPProbe(req.Args)
	if err != nil {
		return Result{}, err
	}
	rep, err := m.listen(ctx, req.Conn, a)
	if err != nil {
		return Result{}, fmt.Errorf("vrrp_probe %s: %w", a.Interface, err)
	}
	insts := vrrpprobe.Instances(rep.adverts)
	conflicts := vrrpprobe.Conflicts(insts, a.VRID, a.Peers, a.Mode == "unicast")
	res := Result{Cmd: rep.cmd, Data: map[string]any{"vrrp": map[string]any{
		"interface": a.Interface, "method": rep.method, "seconds": a.Seconds,
		"instances": instanceMaps(insts, a), "conflicts": conflictMaps(conflicts),
	}}}
	res.Msg, res.Failed = vrrpVerdict(a, rep.method, insts, conflicts)
	return res, nil
}

func decodeVRRPProbe(args map[string]any) (VRRPProbeArgs, error) {
	var a VRRPProbeArgs
	if err := Decode(args, &a); err != nil {
		return a, err
	}
	a.Mode = defaultStr(a.Mode, "unicast")
	a.Method = defaultStr(a.Method, "auto")
	if a.AdvertInt == 0 {
		a.AdvertInt = 1
	}
	if a.Seconds == 0 {
		a.Seconds = 3*a.AdvertInt + 1
	}
	switch {
	case a.VRID < 1 || a.VRID > 255:
		return a, fmt.Errorf("vrid %d is not in 1-255", a.VRID)
	case a.Mode != "unicast" && a.Mode != "multicast":
		return a, fmt.Errorf("mode %q is not unicast or multicast", a.Mode)
	case a.Method != "auto" && a.Method != "tcpdump" && a.Method != "builtin":
		return a, fmt.Errorf("method %q is not auto, tcpdump or builtin", a.Method)
	case a.AdvertInt < 1 || a.Seconds < 1 || a.Seconds > vrrpprobe.MaxSeconds:
		return a, fmt.Errorf("advert_int %d and seconds %d must be positive, seconds at most %d", a.AdvertInt, a.Seconds, vrrpprobe.MaxSeconds)
	case !ifaceName.MatchString(a.Interface) || a.Interface == "." || a.Interface == "..":
		return a, fmt.Errorf("interface %q is not an interface name", a.Interface)
	}
	return a, nil
}

// ifaceName is what Linux accepts as an interface name (at most 15
// bytes, no slash, no white space), narrowed to the usual characters.
var ifaceName = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,15}$`)

func defaultStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// vrrpVerdict says what the probe found and whether the task fails.
func vrrpVerdict(a VRRPProbeArgs, method string, insts []vrrpprobe.Instance, cs []vrrpprobe.Conflict) (string, bool) {
	seen := "no VRRP adverts"
	if len(insts) > 0 {
		var parts []string
		for _, in := range insts {
			parts = append(parts, describeInstance(in)+ownership(in, cs))
		}
		seen = strings.Join(parts, "; ")
	}
	where := fmt.Sprintf("on %s in %d s (%s)", a.Interface, a.Seconds, method)
	var fatal, warn []string
	for _, c := range cs {
		if c.Fatal {
			fatal = append(fatal, describeInstance(c.Instance))
		} else {
			warn = append(warn, describeInstance(c.Instance))
		}
	}
	switch {
	case len(fatal) > 0:
		why := ""
		if a.Mode == "unicast" && !strings.Contains(strings.Join(fatal, ";"), "multicast") {
			why = " (its unicast peers overlap ours: our keepalived would receive its adverts)"
		}
		return fmt.Sprintf("vrid %d is used by a foreign VRRP router %s: %s%s; choose another vrid (seen: %s)",
			a.VRID, where, strings.Join(fatal, "; "), why, seen), true
	case len(warn) > 0:
		return fmt.Sprintf("WARNING: vrid %d is also used by a foreign unicast VRRP router %s: %s; allowed while the unicast peers do not overlap (keepalived.conf(5)), but another vrid is safer (seen: %s)",
			a.VRID, where, strings.Join(warn, "; "), seen), false
	}
	return fmt.Sprintf("vrid %d: no foreign VRRP router %s (seen: %s)", a.VRID, where, seen), false
}

func describeInstance(in vrrpprobe.Instance) string {
	mode := "unicast"
	switch {
	case in.Multicast:
		mode = "multicast"
	case in.To != "":
		mode = "unicast to " + in.To
	}
	return fmt.Sprintf("%s vrid %d (VRRPv%d %s, priority %d)", in.Src, in.VRID, in.Version, mode, in.Priority)
}

func ownership(in vrrpprobe.Instance, cs []vrrpprobe.Conflict) string {
	for _, c := range cs {
		if c.Instance == in {
			return " [foreign]"
		}
	}
	return ""
}

// instanceMaps turns instances into plain values for registered results;
// "ours" marks our own routers' adverts.
func instanceMaps(insts []vrrpprobe.Instance, a VRRPProbeArgs) []any {
	out := []any{}
	for _, in := range insts {
		m := instanceMap(in)
		m["ours"] = len(vrrpprobe.Conflicts([]vrrpprobe.Instance{in}, in.VRID, a.Peers, a.Mode == "unicast")) == 0
		out = append(out, m)
	}
	return out
}

func conflictMaps(cs []vrrpprobe.Conflict) []any {
	out := []any{}
	for _, c := range cs {
		m := instanceMap(c.Instance)
		m["fatal"] = c.Fatal
		out = append(out, m)
	}
	return out
}

func instanceMap(in vrrpprobe.Instance) map[string]any {
	return map[string]any{
		"src": in.Src, "vrid": in.VRID, "version": in.Version, "priority": in.Priority,
		"multicast": in.Multicast, "to": in.To, "interval_cs": in.Interval, "adverts": in.Adverts,
	}
}
