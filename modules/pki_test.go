package modules

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestPKIModule(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	args := map[string]any{
		"dir":      dir,
		"key_algo": "ecdsa",
		"etcd":     []any{map[string]any{"name": "e1", "ip": "10.77.0.11"}},
		"masters":  []any{map[string]any{"name": "m1", "ip": "10.77.0.11"}},
		"vip":      "10.77.0.100",
	}
	run := func(check bool) Result {
		t.Helper()
		res, err := PKI{}.Run(context.Background(), &Request{Args: args, Check: check})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := run(true); !res.Changed {
		t.Fatalf("check: %+v", res)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("check mode created the folder")
	}
	if res := run(false); !res.Changed {
		t.Fatalf("first run: %+v", res)
	}
	if res := run(false); res.Changed {
		t.Fatalf("second run: %+v", res)
	}
	args["etcd"] = []any{map[string]any{"name": "e1", "addr": "x"}}
	if _, err := (PKI{}).Run(context.Background(), &Request{Args: args}); err == nil {
		t.Error("unknown member key accepted")
	}
}
