package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/kplay/kplay/journal"
)

// snapshotTrees are the embedded trees a run's snapshot holds, by the top
// folder they get in it.
func snapshotTrees(opts Options) map[string]fs.FS {
	return map[string]fs.FS{"roles": opts.RolesFS, "playbooks": opts.PlaybooksFS}
}

// saveSnapshot saves the embedded roles and playbooks opts runs with in
// the journal folder (once per content) and returns the snapshot's hash.
func saveSnapshot(opts Options) (string, error) {
	return journal.WriteSnapshot(opts.JournalDir, snapshotTrees(opts))
}

// useRunSnapshot points ro's embedded roles and playbooks at the snapshot
// of those the run (meta) used, so that its roles' rollback tasks are
// loaded and run as that kplay had them, not as this one has them. A run
// journaled before snapshots existed keeps this kplay's, silently; one
// whose snapshot is gone or corrupted keeps them with a warning. It
// returns the hash of the snapshot now in use ("" when none).
func useRunSnapshot(ro *RollbackOptions, meta journal.Meta, warn func(string)) string {
	hash := meta.EmbeddedSnapshot
	if hash == "" {
		return ""
	}
	snap, err := journal.ReadSnapshot(ro.JournalDir, hash)
	if err != nil {
		state := "is unreadable (" + err.Error() + ")"
		if errors.Is(err, fs.ErrNotExist) {
			state = "is missing"
		}
		warn(fmt.Sprintf("the run's roles snapshot %s %s: using this kplay's embedded roles", hash, state))
		return ""
	}
	ro.RolesFS, ro.PlaybooksFS = subTree(snap, "roles"), subTree(snap, "playbooks")
	return hash
}

// subTree is the folder top of fsys as a file system of its own, nil
// when fsys has no such folder (the run had no such embedded tree).
func subTree(fsys fs.FS, top string) fs.FS {
	if st, err := fs.Stat(fsys, top); err != nil || !st.IsDir() {
		return nil
	}
	sub, err := fs.Sub(fsys, top)
	if err != nil {
		return nil
	}
	return sub
}

// rollbackSnapshot decides the snapshot a rollback records in its own
// meta, so that rolling the rollback back runs the same roles: the run's
// when it loaded, else (none, missing, corrupted) one of this kplay's
// embedded trees, which the rollback's tasks then use. A --files-only
// rollback, or one of a run that changed nothing from a role, runs no
// role task: it passes the run's on unread.
func rollbackSnapshot(ro *RollbackOptions, meta journal.Meta, entries []journal.Entry, warn func(string)) (string, error) {
	if ro.FilesOnly || !slices.ContainsFunc(entries, func(e journal.Entry) bool { return e.Role != "" && len(e.Changes) > 0 }) {
		return meta.EmbeddedSnapshot, nil
	}
	if hash := useRunSnapshot(ro, meta, warn); hash != "" || ro.Check {
		return hash, nil
	}
	return saveSnapshot(ro.Options)
}
