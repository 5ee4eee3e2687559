package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab/labtest"
)

// TestE2EFailureReportOnLab: a unit that fails to start on a real lab host
// (systemd as PID 1) is reported with the tail of `systemctl status` and
// of its journal, fetched by the systemd module, in the plain (non-TTY)
// output, and the failure is grouped at the end.
func TestE2EFailureReportOnLab(t *testing.T) {
	labtest.Skip(t)
	bin := labtest.BuildKplay(t)
	l := labtest.Start(t, 2)
	dir := t.TempDir()
	play := `- hosts: all
  gather_facts: false
  tasks:
    - name: a unit that cannot start
      copy:
        dest: /etc/systemd/system/kplay-broken.service
        content: |
          [Unit]
          Description=kplay failure report test
          [Service]
          Type=oneshot
          ExecStart=/bin/sh -c 'echo "kplay-broken: config line 3: unknown directive" >&2; exit 3'
    - name: start it
      systemd: {name: kplay-broken, state: started, daemon_reload: true}
`
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(play), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-i", l.Inventory(), "site.yaml", "--no-journal")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("kplay: %v, want exit 2\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"fatal: [h1]: FAILED!",
		"systemctl start kplay-broken failed",
		"kplay-broken: config line 3: unknown directive", // from journalctl -u
		"journalctl -u kplay-broken",
		"FAILED on 2 hosts: h1, h2",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
