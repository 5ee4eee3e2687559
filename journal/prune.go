package journal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/shell"
)

// prunedFile lists, one JSON line per run, the runs Prune deleted, so that
// a later rollback or resume of one says it was pruned rather than "no
// such file".
const prunedFile = ".pruned.jsonl"

// Tombstone is what remains of a pruned run.
type Tombstone struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Start   time.Time `json:"start"`
	Changes int       `json:"changes"`
	Pruned  time.Time `json:"pruned"`
}

// PrunedError is returned by Read (and so by rollback and resume) for a run
// that Prune deleted.
type PrunedError struct{ Tombstone }

func (e *PrunedError) Error() string {
	return fmt.Sprintf("run %s was pruned on %s (kplay runs prune): its journal and the backups it made on the hosts are gone, so it cannot be rolled back or resumed",
		e.ID, e.Pruned.Local().Format("2006-01-02 15:04:05"))
}

// pruned returns the tombstone of id, if Prune deleted it.
func pruned(root, id string) (Tombstone, bool) {
	f, err := os.Open(filepath.Join(root, prunedFile))
	if err != nil {
		return Tombstone{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var t Tombstone
		if json.Unmarshal(sc.Bytes(), &t) == nil && t.ID == id {
			return t, true
		}
	}
	return Tombstone{}, false
}

// PruneRun is one run Prune deletes: its meta and, per host, the backup
// files it left there (file backups `*.kplay~`, folder archives, and a
// rollback's folder under /var/tmp/kplay-rollback).
type PruneRun struct {
	Meta    Meta
	Backups map[string][]string
}

// PrunePlan says which runs go and which older ones stay, and why.
type PrunePlan struct {
	Delete []PruneRun
	// Kept maps an old run that stays to the reason (still running, or a
	// kept run resumed it so rollback needs its entries).
	Kept map[string]string
}

// PlanPrune keeps the keep newest runs (of any kind) and plans to delete
// the rest, except runs still marked running (a crashed run may still be
// resumed or rolled back; prune it once it is finished or rolled back)
// and runs that a kept run continued with --resume.
func PlanPrune(root string, keep int) (PrunePlan, error) {
	if keep < 0 {
		return PrunePlan{}, fmt.Errorf("prune: keep %d: want 0 or more", keep)
	}
	metas, err := List(root)
	if err != nil {
		return PrunePlan{}, err
	}
	plan := PrunePlan{Kept: map[string]string{}}
	needed := map[string]string{}
	for i, m := range metas {
		if i < keep || needed[m.ID] != "" {
			for prev := m.ResumeOf; prev != "" && needed[prev] == ""; {
				needed[prev] = m.ID
				pm, _, err := Read(root, prev)
				if err != nil {
					break
				}
				prev = pm.ResumeOf
			}
			if i >= keep {
				plan.Kept[m.ID] = "resumed by kept run " + needed[m.ID]
			}
			continue
		}
		if m.ID != filepath.Base(m.ID) || strings.HasPrefix(m.ID, ".") {
			plan.Kept[m.ID] = "its meta.json names no run folder"
			continue
		}
		if m.Status == StatusRunning {
			plan.Kept[m.ID] = "still marked running (resume, roll back or finish it first)"
			continue
		}
		_, entries, err := Read(root, m.ID)
		if err != nil {
			return plan, err
		}
		plan.Delete = append(plan.Delete, PruneRun{Meta: m, Backups: backupsOf(m, entries)})
	}
	spareShared(root, metas, plan)
	return plan, nil
}

// spareShared drops from the plan the backups a run that stays also
// points at (a backup belongs to one run, but a journal copied or edited
// by hand may share one).
func spareShared(root string, metas []Meta, plan PrunePlan) {
	going := map[string]bool{}
	for _, r := range plan.Delete {
		going[r.Meta.ID] = true
	}
	used := map[string]bool{}
	for _, m := range metas {
		if going[m.ID] {
			continue
		}
		_, entries, err := Read(root, m.ID)
		if err != nil {
			continue
		}
		for _, e := range entries {
			for _, c := range e.Changes {
				used[e.Target()+"\x00"+c.Backup] = true
			}
		}
	}
	for _, r := range plan.Delete {
		for h, bs := range r.Backups {
			kept := bs[:0]
			for _, b := range bs {
				if !used[h+"\x00"+b] {
					kept = append(kept, b)
				}
			}
			r.Backups[h] = kept
		}
	}
}

// backupsOf lists, per host, the backups a run's changes point at. Only
// names kplay makes are listed, so a journal edited by hand cannot make
// prune delete anything else.
func backupsOf(m Meta, entries []Entry) map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, e := range entries {
		h := e.Target() // a delegated task's backups are on its delegate
		for _, c := range e.Changes {
			b := c.Backup
			if b == "" || seen[h+"\x00"+b] || !ownBackup(m, b) {
				continue
			}
			seen[h+"\x00"+b] = true
			out[h] = append(out[h], b)
		}
	}
	for _, bs := range out {
		sort.Strings(bs)
	}
	return out
}

