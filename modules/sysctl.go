package modules

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kplay/kplay/shell"
)

// SysctlArgs are the arguments of sysctl (Ansible's ansible.posix.sysctl).
type SysctlArgs struct {
	Name         string `arg:"name|key,required"`
	Value        string `arg:"value|val"`
	State        string `arg:"state"`
	SysctlFile   string `arg:"sysctl_file"`
	Reload       *bool  `arg:"reload"`
	SysctlSet    bool   `arg:"sysctl_set"`
	IgnoreErrors bool   `arg:"ignoreerrors"`
}

// Sysctl sets a kernel parameter in a sysctl file (persistent) and, with
// reload (the default) or sysctl_set, at run time with sysctl -w. Values
// are compared with whitespace normalized, so "4096 87380" in the file
// matches "4096\t87380" from the kernel.
type Sysctl struct {
	// procSys is where the kernel's parameters are read ("/proc/sys" when
	// empty); tests point it at a folder the fake sysctl writes to.
	procSys string
}

// sysctlRuntime is what the host says about a key at run time.
type sysctlRuntime struct {
	exists, writable bool
	value            string
}

// Run implements Module.
func (m Sysctl) Run(ctx context.Context, req *Request) (Result, error) {
	var a SysctlArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if err := a.normalize(); err != nil {
		return Result{}, err
	}
	res, err := sysFile(ctx, req, a.SysctlFile, false, func(old []byte) ([]byte, error) {
		return sysctlEdit(old, a.Name, a.Value, a.State == "absent"), nil
	})
	if err != nil || res.Failed {
		return res, err
	}
	if res.Data == nil {
		res.Data = map[string]any{}
	}
	res.Data["name"], res.Data["value"] = a.Name, a.Value
	if a.State == "absent" || !(a.SysctlSet || a.Reload == nil || *a.Reload) {
		return res, nil
	}
	return m.setRuntime(ctx, req, a, res)
}

// normalize checks the arguments and applies Ansible's defaults and value
// spellings (yes/true become 1, no/false 0).
func (a *SysctlArgs) normalize() error {
	switch a.State {
	case "":
		a.State = "present"
	case "present", "absent":
	default:
		return fmt.Errorf("parameter \"state\": %q is not one of present, absent", a.State)
	}
	if a.Name = strings.TrimSpace(a.Name); a.Name == "" || strings.ContainsAny(a.Name, "= \t\n\x00") || climbs(a.Name) {
		return fmt.Errorf("parameter \"name\": %q is not a sysctl key", a.Name)
	}
	a.Value = normSpace(a.Value)
	switch strings.ToLower(a.Value) {
	case "yes", "true", "on":
		a.Value = "1"
	case "no", "false", "off":
		a.Value = "0"
	}
	if a.State == "present" && a.Value == "" {
		return fmt.Errorf("parameter \"value\" is required with state=present")
	}
	if strings.Contains(a.Value, "\n") {
		return fmt.Errorf("parameter \"value\": a sysctl value is one line")
	}
	if a.SysctlFile == "" {
		a.SysctlFile = "/etc/sysctl.conf"
	}
	return nil
}

// climbs tells whether a key would name a file outside /proc/sys (a
// leading slash or a ".." component).
func climbs(key string) bool {
	return strings.HasPrefix(key, "/") || slices.Contains(strings.Split(key, "/"), "..")
}

// normSpace collapses runs of blanks to one space and trims the ends.
func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// sysctlEdit is the file part as a pure function: the first line setting
// name is replaced by "name=value" unless it already holds that value,
// later lines setting name are dropped, and a missing key is appended;
// with absent, every line setting name is dropped. Comments and other keys
// are kept as they are.
func sysctlEdit(old []byte, name, value string, absent bool) []byte {
	var out []string
	found := false
	for _, l := range textLines(old) {
		t := strings.TrimSpace(l)
		k, v, ok := strings.Cut(t, "=")
		if !ok || t == "" || t[0] == '#' || t[0] == ';' || strings.TrimSpace(k) != name {
			out = append(out, l)
			continue
		}
		if absent || found {
			continue
		}
		found = true
		if normSpace(v) == value {
			out = append(out, l)
		} else {
			out = append(out, name+"="+value+"\n")
		}
	}
	if !found && !absent {
		if n := len(out); n > 0 && !strings.HasSuffix(out[n-1], "\n") {
			out[n-1] += "\n"
		}
		out = append(out, name+"="+value+"\n")
	}
	return []byte(strings.Join(out, ""))
}

