package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// playFlags are the flags of a playbook run (kplay -i INV PLAYBOOK...).
type playFlags struct {
	inventory   string
	extraVars   listFlag
	check       bool
	diff        bool
	listTasks   bool
	listHosts   bool
	listTags    bool
	syntaxCheck bool
	limit       string
	tags        listFlag
	skipTags    listFlag
	startAt     string
	forks       int
	verbosity   countFlag
	json        bool
	noColor     bool
	noProgress  bool
	version     bool

	knownHosts     listFlag
	acceptNewKeys  bool
	sshConfig      string
	connectTimeout secondsFlag
	taskTimeout    secondsFlag
	sshKeepAlive   secondsFlag
	askPass        bool
	askBecomePass  bool
	privateKey     string

	resume            resumeFlag
	rollbackOnFailure bool
	forceHandlers     bool
	journalDir        string
	noJournal         bool
}

// newPlayFlagSet declares the playbook flags on a fresh FlagSet; short and
// long spellings share one variable.
func newPlayFlagSet(f *playFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("kplay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	str := func(p *string, value string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, value, "")
		}
	}
	boolean := func(p *bool, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, false, "")
		}
	}
	vars := func(v flag.Value, names ...string) {
		for _, n := range names {
			fs.Var(v, n, "")
		}
	}
	str(&f.inventory, "", "i", "inventory")
	vars(&f.extraVars, "e", "extra-vars")
	boolean(&f.check, "C", "check")
	boolean(&f.diff, "D", "diff")
	boolean(&f.listTasks, "list-tasks")
	boolean(&f.listHosts, "list-hosts")
	boolean(&f.listTags, "list-tags")
	boolean(&f.syntaxCheck, "syntax-check")
	str(&f.limit, "", "l", "limit")
	vars(&f.tags, "t", "tags")
	vars(&f.skipTags, "skip-tags")
	str(&f.startAt, "", "start-at-task")
	fs.IntVar(&f.forks, "f", 0, "")
	fs.IntVar(&f.forks, "forks", 0, "")
	vars(&f.verbosity, "v", "verbose")
	boolean(&f.json, "json")
	boolean(&f.noColor, "no-color")
	boolean(&f.noProgress, "no-progress")
	boolean(&f.version, "version")
	vars(&f.knownHosts, "known-hosts")
	boolean(&f.acceptNewKeys, "accept-new-host-keys")
	str(&f.sshConfig, "", "ssh-config")
	vars(&f.connectTimeout, "connect-timeout")
	vars(&f.taskTimeout, "task-timeout")
	vars(&f.sshKeepAlive, "ssh-keepalive")
	boolean(&f.askPass, "k", "ask-pass")
	boolean(&f.askBecomePass, "K", "ask-become-pass")
	str(&f.privateKey, "", "private-key")
	vars(&f.resume, "resume")
	boolean(&f.rollbackOnFailure, "rollback-on-failure")
	boolean(&f.forceHandlers, "force-handlers")
	str(&f.journalDir, "", "journal-dir")
	boolean(&f.noJournal, "no-journal")
	return fs
}

// errHelp is returned by parseArgs when -h/--help was given.
var errHelp = flag.ErrHelp

// parseCommand is parseArgs for the command named name ("" = the playbook
// command): --help prints usage to stdout and returns errHelp; a bad flag
// is a usage error pointing at the command's --help.
func parseCommand(fs *flag.FlagSet, args []string, name, usage string, stdout io.Writer) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err == errHelp {
		fmt.Fprint(stdout, usage)
		return nil, errHelp
	}
	if err != nil {
		if name == "" {
			return nil, usageErrorf("%v (see kplay --help)", err)
		}
		return nil, usageErrorf("%s: %v (see kplay %s --help)", name, err, name)
	}
	return pos, nil
}

// parseArgs parses flags placed anywhere among the positional arguments
// (kplay site.yaml -i hosts.yaml works like kplay -i hosts.yaml site.yaml)
// and returns the positional arguments in order. Everything after "--" is
// positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	args = expandShortCounts(args)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, withCode(exitUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return append(pos, tail...), nil
}

// expandShortCounts turns -vv and -vvv into repeated -v, as ansible-playbook
// accepts them.
func expandShortCounts(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] == 'v' && strings.Trim(a[1:], "v") == "" {
			for range len(a) - 1 {
				out = append(out, "-v")
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// listFlag is a repeatable string flag; values may also be comma-separated
// where splitComma is used by the caller.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// commaList splits every value of a repeatable flag on commas (-t a,b -t c).
func commaList(l listFlag) []string {
	var out []string
	for _, v := range l {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// countFlag counts how often a boolean flag is given (-v -v = 2).
type countFlag int

func (c *countFlag) String() string   { return strconv.Itoa(int(*c)) }
func (c *countFlag) IsBoolFlag() bool { return true }
func (c *countFlag) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want no value, got %q", s)
	}
	if b {
		*c++
	}
	return nil
}

// secondsFlag is a duration given in seconds ("10") or as a Go duration
// ("500ms").
type secondsFlag time.Duration

func (d *secondsFlag) String() string { return time.Duration(*d).String() }
func (d *secondsFlag) Set(s string) error {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("negative timeout %q", s)
		}
		*d = secondsFlag(n * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("want seconds or a duration like 500ms, got %q", s)
	}
	*d = secondsFlag(v)
	return nil
}
