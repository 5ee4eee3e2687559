// Command images packs files into a single-layer OCI image archive that
// `ctr -n k8s.io images import` reads. scripts/images-build.sh uses it to
// make the node images (pause, CoreDNS, flannel) from binaries built from
// source, for clusters whose nodes reach no registry.
//
//	go run ./tools/images -ref registry.k8s.io/pause:3.10 -out pause_3.10.tar \
//	    -file /pause=bin/pause:0755 -entrypoint /pause -user 65535:65535
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kplay/kplay/internal/ociimage"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var img ociimage.Image
	var out string
	var entry, cmd, env, files, links list
	fs.StringVar(&img.Ref, "ref", "", "image reference, name:tag")
	fs.StringVar(&out, "out", "", "archive to write")
	fs.StringVar(&img.User, "user", "", "user[:group] the process runs as")
	fs.StringVar(&img.WorkingDir, "workdir", "", "working directory")
	fs.Var(&entry, "entrypoint", "entrypoint word (repeat)")
	fs.Var(&cmd, "cmd", "cmd word (repeat)")
	fs.Var(&env, "env", "KEY=VALUE (repeat)")
	fs.Var(&files, "file", "/path/in/image=local/file[:mode] (repeat)")
	fs.Var(&links, "link", "/path/in/image=target (symlink; repeat)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "images: -out is required and takes no arguments")
		return 2
	}
	img.Entrypoint, img.Cmd, img.Env = entry, cmd, env
	if err := addFiles(&img, files, links); err != nil {
		fmt.Fprintf(stderr, "images: %v\n", err)
		return 1
	}
	if err := writeFile(out, img); err != nil {
		fmt.Fprintf(stderr, "images: %v\n", err)
		return 1
	}
	return 0
}

// addFiles reads the -file sources and adds the -link entries.
func addFiles(img *ociimage.Image, files, links list) error {
	for _, spec := range files {
		dst, src, ok := strings.Cut(spec, "=")
		if !ok {
			return fmt.Errorf("file %q: want /path=local[:mode]", spec)
		}
		mode := int64(0o644)
		if i := strings.LastIndex(src, ":"); i > 0 {
			m, err := strconv.ParseInt(src[i+1:], 8, 32)
			if err != nil {
				return fmt.Errorf("file %q: mode: %w", spec, err)
			}
			src, mode = src[:i], m
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("file %q: %w", spec, err)
		}
		img.Files = append(img.Files, ociimage.File{Path: dst, Mode: mode, Data: data})
	}
	for _, spec := range links {
		dst, target, ok := strings.Cut(spec, "=")
		if !ok || target == "" {
			return fmt.Errorf("link %q: want /path=target", spec)
		}
		img.Files = append(img.Files, ociimage.File{Path: dst, Link: target})
	}
	return nil
}

// writeFile writes the archive next to out and renames it into place, so a
// failed build never leaves a truncated archive under the final name.
func writeFile(out string, img ociimage.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	if err := ociimage.Write(tmp, img); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
