package modules

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kplay/kplay/shell"
)

// UserArgs are the arguments of user.
type UserArgs struct {
	Name           string    `arg:"name|user,required"`
	State          string    `arg:"state"`
	UID            *int      `arg:"uid"`
	Group          string    `arg:"group"`
	Groups         *[]string `arg:"groups"`
	Append         bool      `arg:"append"`
	Shell          string    `arg:"shell"`
	Home           string    `arg:"home"`
	CreateHome     *bool     `arg:"create_home|createhome"`
	System         bool      `arg:"system"`
	Password       string    `arg:"password"`
	UpdatePassword string    `arg:"update_password"`
	Comment        *string   `arg:"comment"`
	Remove         bool      `arg:"remove"`
}

// User adds, changes or removes a local account with getent, id and
// useradd/usermod/userdel. The password is a crypt(3) hash: it is set with
// chpasswd -e from stdin and compared on the host, so it never appears on
// a command line, in the output or in the journal. Journal entries say
// which fields changed (old and new values, never the hash); rollback does
// not undo account changes by itself.
type User struct{}

// account is what the host says about a user.
type account struct {
	exists            bool
	uid, gid          int
	comment, home, sh string
	group             string   // primary group name
	groups            []string // supplementary group names
	password          string   // "same", "differs" or "unknown" (hash not readable)
}

// Run implements Module.
func (User) Run(ctx context.Context, req *Request) (Result, error) {
	var a UserArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if err := a.validate(); err != nil {
		return Result{}, err
	}
	acc, err := readAccount(ctx, req.Conn, a.Name, a.Password)
	if err != nil {
		return Result{}, err
	}
	res := Result{Data: map[string]any{"name": a.Name, "state": a.State}}
	if acc.exists {
		res.Data["uid"], res.Data["home"], res.Data["shell"], res.Data["group"] = acc.uid, acc.home, acc.sh, acc.gid
	}
	var cmd []string
	var ch Change
	setPassword := a.Password != "" && (!acc.exists || a.UpdatePassword != "on_create" && acc.password != "same")
	switch {
	case a.State == "absent" && acc.exists:
		cmd = []string{"userdel"}
		if a.Remove {
			cmd = append(cmd, "-r")
		}
		cmd, ch = append(cmd, "--", a.Name), Change{Kind: KindUser, Name: a.Name, Action: "removed", Old: fmt.Sprintf("uid=%d home=%s", acc.uid, acc.home)}
		setPassword = false
	case a.State == "absent":
		return res, nil
	case !acc.exists:
		cmd, ch = a.useradd(), Change{Kind: KindUser, Name: a.Name, Action: "created"}
	default:
		var old, new []string
		cmd, old, new = a.usermod(acc)
		if setPassword {
			old, new = append(old, "password"), append(new, "password")
		}
		if len(old) == 0 {
			return res, nil
		}
		ch = Change{Kind: KindUser, Name: a.Name, Action: "modified", Old: strings.Join(old, " "), New: strings.Join(new, " ")}
	}
	res.Changed, res.Changes, res.Msg = true, []Change{ch}, "user "+a.Name+" "+ch.Action
	if req.Check {
		return res, nil
	}
	var cmds [][]string
	if cmd != nil {
		cmds = append(cmds, cmd)
	}
	var stdin []byte
	if setPassword {
		cmds, stdin = append(cmds, []string{"chpasswd", "-e"}), []byte(a.Name+":"+a.Password+"\n")
	}
	return runAccountCmd(ctx, req.Conn, res, stdin, cmds...)
}

func (a *UserArgs) validate() error {
	switch a.State {
	case "":
		a.State = "present"
	case "present", "absent":
	default:
		return fmt.Errorf("parameter \"state\": %q is not one of present, absent", a.State)
	}
	switch a.UpdatePassword {
	case "", "always", "on_create":
	default:
		return fmt.Errorf("parameter \"update_password\": %q is not one of always, on_create", a.UpdatePassword)
	}
	if !accountRe.MatchString(a.Name) {
		return fmt.Errorf("parameter \"name\": %q is not a user name", a.Name)
	}
	if a.UID != nil && *a.UID < 0 {
		return fmt.Errorf("parameter \"uid\": %d is negative", *a.UID)
	}
	if strings.ContainsAny(a.Password, ":\n") {
		return fmt.Errorf("parameter \"password\": not a crypt hash (it holds ':' or a newline)")
	}
	for _, s := range []string{a.Shell, a.Home, a.Group, derefStr(a.Comment)} {
		if strings.ContainsAny(s, ":\n") {
			return fmt.Errorf("a user field must not hold ':' or a newline: %q", s)
		}
	}
	return nil
}

func derefStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// readAccount reads passwd, the primary and supplementary groups and
// whether the shadow hash equals password (compared on the host; the hash
// goes in on stdin and never comes back), in one round trip.
func readAccount(ctx context.Context, c Conn, name, password string) (account, error) {
	cmd := "n=" + shell.Quote(name) + `
p=$(getent passwd "$n"); rc=$?
if [ $rc = 2 ]; then echo absent; exit 0; elif [ $rc != 0 ]; then exit $rc; fi
printf '%s\n' "$p"; id -gn -- "$n"; id -Gn -- "$n"
IFS= read -r want
if [ -z "$want" ]; then echo none
elif s=$(getent shadow "$n" 2>/dev/null) && [ -n "$s" ]; then
  s=${s#*:}; if [ "${s%%:*}" = "$want" ]; then echo same; else echo differs; fi
else echo unknown; fi`
	var out, errb bytes.Buffer
	err := c.Exec(ctx, cmd, strings.NewReader(password+"\n"), &out, &errb)
	if rc := ExitCode(err); rc == 127 {
		return account{}, fmt.Errorf("look up user %s: getent or id is not installed on the host", name)
	} else if err != nil {
		return account{}, execErr("look up user", name, err, &errb)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if lines[0] == "absent" {
		return account{}, nil
	}
	f := strings.Split(lines[0], ":")
	if len(lines) < 4 || len(f) < 7 {
		return account{}, fmt.Errorf("look up user %s: unexpected output %q", name, out.String())
	}
	acc := account{exists: true, comment: f[4], home: f[5], sh: f[6], group: lines[1], password: lines[3]}
	acc.uid, _ = strconv.Atoi(f[2])
	acc.gid, _ = strconv.Atoi(f[3])
	for _, g := range strings.Fields(lines[2]) {
		if g != acc.group {
			acc.groups = append(acc.groups, g)
		}
	}
	return acc, nil
}

// useradd is the command that creates the account as asked.
func (a UserArgs) useradd() []string {
	cmd := []string{"useradd"}
	if a.UID != nil {
		cmd = append(cmd, "-u", strconv.Itoa(*a.UID))
	}
	if a.Group != "" {
		cmd = append(cmd, "-g", a.Group)
	}
	if a.Groups != nil && len(*a.Groups) > 0 {
		cmd = append(cmd, "-G", strings.Join(*a.Groups, ","))
	}
	if a.Shell != "" {
		cmd = append(cmd, "-s", a.Shell)
	}
	if a.Home != "" {
		cmd = append(cmd, "-d", a.Home)
	}
	if a.Comment != nil {
		cmd = append(cmd, "-c", *a.Comment)
	}
	if a.System {
		cmd = append(cmd, "-r")
	}
	// Ansible creates the home by default, except for system accounts.
	if a.CreateHome == nil && !a.System || a.CreateHome != nil && *a.CreateHome {
		cmd = append(cmd, "-m")
	} else {
		cmd = append(cmd, "-M")
	}
	return append(cmd, "--", a.Name)
}

// usermod returns the command that brings acc to what a asks for, and the
// changed fields as "field=old" and "field=new" words; nil when nothing
// differs.
func (a UserArgs) usermod(acc account) (cmd, old, new []string) {
	var opts []string
	diff := func(field, flag, was, want string) {
		if want != was {
			opts = append(opts, flag, want)
			old, new = append(old, field+"="+was), append(new, field+"="+want)
		}
	}
	if a.UID != nil {
		diff("uid", "-u", strconv.Itoa(acc.uid), strconv.Itoa(*a.UID))
	}
	if a.Group != "" && !idMatches(a.Group, acc.group, acc.gid) {
		diff("group", "-g", acc.group, a.Group)
	}
	if a.Shell != "" {
		diff("shell", "-s", acc.sh, a.Shell)
	}
	if a.Home != "" {
		diff("home", "-d", acc.home, a.Home)
	}
	if a.Comment != nil {
		diff("comment", "-c", acc.comment, *a.Comment)
	}
	if a.Groups != nil {
		if want, ok := wantGroups(acc.groups, *a.Groups, a.Append, acc.group); !ok {
			flag := "-G"
			if a.Append {
				opts = append(opts, "-a")
			}
			diff("groups", flag, strings.Join(acc.groups, ","), want)
		}
	}
	if len(opts) == 0 {
		return nil, old, new
	}
	return append(append([]string{"usermod"}, opts...), "--", a.Name), old, new
}

// wantGroups returns the -G value to pass (the missing groups with append,
// else the full sorted list) and whether the groups are already right.
func wantGroups(cur, want []string, appendOnly bool, primary string) (string, bool) {
	have := map[string]bool{}
	for _, g := range cur {
		have[g] = true
	}
	var missing, full []string
	seen := map[string]bool{}
	for _, g := range want {
		if g == primary || seen[g] {
			continue
		}
		seen[g] = true
		full = append(full, g)
		if !have[g] {
			missing = append(missing, g)
		}
	}
	sort.Strings(full)
	if appendOnly {
		return strings.Join(missing, ","), len(missing) == 0
	}
	return strings.Join(full, ","), len(missing) == 0 && len(full) == len(cur)
}
