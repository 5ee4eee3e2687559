// Command kplay runs Ansible-like playbooks on hosts over SSH: agentless,
// targets need only sh. See README.md and docs/.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/kplay/kplay/internal/vrrpprobe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C cancels the run, which then stops cleanly; from then
	// on a second one ends kplay at once, as the default handler does.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is kplay with its arguments, streams and context injected, so that
// tests call it directly; it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var err error
	if len(args) > 0 {
		switch args[0] {
		case "version":
			printVersion(stdout)
			return exitOK
		case "help":
			fmt.Fprint(stdout, usageText)
			return exitOK
		case "vars":
			err = runVars(ctx, args[1:], stdout, stderr)
			return report(err, stderr)
		case "lab":
			return runLab(ctx, args[1:], stdout, stderr)
		case "runs":
			return report(runRuns(ctx, args[1:], stdin, stdout, stderr), stderr)
		case "certs":
			return report(runCerts(ctx, args[1:], stdin, stdout, stderr), stderr)
		case "rollback":
			return report(runRollback(ctx, args[1:], stdin, stdout, stderr), stderr)
		case "init":
			return report(runInit(args[1:], stdout), stderr)
		case "roles":
			return report(runRoles(args[1:], stdout), stderr)
		case "__probe":
			// Hidden: run on a target by the vrrp_probe module (a copy of
			// this binary uploaded there), not by users.
			return vrrpprobe.Main(ctx, args[1:], stdout, stderr)
		}
	}
	err = runPlaybooks(ctx, args, stdin, stdout, stderr)
	return report(err, stderr)
}

// report prints err (if any and not already shown) and returns its code.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if err == errHelp {
		return exitOK
	}
	// Joined errors (several problems in one playbook) come one per line,
	// each line prefixed so that it reads on its own.
	for _, line := range strings.Split(err.Error(), "\n") {
		if line != "" {
			fmt.Fprintf(stderr, "kplay: %s\n", line)
		}
	}
	return codeOf(err)
}

// version is the module version kplay was built from ("(devel)" for a
// work tree build).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "kplay %s %s %s/%s\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
