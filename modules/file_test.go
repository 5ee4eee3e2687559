package modules

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestFileDirectoryNested(t *testing.T) {
	dir := hostileDir(t)
	p := filepath.Join(dir, "a", "b c", "d")
	first := contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": p, "state": "directory", "mode": "0750"}, nil, nil)
	})
	if modeOf(t, p) != "0750" {
		t.Errorf("mode %s, want 0750", modeOf(t, p))
	}
	want := []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b c"), p}
	if len(first.Changes) != 3 {
		t.Fatalf("journal %+v, want one entry per created folder", first.Changes)
	}
	for i, ch := range first.Changes {
		if ch.Path != want[i] || ch.Existed || ch.Action != "created" {
			t.Errorf("entry %d: %+v, want %s created", i, ch, want[i])
		}
	}
}

func TestFileAttrsAndRecurse(t *testing.T) {
	dir := t.TempDir()
	top := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(top, "f1"), "1", 0o644)
	writeFile(t, filepath.Join(top, "sub", "f 2"), "2", 0o600)
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	first := contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": top, "state": "directory", "mode": "u=rwX,g=rX,o=", "recurse": true}, nil, nil)
	})
	for p, want := range map[string]string{top: "0750", filepath.Join(top, "sub"): "0750", filepath.Join(top, "f1"): "0640", filepath.Join(top, "sub", "f 2"): "0640"} {
		if m := modeOf(t, p); m != want {
			t.Errorf("%s: mode %s, want %s", p, m, want)
		}
	}
	if len(first.Changes) != 4 {
		t.Errorf("journal %+v, want 4 attribute entries", first.Changes)
	}
	for _, ch := range first.Changes {
		if ch.Action != "attrs" || ch.OldMode == "" || !ch.Existed {
			t.Errorf("entry %+v", ch)
		}
	}
	f := filepath.Join(dir, "plain")
	writeFile(t, f, "x", 0o644)
	contract(t, File{}, dir, func() *Request { return newReq(map[string]any{"path": f, "mode": "0600"}, nil, nil) })
	res := runModule(t, File{}, newReq(map[string]any{"path": filepath.Join(dir, "missing"), "state": "file"}, nil, nil))
	if !res.Failed {
		t.Error("state file on a missing path: want failed")
	}
}

func TestFileAbsentFileAndLink(t *testing.T) {
	dir := hostileDir(t)
	f := filepath.Join(dir, "old 'conf'")
	writeFile(t, f, "keep me\n", 0o640)
	first := contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": f, "state": "absent"}, nil, nil)
	})
	if _, err := os.Lstat(f); !os.IsNotExist(err) {
		t.Fatalf("still there: %v", err)
	}
	ch := first.Changes[0]
	if !ch.Existed || ch.OldKind != "file" || ch.Backup != f+testSuffix || ch.OldMode != "0640" {
		t.Errorf("entry %+v", ch)
	}
	if readString(t, ch.Backup) != "keep me\n" || modeOf(t, ch.Backup) != "0640" {
		t.Error("backup does not hold the removed file")
	}
	l := filepath.Join(dir, "ln")
	if err := os.Symlink("/etc/hostname", l); err != nil {
		t.Fatal(err)
	}
	first = contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": l, "state": "absent"}, nil, nil)
	})
	if ch := first.Changes[0]; ch.OldKind != "link" || ch.OldTarget != "/etc/hostname" {
		t.Errorf("entry %+v", ch)
	}
}

func TestFileAbsentDirectoryArchives(t *testing.T) {
	dir := t.TempDir()
	top := filepath.Join(dir, "conf.d")
	writeFile(t, filepath.Join(top, "a.conf"), "a\n", 0o600)
	writeFile(t, filepath.Join(top, "sub", "b.conf"), "b\n", 0o644)
	first := contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": top, "state": "absent"}, nil, nil)
	})
	ch := first.Changes[0]
	if ch.OldKind != "directory" || ch.Backup != top+testSuffix+".tar" {
		t.Fatalf("entry %+v", ch)
	}
	// Restore the way rollback does and find the files back.
	if out, err := exec.Command("sh", "-c", `mkdir -p "$1" && tar -x -p -f "$2" -C "$1"`, "sh", top, ch.Backup).CombinedOutput(); err != nil {
		t.Fatalf("restore: %v: %s", err, out)
	}
	if readString(t, filepath.Join(top, "sub", "b.conf")) != "b\n" || modeOf(t, filepath.Join(top, "a.conf")) != "0600" {
		t.Error("archive does not restore the folder")
	}
}

