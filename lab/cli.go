package lab

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// usage is printed for `kplay lab help` and bad arguments.
const usage = `usage: kplay lab COMMAND [--name NAME] [--dir DIR] [ARGS]

  up [-n N]            boot N Debian hosts (default 3), write hosts.yaml, ssh_config, known_hosts
     [--vm-nodes M]    plus M QEMU VMs after them (own kernel, cgroup v2; group node = the VMs)
     [--vm-cpus C] [--vm-memory MIB]   per VM (default 2 and 2048)
  down                 remove every process, mount, namespace, link and cgroup of the lab
  status               hosts, addresses, state (running/stopped/partitioned/frozen), pids
  ssh HOST [CMD...]    ssh to a host with the lab's config (host keys verified)
  stop HOST            power a host off (its netns goes away); start HOST powers it on
  partition HOST       cut a host off the lab network; heal HOST puts it back
  crash HOST           SIGKILL every process of a host (power cut); start HOST boots it again
  freeze HOST          hang a host (cgroup freezer); thaw HOST lets it run on
  base [--vm]          build the base image (with --vm: the VM image) now (up builds it when missing)

up and base take --state DIR, the base image cache (default /var/lib/kplay-lab).

NAME defaults to "default"; DIR to /var/lib/kplay-lab/NAME. Needs root.
`

// commands are the lab commands, checked before any lab is opened so that
// a mistyped one is not answered "is the lab up?".
var commands = []string{"up", "down", "status", "ssh", "stop", "start", "partition", "heal", "crash", "freeze", "thaw", "base"}

// Exit codes, as in the rest of kplay.
const (
	exitOK      = 0
	exitErr     = 1
	exitOptions = 5
)

// Main runs `kplay lab ARGS...` and returns the process exit code; the kplay
// CLI calls it with the arguments after "lab".
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitOptions
		}
		return exitOK
	}
	cmd := args[0]
	if !slices.Contains(commands, cmd) {
		fmt.Fprintf(stderr, "kplay lab: unknown lab command %q (commands: %s)\n", cmd, strings.Join(commands, ", "))
		fmt.Fprint(stderr, usage)
		return exitOptions
	}
	fs := flag.NewFlagSet("kplay lab "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.Name, "name", "default", "lab name")
	fs.StringVar(&c.Dir, "dir", "", "lab directory (default /var/lib/kplay-lab/NAME)")
	if cmd == "up" || cmd == "base" {
		fs.StringVar(&c.StateDir, "state", DefaultStateDir, "base image cache dir")
	}
	var vmImage bool
	if cmd == "base" {
		fs.BoolVar(&vmImage, "vm", false, "build the VM image instead of the nspawn base")
	}
	if cmd == "up" {
		fs.IntVar(&c.VMNodes, "vm-nodes", 0, "number of QEMU VMs after the hosts")
		fs.IntVar(&c.VMCPUs, "vm-cpus", 2, "vCPUs per VM")
		fs.IntVar(&c.VMMemory, "vm-memory", 2048, "memory per VM in MiB")
		fs.IntVar(&c.Hosts, "n", 3, "number of hosts")
		fs.DurationVar(&c.BootTimeout, "timeout", 0, "bound on waiting for the hosts' sshd (default 3m, 10m with VMs)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitOptions
	}
	c.Log = stdout
	if vmImage {
		cmd = "base-vm"
	}
	if err := dispatch(ctx, cmd, c, fs.Args(), stdout, stderr); err != nil {
		var ex *exitCodeError
		if errors.As(err, &ex) {
			return ex.code
		}
		fmt.Fprintf(stderr, "kplay lab %s: %v\n", cmd, err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(stderr, usage)
			return exitOptions
		}
		return exitErr
	}
	return exitOK
}

// errUsage marks bad command-line use (exit code 5).
var errUsage = errors.New("bad usage")

