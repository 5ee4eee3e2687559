package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeSudo behaves like sudo -n / sudo -S -p PROMPT for the become
// protocol: FAKE_PW is the password it wants, FAKE_NOPASSWD=1 makes it ask
// for none (a NOPASSWD rule or cached credentials).
const fakeSudo = `#!/bin/sh
mode=; prompt=
while [ $# -gt 0 ]; do
  case $1 in
    -n) mode=n ;;
    -S) mode=S ;;
    -p) prompt=$2; shift ;;
    -u) shift ;;
    --) shift; break ;;
  esac
  shift
done
if [ "$FAKE_NOPASSWD" != 1 ]; then
  [ "$mode" = n ] && { echo "sudo: a password is required" >&2; exit 1; }
  n=0
  while :; do
    printf '%s' "$prompt" >&2
    IFS= read -r pw || { echo "sudo: $n incorrect password attempt" >&2; exit 1; }
    [ "$pw" = "$FAKE_PW" ] && break
    n=$((n+1)); echo "Sorry, try again." >&2
  done
fi
exec "$@"
`

func fakeSudoLocal(t *testing.T, env ...string) Conn {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte(fakeSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Local{Env: append([]string{"PATH=" + dir + ":/usr/bin:/bin"}, env...)}
}

func TestBecomeProtocol(t *testing.T) {
	const in = "first line\nsecond\n"
	tests := []struct {
		name    string
		env     []string
		pw      string
		cmd     string
		wantOut string
		wantErr string // "" success; "exit N"; otherwise substring of an ErrBecome
	}{
		{name: "password prompt", env: []string{"FAKE_PW=pw1"}, pw: "pw1", cmd: "cat; echo err >&2", wantOut: in},
		{name: "no prompt keeps stdin clean", env: []string{"FAKE_NOPASSWD=1"}, pw: "pw1", cmd: "cat", wantOut: in},
		{name: "no password given, none needed", env: []string{"FAKE_NOPASSWD=1"}, cmd: "cat", wantOut: in},
		{name: "needs password", env: []string{"FAKE_PW=pw1"}, cmd: "true", wantErr: "asks for a password"},
		{name: "wrong password", env: []string{"FAKE_PW=pw1"}, pw: "bad", cmd: "true", wantErr: "incorrect become password"},
		{name: "exit code", env: []string{"FAKE_PW=pw1"}, pw: "pw1", cmd: "exit 5", wantErr: "exit 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := WithBecome(fakeSudoLocal(t, tt.env...), Become{Password: tt.pw})
			var out, errb bytes.Buffer
			err := c.Exec(t.Context(), tt.cmd, strings.NewReader(in), &out, &errb)
			var ee *ExitError
			switch {
			case tt.wantErr == "":
				if err != nil {
					t.Fatalf("err = %v (stderr %q)", err, errb.String())
				}
			case strings.HasPrefix(tt.wantErr, "exit "):
				if !errors.As(err, &ee) || "exit "+strconv.Itoa(ee.Code) != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
			default:
				if !errors.Is(err, ErrBecome) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrBecome with %q", err, tt.wantErr)
				}
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout = %q, want %q", out.String(), tt.wantOut)
			}
			if strings.Contains(errb.String(), becomeReady) || strings.Contains(errb.String(), becomePrompt) {
				t.Errorf("stderr leaks protocol text: %q", errb.String())
			}
			if tt.name == "password prompt" && errb.String() != "err\n" {
				t.Errorf("stderr = %q, want the command's own", errb.String())
			}
		})
	}
}

func TestBecomeCommandLine(t *testing.T) {
	rec := &recordConn{}
	_ = WithBecome(rec, Become{User: "post gres", Password: "p'w"}).Exec(context.Background(), "echo 'hi'", nil, nil, nil)
	if strings.Contains(rec.cmd, "p'w") || strings.Contains(rec.cmd, `p'\''w`) {
		t.Errorf("password on the command line: %s", rec.cmd)
	}
	want := `sudo -S -p '[kplay-sudo-password]' -u 'post gres' -- sh -c`
	if !strings.HasPrefix(rec.cmd, want) {
		t.Errorf("command = %s, want prefix %s", rec.cmd, want)
	}
	if err := WithBecome(rec, Become{Method: "su"}).Exec(context.Background(), "true", nil, nil, nil); !errors.Is(err, ErrBecome) {
		t.Errorf("su: err = %v, want ErrBecome (unsupported)", err)
	}
}

// TestBecomeRealSudo runs the real sudo as root on this machine.
func TestBecomeRealSudo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("sudo"); err != nil {
		t.Skip("no sudo")
	}
	var out bytes.Buffer
	c := WithEnv(WithBecome(&Local{}, Become{User: "nobody"}), map[string]string{"GREETING": "it's me"})
	if err := c.Exec(t.Context(), `id -un; echo "$GREETING"`, nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "nobody\nit's me\n" {
		t.Errorf("out = %q", out.String())
	}
}

// recordConn remembers the last command line and runs nothing.
type recordConn struct{ cmd string }

func (r *recordConn) Exec(_ context.Context, cmd string, _ io.Reader, _, _ io.Writer) error {
	r.cmd = cmd
	return nil
}

func TestWithEnv(t *testing.T) {
	rec := &recordConn{}
	env := map[string]string{"B": "two words", "A": "it's", "_x1": ""}
	if err := WithEnv(rec, env).Exec(context.Background(), "run", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := `export A='it'\''s'; export B='two words'; export _x1=''; run`
	if rec.cmd != want {
		t.Errorf("command = %s, want %s", rec.cmd, want)
	}
	var out bytes.Buffer
	env["C"] = "line1\nline2 $HOME `x`"
	if err := WithEnv(&Local{}, env).Exec(t.Context(), `printf '%s|%s|%s' "$A" "$B" "$C"`, nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "it's|two words|line1\nline2 $HOME `x`"; got != want {
		t.Errorf("values = %q, want %q", got, want)
	}
	for _, bad := range []string{"1A", "A-B", "A B", "", "A;rm"} {
		err := WithEnv(rec, map[string]string{bad: "v"}).Exec(context.Background(), "run", nil, nil, nil)
		if err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}
