package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/modules"
)

const pruneUsage = `Usage: kplay runs prune --keep N [-i INVENTORY] [--journal-dir DIR] [--check] [SSH flags]

Deletes all but the N newest journaled runs, together with the backups
those runs left on the hosts (the *.kplay~ files the journal names, and a
rollback's /var/tmp/kplay-rollback/<id> folder). A pruned run cannot be
rolled back or resumed any more: kplay rollback ID then says it was pruned.

Kept whatever N says: a run still marked running (crashed or in progress),
a run that a kept run continued with --resume (rolling back the kept one
needs it), and any run whose hosts could not all be reached to delete its
backups (prune again later). Backups that a kept run also points at stay.

Flags:
      --keep N             how many of the newest runs to keep (required)
  -C, --check              list what would be deleted, delete nothing
  -i, --inventory FILE     inventory (default ./hosts.yaml), to reach the hosts
      --journal-dir DIR    the journal folder (default .kplay/runs next to the inventory)
      --known-hosts FILE, --accept-new-host-keys, --ssh-config FILE,
      --connect-timeout S, --private-key FILE, -k, -K: as for a run
  -h, --help               print this help
`

// runPrune is `kplay runs prune --keep N`.
func runPrune(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f playFlags
	fset := newPlayFlagSet(&f)
	keep := fset.Int("keep", -1, "")
	pos, err := parseCommand(fset, args, "runs prune", pruneUsage, stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("runs prune: unexpected argument %q", pos[0])
	}
	if *keep < 0 {
		return usageErrorf("runs prune: --keep N is required (the number of newest runs to keep)")
	}
	if err := applyConfig(&f, flagsSet(fset)); err != nil {
		return err
	}
	opts, err := f.options(nil, stderr)
	if err != nil {
		return err
	}
	dir := journalDirFor(f.journalDir, opts.Inventory.Dir)
	plan, err := journal.PlanPrune(dir, *keep)
	if err != nil {
		return err
	}
	printPrunePlan(stdout, plan, f.check)
	if f.check {
		return nil
	}
	if len(plan.Delete) == 0 {
		// no run to delete: still drop the snapshots no run names
		gone, err := journal.PruneSnapshots(dir, time.Now())
		if len(gone) > 0 {
			fmt.Fprintf(stdout, "removed %d roles snapshots no run names\n", len(gone))
		}
		if err != nil {
			return fmt.Errorf("runs prune: %w", err)
		}
		return nil
	}
	if _, err := f.askPasswords(stdin, stderr, opts); err != nil {
		return err
	}
	cs := engine.NewConnections(*opts)
	defer cs.Close()
	done, err := journal.Prune(ctx, dir, plan, journal.PruneOptions{
		Conn: func(host string) (modules.Conn, error) { return cs.Conn(host) },
		Report: func(run, host string, n int, err error) {
			if err != nil {
				fmt.Fprintf(stdout, "[%s] run %s: %d backups: failed: %v\n", host, run, n, err)
				return
			}
			fmt.Fprintf(stdout, "[%s] run %s: %d backups removed\n", host, run, n)
		},
	})
	fmt.Fprintf(stdout, "\npruned %d of %d runs\n", len(done), len(plan.Delete))
	if err != nil {
		return fmt.Errorf("runs prune: %w", err)
	}
	return nil
}

// printPrunePlan lists the runs to delete and the older runs kept.
func printPrunePlan(w io.Writer, plan journal.PrunePlan, check bool) {
	verb := "delete"
	if check {
		verb = "would delete"
	}
	if len(plan.Delete) == 0 {
		fmt.Fprintln(w, "nothing to prune")
	}
	for _, r := range plan.Delete {
		n := 0
		for _, bs := range r.Backups {
			n += len(bs)
		}
		fmt.Fprintf(w, "%s run %s (%s %s, %s, %d changes; %d backups on %d hosts)\n", verb, r.Meta.ID, r.Meta.Kind,
			r.Meta.Status, r.Meta.Start.Local().Format(time.DateTime), r.Meta.Changes, n, len(r.Backups))
	}
	ids := make([]string, 0, len(plan.Kept))
	for id := range plan.Kept {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(w, "keep run %s: %s\n", id, strings.TrimSpace(plan.Kept[id]))
	}
}