// exitCodeError passes a child's exit code (ssh) through unchanged.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// dispatch runs one lab command.
func dispatch(ctx context.Context, cmd string, c Config, rest []string, stdout, stderr io.Writer) error {
	switch cmd {
	case "up":
		if len(rest) > 0 {
			return fmt.Errorf("unexpected %q: %w", rest[0], errUsage)
		}
		l, err := Up(ctx, c)
		if err != nil {
			return err
		}
		printStatus(l, stdout)
		fmt.Fprintf(stdout, "ssh:  ssh -F %s h1\nrun:  kplay -i %s site.yaml\n", l.SSHConfig(), l.Inventory())
		return nil
	case "base-vm":
		dir, err := EnsureVMImage(ctx, c)
		if err == nil {
			fmt.Fprintf(stdout, "vm image: %s\n", dir)
		}
		return err
	case "base":
		root, err := EnsureBase(ctx, c)
		if err == nil {
			fmt.Fprintf(stdout, "base image: %s\n", root)
		}
		return err
	}
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	if err := checkRoot(); err != nil {
		return err
	}
	l, err := Open(c.Dir)
	if err != nil {
		if cmd == "down" && errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "no lab in %s: nothing to do\n", c.Dir)
			return nil
		}
		return fmt.Errorf("%w (is the lab up? `kplay lab up --name %s`)", err, c.Name)
	}
	l.cfg.Log = stdout
	return hostCommand(ctx, l, cmd, rest, stdout, stderr)
}

// hostCommand runs the commands that act on an existing lab.
func hostCommand(ctx context.Context, l *Lab, cmd string, rest []string, stdout, stderr io.Writer) error {
	one := func(f func(context.Context, string) error) error {
		if len(rest) != 1 {
			return fmt.Errorf("want one HOST argument: %w", errUsage)
		}
		return f(ctx, rest[0])
	}
	switch cmd {
	case "down":
		return l.Down(ctx)
	case "status":
		printStatus(l, stdout)
		return nil
	case "ssh":
		return runSSH(ctx, l, rest, stdout, stderr)
	case "stop":
		return one(l.Stop)
	case "start":
		return one(l.Start)
	case "partition":
		return one(l.Partition)
	case "heal":
		return one(l.Heal)
	case "crash":
		return one(l.Crash)
	case "freeze":
		return one(l.Freeze)
	case "thaw":
		return one(l.Thaw)
	}
	return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
}

// printStatus writes the status table.
func printStatus(l *Lab, w io.Writer) {
	fmt.Fprintf(w, "lab %s in %s, bridge %s %s/24\n", l.cfg.Name, l.cfg.Dir, l.plan.Bridge, l.plan.Gw)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if l.vm.Image == "" {
		fmt.Fprintln(tw, "HOST\tIP\tSTATE\tNSPAWN PID\tLAUNCHER PID")
	} else {
		fmt.Fprintln(tw, "HOST\tIP\tSTATE\tNSPAWN PID\tLAUNCHER PID\tQEMU PID\tQEMU RSS")
	}
	for _, s := range l.Status() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s", s.Name, s.IP, s.State, pidStr(s.NspawnPid), pidStr(s.LauncherPid))
		if l.vm.Image != "" {
			rss := "-"
			if mib, err := l.VMRSS(s.Name); err == nil {
				rss = fmt.Sprintf("%d MiB", mib)
			}
			fmt.Fprintf(tw, "\t%s\t%s", pidStr(s.QemuPid), rss)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "inventory %s\n", l.Inventory())
	if info, err := readBaseInfo(filepath.Dir(l.base)); err == nil {
		fmt.Fprintf(w, "base image %s, built %s in %.0fs\n", filepath.Dir(l.base), info.Built.Format(time.RFC3339), info.Seconds)
	}
	if info, err := readBaseInfo(l.vm.Image); err == nil && l.vm.Image != "" {
		fmt.Fprintf(w, "vm image %s, built %s in %.0fs; %d vCPUs, %d MiB per VM\n", l.vm.Image,
			info.Built.Format(time.RFC3339), info.Seconds, l.vm.CPUs, l.vm.Memory)
	}
}

// pidStr shows 0 as "-".
func pidStr(pid int) string {
	if pid == 0 {
		return "-"
	}
	return fmt.Sprint(pid)
}

// runSSH runs the machine's ssh client with the lab's ssh_config.
func runSSH(ctx context.Context, l *Lab, rest []string, stdout, stderr io.Writer) error {
	if len(rest) == 0 {
		return fmt.Errorf("want HOST [CMD...]: %w", errUsage)
	}
	if _, err := l.host(rest[0]); err != nil {
		return err
	}
	args := append([]string{"-F", l.SSHConfig()}, rest...)
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &exitCodeError{ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("ssh %s (config %s): %w", rest[0], filepath.Base(l.SSHConfig()), err)
	}
	return nil
}
