package modules

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestCopyContentNewFile(t *testing.T) {
	dir := hostileDir(t)
	dest := filepath.Join(dir, "motd $(id)")
	content := "hello 'world'\n$(touch pwned)\n"
	first := contract(t, Copy{}, dir, func() *Request {
		return newReq(map[string]any{"content": content, "dest": dest, "mode": "0640"}, nil, nil)
	})
	if got := readString(t, dest); got != content {
		t.Errorf("content %q, want %q", got, content)
	}
	if m := modeOf(t, dest); m != "0640" {
		t.Errorf("mode %s, want 0640", m)
	}
	ch := first.Changes[0]
	if ch.Existed || ch.Action != "created" || ch.Path != dest || ch.Backup != "" {
		t.Errorf("journal entry %+v, want created, not existed", ch)
	}
	if d := first.Diff; len(d) != 1 || d[0].Before != "" || d[0].After != content {
		t.Errorf("diff %+v", d)
	}
}

func TestCopyOverwriteKeepsBackup(t *testing.T) {
	for _, asked := range []bool{true, false} {
		dir := t.TempDir()
		dest := filepath.Join(dir, "app.conf")
		writeFile(t, dest, "old\n", 0o600)
		files := fstest.MapFS{"files/app.conf": {Data: []byte("new\n")}}
		first := contract(t, Copy{}, dir, func() *Request {
			return newReq(map[string]any{"src": "app.conf", "dest": dest, "backup": asked}, files, nil)
		})
		if readString(t, dest) != "new\n" || modeOf(t, dest) != "0600" {
			t.Errorf("dest %q mode %s, want new content and the old mode 0600", readString(t, dest), modeOf(t, dest))
		}
		ch := first.Changes[0]
		if !ch.Existed || ch.Action != "modified" || ch.Backup != dest+testSuffix || ch.OldMode != "0600" || ch.OldKind != "file" || ch.OldOwner == "" {
			t.Errorf("journal entry %+v", ch)
		}
		if readString(t, ch.Backup) != "old\n" || modeOf(t, ch.Backup) != "0600" {
			t.Errorf("backup does not hold the old file")
		}
		if _, reported := first.Data["backup_file"]; reported != asked {
			t.Errorf("backup: %v, backup_file reported: %v", asked, reported)
		}
		if d := first.Diff; len(d) != 1 || d[0].Before != "old\n" || d[0].After != "new\n" {
			t.Errorf("diff %+v", d)
		}
	}
}

func TestCopyForceNo(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	writeFile(t, dest, "mine\n", 0o644)
	res := runModule(t, Copy{}, newReq(map[string]any{"content": "theirs\n", "dest": dest, "force": "no"}, nil, nil))
	if res.Changed || readString(t, dest) != "mine\n" {
		t.Errorf("force: no overwrote the file (changed=%v)", res.Changed)
	}
}

func TestCopyValidateFailure(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "sudoers")
	writeFile(t, dest, "ok\n", 0o440)
	res := runModule(t, Copy{}, newReq(map[string]any{"content": "bad\n", "dest": dest, "validate": "grep -q ok %s"}, nil, nil))
	if !res.Failed || res.Changed || !strings.Contains(res.Msg, "validate") {
		t.Errorf("got failed=%v changed=%v msg %q, want a failed validation", res.Failed, res.Changed, res.Msg)
	}
	if readString(t, dest) != "ok\n" {
		t.Error("dest changed after a failed validation")
	}
	assertNoTemp(t, dir)
	if m, _ := filepath.Glob(dest + ".*kplay~*"); len(m) != 0 {
		t.Errorf("backup left by a failed write: %q", m)
	}
}

func TestCopyAttributesOnly(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	writeFile(t, dest, "same\n", 0o644)
	first := contract(t, Copy{}, dir, func() *Request {
		return newReq(map[string]any{"content": "same\n", "dest": dest, "mode": "u=rw,g=,o="}, nil, nil)
	})
	if modeOf(t, dest) != "0600" {
		t.Errorf("mode %s, want 0600", modeOf(t, dest))
	}
	if ch := first.Changes[0]; ch.Action != "attrs" || ch.OldMode != "0644" || ch.Backup != "" {
		t.Errorf("journal entry %+v", ch)
	}
}

func TestCopyBinaryRoundTrip(t *testing.T) {
	dir := t.TempDir()
	raw := []byte{0xff, 0xfe, 0, 1, 2, '\n', 0x80}
	files := fstest.MapFS{"files/blob.bin": {Data: raw}}
	dest := filepath.Join(dir, "blob.bin")
	first := contract(t, Copy{}, dir, func() *Request {
		return newReq(map[string]any{"src": "blob.bin", "dest": dest}, files, nil)
	})
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, raw) {
		t.Errorf("got %q, want %q", got, raw)
	}
	if d := first.Diff; len(d) != 1 || !strings.Contains(d[0].After, "binary or large") {
		t.Errorf("diff %+v, want a binary note", d)
	}
}

