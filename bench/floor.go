package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kplay/kplay/shell"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The SSH floor: the play's work written by hand as the fewest shell
// commands a client could send, one SSH connection per host and one
// session per command (the tasks that run only on the controller, set_fact
// and the skipped task, cost nothing here). It is what a perfect engine
// over the same transport would pay.

// floorStep is one remote step (see floorExec). A step with check runs
// `check || { apply; echo changed; }` (in check mode: `check || echo
// changed`); a step without check is read-only and runs apply as is.
type floorStep struct {
	check, apply string
	stdin        []byte
}

// floorInputs are the controller-side files the play copies.
type floorInputs struct {
	payload, motd []byte
}

func loadFloorInputs(playDir string) (floorInputs, error) {
	var in floorInputs
	var err error
	if in.payload, err = os.ReadFile(filepath.Join(playDir, "files", "payload.txt")); err != nil {
		return in, fmt.Errorf("read payload: %w", err)
	}
	if in.motd, err = os.ReadFile(filepath.Join(playDir, "files", "motd")); err != nil {
		return in, fmt.Errorf("read motd: %w", err)
	}
	return in, nil
}

func dirStep(path, mode string) floorStep {
	p := shell.Quote(path)
	return floorStep{check: fmt.Sprintf(`[ -d %s ] && [ "$(stat -c %%a %s)" = %s ]`, p, p, mode),
		apply: fmt.Sprintf("mkdir -p %s && chmod %s %s", p, mode, p)}
}

func copyStep(path string, content []byte) floorStep {
	p := shell.Quote(path)
	sum := sha256.Sum256(content)
	return floorStep{
		check: fmt.Sprintf(`[ "$(sha256sum < %s 2>/dev/null)" = %s ] && [ "$(stat -c %%a %s)" = 644 ]`,
			p, shell.Quote(hex.EncodeToString(sum[:])+"  -"), p),
		apply: fmt.Sprintf("cat > %s.tmp && chmod 644 %s.tmp && mv %s.tmp %s", p, p, p, p),
		stdin: content,
	}
}

// appConf renders the play's template for host h (the same bytes as
// templates/app.conf.j2 and app.conf.tmpl).
func appConf(host, root, kernel string) []byte {
	return fmt.Appendf(nil, "# app config of %s (rendered by the benchmark)\nname = %s\nversion = 1.4.2\n"+
		"port = 8080\nkernel = %s\nroot = %s\nurl = http://%s:8080/\n", host, host, kernel, root, host)
}

