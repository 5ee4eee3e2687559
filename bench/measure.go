package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// stateRoot is where every host of the play writes (its own subfolder).
const stateRoot = "/tmp/kplay-bench"

// prepare raises the open-files limit, installs ansible-core when missing
// (Debian/Ubuntu, as root) and builds kplay.
func prepare(ctx context.Context, cfg *config) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("raise open files limit: %w", err)
		}
	}
	if needs(cfg.tools, toolAnsible, toolAnsiblePL) {
		if _, err := exec.LookPath("ansible-playbook"); err != nil {
			fmt.Println("installing ansible-core with apt-get")
			cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "ansible-core")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("install ansible-core: %w", err)
			}
		}
	}
	if cfg.kplay == "" {
		cfg.kplay = filepath.Join(cfg.work, "kplay")
		if err := os.MkdirAll(cfg.work, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", cfg.work, err)
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", cfg.kplay, "./cmd/kplay")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build kplay: %w", err)
		}
	}
	return nil
}

func isAnsible(tool string) bool { return tool == toolAnsible || tool == toolAnsiblePL }

func needs(tools []string, names ...string) bool {
	for _, n := range names {
		if slices.Contains(tools, n) {
			return true
		}
	}
	return false
}

// measure runs every N, run and tool. Within a run the tools alternate
// (their order rotates from run to run); each tool gets a clean state,
// then its first run, re-run and check run in that order.
func measure(ctx context.Context, cfg *config, e *env) ([]sample, error) {
	var all []sample
	for _, n := range cfg.ns {
		if err := e.fleet.grow(n); err != nil {
			return all, fmt.Errorf("start %d sshd hosts: %w", n, err)
		}
		fmt.Printf("== N=%d: %d sshd hosts up\n", n, n)
		digests := map[string]string{}
		for run := 1; run <= cfg.runs; run++ {
			tools := cfg.toolsAt(n, run)
			for i := range tools {
				tool := tools[(i+run-1)%len(tools)]
				got, digest, err := e.toolRound(ctx, cfg, tool, n, run)
				all = append(all, got...)
				if err != nil {
					return all, err
				}
				if digest == "" {
					continue // cut run: no state to compare
				}
				if err := sameState(digests, tool, digest); err != nil {
					return all, err
				}
			}
		}
		if cfg.profileN == n {
			if err := profileKplay(ctx, cfg, e, n); err != nil {
				return all, err
			}
		}
	}
	return all, nil
}

