package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Profiling kplay without touching cmd/kplay: the bench builds a second
// binary with `go build -overlay`, adding a file that starts a CPU
// profile at init when KPLAY_BENCH_CPUPROFILE is set, and a copy of
// main.go whose os.Exit(code) first stops the profile and writes the
// allocation profile (KPLAY_BENCH_MEMPROFILE).

const profileHook = `package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

var benchProfileStop = func() {}

func init() {
	cpu := os.Getenv("KPLAY_BENCH_CPUPROFILE")
	if cpu == "" {
		return
	}
	f, err := os.Create(cpu)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench profile:", err)
		return
	}
	benchProfileStop = func() {
		pprof.StopCPUProfile()
		f.Close()
		if mem := os.Getenv("KPLAY_BENCH_MEMPROFILE"); mem != "" {
			if m, err := os.Create(mem); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(m, 0)
				m.Close()
			}
		}
	}
}
`

// buildProfiled builds the profiling kplay into dir.
func buildProfiled(ctx context.Context, dir string) (string, error) {
	mainPath, err := filepath.Abs("cmd/kplay/main.go")
	if err != nil {
		return "", err
	}
	src, err := os.ReadFile(mainPath)
	if err != nil {
		return "", fmt.Errorf("read kplay main: %w", err)
	}
	const exit = "\tos.Exit(code)\n"
	if strings.Count(string(src), exit) != 1 {
		return "", fmt.Errorf("profile build: cmd/kplay/main.go has no single %q line to hook", strings.TrimSpace(exit))
	}
	patched := strings.Replace(string(src), exit, "\tbenchProfileStop()\n"+exit, 1)
	files := map[string]string{
		mainPath: filepath.Join(dir, "main.go"),
		filepath.Join(filepath.Dir(mainPath), "zz_bench_profile.go"): filepath.Join(dir, "zz_bench_profile.go"),
	}
	if err := os.WriteFile(files[mainPath], []byte(patched), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "zz_bench_profile.go"), []byte(profileHook), 0o644); err != nil {
		return "", err
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": files})
	ovPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovPath, overlay, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kplay-profiled")
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", ovPath, "-o", bin, "./cmd/kplay")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build profiling kplay: %w", err)
	}
	return bin, nil
}

// profileKplay runs the profiling kplay at n hosts (first run and re-run,
// unmeasured) and writes cpu-*.pprof, allocs-*.pprof and their top lists
// into cfg.out.
func profileKplay(ctx context.Context, cfg *config, e *env, n int) error {
	bin, err := buildProfiled(ctx, cfg.work)
	if err != nil {
		return err
	}
	pe := *e
	pe.kplay = bin
	if err := os.RemoveAll(stateRoot); err != nil {
		return err
	}
	for _, c := range []string{caseFirst, caseRerun} {
		cpu := filepath.Join(cfg.out, fmt.Sprintf("cpu-n%d-%s.pprof", n, c))
		mem := filepath.Join(cfg.out, fmt.Sprintf("allocs-n%d-%s.pprof", n, c))
		os.Setenv("KPLAY_BENCH_CPUPROFILE", cpu)
		os.Setenv("KPLAY_BENCH_MEMPROFILE", mem)
		s, err := pe.runTool(ctx, toolKplay, n, c, 0)
		os.Unsetenv("KPLAY_BENCH_CPUPROFILE")
		os.Unsetenv("KPLAY_BENCH_MEMPROFILE")
		if err != nil {
			return fmt.Errorf("profiled run: %w", err)
		}
		fmt.Printf("profiled kplay N=%d %s: %.3fs (profiles in %s)\n", n, c, s.Wall.Seconds(), cfg.out)
		for _, p := range []struct{ file, args, name string }{
			{cpu, "-top -nodecount=40", "top"}, {cpu, "-top -cum -nodecount=40", "topcum"},
			{mem, "-top -sample_index=alloc_space -nodecount=30", "top"},
			{mem, "-top -cum -sample_index=alloc_space -nodecount=30", "topcum"},
		} {
			args := append([]string{"tool", "pprof"}, strings.Fields(p.args)...)
			out, err := exec.CommandContext(ctx, "go", append(args, bin, p.file)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("pprof %s: %w: %s", p.file, err, out)
			}
			name := strings.TrimSuffix(p.file, "pprof") + p.name + ".txt"
			if err := os.WriteFile(name, out, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
