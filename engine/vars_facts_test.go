package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kplay/kplay/transport"
)

func TestDefaultIPv4(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kv   string
		want string
	}{
		{"default route", "ipv4=10.0.0.5\nipv4_dev=eth0\nipv4_gw=10.0.0.1\nipv4_addrs=eth0 10.0.0.5 24,eth1 10.9.0.2 16,\n",
			"map[address:10.0.0.5 gateway:10.0.0.1 interface:eth0 netmask:255.255.255.0 network:10.0.0.0 prefix:24]"},
		{"no default route", "ipv4=\nipv4_dev=\nipv4_gw=\nipv4_addrs=eth1 10.77.1.11 20,eth2 10.8.0.1 24,\n",
			"map[address:10.77.1.11 interface:eth1 netmask:255.255.240.0 network:10.77.0.0 prefix:20]"},
		{"nothing", "ipv4=\nipv4_addrs=\n", "map[address:]"},
		{"old script", "ipv4=10.0.0.5\n", "map[address:10.0.0.5]"},
	}
	for _, tc := range tests {
		f := parseFacts(tc.kv + "---\n")
		if got := fmt.Sprint(f["ansible_default_ipv4"]); got != tc.want {
			t.Errorf("%s: ansible_default_ipv4 = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestFactsScriptWithoutDefaultRoute runs the facts script with an ip
// command that, like on a lab host, has no route out.
func TestFactsScriptWithoutDefaultRoute(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fake := "#!/bin/sh\ncase \"$*\" in\n*'route get'*) echo 'RTNETLINK answers: Network is unreachable' >&2; exit 2;;\n" +
		"*'addr show'*) printf '3: eth1    inet 10.77.1.11/24 brd 10.77.1.255 scope global eth1\\\\       valid_lft forever preferred_lft forever\\n';;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "ip"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	script := "PATH=" + dir + ":$PATH\n" + factsScript
	if err := (&transport.Local{}).Exec(ctx, script, nil, &out, &errb); err != nil {
		t.Fatalf("facts script: %v: %s", err, errb.String())
	}
	got := parseFacts(out.String())["ansible_default_ipv4"].(map[string]any)
	if got["address"] != "10.77.1.11" || got["interface"] != "eth1" || got["prefix"] != "24" {
		t.Errorf("ansible_default_ipv4 = %v, want 10.77.1.11 on eth1/24", got)
	}
}

func TestFactsError(t *testing.T) {
	t.Parallel()
	err := errors.New("exit status 127")
	tests := []struct{ stderr, want string }{
		{"", "gather facts: exit status 127"},
		{"  \n", "gather facts: exit status 127"},
		{"sh: not found\n", "gather facts: exit status 127: sh: not found"},
	}
	for _, tc := range tests {
		if got := factsError(err, tc.stderr).Error(); got != tc.want {
			t.Errorf("factsError(%q) = %q, want %q", tc.stderr, got, tc.want)
		}
	}
}
