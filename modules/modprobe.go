package modules

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kplay/kplay/shell"
)

// ModprobeArgs are the arguments of modprobe (community.general.modprobe).
type ModprobeArgs struct {
	Name       string `arg:"name,required"`
	State      string `arg:"state"`
	Params     string `arg:"params"`
	Persistent string `arg:"persistent"`
}

// Modprobe loads or unloads a kernel module and, with persistent, makes
// that survive a reboot: persistent=present writes
// /etc/modules-load.d/NAME.conf (and /etc/modprobe.d/NAME.conf with the
// params), persistent=absent removes those two files (with a backup).
// A module is loaded when /proc/modules lists it or /sys/module/NAME
// exists (built in). Where modprobe is missing or modules cannot be
// loaded (a container), the task fails with the reason.
type Modprobe struct {
	// root prefixes /proc/modules, /sys/module and /etc in tests.
	root string
}

// Run implements Module.
func (m Modprobe) Run(ctx context.Context, req *Request) (Result, error) {
	var a ModprobeArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if err := a.normalize(); err != nil {
		return Result{}, err
	}
	res, err := m.persist(ctx, req, a)
	if err != nil || res.Failed {
		return res, err
	}
	loaded, builtin, have, err := m.readModule(ctx, req.Conn, a.Name)
	if err != nil {
		return Result{}, err
	}
	res.Data = map[string]any{"name": a.Name, "state": a.State, "params": a.Params}
	want := a.State == "present"
	switch {
	case loaded == want:
		return res, nil
	case builtin:
		res.Failed, res.Msg = true, fmt.Sprintf("module %s is built into the kernel and cannot be unloaded", a.Name)
		return res, nil
	case !have:
		res.Failed, res.Msg = true, "modprobe is not installed on the host"
		return res, nil
	}
	action, cmd := "loaded", "modprobe -- "+shell.Quote(a.Name)
	if a.Params != "" {
		cmd += " " + a.Params
	}
	if !want {
		action, cmd = "unloaded", "modprobe -r -- "+shell.Quote(a.Name)
	}
	res.Changed = true
	res.Changes = append(res.Changes, Change{Kind: KindOther, Name: "module " + a.Name, Action: action,
		Old: map[bool]string{true: "loaded", false: "not loaded"}[loaded], New: map[bool]string{true: "loaded", false: "not loaded"}[want]})
	res.Msg = joinMsg(res.Msg, "module "+a.Name+" "+action)
	if req.Check {
		return res, nil
	}
	var out bytes.Buffer
	if err := req.Conn.Exec(ctx, cmd, nil, &out, &out); err != nil {
		if ExitCode(err) < 0 {
			return Result{}, err
		}
		res.Changes = res.Changes[:len(res.Changes)-1]
		res.Failed, res.RC, res.Stderr = true, ExitCode(err), strings.TrimSpace(out.String())
		res.Msg = fmt.Sprintf("modprobe %s failed (a container cannot load kernel modules; the host's kernel must): %s", a.Name, res.Stderr)
	}
	return res, nil
}

func (a *ModprobeArgs) normalize() error {
	switch a.State {
	case "":
		a.State = "present"
	case "present", "absent":
	default:
		return fmt.Errorf("parameter \"state\": %q is not one of present, absent", a.State)
	}
	switch a.Persistent {
	case "":
		a.Persistent = "disabled"
	case "present", "absent", "disabled":
	default:
		return fmt.Errorf("parameter \"persistent\": %q is not one of present, absent, disabled", a.Persistent)
	}
	if a.Name == "" || strings.ContainsAny(a.Name, " \t\n/'\"$`\\;&|<>") {
		return fmt.Errorf("parameter \"name\": %q is not a module name", a.Name)
	}
	if strings.ContainsAny(a.Params, "\n;&|<>`$\\") {
		return fmt.Errorf("parameter \"params\": %q holds shell characters", a.Params)
	}
	if a.State == "absent" && a.Params != "" {
		return fmt.Errorf("parameter \"params\": only with state=present")
	}
	return nil
}

// readModule tells, in one round trip, whether the module is loaded
// (listed in /proc/modules, where "-" is "_"), built in, and whether the
// host has modprobe.
func (m Modprobe) readModule(ctx context.Context, c Conn, name string) (loaded, builtin, have bool, err error) {
	u := strings.ReplaceAll(name, "-", "_")
	cmd := "m=" + shell.Quote(u) + "; r=" + shell.Quote(m.root) + `
if grep -q "^$m " "$r/proc/modules" 2>/dev/null; then echo loaded
elif [ -d "$r/sys/module/$m" ]; then echo builtin
else echo absent; fi
if command -v modprobe >/dev/null 2>&1; then echo have; else echo none; fi`
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return false, false, false, execErr("read module", name, err, &errb)
	}
	f := strings.Fields(out.String())
	if len(f) != 2 {
		return false, false, false, fmt.Errorf("read module %s: unexpected output %q", name, out.String())
	}
	// A built-in module counts as loaded; it cannot be unloaded.
	return f[0] != "absent", f[0] == "builtin", f[1] == "have", nil
}

// persist writes or removes the boot-time files.
func (m Modprobe) persist(ctx context.Context, req *Request, a ModprobeArgs) (Result, error) {
	load := m.root + "/etc/modules-load.d/" + a.Name + ".conf"
	opts := m.root + "/etc/modprobe.d/" + a.Name + ".conf"
	var res Result
	add := func(r Result, err error) error {
		if err == nil {
			res.Changed = res.Changed || r.Changed
			res.Failed, res.Msg = res.Failed || r.Failed, joinMsg(res.Msg, r.Msg)
			res.Changes = append(res.Changes, r.Changes...)
		}
		return err
	}
	switch a.Persistent {
	case "present":
		line := []byte(a.Name + "\n")
		if err := add(sysFile(ctx, req, load, false, func([]byte) ([]byte, error) { return line, nil })); err != nil {
			return Result{}, err
		}
		if a.Params != "" {
			o := []byte("options " + a.Name + " " + a.Params + "\n")
			if err := add(sysFile(ctx, req, opts, false, func([]byte) ([]byte, error) { return o, nil })); err != nil {
				return Result{}, err
			}
		}
	case "absent":
		for _, p := range []string{load, opts} {
			if err := add(removeFile(ctx, req, p)); err != nil {
				return Result{}, err
			}
		}
	}
	return res, nil
}

// removeFile deletes a file after saving it next to itself, journaled so
// that rollback puts it back.
func removeFile(ctx context.Context, req *Request, p string) (Result, error) {
	fi, err := Stat(ctx, req.Conn, p)
	if err != nil || !fi.Exists {
		return Result{}, err
	}
	if fi.Kind != "file" {
		return Result{}, fmt.Errorf("remove %s: not a regular file but a %s", p, fi.Kind)
	}
	res := Result{Changed: true, Msg: p + " removed"}
	if req.Check {
		return res, nil
	}
	b, err := Backup(ctx, req.Conn, p, backupSuffix(req))
	if err != nil {
		return Result{}, err
	}
	if err := Remove(ctx, req.Conn, p); err != nil {
		return Result{}, err
	}
	res.Changes = []Change{{Kind: KindFile, Path: p, Action: "removed", Existed: true, Backup: b,
		OldMode: fi.Mode, OldOwner: fi.Owner, OldGroup: fi.Group, OldKind: "file"}}
	return res, nil
}
