package engine

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// factsScript prints, in one round trip and with only sh and coreutils,
// the facts kplay gathers: key=value lines, then /etc/os-release.
const factsScript = `echo "hostname=$(hostname 2>/dev/null || uname -n)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname 2>/dev/null || uname -n)"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "vcpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"
echo "memtotal_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo 2>/dev/null)"
r=$(ip -4 route get 1.1.1.1 2>/dev/null | head -n 1)
echo "ipv4=$(printf '%s\n' "$r" | sed -n 's/.* src \([0-9.]*\).*/\1/p')"
echo "ipv4_dev=$(printf '%s\n' "$r" | sed -n 's/.* dev \([^ ]*\).*/\1/p')"
echo "ipv4_gw=$(printf '%s\n' "$r" | sed -n 's/.* via \([0-9.]*\).*/\1/p')"
echo "ipv4_addrs=$(ip -4 -o addr show scope global 2>/dev/null | sed -n 's/^[0-9]*: *\([^ ]*\) *inet \([0-9.]*\)\/\([0-9]*\).*/\1 \2 \3/p' | tr '\n' ',')"
echo "init=$(cat /proc/1/comm 2>/dev/null)"
echo "---"
cat /etc/os-release 2>/dev/null || true
`

// gatherFacts runs the "Gathering Facts" task on the batch's hosts that
// have no facts yet in this run.
func (p *playRun) gatherFacts(ctx context.Context) {
	var hosts []string
	for _, h := range p.liveOf(p.batch) {
		hs := p.r.hostState(h)
		hs.mu.RLock()
		done := hs.gathered
		hs.mu.RUnlock()
		if !done {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return
	}
	t := &Task{Pos: p.play.Pos, Name: "Gathering Facts", Module: "gather_facts"}
	if !p.r.selected([]string{"always"}) {
		return // --skip-tags always
	}
	p.runTask(ctx, t, hosts, &frame{implicit: true})
}

// builtinGatherFacts gathers the host's facts and stores them at the
// facts level of its variables.
func builtinGatherFacts(ctx context.Context, tr *taskRun, o *outcome, s *scope) *TaskResult {
	conn, err := tr.taskConn(s, o.host, "")
	if err != nil {
		return errResult(err)
	}
	var out, errb bytes.Buffer
	if err := conn.Exec(ctx, factsScript, nil, &out, &errb); err != nil {
		return errResult(factsError(err, errb.String()))
	}
	facts := parseFacts(out.String())
	tr.p.r.hostState(o.host).setGathered(facts)
	return &TaskResult{Data: map[string]any{"ansible_facts": facts["ansible_facts"]}}
}

// parseFacts turns the script's output into ansible_* variables (and the
// same under ansible_facts without the prefix).
func parseFacts(out string) map[string]any {
	kv, osr := map[string]string{}, map[string]string{}
	head, rest, _ := strings.Cut(out, "---\n")
	for _, line := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = strings.TrimSpace(v)
		}
	}
	for _, line := range strings.Split(rest, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			osr[k] = strings.Trim(v, `"'`)
		}
	}
	facts := map[string]any{
		"hostname":                   kv["hostname"],
		"fqdn":                       kv["fqdn"],
		"kernel":                     kv["kernel"],
		"architecture":               kv["arch"],
		"processor_vcpus":            atoiOr(kv["vcpus"], 0),
		"memtotal_mb":                atoiOr(kv["memtotal_kb"], 0) / 1024,
		"default_ipv4":               defaultIPv4(kv),
		"service_mgr":                serviceMgr(kv["init"]),
		"distribution":               distribution(osr["ID"], osr["NAME"]),
		"distribution_version":       osr["VERSION_ID"],
		"distribution_major_version": strings.SplitN(osr["VERSION_ID"], ".", 2)[0],
		"distribution_release":       osr["VERSION_CODENAME"],
		"os_family":                  osFamily(osr["ID"], osr["ID_LIKE"]),
		"system":                     "Linux",
	}
	vars := map[string]any{"ansible_facts": facts}
	for k, v := range facts {
		vars["ansible_"+k] = v
	}
	return vars
}

// factsError is the failure of the facts script, with its stderr when it
// wrote any.
func factsError(err error, stderr string) error {
	if msg := strings.TrimSpace(stderr); msg != "" {
		return fmt.Errorf("gather facts: %w: %s", err, msg)
	}
	return fmt.Errorf("gather facts: %w", err)
}

// defaultIPv4 is ansible_default_ipv4: the address and interface of the
// route out, or, on a host with no default route (the lab's), its first
// global IPv4 address, as Ansible effectively reports there. It is empty
// when the host has neither.
func defaultIPv4(kv map[string]string) map[string]any {
	var addrs [][]string // interface, address, prefix
	for _, a := range strings.Split(kv["ipv4_addrs"], ",") {
		if f := strings.Fields(a); len(f) == 3 {
			addrs = append(addrs, f)
		}
	}
	out := map[string]any{"address": kv["ipv4"]}
	dev := kv["ipv4_dev"]
	if kv["ipv4"] == "" && len(addrs) > 0 {
		out["address"], dev = addrs[0][1], addrs[0][0]
	}
	if dev != "" {
		out["interface"] = dev
	}
	if gw := kv["ipv4_gw"]; gw != "" {
		out["gateway"] = gw
	}
	for _, a := range addrs {
		if a[1] != out["address"] {
			continue
		}
		if n, err := netip.ParsePrefix(a[1] + "/" + a[2]); err == nil {
			out["prefix"] = a[2]
			out["network"] = n.Masked().Addr().String()
			out["netmask"] = netmask(n.Bits())
		}
		break
	}
	return out
}

// netmask spells an IPv4 prefix length as a dotted mask.
func netmask(bits int) string {
	m := uint32(0)
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return n
}

func serviceMgr(init string) string {
	switch init {
	case "":
		return "unknown"
	case "init":
		return "sysvinit"
	}
	return init
}

// distribution names the distribution as Ansible does from os-release ID.
func distribution(id, name string) string {
	known := map[string]string{
		"ubuntu": "Ubuntu", "debian": "Debian", "centos": "CentOS", "rhel": "RedHat", "fedora": "Fedora",
		"rocky": "Rocky", "almalinux": "AlmaLinux", "ol": "OracleLinux", "amzn": "Amazon", "alpine": "Alpine",
		"arch": "Archlinux", "opensuse-leap": "openSUSE Leap", "sles": "SLES", "kylin": "Kylin",
		"openEuler": "openEuler", "openeuler": "openEuler", "anolis": "Anolis",
	}
	if d, ok := known[id]; ok {
		return d
	}
	if name != "" {
		return name
	}
	return "Unknown"
}

// osFamily maps os-release ID and ID_LIKE to Ansible's os_family.
func osFamily(id, like string) string {
	for _, cand := range append([]string{id}, strings.Fields(like)...) {
		switch cand {
		case "debian", "ubuntu":
			return "Debian"
		case "rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn", "openeuler", "anolis", "kylin":
			return "RedHat"
		case "suse", "opensuse", "sles", "opensuse-leap":
			return "Suse"
		case "arch":
			return "Archlinux"
		case "alpine":
			return "Alpine"
		}
	}
	return "Unknown"
}