// textLines splits b after every newline, keeping the newlines.
func textLines(b []byte) []string {
	lines := strings.SplitAfter(string(b), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	return lines
}

// setRuntime reads the key's value in the running kernel and sets it with
// sysctl -w when it differs.
func (m Sysctl) setRuntime(ctx context.Context, req *Request, a SysctlArgs, res Result) (Result, error) {
	rt, err := m.readRuntime(ctx, req.Conn, a.Name)
	if err != nil {
		return Result{}, err
	}
	if !rt.exists && req.Check {
		// As Ansible's sysctl in check mode: the key may come with a
		// kernel module an earlier task of the run loads (br_netfilter
		// brings net.bridge.*), so the prediction is a change, and the
		// real run fails if the key is still missing then.
		res.Changed = true
		res.Changes = append(res.Changes, Change{Kind: KindSysctl, Name: a.Name, Action: "set", New: a.Value})
		res.Msg = joinMsg(res.Msg, fmt.Sprintf("%s set to %q (not in the running kernel now: a module loaded earlier in the run may bring it)", a.Name, a.Value))
		return res, nil
	}
	if !rt.exists {
		return sysctlProblem(res, a, fmt.Sprintf("sysctl %s: no such key in the running kernel", a.Name)), nil
	}
	if rt.value == a.Value {
		return res, nil
	}
	if !rt.writable {
		return sysctlProblem(res, a, fmt.Sprintf("sysctl %s: read-only in this environment (a container sharing the host's kernel?)", a.Name)), nil
	}
	res.Changed = true
	res.Changes = append(res.Changes, Change{Kind: KindSysctl, Name: a.Name, Action: "set", Old: rt.value, New: a.Value})
	res.Msg = joinMsg(res.Msg, fmt.Sprintf("%s set from %q to %q", a.Name, rt.value, a.Value))
	if req.Check {
		return res, nil
	}
	var errb bytes.Buffer
	if err := req.Conn.Exec(ctx, "sysctl -q -w "+shell.Quote(a.Name+"="+a.Value), nil, nil, &errb); err != nil {
		if ExitCode(err) < 0 {
			return Result{}, err
		}
		res.Changes = res.Changes[:len(res.Changes)-1]
		msg := strings.TrimSpace(errb.String())
		if lower := strings.ToLower(msg); strings.Contains(lower, "read-only") || strings.Contains(lower, "permission denied") {
			msg = "read-only in this environment: " + msg
		}
		res.Msg = fmt.Sprintf("sysctl -w %s=%s: %s", a.Name, a.Value, msg)
		res.Failed, res.RC = !a.IgnoreErrors, ExitCode(err)
		return res, nil
	}
	return res, nil
}

// sysctlProblem fails the task with msg, or with ignoreerrors keeps the
// file result and reports msg as a warning.
func sysctlProblem(res Result, a SysctlArgs, msg string) Result {
	if a.IgnoreErrors {
		res.Msg = joinMsg(res.Msg, msg+" (ignored)")
		return res
	}
	res.Failed, res.Msg = true, msg
	return res
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// readRuntime reads /proc/sys/KEY (dots are folders, slashes in a key are
// dots in the name, as sysctl(8) maps them) and whether it is writable, in
// one round trip.
func (m Sysctl) readRuntime(ctx context.Context, c Conn, name string) (sysctlRuntime, error) {
	root := m.procSys
	if root == "" {
		root = "/proc/sys"
	}
	p := root + "/" + strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
	cmd := "f=" + shell.Quote(p) + `
if [ ! -f "$f" ]; then echo missing; exit 0; fi
if [ -w "$f" ]; then echo rw; else echo ro; fi
cat -- "$f"`
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return sysctlRuntime{}, execErr("read sysctl", name, err, &errb)
	}
	first, rest, _ := strings.Cut(out.String(), "\n")
	if first == "missing" {
		return sysctlRuntime{}, nil
	}
	return sysctlRuntime{exists: true, writable: first == "rw", value: normSpace(rest)}, nil
}

// sysFile makes the text file at path hold what edit makes of its content
// (nil when missing), through the shared atomic write with backup; a
// missing file is created with its folders unless absentOK says a missing
// file is already right (edit is then not called). The Result carries the
// file's journal entries and, in check mode, the prediction.
func sysFile(ctx context.Context, req *Request, path string, absentOK bool, edit func(old []byte) ([]byte, error)) (Result, error) {
	fi, err := statDest(ctx, req.Conn, path)
	if err != nil {
		return Result{}, err
	}
	if fi.Exists && fi.Kind != "file" {
		return Result{}, fmt.Errorf("write %s: destination is a %s", path, fi.Kind)
	}
	if !fi.Exists && absentOK {
		return Result{}, nil
	}
	var old []byte
	if fi.Exists {
		if old, err = readAll(ctx, req.Conn, fi.Path); err != nil {
			return Result{}, err
		}
	}
	out, err := edit(old)
	if err != nil {
		return Result{}, err
	}
	if fi.Exists && bytes.Equal(old, out) {
		return Result{}, nil
	}
	var pre []Change
	var created bool
	if !fi.Exists {
		if pre, created, err = ensureParent(ctx, req, fi.Path); err != nil {
			return Result{}, err
		}
	}
	if old == nil {
		old = []byte{}
	}
	spec := putSpec{dest: fi.Path, content: bytesContent(out), force: true, before: old}
	res, err := putFile(ctx, req, spec, fi)
	if err != nil {
		return res, err
	}
	return withParent(pre, created, res), nil
}
