package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	yaml "go.yaml.in/yaml/v3"
)

// LoadOptions tells the loader where roles and playbooks come from and how
// to check expressions. The run loop, --syntax-check and tests share it.
type LoadOptions struct {
	// RolesFS holds the embedded roles (roles.FS); nil means none.
	RolesFS fs.FS
	// PlaybooksFS holds the embedded playbooks (playbooks.FS); nil means none.
	PlaybooksFS fs.FS
	// RolePaths are extra role folders searched after <playbook dir>/roles
	// and before the embedded roles.
	RolePaths []string
	// OverrideDir is the inventory's folder: <OverrideDir>/roles/<name>/<file>
	// replaces single files of any role, embedded or not.
	OverrideDir string
	// Eval compiles expressions during validation; nil means the evaluator
	// Run evaluates with, so that nothing compiles twice.
	Eval *Evaluator
}

// maxErrors caps how many problems one load reports.
const maxErrors = 20

// loader holds the state of one load: options, the problems found so far
// and the scope of the play being loaded.
type loader struct {
	opts    LoadOptions
	eval    *Evaluator
	errs    []error
	seen    map[string]bool // error texts already reported
	pbDir   string          // playbook folder on disk; "" when embedded
	pb      *Playbook       // the playbook being loaded, nil at run time
	checked map[string]bool // include_tasks files already validated
	play    *playScope      // nil outside a play
	files   []string        // import stack, for cycles
	roles   []string        // role dependency stack, for cycles
}

// src is the file being read: its file system, its folder inside it and
// its name in messages.
type src struct {
	fsys fs.FS
	dir  string
	file string
}

func newLoader(opts LoadOptions) *loader {
	ev := opts.Eval
	if ev == nil {
		ev = sharedEvaluator()
	}
	return &loader{opts: opts, eval: ev, seen: map[string]bool{}, checked: map[string]bool{}}
}

// add records a problem; past maxErrors the rest are dropped.
func (l *loader) add(err error) {
	if err == nil {
		return
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			l.add(e)
		}
		return
	}
	if l.seen[err.Error()] || len(l.errs) > maxErrors {
		return
	}
	l.seen[err.Error()] = true
	if len(l.errs) == maxErrors {
		err = errors.New("too many errors")
	}
	l.errs = append(l.errs, err)
}

// errorf records a problem at node n of file s.
func (l *loader) errorf(s src, n *yaml.Node, format string, args ...any) {
	l.add(&LoadError{Pos: s.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// err is every recorded problem joined, or nil: grouped by file in the
// order files were first reported, by line and column within a file.
func (l *loader) err() error {
	rank := map[string]int{}
	for _, e := range l.errs {
		if le, ok := e.(*LoadError); ok {
			if _, seen := rank[le.Pos.File]; !seen {
				rank[le.Pos.File] = len(rank)
			}
		}
	}
	key := func(e error) (int, int, int) {
		if le, ok := e.(*LoadError); ok {
			return rank[le.Pos.File], le.Pos.Line, le.Pos.Col
		}
		return len(rank), 0, 0
	}
	sort.SliceStable(l.errs, func(i, j int) bool {
		fi, li, ci := key(l.errs[i])
		fj, lj, cj := key(l.errs[j])
		if fi != fj {
			return fi < fj
		}
		if li != lj {
			return li < lj
		}
		return ci < cj
	})
	return errors.Join(l.errs...)
}

func (s src) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: s.file}
	}
	return Pos{File: s.file, Line: n.Line, Col: n.Column}
}

// LoadPlaybook reads a playbook and everything it imports statically
// (import_playbook, roles:, import_tasks, import_role), and validates it all
// before any host is touched: every problem is a *LoadError with its
// file:line:col, several are joined. path names a file, or an embedded
// playbook when no such file exists.
func LoadPlaybook(p string, opts LoadOptions) (*Playbook, error) {
	l := newLoader(opts)
	pb, name, err := l.findPlaybook(p)
	if err != nil {
		return nil, err
	}
	l.pb = pb
	pb.Plays = l.playbookFile(pb.FS, name, 0)
	if err := l.err(); err != nil {
		return nil, err
	}
	return pb, nil
}

// findPlaybook locates p on disk, else among the embedded playbooks (also
// trying the .yaml and .yml extensions there).
func (l *loader) findPlaybook(p string) (*Playbook, string, error) {
	st, err := os.Stat(p)
	if err == nil {
		if st.IsDir() {
			return nil, "", &LoadError{Pos: Pos{File: p}, Msg: "playbook is a directory"}
		}
		dir := filepath.Dir(p)
		l.pbDir = dir
		return &Playbook{Path: p, Dir: dir, FS: newDirFS(dir)}, filepath.Base(p), nil
	}
	if l.opts.PlaybooksFS != nil {
		efs := embedFS{FS: l.opts.PlaybooksFS, prefix: "embedded:playbooks"}
		clean := path.Clean(filepath.ToSlash(p))
		if name, ok := firstExisting(efs, clean, clean+".yaml", clean+".yml"); ok && fs.ValidPath(clean) {
			return &Playbook{Path: efs.FileName(name), Dir: "embedded:playbooks", FS: efs}, name, nil
		}
	}
	return nil, "", &LoadError{Pos: Pos{File: p}, Msg: "no such playbook file (nor an embedded playbook of that name)"}
}

