package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Dir is the lab directory (state, keys, inventory, hosts' disks).
func (l *Lab) Dir() string { return l.cfg.Dir }

// Name is the lab's name.
func (l *Lab) Name() string { return l.cfg.Name }

// Hosts lists the lab's hosts in order h1, h2, ...
func (l *Lab) Hosts() []Host { return append([]Host(nil), l.plan.Hosts...) }

// Bridge is the lab bridge's name and address, the machine's side of the lab.
func (l *Lab) Bridge() (name, addr string) { return l.plan.Bridge, l.plan.Gw }

// Inventory is the path of hosts.yaml, the inventory kplay runs against.
func (l *Lab) Inventory() string { return filepath.Join(l.cfg.Dir, "hosts.yaml") }

// SSHConfig is the path of ssh_config, for `ssh -F <path> h1`.
func (l *Lab) SSHConfig() string { return filepath.Join(l.cfg.Dir, "ssh_config") }

// KnownHosts is the path of known_hosts with every host's real key.
func (l *Lab) KnownHosts() string { return filepath.Join(l.cfg.Dir, "known_hosts") }

// KeyFile is the private key that logs in as root on every host.
func (l *Lab) KeyFile() string { return filepath.Join(l.cfg.Dir, "id_ed25519") }

// hostPub reads a host's cached public host key.
func (l *Lab) hostPub(h Host) (ssh.PublicKey, error) {
	data, err := os.ReadFile(filepath.Join(l.cfg.Dir, "hostkeys", h.Name, "ssh_host_ed25519_key.pub"))
	if err != nil {
		return nil, fmt.Errorf("host %s key: %w", h.Name, err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("host %s key: %w", h.Name, err)
	}
	return k, nil
}

// q quotes a path for YAML and ssh_config (both take double quotes).
func q(s string) string { return strconv.Quote(s) }

// writeClientFiles writes known_hosts, ssh_config and hosts.yaml.
func (l *Lab) writeClientFiles() error {
	var kh, sc strings.Builder
	for _, h := range l.plan.Hosts {
		k, err := l.hostPub(h)
		if err != nil {
			return err
		}
		fmt.Fprintf(&kh, "%s,%s %s", h.Name, h.IP, ssh.MarshalAuthorizedKey(k))
		fmt.Fprintf(&sc, "Host %s\n  HostName %s\n", h.Name, h.IP)
	}
	fmt.Fprintf(&sc, "Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n"+
		"  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"+
		"  UpdateHostKeys no\n  ConnectTimeout 5\n  LogLevel ERROR\n", q(l.KeyFile()), q(l.KnownHosts()))
	if err := writeFile(l.KnownHosts(), []byte(kh.String()), 0o644); err != nil {
		return err
	}
	if err := writeFile(l.SSHConfig(), []byte("# kplay lab "+l.cfg.Name+", written by `kplay lab up`\n"+sc.String()), 0o644); err != nil {
		return err
	}
	return writeFile(l.Inventory(), []byte(l.inventoryYAML()), 0o644)
}

// inventoryYAML renders the lab as a YAML inventory with the shipped groups
// (see Groups); masters and nodes are aliases of master and node.
func (l *Lab) inventoryYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kplay lab %q, written by `kplay lab up`; groups as in docs/lab.md\n", l.cfg.Name)
	fmt.Fprintf(&b, "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: %s\n", q(l.KeyFile()))
	fmt.Fprintf(&b, "    kplay_known_hosts: %s\n    lab_bridge_ip: %s\n", q(l.KnownHosts()), l.plan.Gw)
	// The shipped lb-pair role needs a virtual IP: .250 of the lab's
	// subnet is never given to a host.
	fmt.Fprintf(&b, "    vip: %s\n  hosts:\n", strings.TrimSuffix(l.plan.Gw, ".1")+".250")
	vms := 0
	for _, h := range l.plan.Hosts {
		vm := ""
		if h.VM {
			vm, vms = ", lab_vm: true", vms+1
		}
		fmt.Fprintf(&b, "    %s: {ansible_host: %s, ip: %s%s}\n", h.Name, h.IP, h.IP, vm)
	}
	b.WriteString("  children:\n")
	groups := GroupsVM(len(l.plan.Hosts)-vms, vms)
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		fmt.Fprintf(&b, "    %s:\n      hosts:\n", g)
		for _, i := range groups[g] {
			fmt.Fprintf(&b, "        h%d: {}\n", i)
		}
	}
	b.WriteString("    masters:\n      children:\n        master: {}\n    nodes:\n      children:\n        node: {}\n")
	return b.String()
}

// waitSSH waits until every host's sshd accepts the lab key and runs a
// command, verifying each host key, up to Config.BootTimeout.
func (l *Lab) waitSSH(ctx context.Context, hosts []Host) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.BootTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.waitHost(ctx, h)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitHost retries an SSH login to h until it works or ctx ends.
func (l *Lab) waitHost(ctx context.Context, h Host) error {
	pub, err := l.hostPub(h)
	if err != nil {
		return err
	}
	if l.key == nil {
		return fmt.Errorf("host %s: no lab key %s", h.Name, l.KeyFile())
	}
	cc := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(l.key)},
		HostKeyCallback: ssh.FixedHostKey(pub), Timeout: 3 * time.Second}
	var last error
	for {
		// A software-emulated VM is slow to answer: each attempt costs it
		// an sshd process, so give an attempt longer and retry less often.
		limit, pause := 10*time.Second, 250*time.Millisecond
		if h.VM {
			limit, pause = time.Minute, 2*time.Second
		}
		if last = sshTrue(ctx, h.IP, cc, limit); last == nil {
			if h.VM {
				l.logVM(h)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host %s (%s): sshd not answering after %s (see %s): %w",
				h.Name, h.IP, l.cfg.BootTimeout, l.consoleLog(h), last)
		case <-time.After(pause):
		}
	}
}

// sshTrue logs in to ip:22 and runs `true`, all within limit.
func sshTrue(ctx context.Context, ip string, cc *ssh.ClientConfig, limit time.Duration) error {
	d := net.Dialer{Timeout: cc.Timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, "22"))
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(limit))
	c, chans, reqs, err := ssh.NewClientConn(conn, ip, cc)
	if err != nil {
		conn.Close()
		return err
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run("true")
}