// ownBackup tells whether p is a backup kplay made: a clean path (a
// relative one is where the module wrote it, from the login folder, where
// prune's command runs too) without "..", whose name holds ".kplay~"
// (x.<time>.kplay~, x.<time>.N.kplay~, a folder's x.<time>.kplay~.tar),
// or a file under the rollback's own folder.
func ownBackup(m Meta, p string) bool {
	if path.Clean(p) != p || p == ".kplay~" || slices.Contains(strings.Split(p, "/"), "..") {
		return false
	}
	if m.Kind == "rollback" && strings.HasPrefix(p, rollbackRoot+m.ID+"/") {
		return true
	}
	return strings.Contains(path.Base(p), ".kplay~")
}

// rollbackRoot is where a rollback keeps what it replaced on each host.
const rollbackRoot = "/var/tmp/kplay-rollback/"

// PruneOptions configures Prune.
type PruneOptions struct {
	// Conn reaches a host to delete its backups.
	Conn func(host string) (modules.Conn, error)
	// Report is called once per run and host, after its backups went.
	Report func(run, host string, n int, err error)
	// Now stamps the tombstones (time.Now when nil).
	Now func() time.Time
}

// Prune deletes the plan's runs: first each run's backups on its hosts,
// then, only when every host answered, the run's folder (a tombstone is
// written first). A run with a host that could not be reached stays whole
// and is reported; prune it again later. Then the snapshots of embedded
// roles no remaining run references go (PruneSnapshots). It returns the
// ids deleted.
func Prune(ctx context.Context, root string, plan PrunePlan, opts PruneOptions) ([]string, error) {
	var done []string
	var errs []error
	for _, r := range plan.Delete {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		if err := pruneHosts(ctx, r, opts); err != nil {
			errs = append(errs, fmt.Errorf("run %s kept: %w", r.Meta.ID, err))
			continue
		}
		if err := bury(root, r.Meta, opts.now()); err != nil {
			return done, err
		}
		if err := os.RemoveAll(filepath.Join(root, r.Meta.ID)); err != nil {
			return done, fmt.Errorf("prune: remove run %s: %w", r.Meta.ID, err)
		}
		done = append(done, r.Meta.ID)
	}
	if _, err := PruneSnapshots(root, opts.now()); err != nil {
		errs = append(errs, err)
	}
	return done, errors.Join(errs...)
}

func (o PruneOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// pruneHosts deletes one run's backups, host by host.
func pruneHosts(ctx context.Context, r PruneRun, opts PruneOptions) error {
	hosts := make([]string, 0, len(r.Backups))
	for h := range r.Backups {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var errs []error
	for _, h := range hosts {
		err := removeBackups(ctx, h, r.Backups[h], opts)
		if opts.Report != nil {
			opts.Report(r.Meta.ID, h, len(r.Backups[h]), err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h, err))
		}
	}
	return errors.Join(errs...)
}

// removeBackups deletes files on one host in one round trip; a backup
// already gone is fine. A rollback's emptied folders go too.
func removeBackups(ctx context.Context, host string, paths []string, opts PruneOptions) error {
	conn, err := opts.Conn(host)
	if err != nil {
		return err
	}
	cmd := "rm -f -- " + shell.Join(paths...)
	for _, p := range paths {
		if strings.HasPrefix(p, rollbackRoot) {
			id := strings.SplitN(strings.TrimPrefix(p, rollbackRoot), "/", 2)[0]
			cmd += "\nfind " + shell.Quote(rollbackRoot+id) + " -depth -type d -empty -delete 2>/dev/null; true"
			break
		}
	}
	var errb strings.Builder
	if err := conn.Exec(ctx, cmd, nil, nil, &errb); err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return fmt.Errorf("remove backups: %s: %w", msg, err)
		}
		return fmt.Errorf("remove backups: %w", err)
	}
	return nil
}

// bury appends the run's tombstone (0600, fsync-ed).
func bury(root string, m Meta, now time.Time) error {
	line, err := json.Marshal(Tombstone{ID: m.ID, Kind: m.Kind, Start: m.Start, Changes: m.Changes, Pruned: now})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(root, prunedFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("prune: write %s: %w", prunedFile, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("prune: sync %s: %w", prunedFile, err)
	}
	return f.Close()
}
