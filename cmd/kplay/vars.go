package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kplay/kplay/engine"
	"go.yaml.in/yaml/v3"
)

const varsUsage = `Usage: kplay vars HOST [-i INVENTORY] [PLAYBOOK] [-e VARS] [--explain]

Prints the variables HOST sees: inventory, group_vars/, host_vars/, extra
vars and, with a PLAYBOOK, those of its first play that runs on HOST (play
vars, vars_files, its roles' defaults and vars). With --explain, each value
is followed by the source it came from.

Flags:
  -i, --inventory FILE     inventory (default ./hosts.yaml, else implicit localhost)
  -e, --extra-vars VARS    extra variables (repeatable)
      --explain            name the source of each value
  -h, --help               print this help
`

// runVars is `kplay vars HOST [PLAYBOOK]`.
func runVars(_ context.Context, args []string, stdout, stderr io.Writer) error {
	var inv string
	var extra listFlag
	var explain bool
	fs := flag.NewFlagSet("kplay vars", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&inv, "i", "", "")
	fs.StringVar(&inv, "inventory", "", "")
	fs.Var(&extra, "e", "")
	fs.Var(&extra, "extra-vars", "")
	fs.BoolVar(&explain, "explain", false, "")
	pos, err := parseArgs(fs, args)
	if err == errHelp {
		fmt.Fprint(stdout, varsUsage)
		return errHelp
	}
	if err != nil {
		return usageErrorf("vars: %v (see kplay vars --help)", err)
	}
	if len(pos) == 0 || len(pos) > 2 {
		return usageErrorf("vars: want HOST and at most one PLAYBOOK, got %d arguments (see kplay vars --help)", len(pos))
	}
	f := playFlags{inventory: inv, extraVars: extra}
	if err := applyConfig(&f, flagsSet(fs)); err != nil {
		return err
	}
	opts, err := f.options(pos[1:], stderr)
	if err != nil {
		return err
	}
	playbook := ""
	if len(pos) == 2 {
		playbook = pos[1]
	}
	vars, sources, err := engine.HostVars(*opts, pos[0], playbook)
	if err != nil {
		return classifyRunError(context.Background(), err)
	}
	return printVars(stdout, vars, sources, explain)
}

// printVars writes vars as YAML, or one "name: value  # source" line each.
func printVars(w io.Writer, vars map[string]any, sources map[string]string, explain bool) error {
	if !explain {
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(vars); err != nil {
			return fmt.Errorf("vars: render: %w", err)
		}
		return enc.Close()
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line := fmt.Sprintf("%s: %s", k, compactJSON(vars[k]))
		if src := sources[k]; src != "" {
			line += strings.Repeat(" ", max(2, 40-len(line))) + "# " + src
		}
		fmt.Fprintln(w, line)
	}
	return nil
}
