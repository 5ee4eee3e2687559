package modules

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kplay/kplay/shell"
)

// PackageArgs are the arguments of package, apt, dnf and yum.
type PackageArgs struct {
	Name              []string `arg:"name|pkg"`
	State             string   `arg:"state"`
	UpdateCache       bool     `arg:"update_cache"`
	InstallRecommends *bool    `arg:"install_recommends"`
	Use               string   `arg:"use"`
	// CacheValidTime is accepted for Ansible compatibility; kplay updates
	// the cache only when update_cache is set.
	CacheValidTime int `arg:"cache_valid_time"`
}

// Package installs or removes OS packages with the host's own package
// manager (apt on Debian/Ubuntu, dnf or yum on RHEL-likes), detected with
// the package states in one round trip. It acts only on packages whose
// state differs, so a second run changes nothing.
type Package struct {
	// Manager forces a manager ("apt", "dnf", "yum") for the apt, dnf and
	// yum module names; empty detects it.
	Manager string
}

// pkgState is what the host says about one package.
type pkgState struct {
	installed bool
	version   string
}

// Run implements Module.
func (m Package) Run(ctx context.Context, req *Request) (Result, error) {
	var a PackageArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	state, err := normalizePkgState(a.State)
	if err != nil {
		return Result{}, err
	}
	for _, n := range a.Name {
		if n == "" || strings.ContainsAny(n, " \t\n") {
			return Result{}, fmt.Errorf("parameter \"name\": %q is not a package name", n)
		}
	}
	use := a.Use
	if use == "" || use == "auto" {
		use = m.Manager
	}
	mgr, states, err := queryPackages(ctx, req.Conn, use, a.Name)
	if err != nil {
		return Result{}, err
	}
	if a.UpdateCache && !req.Check {
		if err := pkgExec(ctx, req.Conn, mgr.update); err != nil {
			return Result{Failed: true, Msg: "updating the package cache failed: " + err.Error()}, nil
		}
	}
	todo := pkgTodo(a.Name, states, state)
	if state == "latest" {
		return m.latest(ctx, req, mgr, a, states)
	}
	res := Result{Data: map[string]any{"packages": todo, "manager": mgr.name}}
	if len(todo) == 0 {
		return res, nil
	}
	res.Changed = true
	action := map[string]string{"present": "installed", "absent": "removed"}[state]
	for _, n := range todo {
		res.Changes = append(res.Changes, Change{Kind: KindPackage, Name: n, Action: action, Old: states[n].version})
	}
	if req.Check {
		res.Msg = fmt.Sprintf("would be %s: %s", action, strings.Join(todo, " "))
		return res, nil
	}
	cmd := mgr.install(a.InstallRecommends)
	if state == "absent" {
		cmd = mgr.remove
	}
	var out bytes.Buffer
	if err := req.Conn.Exec(ctx, cmd+" "+shell.Join(todo...), nil, &out, &out); err != nil {
		if ExitCode(err) < 0 {
			return Result{}, err
		}
		return Result{Failed: true, Msg: fmt.Sprintf("%s %s failed", mgr.name, action), RC: ExitCode(err), Stdout: tail(out.String(), 30)}, nil
	}
	res.Msg = fmt.Sprintf("%s: %s", action, strings.Join(todo, " "))
	res.Stdout = tail(out.String(), 30)
	return res, nil
}

// latest installs or upgrades, and reports a change only for packages whose
// version moved.
func (m Package) latest(ctx context.Context, req *Request, mgr pkgManager, a PackageArgs, before map[string]pkgState) (Result, error) {
	res := Result{Data: map[string]any{"manager": mgr.name}}
	if req.Check {
		var out bytes.Buffer
		err := req.Conn.Exec(ctx, mgr.simulate+" "+shell.Join(a.Name...), nil, &out, &out)
		if ExitCode(err) != 0 {
			return Result{Failed: true, Msg: "simulating the upgrade failed", Stdout: tail(out.String(), 30)}, nil
		}
		for _, n := range mgr.parseSimulated(out.String(), a.Name) {
			res.Changed = true
			res.Changes = append(res.Changes, Change{Kind: KindPackage, Name: n, Action: "upgraded", Old: before[n].version})
		}
		return res, nil
	}
	var out bytes.Buffer
	if err := req.Conn.Exec(ctx, mgr.install(a.InstallRecommends)+" "+shell.Join(a.Name...), nil, &out, &out); err != nil {
		if ExitCode(err) < 0 {
			return Result{}, err
		}
		return Result{Failed: true, Msg: mgr.name + " upgrade failed", RC: ExitCode(err), Stdout: tail(out.String(), 30)}, nil
	}
	_, after, err := queryPackages(ctx, req.Conn, mgr.name, a.Name)
	if err != nil {
		return Result{}, err
	}
	for _, n := range a.Name {
		if b := before[n]; !b.installed || b.version != after[n].version {
			action := map[bool]string{true: "upgraded", false: "installed"}[b.installed]
			res.Changed = true
			res.Changes = append(res.Changes, Change{Kind: KindPackage, Name: n, Action: action, Old: b.version, New: after[n].version})
		}
	}
	return res, nil
}

func normalizePkgState(s string) (string, error) {
	switch s {
	case "", "present", "installed":
		return "present", nil
	case "absent", "removed":
		return "absent", nil
	case "latest":
		return "latest", nil
	}
	return "", fmt.Errorf("parameter \"state\": %q is not one of present, absent, latest", s)
}

// pkgTodo lists, in a stable order, the packages whose state must change.
func pkgTodo(names []string, states map[string]pkgState, state string) []string {
	var todo []string
	for _, n := range names {
		if st := states[n]; (state == "present") != st.installed && state != "latest" {
			todo = append(todo, n)
		}
	}
	sort.Strings(todo)
	return todo
}

func pkgExec(ctx context.Context, c Conn, cmd string) error {
	var out bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, &out, &out); err != nil {
		return fmt.Errorf("%w: %s", err, tail(out.String(), 10))
	}
	return nil
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
