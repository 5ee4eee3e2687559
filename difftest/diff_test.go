package difftest

import (
	"os"
	"path/filepath"
	"testing"
)

// diffCase is one differential case: testdata/<dir> run by both tools,
// twice on the same tree.
type diffCase struct {
	name string
	dir  string   // testdata folder; name when empty
	args []string // extra command-line arguments, the same for both tools
	exit int      // expected exit code of the first run (both tools)
	// idempotent: the second run changes nothing (recap changed=0, same
	// tree) in both tools. Cases whose commands change the tree each run
	// leave it false; their second runs are still compared.
	idempotent bool
	// unchanged: the runs must leave the initial tree as it was (--check).
	unchanged bool
	// exactBackups: every change of a backed-up file uses backup: true, so
	// both tools must leave the same number of backups.
	exactBackups bool
	// skip names a kplay bug this case shows; the case is then skipped so
	// the bug stays visible.
	skip string
	// differs names a deliberate difference (docs/differential.md) the
	// case shows; skipped like skip.
	differs string
}

// runAllEnv, when set to 1, runs the cases marked skip or differs too, to
// see whether a bug is fixed or a difference still holds.
const runAllEnv = "KPLAY_DIFF_ALL"

// TestDifferential runs every case of cases (cases_test.go).
func TestDifferential(t *testing.T) {
	needTools(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			all := os.Getenv(runAllEnv) == "1"
			switch {
			case c.skip != "" && !all:
				t.Skip("kplay bug: " + c.skip)
			case c.differs != "" && !all:
				t.Skip("deliberate difference: " + c.differs)
			}
			t.Parallel()
			runCase(t, c)
		})
	}
}

// runCase runs c with both tools and compares what they left.
func runCase(t *testing.T, c diffCase) {
	dir := c.dir
	if dir == "" {
		dir = c.name
	}
	src := filepath.Join("testdata", dir)
	ws := map[tool]*workspace{ansible: newWorkspace(t, ansible, src), kplay: newWorkspace(t, kplay, src)}
	initial := snap(t, ws[kplay].tree)
	var first map[tool]snapshot
	for run := 1; run <= 2; run++ {
		res, snaps := map[tool]result{}, map[tool]snapshot{}
		for _, tl := range []tool{ansible, kplay} {
			res[tl] = ws[tl].run(t, c.args)
			snaps[tl] = snap(t, ws[tl].tree)
		}
		ok := compareRun(t, c, run, res, snaps)
		if c.unchanged {
			for tl, s := range snaps {
				if d := diffSame(initial, s); len(d) > 0 {
					ok = false
					t.Errorf("run %d: %s changed the tree:%s", run, tl, joinLines(d))
				}
			}
		}
		if run == 2 && c.idempotent {
			ok = checkIdempotent(t, first, res, snaps) && ok
		}
		if !ok {
			t.Logf("run %d ansible output:\n%s", run, res[ansible].output)
			t.Logf("run %d kplay output:\n%s", run, res[kplay].output)
			return
		}
		first = snaps
	}
}

// compareRun checks one run: same exit code (the expected one on the first
// run), same trees, same recap.
func compareRun(t *testing.T, c diffCase, run int, res map[tool]result, snaps map[tool]snapshot) bool {
	t.Helper()
	ok := true
	ea, ek := res[ansible].exit, res[kplay].exit
	if ea != ek {
		ok = false
		t.Errorf("run %d: exit code: ansible %d, kplay %d", run, ea, ek)
	}
	if run == 1 && ea != c.exit {
		ok = false
		t.Errorf("run 1: ansible exited %d, the case expects %d", ea, c.exit)
	}
	if d := diffTrees(snaps[ansible], snaps[kplay], c.exactBackups); len(d) > 0 {
		ok = false
		t.Errorf("run %d: trees differ:%s", run, joinLines(d))
	}
	ra, rk := res[ansible].recap, res[kplay].recap
	for _, h := range unionKeys(ra, rk) {
		if ra[h] != rk[h] {
			ok = false
			t.Errorf("run %d: recap of %s: ansible %+v, kplay %+v", run, h, ra[h], rk[h])
		}
	}
	return ok
}

// checkIdempotent checks that the second run changed nothing.
func checkIdempotent(t *testing.T, first map[tool]snapshot, res map[tool]result, snaps map[tool]snapshot) bool {
	t.Helper()
	ok := true
	for _, tl := range []tool{ansible, kplay} {
		if d := diffSame(first[tl], snaps[tl]); len(d) > 0 {
			ok = false
			t.Errorf("run 2: %s changed the tree again:%s", tl, joinLines(d))
		}
		for h, r := range res[tl].recap {
			if r.changed != 0 {
				ok = false
				t.Errorf("run 2: %s reports changed=%d on %s", tl, r.changed, h)
			}
		}
	}
	return ok
}

func snap(t *testing.T, root string) snapshot {
	t.Helper()
	s, err := readSnapshot(root)
	if err != nil {
		t.Fatalf("read tree %s: %v", root, err)
	}
	return s
}
