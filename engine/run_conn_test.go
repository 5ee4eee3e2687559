package engine

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/transport"
)

// recordingConn records every command and fails the hosts listed in down
// as unreachable.
type recordingConn struct {
	mu    *sync.Mutex
	host  string
	cmds  *[]string
	down  bool
	inner transport.Conn
}

func (c *recordingConn) Exec(ctx context.Context, cmd string, in io.Reader, out, errw io.Writer) error {
	c.mu.Lock()
	*c.cmds = append(*c.cmds, c.host+": "+cmd)
	c.mu.Unlock()
	if c.down {
		return transport.Unreachable(c.host, errors.New("connection refused"))
	}
	return c.inner.Exec(ctx, cmd, in, out, errw)
}

func recordConns(f *fixture, down ...string) *[]string {
	var cmds []string
	mu := &sync.Mutex{}
	f.opts.Connect = func(h *inventory.Host) (transport.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		isDown := false
		for _, d := range down {
			isDown = isDown || d == h.Name
		}
		return &recordingConn{mu: mu, host: h.Name, cmds: &cmds, down: isDown, inner: &transport.Local{}}, nil
	}
	return &cmds
}

func TestRunUnreachable(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: first
      command: echo hi
      register: r
      until: r.rc == 0
      retries: 3
      delay: 0
    - name: second
      debug: {msg: x}
- hosts: all
  gather_facts: false
  tasks:
    - name: third
      debug: {msg: x}
`})
	cmds := recordConns(f, "h2")
	rep := f.run(t)
	if got := f.rec.results("first"); !equal(got, []string{"h1:changed", "h2:unreachable", "h3:changed"}) {
		t.Errorf("first = %v", got)
	}
	if got := f.rec.results("third"); !equal(got, []string{"h1:ok", "h3:ok"}) {
		t.Errorf("third = %v", got)
	}
	n := 0
	for _, c := range *cmds {
		if strings.HasPrefix(c, "h2:") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("h2 got %d commands, want 1 (no retry when unreachable)", n)
	}
	if rep.ExitCode() != 3 || !equal(rep.Unreachable, []string{"h2"}) || rep.Stats["h2"].Unreachable != 1 {
		t.Errorf("exit %d unreachable %v stats %+v", rep.ExitCode(), rep.Unreachable, rep.Stats["h2"])
	}
}

func TestRunBecomeAndEnvironment(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  become: true
  become_user: deploy
  environment: {PLAY_ENV: p}
  tasks:
    - name: as deploy
      command: id
      ignore_errors: true
      environment: {TASK_ENV: "{{ inventory_hostname }}"}
    - name: no become
      shell: "echo $PLAY_ENV"
      become: false
      register: e
    - name: env seen
      debug: {msg: "{{ e.stdout }}"}
`})
	cmds := recordConns(f)
	f.opts.Check = false
	f.run(t)
	all := strings.Join(*cmds, "\n")
	if !strings.Contains(all, "sudo -n -u deploy") {
		t.Errorf("no sudo to deploy in commands:\n%s", all)
	}
	if got := f.rec.msgs("env seen"); !equal(got, []string{"h1=p"}) {
		t.Errorf("env seen = %v\ncommands:\n%s", got, all)
	}
}

type panicConn struct{}

func (panicConn) Exec(context.Context, string, io.Reader, io.Writer, io.Writer) error {
	panic("boom")
}

func TestRunPanicIsHostFailure(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: web
  gather_facts: false
  tasks:
    - name: call
      command: "true"
`})
	f.opts.Connect = func(h *inventory.Host) (transport.Conn, error) {
		if h.Name == "h1" {
			return panicConn{}, nil
		}
		return &transport.Local{}, nil
	}
	rep := f.run(t)
	if got := f.rec.results("call"); !equal(got, []string{"h1:failed", "h2:changed"}) {
		t.Errorf("call = %v", got)
	}
	if msgs := f.rec.msgs("call"); !strings.Contains(msgs[0], "internal error") {
		t.Errorf("msg = %v", msgs)
	}
	if rep.ExitCode() != 2 {
		t.Errorf("exit %d", rep.ExitCode())
	}
}

// flakyConn is unreachable for its first fails calls.
type flakyConn struct {
	mu    sync.Mutex
	fails int
}

func (c *flakyConn) Exec(ctx context.Context, cmd string, in io.Reader, out, errw io.Writer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fails > 0 {
		c.fails--
		return transport.Unreachable("h1", errors.New("connection refused"))
	}
	return nil
}

func TestRunWaitForConnection(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - name: wait
      wait_for_connection: {timeout: 30, sleep: 0}
      when: inventory_hostname == 'h1' and not (down | default(false))
    - name: gone
      wait_for_connection: {timeout: 0, sleep: 0}
`})
	conn := &flakyConn{fails: 2}
	f.opts.Connect = func(*inventory.Host) (transport.Conn, error) { return conn, nil }
	f.run(t)
	if got := f.rec.results("wait"); !equal(got, []string{"h1:ok"}) {
		t.Errorf("wait = %v", got)
	}
	if got := f.rec.results("gone"); !equal(got, []string{"h1:ok"}) {
		t.Errorf("gone with the host up = %v", got)
	}
	down := &flakyConn{fails: 1 << 30}
	f.opts.Connect = func(*inventory.Host) (transport.Conn, error) { return down, nil }
	f.opts.ExtraVars = map[string]any{"down": true}
	f.rec.events = nil
	f.run(t)
	if got := f.rec.results("gone"); !equal(got, []string{"h1:failed"}) {
		t.Errorf("gone with the host down = %v", got)
	}
}
