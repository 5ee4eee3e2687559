package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kplay/kplay/internal/sshtest"
)

// TestScriptSSH10 runs the transcripts of testdata/ssh10 against ten real
// OpenSSH sshd hosts on 127.0.0.1 (skipped without sshd or root). Each
// script finds hosts.yaml (h0..h9 with their addresses, ports, user, key
// and a known_hosts holding every host key) in $WORK.
func TestScriptSSH10(t *testing.T) {
	hosts := sshtest.Start(t, 10)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/ssh10",
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "")
			env.Setenv("HOME", env.WorkDir)
			return writeSSHInventory(env.WorkDir, hosts)
		},
		RequireExplicitExec: true,
		Cmds:                map[string]func(ts *testscript.TestScript, neg bool, args []string){"exitcode": cmdExitCode},
	})
}

// writeSSHInventory writes hosts.yaml and known_hosts for hosts into dir.
func writeSSHInventory(dir string, hosts []*sshtest.Host) error {
	var inv, known strings.Builder
	fmt.Fprintf(&inv, "all:\n  vars:\n    kplay_known_hosts: %s\n    base: %s\n  hosts:\n",
		filepath.Join(dir, "known_hosts"), dir)
	for _, h := range hosts {
		fmt.Fprintf(&inv, "    %s: {ansible_host: %s, ansible_port: %d, ansible_user: %s, ansible_ssh_private_key_file: %s}\n",
			h.Name, h.Addr, h.Port, h.User, h.KeyFile)
		data, err := os.ReadFile(h.KnownHosts)
		if err != nil {
			return err
		}
		known.Write(data)
	}
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(known.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "hosts.yaml"), []byte(inv.String()), 0o644)
}
