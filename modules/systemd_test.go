package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/transport"
)

// fakeSystemd returns a Conn whose PATH finds the fake systemctl (and a
// journalctl that prints a marker), with unit state kept in a temp dir.
func fakeSystemd(t *testing.T) (Conn, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	src, err := filepath.Abs("testdata/fake-systemctl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(src, filepath.Join(bin, "systemctl")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "journalctl"), []byte("#!/bin/sh\necho 'nginx[42]: emerg: bad config'\n"), 0o755)
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o755)
	conn := &transport.Local{Env: []string{"PATH=" + bin + ":/usr/bin:/bin", "FAKE_SYSTEMD=" + state}}
	return conn, state
}

func setUnit(t *testing.T, state, unit, active, file string) {
	t.Helper()
	os.WriteFile(filepath.Join(state, unit+".active"), []byte(active+"\n"), 0o644)
	os.WriteFile(filepath.Join(state, unit+".file"), []byte(file+"\n"), 0o644)
}

func runSystemd(t *testing.T, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := Systemd{}.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check})
	if err != nil {
		t.Fatalf("systemd %v: %v", args, err)
	}
	return res
}

func TestSystemdStartEnableIdempotent(t *testing.T) {
	conn, state := fakeSystemd(t)
	setUnit(t, state, "nginx", "inactive", "disabled")
	args := map[string]any{"name": "nginx", "state": "started", "enabled": true}

	res := runSystemd(t, conn, true, args)
	if !res.Changed || len(res.Changes) != 2 {
		t.Fatalf("check: want a predicted change of 2 steps, got %+v", res)
	}
	if data, _ := os.ReadFile(filepath.Join(state, "nginx.active")); strings.TrimSpace(string(data)) != "inactive" {
		t.Fatal("check mode started the unit")
	}
	res = runSystemd(t, conn, false, args)
	if !res.Changed || res.Failed {
		t.Fatalf("first run: %+v", res)
	}
	want := []Change{
		{Kind: KindService, Name: "nginx", Action: "enabled", Old: "disabled", New: "enable"},
		{Kind: KindService, Name: "nginx", Action: "started", Old: "inactive", New: "start"},
	}
	for i, c := range want {
		if res.Changes[i] != c {
			t.Errorf("change %d = %+v, want %+v", i, res.Changes[i], c)
		}
	}
	if res := runSystemd(t, conn, false, args); res.Changed {
		t.Errorf("second run changed: %+v", res)
	}
	if res := runSystemd(t, conn, true, args); res.Changed {
		t.Errorf("check after converging predicts a change: %+v", res)
	}
}

func TestSystemdStates(t *testing.T) {
	tests := []struct {
		name, active, file string
		args               map[string]any
		wantVerbs          []string
	}{
		{"stop running", "active", "enabled", map[string]any{"state": "stopped"}, []string{"stop"}},
		{"stop stopped", "inactive", "enabled", map[string]any{"state": "stopped"}, nil},
		{"restart always", "active", "enabled", map[string]any{"state": "restarted"}, []string{"restart"}},
		{"reload running", "active", "enabled", map[string]any{"state": "reloaded"}, []string{"reload"}},
		{"reload stopped starts", "inactive", "enabled", map[string]any{"state": "reloaded"}, []string{"start"}},
		{"disable", "active", "enabled", map[string]any{"enabled": "no"}, []string{"disable"}},
		{"mask", "inactive", "disabled", map[string]any{"masked": true}, []string{"mask"}},
		{"unmask", "inactive", "masked", map[string]any{"masked": false}, []string{"unmask"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, state := fakeSystemd(t)
			setUnit(t, state, "etcd", tt.active, tt.file)
			tt.args["name"] = "etcd"
			res := runSystemd(t, conn, false, tt.args)
			var verbs []string
			for _, c := range res.Changes {
				verbs = append(verbs, c.New)
			}
			if strings.Join(verbs, ",") != strings.Join(tt.wantVerbs, ",") || res.Changed != (len(tt.wantVerbs) > 0) {
				t.Errorf("verbs %v changed=%v, want %v", verbs, res.Changed, tt.wantVerbs)
			}
		})
	}
}

func TestSystemdFailureShowsLogs(t *testing.T) {
	conn, state := fakeSystemd(t)
	setUnit(t, state, "nginx", "inactive", "enabled")
	os.WriteFile(filepath.Join(state, "nginx.fail"), nil, 0o644)
	res := runSystemd(t, conn, false, map[string]any{"name": "nginx", "state": "started"})
	if !res.Failed || !strings.Contains(res.Msg, "Job for nginx failed") {
		t.Fatalf("want a failure naming the job, got %+v", res)
	}
	if !strings.Contains(res.Stderr, "emerg: bad config") || !strings.Contains(res.Stderr, "journalctl -u nginx") {
		t.Errorf("failure lacks the unit's logs: %q", res.Stderr)
	}
}

func TestSystemdBadArgs(t *testing.T) {
	conn, _ := fakeSystemd(t)
	for _, args := range []map[string]any{
		{"name": "x", "state": "running"},
		{"state": "started"},
		{"name": "x", "enabled": "maybe"},
		{"nmae": "x"},
	} {
		if _, err := (Systemd{}).Run(context.Background(), &Request{Conn: conn, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
	res := runSystemd(t, conn, false, map[string]any{"name": "nosuch", "state": "started"})
	if !res.Failed || !strings.Contains(res.Msg, "could not find") {
		t.Errorf("unknown unit: %+v", res)
	}
}

func TestSystemdDaemonReloadOnly(t *testing.T) {
	conn, state := fakeSystemd(t)
	res := runSystemd(t, conn, false, map[string]any{"daemon_reload": true})
	if res.Changed {
		t.Errorf("daemon_reload alone reports changed: %+v", res)
	}
	calls, _ := os.ReadFile(filepath.Join(state, "calls.log"))
	if !strings.Contains(string(calls), "daemon-reload") {
		t.Errorf("daemon-reload not run: %q", calls)
	}
}

// TestSystemdCheckUnitNotFound checks that --check predicts a start/enable
// of a unit that does not exist yet (an earlier task of the same check run
// would have installed it) instead of failing, while a real run still fails.
func TestSystemdCheckUnitNotFound(t *testing.T) {
	conn, _ := fakeSystemd(t)
	args := map[string]any{"name": "kplay-lb", "state": "started", "enabled": true}
	res := runSystemd(t, conn, true, args)
	if res.Failed || !res.Changed || len(res.Changes) != 2 {
		t.Fatalf("check on a missing unit: want changed (enable, start), got %+v", res)
	}
	if !strings.Contains(res.Msg, "would be enabled, started") {
		t.Errorf("check msg = %q", res.Msg)
	}
	stop := runSystemd(t, conn, true, map[string]any{"name": "kplay-lb", "state": "stopped"})
	if stop.Failed || stop.Changed {
		t.Errorf("check stop of a missing unit: want ok, got %+v", stop)
	}
	if res := runSystemd(t, conn, false, args); !res.Failed || !strings.Contains(res.Msg, "could not find") {
		t.Errorf("real run on a missing unit: want a failure, got %+v", res)
	}
}
