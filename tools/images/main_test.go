package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesArchive(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pause")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "pause.tar")
	var stderr strings.Builder
	code := run([]string{"-ref", "registry.k8s.io/pause:3.10", "-out", out, "-file", "/pause=" + bin + ":0755",
		"-link", "/bin/sh=busybox", "-entrypoint", "/pause", "-env", "PATH=/bin"}, &stderr)
	if code != 0 {
		t.Fatalf("run = %d: %s", code, stderr.String())
	}
	st, err := os.Stat(out)
	if err != nil || st.Size() == 0 || st.Mode().Perm() != 0o644 {
		t.Fatalf("archive %s: %v %v", out, st, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".pause.tar.*"))
	if len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestRunRejects(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{"-ref", "a:1"}, 2, "-out is required"},
		{"bad file spec", []string{"-ref", "a:1", "-out", filepath.Join(dir, "a.tar"), "-file", "nofile"}, 1, "want /path=local"},
		{"bad mode", []string{"-ref", "a:1", "-out", filepath.Join(dir, "a.tar"), "-file", "/a=" + filepath.Join(dir, "x") + ":9z"}, 1, "mode"},
		{"missing source", []string{"-ref", "a:1", "-out", filepath.Join(dir, "a.tar"), "-file", "/a=" + filepath.Join(dir, "none")}, 1, "no such file"},
		{"bad link", []string{"-ref", "a:1", "-out", filepath.Join(dir, "a.tar"), "-link", "/a="}, 1, "want /path=target"},
		{"bad ref", []string{"-ref", "nocolon", "-out", filepath.Join(dir, "a.tar")}, 1, "want name:tag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr strings.Builder
			if code := run(c.args, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("run = %d %q, want %d and %q", code, stderr.String(), c.code, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "a.tar")); err == nil {
				t.Error("a failed run left an archive")
			}
		})
	}
}