// toolsAt lists the tools of run number run at n hosts.
func (c *config) toolsAt(n, run int) []string {
	var out []string
	for _, t := range c.tools {
		if isAnsible(t) && (c.ansibleNs != nil && !c.ansibleNs[n] || run > c.ansRuns) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// toolRound cleans the state and runs the first run, then the cases the
// config asks for; the first run always happens (unmeasured when not
// asked for), since the others need a converged state. It returns the
// digest of the first host's state after the first run.
func (e *env) toolRound(ctx context.Context, cfg *config, tool string, n, run int) ([]sample, string, error) {
	if err := os.RemoveAll(stateRoot); err != nil {
		return nil, "", fmt.Errorf("clean %s: %w", stateRoot, err)
	}
	var out []sample
	var digest string
	for _, c := range []string{caseFirst, caseRerun, caseCheck} {
		cases := cfg.cases
		if isAnsible(tool) {
			cases = cfg.ansCases
		}
		measured := slices.Contains(cases, c)
		if !measured && c != caseFirst {
			continue
		}
		var s sample
		var err error
		if tool == toolFloor || tool == toolFloorLinear {
			s, err = e.runFloor(ctx, tool, n, c, run)
		} else {
			s, err = e.runTool(ctx, tool, n, c, run)
		}
		if err != nil {
			return out, "", err
		}
		if s.Cut {
			fmt.Printf("%-18s N=%-4d %-6s run %d: cut after %.1fs (a lower bound)\n", tool, n, c, run, s.Wall.Seconds())
			return append(out, s), "", nil
		}
		if c == caseFirst {
			list := filepath.Join(e.work, "logs", fmt.Sprintf("state-%s-n%d.txt", tool, n))
			if digest, err = stateDigest(filepath.Join(stateRoot, e.fleet.hosts[0].Name), list); err != nil {
				return out, "", err
			}
		}
		if measured {
			out = append(out, s)
			fmt.Printf("%-18s N=%-4d %-6s run %d: %8.3fs  cpu %7.3fs  rss %6.1f MB", tool, n, c, run,
				s.Wall.Seconds(), (s.User + s.Sys).Seconds(), float64(s.MaxRSS)/1024)
			if s.Sessions > 0 {
				fmt.Printf("  %.1f sessions/host", float64(s.Sessions)/float64(n))
			}
			fmt.Println()
		}
	}
	return out, digest, nil
}

// sameState fails when a tool left a different state than the tools
// before it: all of them must do the same work.
func sameState(digests map[string]string, tool, digest string) error {
	digests[tool] = digest
	for t, d := range digests {
		if d != digest {
			return fmt.Errorf("state after %s's first run differs from %s's (see logs/state-*.txt)", tool, t)
		}
	}
	return nil
}

// stateDigest lists the paths, kinds, modes, link targets and content
// hashes under dir, leaving out data/restarted (the handler writes a
// timestamp) and kplay's journal backups, and returns the listing's hash; the listing is kept in
// listPath to show what differs.
func stateDigest(dir, listPath string) (string, error) {
	var h strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasSuffix(rel, ".kplay~") {
			return nil // kplay's journal backups, kept by design (modules/doc.go)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&h, "%s %v\n", rel, info.Mode())
		switch {
		case rel == "data/restarted":
		case info.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			fmt.Fprintf(&h, "-> %s\n", t)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&h, "sha256 %x\n", sha256.Sum256(b))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", dir, err)
	}
	if err := os.WriteFile(listPath, []byte(h.String()), 0o644); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(h.String()))
	return hex.EncodeToString(sum[:]), nil
}

// stat is min and median of a group of samples.
type stat struct {
	Tool, Case  string
	N           int
	Min, Median time.Duration
	CPU         time.Duration // median CPU (user+sys)
	Cut         bool          // some run was cut: Min and Median are lower bounds
	MaxRSS      int64         // largest peak RSS, KB
	Runs        int
}

func summarize(samples []sample) []stat {
	type key struct {
		tool, c string
		n       int
	}
	groups := map[key][]sample{}
	for _, s := range samples {
		k := key{s.Tool, s.Case, s.N}
		groups[k] = append(groups[k], s)
	}
	var out []stat
	for k, g := range groups {
		walls := make([]time.Duration, len(g))
		cpus := make([]time.Duration, len(g))
		var rss int64
		cut := false
		for i, s := range g {
			cut = cut || s.Cut
			walls[i], cpus[i] = s.Wall, s.User+s.Sys
			rss = max(rss, s.MaxRSS)
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		out = append(out, stat{Tool: k.tool, Case: k.c, N: k.n, Min: walls[0], Median: walls[len(walls)/2],
			CPU: cpus[len(cpus)/2], MaxRSS: rss, Runs: len(g), Cut: cut})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Case != b.Case {
			return caseOrder(a.Case) < caseOrder(b.Case)
		}
		if a.Tool != b.Tool {
			return toolOrder(a.Tool) < toolOrder(b.Tool)
		}
		return a.N < b.N
	})
	return out
}

func caseOrder(c string) int { return slices.Index([]string{caseFirst, caseRerun, caseCheck}, c) }
func toolOrder(t string) int {
	return slices.Index([]string{toolKplay, toolFloor, toolFloorLinear, toolAnsiblePL, toolAnsible}, t)
}
