package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/inventory"
)

// TestRunInterrupted checks that a run whose context is cancelled (what
// Ctrl-C does through signal.NotifyContext) exits 99 and starts no task.
func TestRunInterrupted(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.yaml")
	pb := filepath.Join(dir, "site.yaml")
	marker := filepath.Join(dir, "ran")
	writeFile(t, inv, "all:\n  hosts:\n    h1: {ansible_connection: local}\n")
	writeFile(t, pb, "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch "+marker+"\n")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"-i", inv, pb}, strings.NewReader(""), &out, &errOut)
	if code != exitInterrupted {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitInterrupted, errOut.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a task ran after the interrupt")
	}
	if !strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("stderr does not say interrupted:\n%s", errOut.String())
	}
}

func TestInventoryKnownHosts(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"path", "all:\n  vars: {kplay_known_hosts: kh}\n  hosts: {h: }\n", []string{"DIR/kh"}},
		{"list", "all:\n  vars: {kplay_known_hosts: [a, /abs/b]}\n  hosts: {h: }\n", []string{"DIR/a", "/abs/b"}},
		{"none", "all:\n  hosts: {h: }\n", nil},
		{"per host, once each", "all:\n  vars: {kplay_known_hosts: kh}\n  hosts:\n    a:\n    b: {kplay_known_hosts: other}\n    c:\n", []string{"DIR/kh", "DIR/other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			inv, err := inventory.Parse(filepath.Join(dir, "hosts.yaml"), []byte(tt.yaml), dir)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.Replace(w, "DIR", dir, 1))
			}
			if got := inventoryKnownHosts(inv); !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestSetDefaultHostVar: a command-line connection setting fills hosts
// that lack it and never overrides the inventory.
func TestSetDefaultHostVar(t *testing.T) {
	inv, err := inventory.Parse("hosts.yaml", []byte("all:\n  hosts:\n    a: {ansible_ssh_private_key_file: own}\n    b:\n    c: {kplay_private_key_file: k}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	setDefaultHostVar(inv, "--private-key", keyFileVars, "flag")
	for host, want := range map[string]any{"a": "own", "b": "flag", "c": nil} {
		h, _ := inv.Host(host)
		if got := h.Vars["ansible_ssh_private_key_file"]; got != want {
			t.Errorf("%s: key file = %v, want %v", host, got, want)
		}
		if got := h.Connection().KeyFile; host == "c" && got != "k" {
			t.Errorf("c: connection key file = %q, want the inventory's \"k\"", got)
		}
	}
}

// TestEmbeddedPlaybookByName: a playbook name that is not a file is found
// among the embedded playbooks (here a stand-in FS), so `kplay site.yaml`
// works from any folder.
func TestEmbeddedPlaybookByName(t *testing.T) {
	t.Chdir(t.TempDir())
	inv, err := inventory.Parse("hosts.yaml", []byte("all:\n  hosts:\n    h1: {ansible_connection: local}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	opts := &engine.Options{Inventory: inv, Playbooks: []string{"demo.yaml"},
		PlaybooksFS: fstest.MapFS{"demo.yaml": {Data: []byte("- name: shipped\n  hosts: all\n  tasks:\n    - name: hello\n      command: 'true'\n")}}}
	var out bytes.Buffer
	if err := listPlaybooks(&playFlags{listTasks: true}, opts, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "play #1 (all): shipped") || !strings.Contains(out.String(), "      hello\tTAGS: []") {
		t.Errorf("unexpected listing:\n%s", out.String())
	}
}
