package main

import (
	"errors"
	"github.com/kplay/kplay/journal"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kplay/kplay/internal/sshtest"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the transcripts run `kplay` as this test binary.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kplay": main,
	})
}

// TestScript runs the CLI transcripts in testdata/script: each .txtar is a
// readable specification of what a user types and sees.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "")
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
			"cmpout":   cmdCmpOut,
			"lastrun":  cmdLastRun,
		},
	})
}

// TestScriptSSH runs the transcripts of testdata/ssh against one real
// OpenSSH sshd on 127.0.0.1 (skipped without sshd or root), whose address,
// port, user and authorized key reach the scripts as SSH_ADDR, SSH_PORT,
// SSH_USER and SSH_KEY.
func TestScriptSSH(t *testing.T) {
	h := sshtest.Start(t, 1)[0]
	testscript.Run(t, testscript.Params{
		Dir: "testdata/ssh",
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "")
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("SSH_ADDR", h.Addr)
			env.Setenv("SSH_PORT", strconv.Itoa(h.Port))
			env.Setenv("SSH_USER", h.User)
			env.Setenv("SSH_KEY", h.KeyFile)
			return nil
		},
		RequireExplicitExec: true,
		Cmds:                map[string]func(ts *testscript.TestScript, neg bool, args []string){"exitcode": cmdExitCode},
	})
}

// cmdExitCode is "exitcode N command args...": it runs the command like
// exec and fails the script unless it exits with status N. Its stdout and
// stderr are checked by the following stdout/stderr lines.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exitcode: run %s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// timingRe matches the run's duration, the one line that differs between
// runs.
var timingRe = regexp.MustCompile(`(?m)^Total time: \S+$`)

// slowLineRe matches a line of the SLOWEST TASKS section.
var slowLineRe = regexp.MustCompile(`^ +[0-9][0-9hm.]*s  `)

// slowHostRe matches the slowest host of such a line, which varies
// between runs when hosts take about as long.
var slowHostRe = regexp.MustCompile(` on \S+$`)

// normalizeTimes makes a run's output comparable: "Total time: X", and in
// SLOWEST TASKS each time and host read as X and the lines sorted (their
// order is that of times).
func normalizeTimes(out string) string {
	out = timingRe.ReplaceAllString(out, "Total time: X")
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "SLOWEST TASKS ") {
			continue
		}
		j := i + 1
		for j < len(lines) && slowLineRe.MatchString(lines[j]) {
			lines[j] = slowLineRe.ReplaceAllString(lines[j], "        X  ")
			lines[j] = slowHostRe.ReplaceAllString(lines[j], " on X")
			j++
		}
		slices.Sort(lines[i+1 : j])
		i = j - 1
	}
	return strings.Join(lines, "\n")
}

// cmdCmpOut is "cmpout FILE": it compares the last command's stdout with
// FILE, times read as X (see normalizeTimes), so that a transcript can
// show a whole run's output.
func cmdCmpOut(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: cmpout FILE")
	}
	got := normalizeTimes(ts.ReadFile("stdout"))
	want := ts.ReadFile(args[0])
	if got != want {
		ts.Fatalf("stdout differs from %s:\n%s", args[0], diff.Diff(args[0], []byte(want), "stdout", []byte(got)))
	}
}

// cmdLastRun is "lastrun [KIND]": it sets $RUNID to the newest journaled
// run (of KIND, "run" or "rollback") under $WORK/.kplay/runs.
func cmdLastRun(ts *testscript.TestScript, neg bool, args []string) {
	kind := ""
	if len(args) > 0 {
		kind = args[0]
	}
	id, err := journal.Latest(ts.MkAbs(".kplay/runs"), kind)
	if err != nil {
		ts.Fatalf("lastrun: %v", err)
	}
	ts.Setenv("RUNID", id)
}
