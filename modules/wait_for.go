package modules

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kplay/kplay/shell"
)

// WaitForArgs are the arguments of wait_for.
type WaitForArgs struct {
	Host           string `arg:"host"`
	Port           int    `arg:"port"`
	State          string `arg:"state"`
	Path           string `arg:"path"`
	SearchRegex    string `arg:"search_regex"`
	Delay          int    `arg:"delay"`
	Timeout        *int   `arg:"timeout"`
	Sleep          *int   `arg:"sleep"`
	ConnectTimeout *int   `arg:"connect_timeout"`
	Msg            string `arg:"msg"`
}

// WaitFor waits, on the target host as Ansible's wait_for does, until a
// port accepts (or refuses) connections, a file appears (holding a
// search_regex match) or goes away, within timeout seconds. The wait is
// one bounded sh loop, so it costs one round trip; the controller bounds
// it too. It never reports a change.
//
// A port is probed with nc -z when the host has nc; else, for a loopback
// host, by looking for a listening socket in /proc/net/tcp and tcp6; else
// with bash's /dev/tcp under timeout(1). Without any of these a remote
// port cannot be checked and the task fails saying so. In check mode the
// condition is tested once, without waiting, and never fails.
type WaitFor struct {
	// method forces a probe ("nc", "proc", "bash") in tests; empty
	// detects it on the host.
	method string
}

// rcNoProbe is the exit status of a script with no way to probe a port.
const rcNoProbe = 90

// Run implements Module.
func (m WaitFor) Run(ctx context.Context, req *Request) (Result, error) {
	var a WaitForArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	if err := a.normalize(); err != nil {
		return Result{}, err
	}
	timeout, sleep := *a.Timeout, *a.Sleep
	if req.Check {
		a.Delay, timeout = 0, 0
	}
	limit := time.Duration(a.Delay+timeout+*a.ConnectTimeout+30) * time.Second
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	script := m.script(a, timeout, sleep)
	var out, errb bytes.Buffer
	start := time.Now()
	err := req.Conn.Exec(cctx, script, nil, &out, &errb)
	elapsed := int(time.Since(start).Seconds())
	data := map[string]any{"elapsed": elapsed, "state": a.State, "port": a.Port, "path": a.Path}
	switch rc := ExitCode(err); {
	case rc == 0:
		return Result{Data: data, Msg: "condition met"}, nil
	case rc == rcNoProbe:
		return Result{}, fmt.Errorf("wait_for %s:%d: the host has neither nc nor bash to probe a remote port", a.Host, a.Port)
	case rc == 1 && req.Check:
		return Result{Data: data, Msg: "condition not met yet (check mode does not wait)"}, nil
	case rc == 1:
		return Result{Failed: true, Data: data, Msg: a.failMsg()}, nil
	case cctx.Err() != nil && ctx.Err() == nil:
		return Result{}, fmt.Errorf("wait_for: no answer from the host within %s", limit)
	}
	return Result{}, execErr("wait_for on", req.Host, err, &errb)
}

// normalize checks the arguments and fills Ansible's defaults.
func (a *WaitForArgs) normalize() error {
	def := func(p **int, v int) {
		if *p == nil {
			*p = &v
		}
	}
	def(&a.Timeout, 300)
	def(&a.Sleep, 1)
	def(&a.ConnectTimeout, 5)
	if a.Host == "" {
		a.Host = "127.0.0.1"
	}
	switch a.State {
	case "":
		a.State = "started"
	case "started", "stopped", "present", "absent":
	case "drained":
		return fmt.Errorf("parameter \"state\": drained is not supported")
	default:
		return fmt.Errorf("parameter \"state\": %q is not one of started, stopped, present, absent", a.State)
	}
	switch {
	case a.Port != 0 && a.Path != "":
		return fmt.Errorf("parameters port and path are mutually exclusive")
	case a.Port < 0 || a.Port > 65535:
		return fmt.Errorf("parameter \"port\": %d is out of range", a.Port)
	case a.Port != 0 && a.SearchRegex != "":
		return fmt.Errorf("parameter \"search_regex\": only supported with path")
	case a.SearchRegex != "" && (a.State == "absent" || a.State == "stopped"):
		return fmt.Errorf("parameter \"search_regex\": only with state present or started")
	case *a.Timeout < 0 || *a.Sleep < 1 || *a.ConnectTimeout < 1 || a.Delay < 0:
		return fmt.Errorf("timeout and delay must not be negative, sleep and connect_timeout at least 1")
	case strings.ContainsAny(a.Host, " \t\n/'\"$`\\"):
		return fmt.Errorf("parameter \"host\": %q is not a host name or address", a.Host)
	}
	if a.SearchRegex != "" {
		if _, err := regexp.Compile(a.SearchRegex); err != nil {
			return fmt.Errorf("parameter \"search_regex\": %w", err)
		}
	}
	return nil
}

