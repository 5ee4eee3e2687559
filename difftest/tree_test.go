package difftest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// entry is what the comparison sees of one path: its kind (d, f, l), its
// permission bits and its content or link target.
type entry struct {
	kind byte
	mode fs.FileMode
	data string
}

func (e entry) String() string {
	if e.kind == 'l' {
		return fmt.Sprintf("link -> %q", e.data)
	}
	if e.kind == 'd' {
		return fmt.Sprintf("dir %04o", e.mode)
	}
	return fmt.Sprintf("file %04o %q", e.mode, shorten(e.data))
}

func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// snapshot is a tree read back: every path but backups, and the backups
// grouped by the file they back up (their contents, sorted).
type snapshot struct {
	paths   map[string]entry
	backups map[string][]string
	raw     map[string]entry // every path, backups under their real names
}

// Backup names: kplay's <file>.<UTC stamp>.kplay~ (.N when taken, .tar for
// an archived folder) and Ansible's <file>.<pid>.<date@time>~.
var (
	kplayBackup   = regexp.MustCompile(`^(.+)\.\d{8}T\d{6}Z(\.\d+)?\.kplay~(\.tar)?$`)
	ansibleBackup = regexp.MustCompile(`^(.+)\.\d+\.\d{4}-\d{2}-\d{2}@\d{2}:\d{2}:\d{2}~$`)
)

// backupOf returns the path a backup name belongs to, or "" if rel is not
// a backup.
func backupOf(rel string) string {
	for _, re := range []*regexp.Regexp{kplayBackup, ansibleBackup} {
		if m := re.FindStringSubmatch(rel); m != nil {
			return m[1]
		}
	}
	return ""
}

// readSnapshot walks root.
func readSnapshot(root string) (snapshot, error) {
	s := snapshot{paths: map[string]entry{}, backups: map[string][]string{}, raw: map[string]entry{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{mode: info.Mode().Perm() | info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)}
		switch {
		case info.IsDir():
			e.kind = 'd'
		case info.Mode()&fs.ModeSymlink != 0:
			e.kind, e.mode = 'l', 0
			e.data, err = os.Readlink(p)
		case info.Mode().IsRegular():
			e.kind = 'f'
			var b []byte
			b, err = os.ReadFile(p)
			e.data = string(b)
		default:
			e.kind = '?'
		}
		if err != nil {
			return err
		}
		s.raw[rel] = e
		if orig := backupOf(rel); orig != "" && e.kind != 'd' {
			s.backups[orig] = append(s.backups[orig], e.data)
			return nil
		}
		s.paths[rel] = e
		return nil
	})
	for _, b := range s.backups {
		sort.Strings(b)
	}
	return s, err
}

// diffTrees lists how kplay's tree k differs from Ansible's tree a. kplay
// backs up every file it replaces or removes (rollback needs it), Ansible
// only with backup: true: so each Ansible backup must have a kplay backup
// of the same file with the same content, and with exact also the counts
// must be equal.
func diffTrees(a, k snapshot, exact bool) []string {
	var out []string
	for _, p := range unionKeys(a.paths, k.paths) {
		ea, okA := a.paths[p]
		ek, okK := k.paths[p]
		switch {
		case !okK:
			out = append(out, fmt.Sprintf("%s: ansible has %v, kplay has nothing", p, ea))
		case !okA:
			out = append(out, fmt.Sprintf("%s: kplay has %v, ansible has nothing", p, ek))
		case ea != ek:
			out = append(out, fmt.Sprintf("%s: ansible has %v, kplay has %v", p, ea, ek))
		}
	}
	for _, p := range unionKeys(a.backups, k.backups) {
		ba, bk := a.backups[p], k.backups[p]
		if exact && len(ba) != len(bk) {
			out = append(out, fmt.Sprintf("%s: ansible made %d backups, kplay %d", p, len(ba), len(bk)))
		}
		if missing := notIn(ba, bk); len(missing) > 0 {
			out = append(out, fmt.Sprintf("%s: ansible backups with content %q have no kplay backup", p, missing))
		}
	}
	return out
}

// diffSame lists how a tool's tree changed between two runs, backups
// included under their real names.
func diffSame(before, after snapshot) []string {
	var out []string
	for _, p := range unionKeys(before.raw, after.raw) {
		eb, okB := before.raw[p]
		ea, okA := after.raw[p]
		switch {
		case !okA:
			out = append(out, fmt.Sprintf("%s: removed (was %v)", p, eb))
		case !okB:
			out = append(out, fmt.Sprintf("%s: created (%v)", p, ea))
		case eb != ea:
			out = append(out, fmt.Sprintf("%s: was %v, now %v", p, eb, ea))
		}
	}
	return out
}

// notIn returns the items of want (a multiset) missing from have.
func notIn(want, have []string) []string {
	left := map[string]int{}
	for _, h := range have {
		left[h]++
	}
	var missing []string
	for _, w := range want {
		if left[w] == 0 {
			missing = append(missing, shorten(w))
			continue
		}
		left[w]--
	}
	return missing
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinLines formats a list of differences for an error message.
func joinLines(lines []string) string {
	return "\n\t" + strings.Join(lines, "\n\t")
}
