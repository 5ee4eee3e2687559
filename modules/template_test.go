package modules

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestTemplateRenders(t *testing.T) {
	dir := hostileDir(t)
	files := fstest.MapFS{"templates/keepalived.conf.tmpl": {Data: []byte("vip {{ .vip }}\nprio {{ .prio }}\n")}}
	vars := map[string]any{"vip": "10.0.0.10", "prio": 100}
	dest := filepath.Join(dir, "keepalived.conf")
	writeFile(t, dest, "vip 10.0.0.9\nprio 100\n", 0o640)
	first := contract(t, Template{}, dir, func() *Request {
		return newReq(map[string]any{"src": "keepalived.conf.tmpl", "dest": dest, "backup": true}, files, vars)
	})
	want := "vip 10.0.0.10\nprio 100\n"
	if got := readString(t, dest); got != want || modeOf(t, dest) != "0640" {
		t.Errorf("got %q mode %s, want %q 0640", got, modeOf(t, dest), want)
	}
	if first.Data["backup_file"] != dest+testSuffix || readString(t, dest+testSuffix) != "vip 10.0.0.9\nprio 100\n" {
		t.Errorf("backup_file %v", first.Data["backup_file"])
	}
	if d := first.Diff; len(d) != 1 || !strings.Contains(d[0].Before, "10.0.0.9") || d[0].After != want {
		t.Errorf("diff %+v", d)
	}
}

func TestTemplateIntoFolderAndErrors(t *testing.T) {
	dir := t.TempDir()
	files := fstest.MapFS{
		"templates/a.conf": {Data: []byte("x={{ .x }}\n")},
		"templates/bad":    {Data: []byte("{{ .missing }}")},
	}
	vars := map[string]any{"x": 1}
	contract(t, Template{}, dir, func() *Request {
		return newReq(map[string]any{"src": "a.conf", "dest": dir + "/", "mode": 0o600}, files, vars)
	})
	if got := readString(t, filepath.Join(dir, "a.conf")); got != "x=1\n" || modeOf(t, filepath.Join(dir, "a.conf")) != "0600" {
		t.Errorf("got %q", got)
	}
	for _, args := range []map[string]any{
		{"src": "bad", "dest": filepath.Join(dir, "b")},
		{"src": "nope", "dest": filepath.Join(dir, "b")},
		{"src": "../etc/passwd", "dest": filepath.Join(dir, "b")},
		{"src": "a.conf"},
	} {
		if _, err := (Template{}).Run(t.Context(), newReq(args, files, vars)); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}
