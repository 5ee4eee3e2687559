package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/playbooks"
	"github.com/kplay/kplay/roles"
	"github.com/kplay/kplay/transport"
)

// runPlaybooks is `kplay [flags] PLAYBOOK...`.
func runPlaybooks(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f playFlags
	fset := newPlayFlagSet(&f)
	pos, err := parseCommand(fset, args, "", usageText, stdout)
	if err != nil {
		return err
	}
	if err := applyConfig(&f, flagsSet(fset)); err != nil { // ./kplay.yaml; flags override it
		return err
	}
	if f.version {
		printVersion(stdout)
		return nil
	}
	if err := f.validate(pos); err != nil {
		return err
	}
	pos = f.takeResumeID(pos)
	opts, err := f.options(pos, stderr)
	if err != nil {
		return err
	}
	if err := f.applyJournal(opts, args); err != nil {
		return err
	}
	if f.listMode() {
		return listPlaybooks(&f, opts, stdout)
	}
	secrets, err := f.askPasswords(stdin, stderr, opts)
	if err != nil {
		return err
	}
	colored := !f.noColor && !f.json && colorWanted(stdout)
	terminal := stdout
	stdout, stderr = maskSecrets(stdout, secrets...), maskSecrets(stderr, secrets...)
	text := newTextSink(stdout, stderr, int(f.verbosity), f.diff, colored)
	opts.Sink = text
	if f.json {
		opts.Sink = newJSONSink(stdout, stderr)
	}
	live := startBoard(&f, opts, terminal, text)
	rep, err := engine.Run(ctx, *opts)
	live.Close()
	if err != nil {
		return classifyRunError(ctx, err)
	}
	if !f.json {
		text.failureSummary(rep.Failed, rep.Unreachable)
		fmt.Fprintf(stdout, "\nTotal time: %s\n", rep.Duration.Round(time.Millisecond))
	}
	if code := rep.ExitCode(); code != exitOK {
		return withCode(code, errSilent)
	}
	return nil
}

// errSilent ends kplay with a code when the output already told why.
var errSilent = errors.New("")

// validate checks what the flag package cannot.
func (f *playFlags) validate(pos []string) error {
	if len(pos) == 0 {
		return usageErrorf("no playbook given (usage: kplay -i INVENTORY PLAYBOOK...; see kplay --help)")
	}
	if f.forks < 0 {
		return usageErrorf("-f/--forks must be 0 (all hosts) or more, got %d", f.forks)
	}
	if f.json && f.listMode() {
		return usageErrorf("--json cannot be combined with --list-tasks, --list-hosts, --list-tags or --syntax-check")
	}
	return nil
}

// listMode reports whether a flag asks to look at the playbooks only.
func (f *playFlags) listMode() bool {
	return f.listTasks || f.listHosts || f.listTags || f.syntaxCheck
}

// options turns the flags into engine options, loading the inventory and
// the extra vars.
func (f *playFlags) options(playbookArgs []string, stderr io.Writer) (*engine.Options, error) {
	extra, err := parseExtraVars(f.extraVars)
	if err != nil {
		return nil, err
	}
	inv, err := loadInventory(f.inventory, stderr)
	if err != nil {
		return nil, err
	}
	if f.privateKey != "" {
		if _, err := os.Stat(f.privateKey); err != nil {
			return nil, usageErrorf("--private-key: %w", err)
		}
		setDefaultHostVar(inv, "--private-key", keyFileVars, f.privateKey)
	}
	if f.limit != "" {
		// Checked here so that a malformed --limit is a bad option (exit 5)
		// before anything runs, not an empty selection.
		if _, err := inv.Limit(inv.Order, f.limit); err != nil {
			return nil, usageErrorf("--limit %q: %w", f.limit, err)
		}
	}
	mode := transport.HostKeyStrict
	if f.acceptNewKeys {
		mode = transport.HostKeyAcceptNew
	}
	return &engine.Options{
		Inventory:   inv,
		Playbooks:   playbookArgs,
		ExtraVars:   extra,
		Check:       f.check,
		Diff:        f.diff,
		Limit:       f.limit,
		Tags:        commaList(f.tags),
		SkipTags:    commaList(f.skipTags),
		StartAtTask: f.startAt,
		Forks:       f.forks,
		Verbosity:   int(f.verbosity),
		TaskTimeout: time.Duration(f.taskTimeout),
		SSH: transport.Options{
			KnownHosts:        append(append([]string(nil), f.knownHosts...), inventoryKnownHosts(inv)...),
			HostKeyMode:       mode,
			SSHConfigFile:     f.sshConfig,
			ConnectTimeout:    time.Duration(f.connectTimeout),
			KeepAliveInterval: time.Duration(f.sshKeepAlive),
		},
		RolesFS:     roles.FS,
		PlaybooksFS: playbooks.FS,
	}, nil
}

// classifyRunError gives an error from engine.Run its exit code.
func classifyRunError(ctx context.Context, err error) error {
	var le *engine.LoadError
	var oe *engine.OptionsError
	switch {
	case errors.As(err, &le):
		return withCode(exitParse, err)
	case errors.As(err, &oe):
		return withCode(exitUsage, err)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return withCode(exitInterrupted, fmt.Errorf("interrupted"))
	}
	return withCode(exitError, err)
}