func TestFileLink(t *testing.T) {
	dir := hostileDir(t)
	writeFile(t, filepath.Join(dir, "v1"), "1", 0o644)
	writeFile(t, filepath.Join(dir, "v2"), "2", 0o644)
	l := filepath.Join(dir, "current")
	first := contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": l, "src": "v1", "state": "link"}, nil, nil)
	})
	if ch := first.Changes[0]; ch.Existed || ch.Action != "created" {
		t.Errorf("entry %+v", ch)
	}
	first = contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": l, "src": "v2", "state": "link"}, nil, nil)
	})
	if ch := first.Changes[0]; !ch.Existed || ch.OldKind != "link" || ch.OldTarget != "v1" {
		t.Errorf("entry %+v", ch)
	}
	if target, _ := os.Readlink(l); target != "v2" {
		t.Errorf("target %q, want v2", target)
	}
	f := filepath.Join(dir, "was a file")
	writeFile(t, f, "data", 0o600)
	res := runModule(t, File{}, newReq(map[string]any{"path": f, "src": "v1", "state": "link"}, nil, nil))
	if !res.Failed {
		t.Error("link over a file without force: want failed")
	}
	first = contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": f, "src": "v1", "state": "link", "force": true}, nil, nil)
	})
	if ch := first.Changes[0]; ch.OldKind != "file" || readString(t, ch.Backup) != "data" {
		t.Errorf("entry %+v, want the file moved aside", ch)
	}
	res = runModule(t, File{}, newReq(map[string]any{"path": filepath.Join(dir, "dangling"), "src": "nope", "state": "link"}, nil, nil))
	if !res.Failed {
		t.Error("link to a missing src without force: want failed")
	}
}

func TestFileTouch(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "stamp")
	req := newReq(map[string]any{"path": p, "state": "touch", "mode": "0600"}, nil, nil)
	req.Check = true
	if res := runModule(t, File{}, req); !res.Changed {
		t.Error("check: want a predicted change")
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("check mode created the file")
	}
	res := runModule(t, File{}, newReq(map[string]any{"path": p, "state": "touch", "mode": "0600"}, nil, nil))
	if !res.Changed || res.Changes[0].Existed || modeOf(t, p) != "0600" {
		t.Errorf("first touch: %+v mode %s", res, modeOf(t, p))
	}
	// As in Ansible, touching an existing file changes its times: changed.
	res = runModule(t, File{}, newReq(map[string]any{"path": p, "state": "touch"}, nil, nil))
	if !res.Changed || !res.Changes[0].Existed {
		t.Errorf("second touch: %+v", res)
	}
}

func TestFileHardLink(t *testing.T) {
	dir := hostileDir(t)
	src := filepath.Join(dir, "data")
	writeFile(t, src, "shared\n", 0o644)
	l := filepath.Join(dir, "hard link")
	first := contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": l, "src": src, "state": "hard"}, nil, nil)
	})
	if ch := first.Changes[0]; ch.Existed || ch.Action != "created" {
		t.Errorf("entry %+v", ch)
	}
	a, _ := os.Stat(src)
	b, _ := os.Stat(l)
	if !os.SameFile(a, b) {
		t.Error("not the same file")
	}
	other := filepath.Join(dir, "other")
	writeFile(t, other, "mine\n", 0o600)
	if res := runModule(t, File{}, newReq(map[string]any{"path": other, "src": src, "state": "hard"}, nil, nil)); !res.Failed {
		t.Error("hard link over a file without force: want failed")
	}
	first = contract(t, File{}, dir, func() *Request {
		return newReq(map[string]any{"path": other, "src": src, "state": "hard", "force": true}, nil, nil)
	})
	if ch := first.Changes[0]; !ch.Existed || readString(t, ch.Backup) != "mine\n" {
		t.Errorf("entry %+v, want the old file moved aside", ch)
	}
}
