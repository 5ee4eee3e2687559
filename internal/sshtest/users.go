package sshtest

import (
	"os"
	"os/exec"
	"os/user"
	"strings"
	"testing"
)

// TestUser is the unprivileged account tests log in as for password and
// sudo tests. It is created once per machine (useradd -m, shell /bin/sh)
// and kept afterwards, since tests of several packages may use it at once.
// TestPassword is its password; it is set at every call, and is only ever
// accepted by the test sshds (the machine runs no sshd of its own).
const (
	TestUser     = "kplaytest"
	TestPassword = "kplay-test-pw-7Qx2"
)

// EnsureUser makes sure TestUser exists with TestPassword and returns its
// home directory. It skips the test when not root.
func EnsureUser(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating the test user needs root")
	}
	if _, err := user.Lookup(TestUser); err != nil {
		out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", TestUser).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "already exists") {
			t.Fatalf("useradd %s: %v: %s", TestUser, err, out)
		}
	}
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(TestUser + ":" + TestPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	u, err := user.Lookup(TestUser)
	if err != nil {
		t.Fatal(err)
	}
	return u.HomeDir
}
