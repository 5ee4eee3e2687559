package modules

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func TestStatModule(t *testing.T) {
	dir := hostileDir(t)
	f := filepath.Join(dir, "f")
	writeFile(t, f, "data", 0o640)
	if err := os.Symlink("f", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("data"))
	md := md5.Sum([]byte("data"))
	tests := []struct {
		args map[string]any
		want map[string]any
	}{
		{map[string]any{"path": f}, map[string]any{"exists": true, "isreg": true, "isdir": false, "mode": "0640", "size": int64(4), "checksum": hex.EncodeToString(sum[:])}},
		{map[string]any{"path": f, "checksum_algorithm": "md5"}, map[string]any{"checksum": hex.EncodeToString(md[:])}},
		{map[string]any{"path": f, "get_checksum": false}, map[string]any{"checksum": nil}},
		{map[string]any{"path": filepath.Join(dir, "l")}, map[string]any{"islnk": true, "lnk_target": "f", "lnk_source": f}},
		{map[string]any{"path": filepath.Join(dir, "l"), "follow": true}, map[string]any{"islnk": false, "isreg": true}},
		{map[string]any{"path": dir}, map[string]any{"isdir": true}},
		{map[string]any{"path": filepath.Join(dir, "nope")}, map[string]any{"exists": false}},
	}
	for _, tt := range tests {
		req := newReq(tt.args, nil, nil)
		req.Check = true
		res := runModule(t, StatModule{}, req)
		st := res.Data["stat"].(map[string]any)
		if res.Changed || len(res.Changes) != 0 {
			t.Errorf("%v: stat reported a change", tt.args)
		}
		for k, v := range tt.want {
			if st[k] != v {
				t.Errorf("%v: stat[%q] = %v, want %v", tt.args, k, st[k], v)
			}
		}
		if st["exists"] == true && (st["pw_name"] == "" || st["uid"] != os.Getuid()) {
			t.Errorf("%v: owner %v %v", tt.args, st["pw_name"], st["uid"])
		}
	}
	if _, err := (StatModule{}).Run(t.Context(), newReq(map[string]any{"path": f, "checksum_algorithm": "crc"}, nil, nil)); err == nil {
		t.Error("unknown algorithm: want an error")
	}
}

func TestSlurp(t *testing.T) {
	dir := hostileDir(t)
	raw := "bin\x00\xff\ntext"
	f := filepath.Join(dir, "ca.crt")
	writeFile(t, f, raw, 0o600)
	res := runModule(t, Slurp{}, newReq(map[string]any{"src": f}, nil, nil))
	got, err := base64.StdEncoding.DecodeString(res.Data["content"].(string))
	if err != nil || string(got) != raw || res.Data["encoding"] != "base64" || res.Data["source"] != f || res.Changed {
		t.Errorf("got %q %v %+v", got, err, res)
	}
	for _, p := range []string{filepath.Join(dir, "nope"), dir} {
		if res := runModule(t, Slurp{}, newReq(map[string]any{"src": p}, nil, nil)); !res.Failed {
			t.Errorf("%s: want failed", p)
		}
	}
}