func (a WaitForArgs) failMsg() string {
	if a.Msg != "" {
		return a.Msg
	}
	switch {
	case a.Port != 0:
		return fmt.Sprintf("Timeout when waiting for %s:%d%s", a.Host, a.Port, map[bool]string{true: " to stop"}[a.State == "stopped" || a.State == "absent"])
	case a.SearchRegex != "":
		return fmt.Sprintf("Timeout when waiting for search string %s in %s", a.SearchRegex, a.Path)
	case a.Path != "" && (a.State == "absent" || a.State == "stopped"):
		return fmt.Sprintf("Timeout when waiting for %s to be absent.", a.Path)
	case a.Path != "":
		return fmt.Sprintf("Timeout when waiting for file %s", a.Path)
	}
	return "timeout"
}

func isLoopback(h string) bool {
	return h == "localhost" || h == "::1" || h == "0.0.0.0" || h == "::" || strings.HasPrefix(h, "127.")
}

// script is the bounded wait loop: check() says whether the condition
// holds; the loop stops at the deadline with exit 1.
func (m WaitFor) script(a WaitForArgs, timeout, sleep int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "h=%s; p=%d; f=%s; re=%s; ct=%d\n", shell.Quote(a.Host), a.Port, shell.Quote(a.Path), shell.Quote(a.SearchRegex), *a.ConnectTimeout)
	invert := a.State == "stopped" || a.State == "absent"
	switch {
	case a.Port != 0:
		b.WriteString(m.probe(isLoopback(a.Host)))
		b.WriteString(map[bool]string{false: "check() { probe; }\n", true: "check() { ! probe; }\n"}[invert])
	case a.Path != "" && a.SearchRegex != "":
		b.WriteString(`check() { [ -r "$f" ] && grep -E -q -e "$re" -- "$f"; }` + "\n")
	case a.Path != "" && invert:
		b.WriteString(`check() { ! [ -e "$f" ]; }` + "\n")
	case a.Path != "":
		b.WriteString(`check() { [ -e "$f" ]; }` + "\n")
	default:
		b.WriteString("check() { false; }\n") // wait out the timeout
	}
	fmt.Fprintf(&b, "sleep %d\nend=$(( $(date +%%s) + %d ))\n", a.Delay, timeout)
	fmt.Fprintf(&b, `while :; do
  if check; then exit 0; fi
  [ "$(date +%%s)" -lt "$end" ] || break
  sleep %d
done
`, sleep)
	if a.Port == 0 && a.Path == "" {
		b.WriteString("exit 0\n")
	} else {
		b.WriteString("exit 1\n")
	}
	return b.String()
}

// probe defines probe(): 0 when something accepts connections on $h:$p.
func (m WaitFor) probe(local bool) string {
	nc := `probe() { nc -z -w "$ct" "$h" "$p" </dev/null >/dev/null 2>&1; }` + "\n"
	proc := `hp=$(printf '%04X' "$p")
probe() {
  for t in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$t" ] || continue
    while read -r _ la _ st _; do
      case $la in *:"$hp") [ "$st" = 0A ] && return 0 ;; esac
    done < "$t"
  done
  return 1
}
`
	bash := `probe() { timeout "$ct" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$h" "$p" </dev/null >/dev/null 2>&1; }` + "\n"
	switch m.method {
	case "nc":
		return nc
	case "proc":
		return proc
	case "bash":
		return bash
	}
	var b strings.Builder
	b.WriteString("if command -v nc >/dev/null 2>&1; then\n" + nc)
	if local {
		b.WriteString("elif [ -r /proc/net/tcp ]; then\n" + proc)
	}
	b.WriteString("elif command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then\n" + bash)
	b.WriteString("else exit " + strconv.Itoa(rcNoProbe) + "\nfi\n")
	return b.String()
}
