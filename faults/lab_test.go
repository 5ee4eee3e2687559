package faults

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/lab"
	"github.com/kplay/kplay/lab/labtest"
	"github.com/kplay/kplay/transport"
)

// TestLabHostFaults runs sitePlaybook on a 4-host lab while h1 is powered
// off cleanly, crashed (SIGKILL to all its processes) or partitioned from
// the network in the middle of a command: h1 is reported unreachable
// within the bounded time, the others finish. The host is brought back
// between cases.
func TestLabHostFaults(t *testing.T) {
	gate(t)
	l := labtest.Start(t, 4)
	cases := []struct {
		name, fault  string
		inject, undo func(ctx context.Context, name string) error
	}{
		{"stop", "lab host powered off mid-command (clean halt)", l.Stop, l.Start},
		{"crash", "lab host crashed mid-command (power cut: SIGKILL to all)", l.Crash, l.Start},
		{"partition", "lab host partitioned mid-command (link down, keepalive 0.5s x 3)", l.Partition, l.Heal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fr := labFaultRun(t, l, "/opt/kf-"+c.name)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				if err := c.undo(ctx, "h1"); err != nil {
					t.Errorf("bring h1 back: %v", err)
				}
			})
			markOnHost := filepath.Join(l.Dir(), "hosts", "h1", "upper", "opt", "kf-"+c.name+".started")
			fr.run(t, nil, func() {
				waitFile(t, markOnHost, 60*time.Second)
				fr.at = time.Now()
				if err := c.inject(ctx, "h1"); err != nil {
					t.Errorf("%s h1: %v", c.name, err)
				}
			})
			fr.check(t, c.fault+" (4-host lab)", engine.StatusUnreachable, "h1")
		})
	}
}

// labFaultRun prepares a run of sitePlaybook on lab l writing into dir on
// each host, h1 running a long command; app.conf is first set to "old".
func labFaultRun(t *testing.T, l *lab.Lab, dir string) *faultRun {
	t.Helper()
	f := &fleet{dir: t.TempDir(), roots: map[string]string{}, local: map[string]string{}}
	for _, h := range l.Hosts() {
		f.names = append(f.names, h.Name)
		f.roots[h.Name] = dir
		f.local[h.Name] = filepath.Join(l.Dir(), "hosts", h.Name, "upper", dir)
	}
	inv, err := os.ReadFile(l.Inventory())
	if err != nil {
		t.Fatal(err)
	}
	f.write(t, "hosts.yaml", string(inv))
	f.write(t, "host_vars/h1.yaml", "fault_cmd: touch "+dir+".started; sleep 60\n")
	f.write(t, "group_vars/all.yaml", "root: "+dir+"\n")
	f.write(t, "setup.yaml", `
- hosts: all
  gather_facts: false
  tasks:
    - file: {path: "{{ root }}", state: directory}
    - copy: {content: "old\n", dest: "{{ root }}/app.conf"}
`)
	f.write(t, "site.yaml", sitePlaybook)
	opts := labOptions(t, l, f, "setup.yaml", nil)
	if rep := run(t, opts, 2*time.Minute); rep.ExitCode() != 0 {
		t.Fatalf("setup run: exit %d", rep.ExitCode())
	}
	fr := &faultRun{f: f, rec: &recorder{}}
	fr.opts = func(o *engine.Options) { *o = labOptions(t, l, f, "site.yaml", fr.rec) }
	return fr
}

func labOptions(t *testing.T, l *lab.Lab, f *fleet, playbook string, sink engine.Sink) engine.Options {
	t.Helper()
	inv, err := inventory.Load(filepath.Join(f.dir, "hosts.yaml"))
	if err != nil {
		t.Fatalf("load inventory: %v", err)
	}
	return engine.Options{
		Inventory: inv, Playbooks: []string{filepath.Join(f.dir, playbook)}, Sink: sink,
		JournalDir: filepath.Join(f.dir, "runs"),
		SSH: transport.Options{KnownHosts: []string{l.KnownHosts()}, SSHConfigFile: "none", AgentSocket: "none",
			ConnectTimeout: 3 * time.Second, KeepAliveInterval: keepAlive, KeepAliveMax: keepAliveMax},
	}
}
