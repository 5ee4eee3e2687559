package modules

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kplay/kplay/shell"
)

// GroupArgs are the arguments of group.
type GroupArgs struct {
	Name   string `arg:"name,required"`
	GID    *int   `arg:"gid"`
	State  string `arg:"state"`
	System bool   `arg:"system"`
}

// Group adds, changes (gid) or removes a local group with getent and
// groupadd/groupmod/groupdel. The journal entry records the old gid;
// rollback does not recreate or delete groups by itself.
type Group struct{}

// accountRe is what useradd and groupadd accept as a name (the shadow
// utilities' default NAME_REGEX, plus upper case and dots).
var accountRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$`)

// Run implements Module.
func (Group) Run(ctx context.Context, req *Request) (Result, error) {
	var a GroupArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	switch a.State {
	case "":
		a.State = "present"
	case "present", "absent":
	default:
		return Result{}, fmt.Errorf("parameter \"state\": %q is not one of present, absent", a.State)
	}
	if !accountRe.MatchString(a.Name) {
		return Result{}, fmt.Errorf("parameter \"name\": %q is not a group name", a.Name)
	}
	if a.GID != nil && *a.GID < 0 {
		return Result{}, fmt.Errorf("parameter \"gid\": %d is negative", *a.GID)
	}
	gid, exists, err := readGroup(ctx, req.Conn, a.Name)
	if err != nil {
		return Result{}, err
	}
	res := Result{Data: map[string]any{"name": a.Name, "state": a.State, "system": a.System}}
	if exists {
		res.Data["gid"] = gid
	}
	var cmd []string
	var ch Change
	switch {
	case a.State == "absent" && exists:
		cmd, ch = []string{"groupdel", a.Name}, Change{Kind: KindGroup, Name: a.Name, Action: "removed", Old: "gid=" + strconv.Itoa(gid)}
	case a.State == "present" && !exists:
		cmd = []string{"groupadd"}
		if a.GID != nil {
			cmd = append(cmd, "-g", strconv.Itoa(*a.GID))
		}
		if a.System {
			cmd = append(cmd, "-r")
		}
		cmd, ch = append(cmd, a.Name), Change{Kind: KindGroup, Name: a.Name, Action: "created"}
	case a.State == "present" && a.GID != nil && *a.GID != gid:
		cmd = []string{"groupmod", "-g", strconv.Itoa(*a.GID), a.Name}
		ch = Change{Kind: KindGroup, Name: a.Name, Action: "modified", Old: "gid=" + strconv.Itoa(gid), New: "gid=" + strconv.Itoa(*a.GID)}
	default:
		return res, nil
	}
	res.Changed, res.Changes, res.Msg = true, []Change{ch}, "group "+a.Name+" "+ch.Action
	if req.Check {
		return res, nil
	}
	return runAccountCmd(ctx, req.Conn, res, nil, cmd)
}

// readGroup looks a group up with getent (exit 2: no such group).
func readGroup(ctx context.Context, c Conn, name string) (gid int, exists bool, err error) {
	var out, errb bytes.Buffer
	err = c.Exec(ctx, "getent group "+shell.Quote(name), nil, &out, &errb)
	switch ExitCode(err) {
	case 0:
	case 2:
		return 0, false, nil
	case 127:
		return 0, false, fmt.Errorf("look up group %s: getent is not installed on the host", name)
	default:
		return 0, false, execErr("look up group", name, err, &errb)
	}
	f := strings.Split(strings.TrimSpace(out.String()), ":")
	if len(f) < 3 {
		return 0, false, fmt.Errorf("look up group %s: unexpected getent output %q", name, out.String())
	}
	gid, err = strconv.Atoi(f[2])
	if err != nil {
		return 0, false, fmt.Errorf("look up group %s: bad gid %q", name, f[2])
	}
	return gid, true, nil
}

// runAccountCmd runs one or more account commands joined with &&; stdin
// feeds the last one (chpasswd). A failure is a failed Result with the
// tool's message; a missing tool is named.
func runAccountCmd(ctx context.Context, c Conn, res Result, stdin []byte, cmds ...[]string) (Result, error) {
	parts := make([]string, len(cmds))
	for i, cmd := range cmds {
		parts[i] = shell.Join(cmd...)
	}
	var out bytes.Buffer
	var in *bytes.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	var err error
	if in != nil {
		err = c.Exec(ctx, strings.Join(parts, " && "), in, &out, &out)
	} else {
		err = c.Exec(ctx, strings.Join(parts, " && "), nil, &out, &out)
	}
	switch rc := ExitCode(err); {
	case rc == 0:
		return res, nil
	case rc < 0:
		return Result{}, err
	case rc == 127:
		res.Msg = fmt.Sprintf("%s is not installed on the host: %s", cmds[0][0], strings.TrimSpace(out.String()))
	default:
		res.Msg = fmt.Sprintf("%s failed (rc %d): %s", cmds[0][0], rc, strings.TrimSpace(out.String()))
	}
	res.Failed, res.Changes, res.RC = true, nil, ExitCode(err)
	return res, nil
}
