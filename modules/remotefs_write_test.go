package modules

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/transport"
)

func TestWriteFileMissingFolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "f")
	err := WriteFile(t.Context(), &transport.Local{}, p, strings.NewReader("x"), Attrs{})
	if err == nil || strings.Contains(err.Error(), "temp file") || !strings.Contains(err.Error(), "cannot create") {
		t.Errorf("got %v, want the shell's cannot create error", err)
	}
}

func TestWriteFileKeepsGroupWhenOnlyOwnerSet(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file another group")
	}
	p := filepath.Join(t.TempDir(), "f")
	writeFile(t, p, "x", 0o644)
	if err := os.Chown(p, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(t.Context(), &transport.Local{}, p, strings.NewReader("y"), Attrs{Owner: "0"}); err != nil {
		t.Fatal(err)
	}
	fi, err := Stat(t.Context(), &transport.Local{}, p)
	if err != nil || fi.UID != 0 || fi.GID != 4343 {
		t.Errorf("uid %d gid %d (%v), want 0 and 4343 kept", fi.UID, fi.GID, err)
	}
	if err := WriteFile(t.Context(), &transport.Local{}, p, strings.NewReader("z"), Attrs{}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := Stat(t.Context(), &transport.Local{}, p); fi.UID != 0 || fi.GID != 4343 {
		t.Errorf("empty attrs: uid %d gid %d, want both kept", fi.UID, fi.GID)
	}
}

func TestWriteFileTempCollisionLeavesOtherFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	tmp := filepath.Join(dir, ".f.kplay-fixed.tmp")
	writeFile(t, tmp, "someone else's\n", 0o644)
	var errb bytes.Buffer
	err := (&transport.Local{}).Exec(t.Context(), writeScript(dest, tmp, WriteOptions{}), strings.NewReader("mine\n"), nil, &errb)
	if rc := ExitCode(err); rc != rcTempExists {
		t.Fatalf("got rc %d (%v: %s), want %d", rc, err, errb.String(), rcTempExists)
	}
	if readString(t, tmp) != "someone else's\n" {
		t.Error("an existing file at the temp name was overwritten or removed")
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Error("dest written despite the collision")
	}
}

// stallReader sends one chunk, then blocks until ctx ends.
type stallReader struct {
	ctx  context.Context
	sent bool
}

func (r *stallReader) Read(b []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(b, "partial content\n"), nil
	}
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

func TestWriteFileCancelledMidStream(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	writeFile(t, dest, "old\n", 0o644)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Cancel once the temp file exists: the write is under way.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if m, _ := filepath.Glob(filepath.Join(dir, ".*.kplay-*.tmp")); len(m) > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	err := WriteFile(ctx, &transport.Local{}, dest, &stallReader{ctx: ctx}, Attrs{})
	if err == nil {
		t.Fatal("cancelled write: want an error")
	}
	if readString(t, dest) != "old\n" {
		t.Error("dest changed by a cancelled write")
	}
	assertNoTemp(t, dir)
}
