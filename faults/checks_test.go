package faults

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kplay/kplay/journal"
	"github.com/kplay/kplay/modules"
)

// absent stands for "no file" among the versions a path may have.
const absent = "<absent>"

// snapshot is the content of every file under a host's folder, by path
// relative to it; kplay's backups (*.kplay~) are left out, temp files kept
// (checkNoTemp looks for them).
type snapshot map[string]string

func snap(t testing.TB, root string) snapshot {
	t.Helper()
	s := snapshot{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".kplay~") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		s[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	return s
}

func (f *fleet) snapAll(t testing.TB) map[string]snapshot {
	t.Helper()
	out := map[string]snapshot{}
	for _, h := range f.names {
		root := f.roots[h]
		if f.local != nil {
			root = f.local[h]
		}
		out[h] = snap(t, root)
	}
	return out
}

func (s snapshot) get(rel string) string {
	if v, ok := s[rel]; ok {
		return v
	}
	return absent
}

// checkVersion fails unless the host's file is one of versions (absent
// for no file): a partial or mixed file is never acceptable.
func checkVersion(t testing.TB, s snapshot, host, rel string, versions ...string) {
	t.Helper()
	got := s.get(rel)
	for _, v := range versions {
		if got == v {
			return
		}
	}
	t.Errorf("%s:%s is neither of its versions: %d bytes %q", host, rel, len(got), short(got))
}

// checkNoTemp fails on any .kplay-*.tmp left on a host.
func checkNoTemp(t testing.TB, snaps map[string]snapshot) int {
	t.Helper()
	n := 0
	for h, s := range snaps {
		for rel := range s {
			n++
			if b := filepath.Base(rel); strings.Contains(b, ".kplay-") && strings.HasSuffix(b, ".tmp") {
				t.Errorf("%s: temp file %s left behind", h, rel)
			}
		}
	}
	return n
}

// changedFiles lists, per host, the files whose content differs between
// two snapshots (created, modified or removed).
func changedFiles(before, after map[string]snapshot) map[string][]string {
	out := map[string][]string{}
	for h, a := range after {
		b := before[h]
		seen := map[string]bool{}
		for rel, v := range a {
			seen[rel] = true
			if b.get(rel) != v {
				out[h] = append(out[h], rel)
			}
		}
		for rel := range b {
			if !seen[rel] {
				out[h] = append(out[h], rel)
			}
		}
		sort.Strings(out[h])
	}
	return out
}

// journaledFiles lists, per host, the files the journal entries say were
// changed, relative to the host's folder.
func (f *fleet) journaledFiles(entries []journal.Entry) map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, e := range entries {
		for _, c := range e.Changes {
			if c.Kind != modules.KindFile || c.Action == "attrs" {
				continue
			}
			rel, err := filepath.Rel(f.roots[e.Host], c.Path)
			if err != nil || seen[e.Host+"\x00"+rel] {
				continue
			}
			seen[e.Host+"\x00"+rel] = true
			out[e.Host] = append(out[e.Host], rel)
		}
	}
	for h := range out {
		sort.Strings(out[h])
	}
	return out
}

// checkJournal fails unless the journal names exactly the files that
// changed on the hosts; it returns how many it compared.
func (f *fleet) checkJournal(t testing.TB, entries []journal.Entry, before, after map[string]snapshot) int {
	t.Helper()
	changed, journaled := changedFiles(before, after), f.journaledFiles(entries)
	n := 0
	for _, h := range f.names {
		c, j := changed[h], journaled[h]
		n += len(c)
		if strings.Join(c, ",") != strings.Join(j, ",") {
			t.Errorf("%s: files changed %v, journal says %v", h, c, j)
		}
	}
	return n
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
