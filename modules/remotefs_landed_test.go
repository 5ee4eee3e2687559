package modules

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kplay/kplay/transport"
)

// TestLandedAfterCancelOddNames: after an interrupted write, the backup
// found is the newest one, named exactly, even when the file's name holds
// a newline or ends in spaces (ls | head cut such a name short).
func TestLandedAfterCancelOddNames(t *testing.T) {
	const suffix = ".20261123T000000Z.kplay~"
	tests := []struct {
		name    string
		backups []string // oldest first, after dest's name
		want    int      // index in backups, -1 for none
	}{
		{"plain", []string{suffix, ".20261123T000000Z.1.kplay~"}, 1},
		{"newline in the name", []string{suffix}, 0},
		{"trailing spaces ", []string{".20261123T000000Z.2.kplay~", suffix}, 1},
		{"no backup", nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "conf\nx "+tt.name)
			if err := os.WriteFile(dest, []byte("new\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			base := time.Now().Add(-time.Hour)
			for i, b := range tt.backups {
				if err := os.WriteFile(dest+b, []byte("old\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				at := base.Add(time.Duration(i) * time.Minute)
				if err := os.Chtimes(dest+b, at, at); err != nil {
					t.Fatal(err)
				}
			}
			req := &Request{Conn: &transport.Local{}, BackupSuffix: suffix}
			fi, err := StatWith(t.Context(), req.Conn, dest, StatOptions{Checksum: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel() // as after an interrupt
			got, ok := landedAfterCancel(ctx, req, dest, fi.Checksum, true)
			want := ""
			if tt.want >= 0 {
				want = dest + tt.backups[tt.want]
			}
			if !ok || got != want {
				t.Errorf("landedAfterCancel = %q, %v; want %q, true", got, ok, want)
			}
		})
	}
}
