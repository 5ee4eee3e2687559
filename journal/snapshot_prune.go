package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// snapshotGrace spares a snapshot (or a temporary file) touched this
// recently: a run that has just written or reused it may not have its
// meta.json yet.
const snapshotGrace = time.Hour

// PruneSnapshots deletes the snapshots under root/snapshots that no run
// left under root references (Meta.EmbeddedSnapshot), and temporary files
// a crashed write left there, except those touched within the last hour.
// It returns the hashes deleted. Prune calls it once the runs are gone.
func PruneSnapshots(root string, now time.Time) ([]string, error) {
	dir := filepath.Join(root, SnapshotDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prune: snapshots: %w", err)
	}
	used, err := usedSnapshots(root)
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	for _, e := range ents {
		name := e.Name()
		hash, isSnap := strings.CutSuffix(name, ".tar.gz")
		isSnap = isSnap && isHash(hash)
		if !e.Type().IsRegular() || (isSnap && used[hash]) || (!isSnap && !strings.HasPrefix(name, ".tmp-")) {
			continue
		}
		if info, err := e.Info(); err != nil || now.Sub(info.ModTime()) < snapshotGrace {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("prune: snapshot %s: %w", name, err))
			continue
		}
		if isSnap {
			done = append(done, hash)
		}
	}
	return done, errors.Join(errs...)
}

// usedSnapshots are the snapshots the runs under root reference, read
// from each run's meta.json (a folder without one, or with one that does
// not parse, names none; one that cannot be read stops the prune).
func usedSnapshots(root string) (map[string]bool, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("prune: snapshots: %w", err)
	}
	used := map[string]bool{}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || e.Name() == SnapshotDir {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, e.Name(), "meta.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("prune: snapshots: run %s: %w", e.Name(), err)
		}
		var m Meta
		if json.Unmarshal(data, &m) == nil && m.EmbeddedSnapshot != "" {
			used[m.EmbeddedSnapshot] = true
		}
	}
	return used, nil
}
