package ociimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestContainerdImports starts a private containerd (its own root, state
// and socket under t.TempDir) and imports an archive with
// `ctr -n k8s.io images import`, as the node role does. Skips without
// root or the containerd and ctr commands.
func TestContainerdImports(t *testing.T) {
	containerd, err1 := exec.LookPath("containerd")
	ctr, err2 := exec.LookPath("ctr")
	if os.Geteuid() != 0 || err1 != nil || err2 != nil {
		t.Skip("needs root and containerd + ctr (Debian package containerd)")
	}
	dir, err := os.MkdirTemp("/tmp", "kplay-ctrd-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "c.sock")
	cfg := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command(containerd, "--config", filepath.Join(dir, "config.toml"))
	daemon.Stdout, daemon.Stderr = logf, logf
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait(); logf.Close() })

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	run := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, ctr, append([]string{"-a", sock, "-n", "k8s.io"}, args...)...).CombinedOutput()
		return string(out), err
	}
	for {
		if _, err := run("version"); err == nil {
			break
		}
		if ctx.Err() != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Fatalf("containerd did not answer: %s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ref := "registry.k8s.io/pause:3.10"
	archive := filepath.Join(dir, "pause.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	img := Image{Ref: ref, Entrypoint: []string{"/pause"}, Files: []File{{Path: "/pause", Mode: 0o755, Data: []byte("#!/bin/sh\n")}}}
	if err := Write(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := run("images", "import", archive); err != nil {
		t.Fatalf("ctr images import: %v: %s", err, out)
	}
	out, err := run("images", "ls", "-q")
	if err != nil {
		t.Fatalf("ctr images ls: %v: %s", err, out)
	}
	if !strings.Contains("\n"+out, "\n"+ref+"\n") {
		t.Fatalf("ctr images ls -q = %q, want %s", out, ref)
	}
	// Unpacked for the default snapshotter: the layer is usable.
	if out, err := run("images", "check"); err != nil || !strings.Contains(out, "complete") {
		t.Fatalf("ctr images check: %v: %s", err, out)
	}
}
