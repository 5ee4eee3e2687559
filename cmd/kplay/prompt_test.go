package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/inventory"
	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal, or skips.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestAskPasswordsFromTerminal types both passwords on a pseudo-terminal:
// -K fills Options.BecomePassword, -k the hosts' password unless the
// inventory has one.
func TestAskPasswordsFromTerminal(t *testing.T) {
	master, slave := openPTY(t)
	inv, err := inventory.Parse("hosts.yaml", []byte("all:\n  hosts:\n    a:\n    b: {ansible_ssh_pass: own}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	opts := &engine.Options{Inventory: inv}
	f := playFlags{askPass: true, askBecomePass: true}
	var prompts bytes.Buffer
	done := make(chan error, 1)
	var secrets []string
	go func() {
		var err error
		secrets, err = f.askPasswords(slave, &prompts, opts)
		done <- err
	}()
	if _, err := master.WriteString("ssh-secret\nsudo-secret\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("askPasswords did not return within 10s")
	}
	if !reflect.DeepEqual(secrets, []string{"ssh-secret", "sudo-secret"}) {
		t.Errorf("secrets to mask = %q", secrets)
	}
	if opts.BecomePassword != "sudo-secret" {
		t.Errorf("become password = %q, want sudo-secret", opts.BecomePassword)
	}
	a, _ := inv.Host("a")
	b, _ := inv.Host("b")
	if got := a.Connection().Password; got != "ssh-secret" {
		t.Errorf("host a password = %q, want ssh-secret", got)
	}
	if got := b.Connection().Password; got != "own" {
		t.Errorf("host b password = %q, want the inventory's", got)
	}
	if p := prompts.String(); !strings.Contains(p, "SSH password: ") || !strings.Contains(p, "BECOME password: ") {
		t.Errorf("prompts = %q", p)
	}
}

func TestMaskSecrets(t *testing.T) {
	var buf bytes.Buffer
	w := maskSecrets(&buf, "", "pa\"ss", "hunter2")
	for _, s := range []string{"login with hunter2\n", `{"msg":"pa\"ss and pa"ss"}` + "\n"} {
		if _, err := io.WriteString(w, s); err != nil {
			t.Fatal(err)
		}
	}
	want := "login with ***\n" + `{"msg":"*** and ***"}` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if w := maskSecrets(&buf); w != io.Writer(&buf) {
		t.Errorf("no secret: the writer should be used as is")
	}
}
