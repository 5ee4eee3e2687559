package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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

func TestPKIModuleKubeconfigs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	args := map[string]any{
		"dir":                    dir,
		"key_algo":               "ecdsa",
		"masters":                []any{map[string]any{"name": "m1", "ip": "10.77.0.11"}},
		"nodes":                  []any{map[string]any{"name": "w1", "ip": "10.77.0.21"}},
		"control_plane_endpoint": "10.77.0.11:6443",
		"apiserver_port":         "6443",
		"cluster_name":           "lab",
	}
	run := func() (Result, error) {
		return PKI{}.Run(context.Background(), &Request{Args: args})
	}
	if res, err := run(); err != nil || !res.Changed {
		t.Fatalf("first run: %v %+v", err, res)
	}
	for _, f := range []string{"kubeconfig/admin.conf", "kubeconfig/kubelet/w1.conf", "kubeconfig/kube-proxy.conf", "kubelet/w1.crt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "kubeconfig/admin.conf"))
	if err != nil || !strings.Contains(string(data), "server: https://10.77.0.11:6443") || !strings.Contains(string(data), "kubernetes-admin@lab") {
		t.Errorf("admin.conf: %v\n%s", err, data)
	}
	args["control_plane_endpoint"] = "10.77.0.250:6443"
	res, err := run()
	if err != nil || !res.Changed {
		t.Fatalf("new endpoint: %v %+v", err, res)
	}
	files, _ := res.Data["files"].([]any)
	found := false
	for _, f := range files {
		m := f.(map[string]any)
		if strings.HasSuffix(m["path"].(string), "kubeconfig/kubelet/w1.conf") && m["action"] == "rewritten" &&
			m["reason"] == "server https://10.77.0.11:6443 -> https://10.77.0.250:6443" {
			found = true
		}
	}
	if !found {
		t.Errorf("kubelet kubeconfig not reported as re-pointed: %+v", files)
	}
	if res, err := run(); err != nil || res.Changed {
		t.Fatalf("third run: %v %+v", err, res)
	}
	bad := []struct {
		key  string
		val  any
		want string
	}{
		{"control_plane_endpoint", "https://10.77.0.250:6443", "without a scheme"},
		{"control_plane_endpoint", "10.77.0.250", "want host:port"},
		{"apiserver_port", "x", "apiserver_port"},
		{"nodes", []any{map[string]any{"name": "w1", "address": "x"}}, `unsupported key "address"`},
		{"node", []any{}, `unsupported parameter "node"`},
	}
	for _, b := range bad {
		old, had := args[b.key]
		args[b.key] = b.val
		if _, err := run(); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s=%v: %v, want %q", b.key, b.val, err, b.want)
		}
		if had {
			args[b.key] = old
		} else {
			delete(args, b.key)
		}
	}
}
