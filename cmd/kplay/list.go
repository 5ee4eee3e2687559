package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/kplay/kplay/engine"
)

// listPlaybooks serves --syntax-check, --list-tasks, --list-hosts and
// --list-tags: it loads and validates the playbooks and prints them as
// ansible-playbook does, touching no host.
func listPlaybooks(f *playFlags, opts *engine.Options, w io.Writer) error {
	for _, path := range opts.Playbooks {
		pb, err := engine.LoadPlaybook(path, loadOptions(opts))
		if err != nil {
			return withCode(exitParse, err)
		}
		fmt.Fprintf(w, "\nplaybook: %s\n", path)
		if f.syntaxCheck && !f.listTasks && !f.listHosts && !f.listTags {
			continue
		}
		for i, p := range pb.Plays {
			if err := listPlay(f, opts, w, i+1, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadOptions are the loader settings a run uses: embedded content, and
// role overrides in the inventory's folder.
func loadOptions(opts *engine.Options) engine.LoadOptions {
	lo := engine.LoadOptions{RolesFS: opts.RolesFS, PlaybooksFS: opts.PlaybooksFS, RolePaths: opts.RolePaths}
	if opts.Inventory != nil && opts.Inventory.Dir != "" {
		lo.OverrideDir = opts.Inventory.Dir
	}
	return lo
}

func listPlay(f *playFlags, opts *engine.Options, w io.Writer, n int, p *engine.Play) error {
	name := p.Name
	if name == "" {
		name = p.Hosts
	}
	fmt.Fprintf(w, "\n  play #%d (%s): %s\tTAGS: [%s]\n", n, p.Hosts, name, strings.Join(p.Tags, ", "))
	if f.listHosts {
		hosts, err := playHosts(opts, p.Hosts)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "    pattern: ['%s']\n    hosts (%d):\n", p.Hosts, len(hosts))
		for _, h := range hosts {
			fmt.Fprintf(w, "      %s\n", h)
		}
	}
	tasks := selectedTasks(p, commaList(f.tags), commaList(f.skipTags))
	if f.listTasks {
		fmt.Fprintf(w, "    tasks:\n")
		for _, t := range tasks {
			fmt.Fprintf(w, "      %s\tTAGS: [%s]\n", t.DisplayName(), strings.Join(taskTags(p, t), ", "))
		}
	}
	if f.listTags {
		if len(f.tags) == 0 && len(f.skipTags) == 0 {
			// All tags a user may ask for, "never" ones included.
			tasks = selectedTasks(p, []string{"all", "never"}, nil)
		}
		var all []string
		for _, t := range tasks {
			all = append(all, taskTags(p, t)...)
		}
		fmt.Fprintf(w, "      TASK TAGS: [%s]\n", strings.Join(uniqueSorted(all), ", "))
	}
	return nil
}

// playHosts are the hosts a play would run on: its pattern, narrowed by
// --limit.
func playHosts(opts *engine.Options, pattern string) ([]string, error) {
	hosts, err := opts.Inventory.Match(pattern)
	if err != nil {
		return nil, withCode(exitParse, fmt.Errorf("play hosts %q: %w", pattern, err))
	}
	if opts.Limit == "" {
		return hosts, nil
	}
	sel, err := opts.Inventory.Limit(hosts, opts.Limit)
	if err != nil {
		return nil, usageErrorf("--limit %q: %w", opts.Limit, err)
	}
	return sel.Hosts, nil
}

// selectedTasks flattens a play's tasks (blocks open, in order) and keeps
// those --tags and --skip-tags select, as a run would.
func selectedTasks(p *engine.Play, only, skip []string) []*engine.Task {
	var out []*engine.Task
	var walk func([]*engine.Task)
	walk = func(ts []*engine.Task) {
		for _, t := range ts {
			if t.IsBlock() {
				walk(t.Block)
				walk(t.Rescue)
				walk(t.Always)
				continue
			}
			if tagsSelect(taskTags(p, t), only, skip) {
				out = append(out, t)
			}
		}
	}
	walk(p.PreTasks)
	walk(p.Tasks)
	walk(p.PostTasks)
	return out
}

// taskTags are a task's tags with its play's, sorted.
func taskTags(p *engine.Play, t *engine.Task) []string {
	return uniqueSorted(append(append([]string(nil), p.Tags...), t.Tags...))
}

// tagsSelect applies Ansible's tag rules: "always" runs unless skipped by
// name, "never" only when asked for by name, --skip-tags wins.
func tagsSelect(tags, only, skip []string) bool {
	has := func(list []string, s string) bool { return slices.Contains(list, s) }
	for _, s := range skip {
		if has(tags, s) || (s == "all" && !has(tags, "always")) {
			return false
		}
	}
	if len(only) == 0 || has(only, "all") {
		return !has(tags, "never") || has(only, "never")
	}
	if has(tags, "always") {
		return true
	}
	for _, o := range only {
		switch {
		case o == "tagged" && len(tags) > 0, o == "untagged" && len(tags) == 0, has(tags, o):
			return true
		}
	}
	return false
}

func uniqueSorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}