// floorHost runs the play's steps on one connection; it returns how many
// steps changed (or would change) something.
// With a barrier, every host waits for all the others after each task,
// as a linear strategy does (floor-linear).
func floorHost(client *ssh.Client, host string, in floorInputs, check bool, b *barrier) (int, error) {
	root := stateRoot + "/" + host
	q := func(s string) string { return shell.Quote(root + s) }
	changed := 0
	do := func(st floorStep) (string, error) {
		out, err := floorExec(client, st, check)
		b.wait()
		if strings.HasSuffix(out, "changed\n") {
			changed++
			out = strings.TrimSuffix(out, "changed\n")
		}
		return out, err
	}
	steps1 := []floorStep{dirStep(root+"/etc", "755"), dirStep(root+"/data", "750"), {apply: "uname -r"}}
	var kernel string
	for i, st := range steps1 {
		out, err := do(st)
		if err != nil {
			return changed, err
		}
		if i == 2 {
			kernel = strings.TrimSpace(out)
		}
	}
	before := changed
	steps2 := []floorStep{
		{check: "[ -e " + q("/data/init.done") + " ]", apply: "echo initialized > " + q("/data/init.done")},
		copyStep(root+"/data/payload.txt", in.payload),
		copyStep(root+"/etc/app.conf", appConf(host, root, kernel)),
	}
	for _, st := range steps2 {
		before = changed
		if _, err := do(st); err != nil {
			return changed, err
		}
	}
	notify := changed > before // the template step changed
	steps3 := []floorStep{
		{check: "grep -qxF APP_LISTEN=127.0.0.1 " + q("/etc/env") + " 2>/dev/null",
			apply: "echo APP_LISTEN=127.0.0.1 >> " + q("/etc/env") + " && chmod 644 " + q("/etc/env")},
		{apply: "stat -c '%s %a %Y' " + q("/etc/app.conf")},
		{apply: "test -s " + q("/etc/app.conf")},
		{check: `[ "$(readlink ` + q("/current.conf") + `)" = ` + q("/etc/app.conf") + " ]",
			apply: "ln -sfn " + q("/etc/app.conf") + " " + q("/current.conf")},
		copyStep(root+"/VERSION", []byte("version=1.4.2\n")),
		{check: "grep -qx APP_PORT=8080 " + q("/etc/env"),
			apply: "sed -i '/^APP_PORT=/d' " + q("/etc/env") + " && echo APP_PORT=8080 >> " + q("/etc/env")},
		{check: "[ ! -e " + q("/app.pid.old") + " ]", apply: "rm -rf " + q("/app.pid.old")},
		copyStep(root+"/etc/motd", in.motd),
		dirStep(root+"/log", "755"),
		{apply: "ls " + q("/etc") + " | wc -l"},
		{apply: "cat " + q("/VERSION")},
	}
	for i, st := range steps3 {
		out, err := do(st)
		if err != nil {
			return changed, err
		}
		if i == len(steps3)-1 && !check && out != "version=1.4.2\n" {
			return changed, fmt.Errorf("healthcheck: got %q", out)
		}
	}
	if notify && !check {
		if _, err := do(floorStep{apply: "date +%s > " + q("/data/restarted")}); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// floorExec runs one step and returns its stdout. A step with content
// is checked first (by hash, in its own session) and sent only when it
// differs, as an engine would; any other step is one session.
func floorExec(client *ssh.Client, st floorStep, check bool) (string, error) {
	switch {
	case st.check == "":
		return floorSession(client, st.apply, nil)
	case check:
		return floorSession(client, st.check+" || echo changed", nil)
	case st.stdin == nil:
		return floorSession(client, st.check+" || { "+st.apply+" && echo changed; }", nil)
	}
	out, err := floorSession(client, st.check+" || echo changed", nil)
	if err != nil || out != "changed\n" {
		return out, err
	}
	if _, err := floorSession(client, st.apply, st.stdin); err != nil {
		return "", err
	}
	return out, nil
}

// floorSessions counts the floor's sessions (all hosts, one run).
var floorSessions atomic.Int64

// floorSession runs cmd in a new session of client.
func floorSession(client *ssh.Client, cmd string, stdin []byte) (string, error) {
	floorSessions.Add(1)
	sess, err := client.NewSession()
	if err != nil {
		return "", fmt.Errorf("open session: %w", err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	if err := sess.Run(cmd); err != nil {
		return out.String(), fmt.Errorf("run %q: %w: %s", cmd, err, errb.String())
	}
	return out.String(), nil
}

// runFloor measures the floor on the first n hosts, all in parallel. The
// CPU columns are this process's (getrusage), so the harness's own idle
// goroutines count too.
func (e *env) runFloor(ctx context.Context, tool string, n int, c string, run int) (sample, error) {
	in, err := loadFloorInputs(filepath.Dir(e.play))
	if err != nil {
		return sample{}, err
	}
	kh, err := knownhosts.New(e.fleet.knownHosts)
	if err != nil {
		return sample{}, fmt.Errorf("read known_hosts: %w", err)
	}
	cc := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.fleet.signer)},
		HostKeyCallback: kh, Timeout: 30 * time.Second}
	floorSessions.Store(0)
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	errs := make([]error, n)
	changes := make([]int, n)
	var wg sync.WaitGroup
	var b *barrier
	if tool == toolFloorLinear {
		b = newBarrier(n)
	}
	for i, h := range e.fleet.hosts[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer b.leave()
			changes[i], errs[i] = floorOne(ctx, cc, h, e.fleet.port, in, c == caseCheck, b)
		}()
	}
	wg.Wait()
	s := sample{Tool: tool, N: n, Case: c, Run: run, Wall: time.Since(start), Sessions: floorSessions.Load()}
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	s.User = time.Duration(after.Utime.Nano() - before.Utime.Nano())
	s.Sys = time.Duration(after.Stime.Nano() - before.Stime.Nano())
	for i, err := range errs {
		name := e.fleet.hosts[i].Name
		if err != nil {
			return s, fmt.Errorf("%s n=%d %s host %s: %w", tool, n, c, name, err)
		}
		if c == caseFirst && changes[i] == 0 {
			return s, fmt.Errorf("%s n=%d host %s: first run changed nothing", tool, n, name)
		}
		if c != caseFirst && changes[i] != 0 {
			return s, fmt.Errorf("%s n=%d %s host %s: changed=%d, want 0", tool, n, c, name, changes[i])
		}
	}
	return s, nil
}

func floorOne(ctx context.Context, cc *ssh.ClientConfig, h benchHost, port int, in floorInputs, check bool, b *barrier) (int, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(h.Addr, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, net.JoinHostPort(h.Addr, strconv.Itoa(port)), cc)
	if err != nil {
		conn.Close()
		return 0, fmt.Errorf("ssh handshake: %w", err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()
	return floorHost(client, h.Name, in, check, b)
}

// barrier holds its parties until all of them have arrived; a party that
// leaves (done or failed) no longer counts. A nil barrier never waits.
type barrier struct {
	mu      sync.Mutex
	cond    *sync.Cond
	parties int
	arrived int
	gen     int
}

func newBarrier(n int) *barrier {
	b := &barrier{parties: n}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *barrier) wait() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	gen := b.gen
	b.arrived++
	b.release()
	for gen == b.gen {
		b.cond.Wait()
	}
}

func (b *barrier) leave() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.parties--
	b.release()
}

// release opens the barrier when everyone left has arrived (mu held).
func (b *barrier) release() {
	if b.arrived > 0 && b.arrived >= b.parties {
		b.arrived = 0
		b.gen++
		b.cond.Broadcast()
	}
}
