package modules

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/kplay/kplay/shell"
)

// HostnameArgs are the arguments of hostname.
type HostnameArgs struct {
	Name string `arg:"name,required"`
	Use  string `arg:"use"`
}

// Hostname sets the host's name for good (/etc/hostname, written
// atomically with a backup and journaled) and for the running system
// (hostnamectl --transient where systemd runs, else hostname(1), else
// /proc/sys/kernel/hostname). The running name's change is journaled as
// {Kind: other, Name: "hostname", Old, New}; rollback does not undo it
// automatically (restoring /etc/hostname takes effect at the next boot).
type Hostname struct {
	// root prefixes /etc/hostname and /run/systemd/system in tests.
	root string
}

// hostnameRe accepts RFC 1123 host names (dots allowed), which is what
// kubelet and etcd accept as node names.
var hostnameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// Run implements Module.
func (m Hostname) Run(ctx context.Context, req *Request) (Result, error) {
	var a HostnameArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	switch a.Use {
	case "", "systemd", "debian", "generic", "redhat", "alpine":
	default:
		return Result{}, fmt.Errorf("parameter \"use\": %q is not one of systemd, debian, generic, redhat, alpine", a.Use)
	}
	if len(a.Name) > 64 || !hostnameRe.MatchString(a.Name) {
		return Result{}, fmt.Errorf("parameter \"name\": %q is not a valid host name", a.Name)
	}
	res, err := sysFile(ctx, req, m.root+"/etc/hostname", false, func(old []byte) ([]byte, error) {
		if strings.TrimSpace(string(old)) == a.Name {
			return old, nil
		}
		return []byte(a.Name + "\n"), nil
	})
	if err != nil || res.Failed {
		return res, err
	}
	res.Data = map[string]any{"name": a.Name, "ansible_facts": map[string]any{"ansible_hostname": strings.SplitN(a.Name, ".", 2)[0], "ansible_nodename": a.Name}}
	cur, systemd, err := m.current(ctx, req.Conn)
	if err != nil {
		return Result{}, err
	}
	if cur == a.Name {
		return res, nil
	}
	res.Changed = true
	res.Changes = append(res.Changes, Change{Kind: KindOther, Name: "hostname", Action: "set", Old: cur, New: a.Name})
	res.Msg = joinMsg(res.Msg, fmt.Sprintf("hostname set from %s to %s", cur, a.Name))
	if req.Check {
		return res, nil
	}
	useSystemd := a.Use == "systemd" || a.Use == "" && systemd
	q := shell.Quote(a.Name)
	cmd := "hostname " + q + " 2>&1 || printf '%s\\n' " + q + " > /proc/sys/kernel/hostname"
	if useSystemd {
		cmd = "hostnamectl --transient set-hostname " + q + " 2>&1 || " + cmd
	}
	var out bytes.Buffer
	if err := req.Conn.Exec(ctx, cmd, nil, &out, &out); err != nil {
		if ExitCode(err) < 0 {
			return Result{}, err
		}
		res.Changes = res.Changes[:len(res.Changes)-1]
		res.Failed, res.RC = true, ExitCode(err)
		res.Msg = fmt.Sprintf("setting the running host name to %s failed: %s", a.Name, strings.TrimSpace(out.String()))
	}
	return res, nil
}

// current reads the running host name and whether systemd runs (and has
// hostnamectl), in one round trip.
func (m Hostname) current(ctx context.Context, c Conn) (string, bool, error) {
	cmd := "if [ -d " + shell.Quote(m.root+"/run/systemd/system") + " ] && command -v hostnamectl >/dev/null 2>&1; then echo systemd; else echo other; fi\n" +
		"hostname 2>/dev/null || cat /proc/sys/kernel/hostname"
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return "", false, execErr("read", "host name", err, &errb)
	}
	kind, name, _ := strings.Cut(out.String(), "\n")
	return strings.TrimSpace(name), kind == "systemd", nil
}