func TestCopyDirectory(t *testing.T) {
	files := fstest.MapFS{
		"files/conf/a.conf":     {Data: []byte("a\n")},
		"files/conf/sub/b.conf": {Data: []byte("b\n")},
	}
	tests := []struct {
		src  string
		want string
	}{
		{"conf", "etc/conf/sub/b.conf"},
		{"conf/", "etc/sub/b.conf"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		dest := filepath.Join(dir, "etc")
		first := contract(t, Copy{}, dir, func() *Request {
			return newReq(map[string]any{"src": tt.src, "dest": dest, "directory_mode": "0750"}, files, nil)
		})
		if readString(t, filepath.Join(dir, tt.want)) != "b\n" {
			t.Errorf("src %q: %s missing", tt.src, tt.want)
		}
		if m := modeOf(t, filepath.Join(dir, filepath.Dir(tt.want))); m != "0750" {
			t.Errorf("src %q: new folder mode %s, want 0750", tt.src, m)
		}
		if len(first.Changes) < 3 || first.Changes[0].Action != "created" {
			t.Errorf("src %q: journal %+v", tt.src, first.Changes)
		}
	}
}

func TestCopyIntoFolderAndThroughLink(t *testing.T) {
	dir := t.TempDir()
	files := fstest.MapFS{"files/x.txt": {Data: []byte("x\n")}}
	contract(t, Copy{}, dir, func() *Request {
		return newReq(map[string]any{"src": "x.txt", "dest": filepath.Join(dir, "new", "deeper") + "/"}, files, nil)
	})
	if readString(t, filepath.Join(dir, "new", "deeper", "x.txt")) != "x\n" {
		t.Error("dest ending in / did not receive the file")
	}
	real := filepath.Join(dir, "real")
	writeFile(t, real, "old\n", 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	contract(t, Copy{}, dir, func() *Request {
		return newReq(map[string]any{"content": "through\n", "dest": link}, nil, nil)
	})
	if target, err := os.Readlink(link); err != nil || target != "real" || readString(t, real) != "through\n" {
		t.Errorf("link %q %v, real %q: want the link kept and its target written", target, err, readString(t, real))
	}
}

func TestCopyRemoteAndAbsoluteSrc(t *testing.T) {
	dir := hostileDir(t)
	src := filepath.Join(dir, "src file")
	writeFile(t, src, "payload\n", 0o751)
	for _, remote := range []bool{true, false} {
		dest := filepath.Join(dir, "dest", "copy")
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			t.Fatal(err)
		}
		contract(t, Copy{}, filepath.Dir(dest), func() *Request {
			return newReq(map[string]any{"src": src, "dest": dest, "remote_src": remote, "mode": "preserve"}, nil, nil)
		})
		if readString(t, dest) != "payload\n" || modeOf(t, dest) != "0751" {
			t.Errorf("remote_src %v: got %q mode %s", remote, readString(t, dest), modeOf(t, dest))
		}
		if err := os.RemoveAll(filepath.Dir(dest)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCopyBadArgs(t *testing.T) {
	for _, args := range []map[string]any{
		{"dest": "/tmp/x"},
		{"src": "a", "content": "b", "dest": "/tmp/x"},
		{"content": "b"},
		{"content": "b", "dest": "/tmp/x", "dst": "y"},
		{"content": "b", "dest": "/tmp/x", "mode": "u+q"},
	} {
		if _, err := (Copy{}).Run(t.Context(), newReq(args, nil, nil)); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}

func TestCopyOwnerGroup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := t.TempDir()
	dest := filepath.Join(dir, "owned")
	writeFile(t, dest, "same\n", 0o644)
	first := contract(t, Copy{}, dir, func() *Request {
		return newReq(map[string]any{"content": "same\n", "dest": dest, "owner": "4242", "group": "4343"}, nil, nil)
	})
	fi, err := Stat(t.Context(), newReq(nil, nil, nil).Conn, dest)
	if err != nil || fi.UID != 4242 || fi.GID != 4343 {
		t.Errorf("uid %d gid %d (%v)", fi.UID, fi.GID, err)
	}
	if ch := first.Changes[0]; ch.Action != "attrs" || ch.OldOwner != "root" || ch.OldGroup != "root" {
		t.Errorf("entry %+v", ch)
	}
}

func TestCopyHostileNames(t *testing.T) {
	dir := hostileDir(t)
	for _, name := range []string{"new\nline", "-leading dash", "it's \"quoted\"", "$(touch pwned)", "`id`;rm -rf x", "tab\there", "\xff\xfe"} {
		dest := filepath.Join(dir, name)
		content := "content of " + name + "\n"
		contract(t, Copy{}, dir, func() *Request {
			return newReq(map[string]any{"content": content, "dest": dest, "mode": "0600"}, nil, nil)
		})
		if got := readString(t, dest); got != content {
			t.Errorf("%q: got %q", name, got)
		}
	}
	if _, err := os.Stat("pwned"); err == nil {
		t.Fatal("a command substitution in a name ran")
	}
	assertNoTemp(t, dir)
}
