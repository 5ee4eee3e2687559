package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/internal/sshtest"
	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/transport"
)

// gate skips t unless fault tests were asked for.
func gate(t testing.TB) {
	t.Helper()
	if os.Getenv("KPLAY_FAULTS") != "1" && os.Getenv("KPLAY_E2E") != "1" {
		t.Skip("fault tests run with KPLAY_FAULTS=1 or KPLAY_E2E=1 (make faults)")
	}
}

// Keepalive settings of the fault runs: a stalled link is declared dead
// after about (keepAliveMax+1) * keepAlive.
const (
	keepAlive    = 500 * time.Millisecond
	keepAliveMax = 3
	// reportBound is the longest a fault may take to be reported.
	reportBound = 10 * time.Second
)

// fleet is n real sshd hosts, each owning a folder (its "disk") that the
// playbooks write into through the host var root.
type fleet struct {
	dir   string // playbooks, inventory and journals
	hosts []*sshtest.Host
	names []string          // inventory names h1..hN
	roots map[string]string // inventory name -> the host's folder
	// local, when set, is where this machine reads a host's folder (a lab
	// host's overlay disk); else roots.
	local map[string]string
}

// newFleet starts n sshd hosts. roots may give a host's folder (a small
// tmpfs for the disk-full test); the others get a fresh folder.
func newFleet(t *testing.T, n int, roots map[string]string) *fleet {
	t.Helper()
	f := &fleet{dir: t.TempDir(), roots: map[string]string{}}
	f.hosts = sshtest.Start(t, n)
	for i := range f.hosts {
		name := fmt.Sprintf("h%d", i+1)
		f.names = append(f.names, name)
		root := roots[name]
		if root == "" {
			root = filepath.Join(f.dir, "hosts", name)
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		f.roots[name] = root
	}
	f.writeInventory(t, nil)
	return f
}

// host returns the sshd of inventory host name.
func (f *fleet) host(name string) *sshtest.Host {
	for i, n := range f.names {
		if n == name {
			return f.hosts[i]
		}
	}
	panic("no host " + name)
}

// writeInventory writes hosts.yaml; vars adds host vars per host.
func (f *fleet) writeInventory(t *testing.T, vars map[string]map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("all:\n  vars:\n    ansible_user: root\n  hosts:\n")
	for i, h := range f.hosts {
		name := f.names[i]
		fmt.Fprintf(&b, "    %s:\n      ansible_host: %s\n      ansible_port: %d\n", name, h.Addr, h.Port)
		fmt.Fprintf(&b, "      ansible_ssh_private_key_file: %s\n      root: %s\n", h.KeyFile, f.roots[name])
		for k, v := range vars[name] {
			fmt.Fprintf(&b, "      %s: %q\n", k, v)
		}
	}
	f.write(t, "hosts.yaml", b.String())
}

// write puts a file in the fleet's folder.
func (f *fleet) write(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// knownHosts lists every host's known_hosts file.
func (f *fleet) knownHosts() []string {
	var out []string
	for _, h := range f.hosts {
		out = append(out, h.KnownHosts)
	}
	return out
}

// options prepares an in-process run of playbook on the fleet, journaled
// in dir/runs, with short connect and keepalive timeouts.
func (f *fleet) options(t testing.TB, playbook string, sink engine.Sink) engine.Options {
	t.Helper()
	inv, err := inventory.Load(filepath.Join(f.dir, "hosts.yaml"))
	if err != nil {
		t.Fatalf("load inventory: %v", err)
	}
	return engine.Options{
		Inventory: inv, Playbooks: []string{filepath.Join(f.dir, playbook)}, Sink: sink,
		JournalDir: filepath.Join(f.dir, "runs"),
		SSH: transport.Options{KnownHosts: f.knownHosts(), SSHConfigFile: "none", AgentSocket: "none",
			ConnectTimeout: 3 * time.Second, KeepAliveInterval: keepAlive, KeepAliveMax: keepAliveMax},
	}
}

// recorder keeps the events of a run and can call a hook on each.
type recorder struct {
	mu     sync.Mutex
	events []engine.Event
	hook   func(engine.Event)
}

func (r *recorder) Event(e engine.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		hook(e)
	}
}

// results returns the host_result events of host.
func (r *recorder) results(host string) []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []engine.Event
	for _, e := range r.events {
		if e.Type == engine.EventHostResult && e.Host == host {
			out = append(out, e)
		}
	}
	return out
}

// bad returns the host's failed or unreachable results.
func (r *recorder) bad(host string) []engine.Event {
	var out []engine.Event
	for _, e := range r.results(host) {
		if e.Status == engine.StatusFailed || e.Status == engine.StatusUnreachable {
			out = append(out, e)
		}
	}
	return out
}

// run runs opts, bounded by limit.
func run(t *testing.T, opts engine.Options, limit time.Duration) *engine.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	rep, err := engine.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("run did not finish within %v", limit)
	}
	return rep
}

// readJournal reads the run's journal entries.
func readJournal(t testing.TB, dir, id string) []journal.Entry {
	t.Helper()
	_, entries, err := journal.Read(dir, id)
	if err != nil {
		t.Fatalf("read journal %s: %v", id, err)
	}
	return entries
}

// waitFile waits (bounded) until path exists.
func waitFile(t testing.TB, path string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// summary prints the line docs/reliability.md copies.
func summary(t testing.TB, fault, reported string, took time.Duration, files, journal string) {
	t.Helper()
	line := fmt.Sprintf("RELIABILITY | %s | %s | %s | %s | %s |", fault, reported, took.Round(10*time.Millisecond), files, journal)
	fmt.Println(line)
	t.Log(line)
}