// readYAML reads and parses one file; problems are recorded and ok is false.
func (l *loader) readYAML(fsys fs.FS, name string) (*yaml.Node, src, bool) {
	s := src{fsys: fsys, dir: path.Dir(name), file: displayName(fsys, name)}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		l.add(&LoadError{Pos: Pos{File: s.file}, Msg: "read: " + errText(err)})
		return nil, s, false
	}
	n, err := parseYAML(s.file, data)
	if err != nil {
		l.add(err)
		return nil, s, false
	}
	return n, s, true
}

// errText is err's text without the file name that fs errors repeat.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// value converts n to a plain Go value, recording a problem on failure.
func (l *loader) value(s src, n *yaml.Node) (any, bool) {
	c := converter{file: s.file}
	v, err := c.value(n)
	if err != nil {
		l.add(err)
		return nil, false
	}
	return v, true
}

// pairs lists the keys of a mapping node in order, refusing duplicates
// and non-scalar keys.
func (l *loader) pairs(s src, n *yaml.Node) []pair {
	return l.pairsDepth(s, n, 0)
}

// pairsDepth lists the pairs of n, with "<<: *anchor" merge keys expanded
// in place (keys written explicitly win).
func (l *loader) pairsDepth(s src, n *yaml.Node, depth int) []pair {
	n = resolve(n)
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Tag != "!!merge" {
			seen[k.Value] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			out = append(out, l.mergedPairs(s, n.Content[i+1], seen, depth)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			l.errorf(s, k, "mapping key must be a scalar, got %s", kindName(k))
			continue
		}
		if dup := firstIndex(n, k.Value); dup != i {
			l.errorf(s, k, "duplicate key %q", k.Value)
			continue
		}
		out = append(out, pair{Key: k.Value, KeyN: k, Value: n.Content[i+1]})
	}
	return out
}

// firstIndex is the index in mapping n of the first key named key.
func firstIndex(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Tag != "!!merge" && k.Value == key {
			return i
		}
	}
	return -1
}

// mergedPairs are the pairs a merge key brings (a mapping or a list of
// them), minus keys already seen.
func (l *loader) mergedPairs(s src, v *yaml.Node, seen map[string]bool, depth int) []pair {
	maps := []*yaml.Node{resolve(v)}
	if maps[0] != nil && maps[0].Kind == yaml.SequenceNode {
		maps = maps[0].Content
	}
	var out []pair
	for _, m := range maps {
		if resolve(m) == nil || resolve(m).Kind != yaml.MappingNode || depth > 20 {
			l.errorf(s, m, "merge key << needs a mapping, got %s", kindName(m))
			continue
		}
		for _, p := range l.pairsDepth(s, m, depth+1) {
			if !seen[p.Key] {
				seen[p.Key] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// LoadVarsFile reads a YAML file of variables (vars_files, include_vars,
// defaults/ and vars/ of roles). An empty file is an empty map.
func LoadVarsFile(fsys fs.FS, name string) (map[string]any, error) {
	rfs, rname, ok := resolvePath(fsys, ".", name)
	if !ok || rfs == nil {
		return nil, &LoadError{Pos: Pos{File: name}, Msg: "invalid vars file path"}
	}
	l := newLoaderNoEval()
	m := l.varsFile(rfs, rname)
	if err := l.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// newLoaderNoEval is a loader for reading plain data, where no expression
// is compiled.
func newLoaderNoEval() *loader {
	return &loader{seen: map[string]bool{}, checked: map[string]bool{}}
}

func (l *loader) varsFile(fsys fs.FS, name string) map[string]any {
	n, s, ok := l.readYAML(fsys, name)
	if !ok || isNull(n) {
		return map[string]any{}
	}
	if resolve(n).Kind != yaml.MappingNode {
		l.errorf(s, n, "vars file must be a mapping of variables, got %s", kindName(n))
		return nil
	}
	v, ok := l.value(s, n)
	if !ok {
		return nil
	}
	m, _ := v.(map[string]any)
	for _, p := range l.pairs(s, n) {
		if !validVarName(p.Key) {
			l.errorf(s, p.KeyN, "invalid variable name %q", p.Key)
		}
	}
	return m
}

// validVarName reports whether s can name a variable in expressions.
func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}
