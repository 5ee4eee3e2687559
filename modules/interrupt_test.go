package modules

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kplay/kplay/transport"
)

// interruptConn runs commands on the local host; the first one containing
// match is run to its end (rewritten by edit, when set) and then the run's
// context is cancelled and the command reported as cut short, as when
// Ctrl-C arrives just after the host did the work but before its answer.
type interruptConn struct {
	match  string
	edit   func(cmd string) string
	cancel context.CancelFunc
	done   bool
}

func (c *interruptConn) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	if c.done || !strings.Contains(cmd, c.match) {
		return (&transport.Local{}).Exec(ctx, cmd, stdin, stdout, stderr)
	}
	c.done = true
	if c.edit != nil {
		cmd = c.edit(cmd)
	}
	err := (&transport.Local{}).Exec(context.WithoutCancel(ctx), cmd, stdin, stdout, stderr)
	c.cancel()
	if err != nil {
		return err
	}
	return context.Canceled
}

// runInterrupted runs m with an interruptConn on match.
func runInterrupted(t *testing.T, m Module, args map[string]any, match string, edit func(string) string) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	conn := &interruptConn{match: match, edit: edit, cancel: cancel}
	res, err := m.Run(ctx, &Request{Conn: conn, Args: args, BackupSuffix: testSuffix})
	if !conn.done {
		t.Fatalf("no command matched %q", match)
	}
	return res, err
}

func TestGetURLInterruptedAfterRename(t *testing.T) {
	srv, _ := fileServer(t, "v2\n")
	for _, tc := range []struct {
		name, old string
		sha1      bool
	}{
		{"created", "", false},
		{"replaced", "v1\n", false},
		{"replaced sha1", "v1\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "app")
			if tc.old != "" {
				writeFile(t, dest, tc.old, 0o640)
			}
			args := map[string]any{"url": srv.URL + "/app.bin", "dest": dest, "force": true}
			if tc.sha1 {
				h := sha1.Sum([]byte("v2\n"))
				args["checksum"] = "sha1:" + hex.EncodeToString(h[:])
			}
			res, err := runInterrupted(t, GetURL{}, args, `mv -f -- "$t" "$d"`, nil)
			if err != nil {
				t.Fatalf("interrupted after the rename: want the change reported, got %v", err)
			}
			if got := readString(t, dest); got != "v2\n" {
				t.Fatalf("dest = %q", got)
			}
			if !res.Changed || len(res.Changes) != 1 {
				t.Fatalf("want one change, got %+v", res)
			}
			c := res.Changes[0]
			if tc.old == "" {
				if c.Action != "created" || c.Existed {
					t.Errorf("change = %+v, want created", c)
				}
				return
			}
			if c.Action != "modified" || c.Backup != dest+testSuffix || c.OldMode != "0640" {
				t.Errorf("change = %+v, want modified with backup %s", c, dest+testSuffix)
			}
			if got := readString(t, c.Backup); got != tc.old {
				t.Errorf("backup = %q", got)
			}
		})
	}
}

func TestGetURLInterruptedBeforeRename(t *testing.T) {
	srv, _ := fileServer(t, "v2\n")
	dest := filepath.Join(t.TempDir(), "app")
	writeFile(t, dest, "v1\n", 0o644)
	args := map[string]any{"url": srv.URL + "/app.bin", "dest": dest, "force": true}
	// The script stops right before its rename: dest is untouched.
	stop := func(cmd string) string {
		return strings.Replace(cmd, `mv -f -- "$t" "$d"`, `rm -f -- "$t"; exit 1`, 1)
	}
	res, err := runInterrupted(t, GetURL{}, args, `mv -f -- "$t" "$d"`, stop)
	if err == nil || len(res.Changes) != 0 {
		t.Fatalf("want an error and no change, got %+v, %v", res, err)
	}
	if got := readString(t, dest); got != "v1\n" {
		t.Errorf("dest = %q", got)
	}
}

func TestUnarchiveInterrupted(t *testing.T) {
	src := makeArchive(t, "a.tgz", testMembers)
	for _, tc := range []struct {
		name string
		edit func(string) string
		// want: the member paths journaled; failed: reported as failed.
		want   string
		failed bool
	}{
		{"after extraction", nil, "etcd-v3/etcd etcd-v3/docs etcd-v3/docs/README.md etcd-v3/etcdctl", false},
		{"part extracted", func(c string) string { return c + " --exclude=etcdctl" },
			"etcd-v3/etcd etcd-v3/docs etcd-v3/docs/README.md", true},
		{"before extraction", func(string) string { return "cat >/dev/null" }, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			// One member exists with other content: it is overwritten.
			writeFile(t, filepath.Join(dest, "etcd-v3/etcd"), "local edit\n", 0o600)
			args := map[string]any{"src": src, "dest": dest}
			res, err := runInterrupted(t, Unarchive{}, args, "tar --no-unquote -x -f", tc.edit)
			if err != nil {
				t.Fatalf("want a result with the changes, got %v", err)
			}
			var got []string
			for _, c := range res.Changes {
				got = append(got, strings.TrimPrefix(c.Path, dest+"/"))
				if strings.HasSuffix(c.Path, "etcd-v3/etcd") && (c.Action != "modified" || readString(t, c.Backup) != "local edit\n") {
					t.Errorf("overwritten member: %+v", c)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("journaled %q, want %q", strings.Join(got, " "), tc.want)
			}
			if res.Failed != tc.failed || res.Changed != (tc.want != "") {
				t.Errorf("failed=%v changed=%v (%s), want failed=%v", res.Failed, res.Changed, res.Msg, tc.failed)
			}
			if _, err := os.Stat(filepath.Join(dest, "etcd-v3/etcd"+testSuffix)); err != nil {
				t.Errorf("backup of the overwritten member: %v", err)
			}
		})
	}
}
