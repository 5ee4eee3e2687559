package modules

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestScript(t *testing.T) {
	dir := hostileDir(t)
	marker := filepath.Join(dir, "done")
	files := fstest.MapFS{
		// read consumes stdin: it must see end of file, not the script.
		"files/setup.sh": {Data: []byte("#!/bin/sh\nread x || true\necho \"args:$1|$2\"\necho \"x=$x\"\ntouch \"$3\"\n")},
		"files/fail.sh":  {Data: []byte("echo oops >&2\nexit 3\n")},
		"files/bash.sh":  {Data: []byte("#!/usr/bin/env bash\necho \"${BASH_VERSION:+bash}\"\n")},
	}
	raw := "files/setup.sh 'a b' '$(id)' " + shellWord(marker)
	mk := func(check bool) *Request {
		req := newReq(map[string]any{"_raw_params": raw, "creates": marker}, files, nil)
		req.Check = check
		return req
	}
	if res := runModule(t, Script{}, mk(true)); !res.Changed {
		t.Error("check with creates: want a predicted run")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("check mode ran the script")
	}
	res := runModule(t, Script{}, mk(false))
	if !res.Changed || res.RC != 0 || res.Stdout != "args:a b|$(id)\nx=\n" {
		t.Errorf("got %+v", res)
	}
	if res := runModule(t, Script{}, mk(false)); res.Changed {
		t.Error("creates exists: want skipped")
	}
	res = runModule(t, Script{}, newReq(map[string]any{"_raw_params": "fail.sh"}, files, nil))
	if !res.Failed || res.RC != 3 || res.Stderr != "oops\n" {
		t.Errorf("failing script: %+v", res)
	}
	if _, err := exec.LookPath("bash"); err == nil {
		res = runModule(t, Script{}, newReq(map[string]any{"_raw_params": "bash.sh"}, files, nil))
		if res.Stdout != "bash\n" {
			t.Errorf("shebang bash: %+v", res)
		}
	}
}

func TestScriptTempFileInterpreter(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "s.awk")
	cmd, _ := scriptCommand([]byte("x"), "awk", []string{"hello"})
	if !strings.Contains(cmd, "mktemp") || !strings.Contains(cmd, "rm -f") {
		t.Fatalf("a non-shell interpreter must use a removed temp file: %s", cmd)
	}
	// awk reads its program from a file with -f: run through a shebang.
	writeFile(t, src, "#!/usr/bin/awk -f\nBEGIN { print ARGV[1] }\n", 0o644)
	req := newReq(map[string]any{"cmd": src + " hello", "chdir": dir}, nil, nil)
	res := runModule(t, Script{}, req)
	if res.Stdout != "hello\n" || res.Failed {
		t.Errorf("awk script: %+v", res)
	}
	if m, _ := filepath.Glob("/tmp/tmp.*"); len(m) > 0 {
		for _, p := range m {
			if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "print ARGV[1]") {
				t.Errorf("temp script left behind: %s", p)
			}
		}
	}
}

func shellWord(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
