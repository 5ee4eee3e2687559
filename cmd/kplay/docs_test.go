package main

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/kplay/kplay/lab"
)

// TestDocsListEveryFlag checks that docs/cli.md names every flag of every
// kplay command, so that the help and the docs cannot drift apart: the
// flag sets of a run (also used by runs and rollback), init and roles are
// read directly; vars declares its flags inline, so they are taken from
// its help; lab's from `kplay lab CMD -h`.
func TestDocsListEveryFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string][]string{} // flag -> commands defining it
	add := func(cmd string, names ...string) {
		for _, n := range names {
			flags[n] = append(flags[n], cmd)
		}
	}
	add("kplay", flagNames(newPlayFlagSet(&playFlags{}))...)
	add("kplay rollback", flagNames(newRollbackFlagSet(&playFlags{}, &rollbackFlags{}))...)
	add("kplay init", flagNames(newInitFlagSet(&initFlags{}))...)
	add("kplay roles", flagNames(newRolesFlagSet(&rolesFlags{}))...)
	add("kplay vars", helpFlags(varsUsage)...)
	for _, cmd := range []string{"up", "down", "base", "status"} {
		var out bytes.Buffer
		lab.Main(t.Context(), []string{cmd, "-h"}, &out, &out)
		names := labFlags(out.String())
		if len(names) == 0 {
			t.Fatalf("kplay lab %s -h listed no flags:\n%s", cmd, out.String())
		}
		add("kplay lab "+cmd, names...)
	}
	if len(flags) < 30 {
		t.Fatalf("found only %d flags; the flag sets were not read", len(flags))
	}
	var missing []string
	for name, cmds := range flags {
		if !docMentions(string(doc), name) {
			missing = append(missing, flagSpelling(name)+" (of "+strings.Join(cmds, ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("docs/cli.md does not mention %s", m)
	}
}

// TestDocsListEveryCommand checks that docs/cli.md has a section for every
// command kplay --help lists.
func TestDocsListEveryCommand(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile(`(?m)^  kplay ([a-z]+)`).FindAllStringSubmatch(usageText, -1)
	if len(cmds) < 3 {
		t.Fatalf("kplay --help lists %d commands; the help was not read", len(cmds))
	}
	for _, m := range cmds {
		if !regexp.MustCompile("(?m)^## `kplay " + m[1] + "\\b").Match(doc) {
			t.Errorf("docs/cli.md has no section \"## `kplay %s ...`\"", m[1])
		}
	}
}

// TestDocsHelpFlags checks the checker: help text parsing finds short and
// long flags, and a flag is "mentioned" only as a whole word.
func TestDocsHelpFlags(t *testing.T) {
	got := helpFlags("  -i, --inventory FILE   x\n      --explain   y\n  -h, --help\n")
	if want := []string{"i", "inventory", "explain", "h", "help"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("helpFlags = %q, want %q", got, want)
	}
	tests := []struct {
		doc, name string
		want      bool
	}{
		{"| `-i`, `--inventory FILE` |", "i", true},
		{"| `-i`, `--inventory FILE` |", "inventory", true},
		{"--inventory-file", "inventory", false},
		{"-in", "i", false},
		{"`--resume[=ID]`", "resume", true},
		{"use -k or -K", "K", true},
		{"use -k", "K", false},
	}
	for _, tt := range tests {
		if got := docMentions(tt.doc, tt.name); got != tt.want {
			t.Errorf("docMentions(%q, %q) = %v, want %v", tt.doc, tt.name, got, tt.want)
		}
	}
}

func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

var helpFlagRe = regexp.MustCompile(`(?m)^\s+(?:-(\w), )?--([\w-]+)|^\s+-(\w)\b`)

// helpFlags returns the flags a help text lists in its flag table.
func helpFlags(help string) []string {
	var names []string
	for _, m := range helpFlagRe.FindAllStringSubmatch(help, -1) {
		for _, n := range m[1:] {
			if n != "" {
				names = append(names, n)
			}
		}
	}
	return names
}

var labFlagRe = regexp.MustCompile(`(?m)^  -([\w-]+)`)

// labFlags reads the flag package's PrintDefaults output.
func labFlags(out string) []string {
	var names []string
	for _, m := range labFlagRe.FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	return names
}

// flagSpelling is how a flag is written: -x or --long.
func flagSpelling(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// docMentions reports whether doc has the flag as a whole word.
func docMentions(doc, name string) bool {
	re := regexp.MustCompile(`(^|[^\w-])` + regexp.QuoteMeta(flagSpelling(name)) + `($|[^\w-])`)
	return re.MatchString(doc)
}
