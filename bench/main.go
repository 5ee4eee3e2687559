// Command bench measures kplay against ansible-playbook and an SSH floor
// on N real OpenSSH hosts on loopback (issue 8; docs/benchmarks.md).
// Run it as root through `make bench` (quick set) or
// `BENCH_FULL=1 make bench` (N up to 500, 3 runs, every case).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the command line of the benchmark.
type config struct {
	ns        []int
	ansibleNs map[int]bool // sizes at which Ansible runs; nil: all
	runs      int
	cases     []string
	ansRuns   int      // runs of the Ansible configurations (they take minutes each)
	ansCases  []string // cases of the Ansible configurations
	tools     []string
	port      int
	work      string
	out       string
	kplay     string
	timeout   time.Duration
	ansCut    time.Duration
	report    string
	kplayArgs string
	profileN  int
	serve     int
	logLevel  string
	extra     string
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	full := os.Getenv("BENCH_FULL") != ""
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	ns := fs.String("n", pick(full, "1,10,50,200,500", "1,10,50"), "host counts")
	ans := fs.String("ansible-n", "", "host counts at which Ansible runs too (default: all of -n)")
	fs.IntVar(&c.runs, "runs", 3, "measured runs per tool, case and N")
	cases := fs.String("cases", "first,rerun,check", "cases: first, rerun, check")
	fs.IntVar(&c.ansRuns, "ansible-runs", pickInt(full, 3, 1), "runs of the Ansible configurations (at most -runs)")
	ansCases := fs.String("ansible-cases", pick(full, "first,rerun,check", "first"), "cases of the Ansible configurations")
	tools := fs.String("tools", "kplay,floor,floor-linear,ansible,ansible-pipelined", "tools to measure")
	fs.IntVar(&c.port, "port", 22, "sshd port on every loopback address")
	fs.StringVar(&c.work, "work", "/tmp/kplay-bench-work", "scratch folder (keys, configs, logs)")
	fs.StringVar(&c.out, "out", "/tmp/kplay-bench-results", "results folder (results.json, results.md, wall.png)")
	fs.StringVar(&c.kplay, "kplay", "", "kplay binary (default: build ./cmd/kplay)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "limit of one tool run")
	fs.DurationVar(&c.ansCut, "ansible-cut", 0, "end an Ansible run after this long and report it as a lower bound (0: never)")
	fs.IntVar(&c.profileN, "profile", 0, "also profile kplay (CPU, allocations) at this N; 0: no")
	fs.StringVar(&c.logLevel, "sshd-log-level", "ERROR", "LogLevel of the sshd hosts (VERBOSE logs every session)")
	fs.StringVar(&c.extra, "sshd-config", "", "more sshd_config lines for every host (\\n-separated), e.g. a ForceCommand that logs commands")
	fs.StringVar(&c.report, "report", "", "only merge these results.json files (comma-separated) into -out's table and plot")
	// 500 handshakes at once on 2 cores outlast the default 10 s connect
	// timeout (docs/benchmarks.md, "N = 500").
	fs.StringVar(&c.kplayArgs, "kplay-args", pick(full, "--connect-timeout 60", ""), "more kplay flags (space-separated), e.g. --connect-timeout 60")
	fs.IntVar(&c.serve, "serve", 0, "only start this many hosts, print how to reach them, wait for Ctrl-C")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if c.ns, err = intList(*ns); err != nil {
		return nil, err
	}
	if *ans != "" {
		list, err := intList(*ans)
		if err != nil {
			return nil, err
		}
		c.ansibleNs = map[int]bool{}
		for _, n := range list {
			c.ansibleNs[n] = true
		}
	}
	c.cases = strings.Split(*cases, ",")
	c.tools = strings.Split(*tools, ",")
	c.ansCases = strings.Split(*ansCases, ",")
	c.ansRuns = min(c.ansRuns, c.runs)
	if c.runs < 1 {
		return nil, errors.New("-runs must be at least 1")
	}
	return c, nil
}

func pick(full bool, a, b string) string {
	if full {
		return a
	}
	return b
}

func pickInt(full bool, a, b int) int {
	if full {
		return a
	}
	return b
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1000 {
			return nil, fmt.Errorf("bad host count %q (1..1000)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// run prepares the machine, starts the fleet, measures and reports. The
// fleet is stopped by PID on every way out, Ctrl-C included.
func run(ctx context.Context, cfg *config) error {
	if cfg.report != "" {
		return report(cfg)
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (sshd hosts in mount namespaces, /root bind mounts)")
	}
	if err := prepare(ctx, cfg); err != nil {
		return err
	}
	for _, d := range []string{cfg.work, cfg.out, filepath.Join(cfg.work, "logs"), filepath.Join(cfg.work, "cp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	f, err := newFleet(filepath.Join(cfg.work, "fleet"), cfg.port)
	if err != nil {
		return err
	}
	f.logLevel = cfg.logLevel
	if cfg.extra != "" {
		f.extra = strings.ReplaceAll(cfg.extra, `\n`, "\n") + "\n"
	}
	e := &env{fleet: f, work: cfg.work, kplay: cfg.kplay, timeout: cfg.timeout, ansibleCut: cfg.ansCut,
		kplayArgs: strings.Fields(cfg.kplayArgs)}
	if e.play, err = filepath.Abs("bench/play/site.yml"); err != nil {
		return err
	}
	defer func() {
		e.closeControlMasters()
		f.stop()
	}()
	if cfg.serve > 0 {
		return serve(ctx, e, cfg.serve)
	}
	res, err := measure(ctx, cfg, e)
	if werr := writeResults(cfg, res); werr != nil && err == nil {
		err = werr
	}
	return err
}

// serve starts n hosts and keeps them up until Ctrl-C, for looking at one
// tool by hand (kplay -vv, ansible-playbook -vvv).
func serve(ctx context.Context, e *env, n int) error {
	if err := e.fleet.grow(n); err != nil {
		return err
	}
	for _, tool := range []string{toolKplay, toolAnsiblePL} {
		cmd, err := e.toolCommand(tool, n, caseFirst)
		if err != nil {
			return err
		}
		fmt.Printf("%s:\n  cd %s\n  %s\n", tool, cmd.Dir, strings.Join(cmd.Args, " "))
	}
	fmt.Printf("(ansible needs the ANSIBLE_* environment of bench/tools.go ansibleEnv)\n%d hosts up; Ctrl-C stops them\n", n)
	<-ctx.Done()
	return nil
}

// report merges earlier results.json files (e.g. a quick run and one at
// N = 200 and 500) into one table and plot.
func report(cfg *config) error {
	var all []sample
	for _, p := range strings.Split(cfg.report, ",") {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		var s []sample
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		all = append(all, s...)
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", cfg.out, err)
	}
	return writeResults(cfg, all)
}
