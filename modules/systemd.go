package modules

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kplay/kplay/shell"
)

// SystemdArgs are the arguments of systemd and service.
type SystemdArgs struct {
	Name         string `arg:"name|service|unit"`
	State        string `arg:"state"`
	Enabled      *bool  `arg:"enabled"`
	Masked       *bool  `arg:"masked"`
	DaemonReload bool   `arg:"daemon_reload|daemon-reload"`
	NoBlock      bool   `arg:"no_block"`
}

// Systemd manages a systemd unit: running state, boot state and masking.
// It reads the unit's state in one round trip and acts only where the state
// differs, so it reports changed only when it changed something (restarted
// and reloaded always act, as in Ansible). service is the same module: the
// targets kplay deploys to run systemd.
type Systemd struct{}

// unitState is what systemctl show says about a unit.
type unitState struct {
	load, active, fileState string
	enabled                 bool
}

// Run implements Module.
func (Systemd) Run(ctx context.Context, req *Request) (Result, error) {
	var a SystemdArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if err := a.validate(); err != nil {
		return Result{}, err
	}
	if a.DaemonReload && !req.Check {
		if err := systemctl(ctx, req.Conn, "daemon-reload"); err != nil {
			return Result{}, err
		}
	}
	if a.Name == "" {
		return Result{Msg: "daemon reloaded"}, nil
	}
	st, err := readUnit(ctx, req.Conn, a.Name)
	if err != nil {
		return Result{}, err
	}
	// In --check a unit that does not exist yet is predicted from nothing
	// (inactive, disabled), as Ansible does: an earlier task of the same
	// check run, skipped or only predicted, may be the one that installs it.
	if st.load == "not-found" && !req.Check && (a.State != "stopped" || a.Enabled != nil && *a.Enabled) && (a.Masked == nil || !*a.Masked) {
		return Result{Failed: true, Msg: fmt.Sprintf("could not find the requested service %s", a.Name)}, nil
	}
	steps := a.plan(st)
	res := Result{Data: map[string]any{"name": a.Name, "state": st.active, "enabled": st.enabled, "status": map[string]any{
		"LoadState": st.load, "ActiveState": st.active, "UnitFileState": st.fileState}}}
	for _, s := range steps {
		res.Changed = true
		res.Changes = append(res.Changes, Change{Kind: KindService, Name: a.Name, Action: s.action, Old: s.old, New: s.verb})
		if req.Check {
			continue
		}
		args := []string{s.verb}
		if a.NoBlock && (s.verb == "start" || s.verb == "stop" || s.verb == "restart" || s.verb == "reload") {
			args = append(args, "--no-block")
		}
		if err := systemctl(ctx, req.Conn, append(args, "--", a.Name)...); err != nil {
			res.Failed = true
			res.Msg = fmt.Sprintf("systemctl %s %s failed: %v", s.verb, a.Name, err)
			res.Stderr = unitLogs(ctx, req.Conn, a.Name)
			return res, nil
		}
	}
	if len(steps) > 0 {
		res.Msg = describeSteps(steps, req.Check)
	}
	return res, nil
}

func (a SystemdArgs) validate() error {
	switch a.State {
	case "", "started", "stopped", "restarted", "reloaded":
	default:
		return fmt.Errorf("parameter \"state\": %q is not one of started, stopped, restarted, reloaded", a.State)
	}
	if a.Name == "" && (a.State != "" || a.Enabled != nil || a.Masked != nil) {
		return fmt.Errorf("missing required parameter \"name\"")
	}
	if a.Name == "" && !a.DaemonReload {
		return fmt.Errorf("one of name or daemon_reload is required")
	}
	return nil
}

// step is one systemctl verb to run, with the journal's action word and the
// state before it.
type step struct{ verb, action, old string }

// plan lists the systemctl verbs that bring st to what a asks for, in the
// order Ansible applies them: mask/unmask, enable/disable, then state.
func (a SystemdArgs) plan(st unitState) []step {
	var steps []step
	masked := st.fileState == "masked" || st.fileState == "masked-runtime"
	if a.Masked != nil && *a.Masked != masked {
		if *a.Masked {
			steps = append(steps, step{"mask", "masked", st.fileState})
		} else {
			steps = append(steps, step{"unmask", "unmasked", st.fileState})
		}
	}
	if a.Enabled != nil && *a.Enabled != st.enabled {
		old := map[bool]string{true: "enabled", false: "disabled"}[st.enabled]
		if *a.Enabled {
			steps = append(steps, step{"enable", "enabled", old})
		} else {
			steps = append(steps, step{"disable", "disabled", old})
		}
	}
	running := st.active == "active" || st.active == "activating" || st.active == "reloading"
	old := map[bool]string{true: "active", false: "inactive"}[running]
	switch {
	case a.State == "started" && !running:
		steps = append(steps, step{"start", "started", old})
	case a.State == "stopped" && (running || st.active == "deactivating"):
		steps = append(steps, step{"stop", "stopped", old})
	case a.State == "restarted":
		steps = append(steps, step{"restart", "restarted", old})
	case a.State == "reloaded" && !running:
		steps = append(steps, step{"start", "started", old})
	case a.State == "reloaded":
		steps = append(steps, step{"reload", "reloaded", old})
	}
	return steps
}

// readUnit reads a unit's load, active and unit-file state, and whether
// systemctl counts it as enabled (is-enabled exits 0: enabled, static,
// alias, indirect, generated ...), in one round trip.
func readUnit(ctx context.Context, c Conn, name string) (unitState, error) {
	q := shell.Quote(name)
	cmd := "systemctl show -p LoadState -p ActiveState -p UnitFileState -- " + q +
		"; if systemctl is-enabled --quiet -- " + q + " 2>/dev/null; then echo Enabled=yes; else echo Enabled=no; fi"
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		if ExitCode(err) < 0 {
			return unitState{}, err
		}
		return unitState{}, fmt.Errorf("systemctl show %s: %s: %w", name, strings.TrimSpace(errb.String()), err)
	}
	var st unitState
	for _, line := range strings.Split(out.String(), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "LoadState":
			st.load = v
		case "ActiveState":
			st.active = v
		case "UnitFileState":
			st.fileState = v
		case "Enabled":
			st.enabled = v == "yes"
		}
	}
	if st.load == "" {
		return st, fmt.Errorf("systemctl show %s: no LoadState in %q", name, out.String())
	}
	return st, nil
}

func systemctl(ctx context.Context, c Conn, args ...string) error {
	var errb bytes.Buffer
	err := c.Exec(ctx, "systemctl "+shell.Join(args...), nil, nil, &errb)
	if err != nil && ExitCode(err) >= 0 {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return fmt.Errorf("%s (%w)", msg, err)
		}
	}
	return err
}

// unitLogs fetches what an operator looks at when a unit fails: the tail of
// systemctl status and of the unit's journal.
func unitLogs(ctx context.Context, c Conn, name string) string {
	q := shell.Quote(name)
	var out bytes.Buffer
	_ = c.Exec(ctx, "systemctl status --no-pager -n 0 -- "+q+" 2>&1 | head -n 12; echo '-- journalctl -u "+
		strings.ReplaceAll(name, "'", "")+" (last 20 lines) --'; journalctl -u "+q+" -n 20 --no-pager 2>&1", nil, &out, &out)
	return strings.TrimRight(out.String(), "\n")
}

func describeSteps(steps []step, check bool) string {
	verbs := make([]string, len(steps))
	for i, s := range steps {
		verbs[i] = s.action
	}
	if check {
		return "would be " + strings.Join(verbs, ", ")
	}
	return strings.Join(verbs, ", ")
}
