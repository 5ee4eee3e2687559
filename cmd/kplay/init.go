package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kplay/kplay/roles"
)

const initUsage = `Usage: kplay init [--force] DIR

Writes a ready environment for the shipped playbooks into DIR (created if
needed):
  hosts.yaml            inventory with the groups etcd, lb, master, node and
                        commented example hosts
  group_vars/all.yaml   every variable of the embedded roles, its default and
                        meaning, commented out
  kplay.yaml            kplay's settings for runs from DIR (inventory, forks,
                        journal folder, SSH options); flags override them
  README.md             what the files are and how to run

From DIR, "kplay site.yaml" then needs no other flag. Existing files are
never overwritten, unless --force is given.

Flags:
      --force      overwrite files that exist
  -h, --help       print this help
`

// initFlags are the flags of kplay init.
type initFlags struct {
	force bool
}

// newInitFlagSet declares kplay init's flags.
func newInitFlagSet(f *initFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("kplay init", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&f.force, "force", false, "")
	return fs
}

// outFile is a file a command writes: a slash path relative to the target
// folder and its content.
type outFile struct {
	name string
	data []byte
	mode fs.FileMode
}

// runInit is `kplay init [--force] DIR`.
func runInit(args []string, stdout io.Writer) error {
	var f initFlags
	pos, err := parseCommand(newInitFlagSet(&f), args, "init", initUsage, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("init: want one DIR argument, got %d (see kplay init --help)", len(pos))
	}
	files, err := initEnvFiles()
	if err != nil {
		return err
	}
	if err := writeFiles(pos[0], files, f.force, stdout); err != nil {
		return fmt.Errorf("init %s: %w", pos[0], err)
	}
	fmt.Fprintf(stdout, "\nNext: edit %s and %s, then from %s run: kplay site.yaml --check\n",
		filepath.Join(pos[0], "hosts.yaml"), filepath.Join(pos[0], "group_vars", "all.yaml"), pos[0])
	return nil
}

// initEnvFiles are the files of a new environment.
func initEnvFiles() ([]outFile, error) {
	rs, err := listRoles(roles.FS)
	if err != nil {
		return nil, err
	}
	return []outFile{
		{"hosts.yaml", []byte(initHosts), 0o644},
		{"group_vars/all.yaml", []byte(groupVarsAll(rs, version())), 0o644},
		{"kplay.yaml", []byte(initConfig), 0o644},
		{"README.md", []byte(initReadme), 0o644},
	}, nil
}

// writeFiles writes files under dir, printing each path. Unless force, it
// first checks that none exists and writes nothing if one does.
func writeFiles(dir string, files []outFile, force bool, stdout io.Writer) error {
	if !force {
		var existing []string
		for _, f := range files {
			p := filepath.Join(dir, filepath.FromSlash(f.name))
			if _, err := os.Lstat(p); err == nil {
				existing = append(existing, p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if n := len(existing); n > 4 {
			existing = append(existing[:3], fmt.Sprintf("and %d more", n-3))
		}
		if len(existing) > 0 {
			return fmt.Errorf("would overwrite %s (--force does); nothing written: %w", strings.Join(existing, ", "), fs.ErrExist)
		}
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := writeAtomic(p, f.data, f.mode); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	return nil
}

// writeAtomic writes data to path through a temporary file and a rename,
// so that an interrupted write leaves no half file.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
