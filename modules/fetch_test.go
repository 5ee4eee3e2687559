package modules

import (
	"path/filepath"
	"testing"
)

func TestFetch(t *testing.T) {
	host := hostileDir(t)
	src := filepath.Join(host, "admin.conf")
	writeFile(t, src, "kubeconfig\n", 0o600)
	ctl := t.TempDir()
	run := func(check bool, args map[string]any) Result {
		req := newReq(args, nil, nil)
		req.Host, req.Check = "m1", check
		return runModule(t, Fetch{}, req)
	}
	args := map[string]any{"src": src, "dest": ctl}
	before := snapshot(t, ctl)
	if res := run(true, args); !res.Changed {
		t.Errorf("check: want a predicted change")
	}
	if d := snapDiff(before, snapshot(t, ctl)); d != "" {
		t.Fatalf("check wrote on the controller:\n%s", d)
	}
	if res := run(false, args); !res.Changed {
		t.Errorf("first fetch: want changed")
	}
	local := filepath.Join(ctl, "m1", src)
	if readString(t, local) != "kubeconfig\n" || modeOf(t, local) != "0600" {
		t.Errorf("local copy %q mode %s", readString(t, local), modeOf(t, local))
	}
	if res := run(false, args); res.Changed {
		t.Errorf("second fetch: want no change")
	}
	writeFile(t, src, "rotated\n", 0o600)
	if res := run(false, args); !res.Changed || readString(t, local) != "rotated\n" {
		t.Errorf("changed source not fetched again")
	}
	assertNoTemp(t, filepath.Dir(local))

	flat := run(false, map[string]any{"src": src, "dest": ctl + "/", "flat": true})
	if flat.Data["dest"] != filepath.Join(ctl, "admin.conf") || readString(t, filepath.Join(ctl, "admin.conf")) != "rotated\n" {
		t.Errorf("flat: %+v", flat.Data)
	}
	if res := run(false, map[string]any{"src": filepath.Join(host, "nope"), "dest": ctl}); !res.Failed {
		t.Error("missing source: want failed")
	}
	if res := run(false, map[string]any{"src": filepath.Join(host, "nope"), "dest": ctl, "fail_on_missing": false}); res.Failed || res.Changed {
		t.Errorf("missing source, fail_on_missing false: %+v", res)
	}
	if got := fetchDest(FetchArgs{Src: "../../etc/passwd", Dest: "/out"}, "h"); got != "/out/h/etc/passwd" {
		t.Errorf("dest %s climbs out of dest/host", got)
	}
}
