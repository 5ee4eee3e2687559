package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/kplay/kplay/roles"
)

const rolesUsage = `Usage:
  kplay roles                          list the embedded roles, their variables and defaults
  kplay roles show NAME                print a role's README
  kplay roles export [--force] NAME DIR
                                       write the role's files to DIR/roles/NAME

A file under DIR/roles/NAME replaces the embedded file of the same path when
DIR is the inventory's folder (or the playbook's): export a role into an
environment folder, keep the files you change and delete the others, so
that they keep following kplay's versions. Existing files are never
overwritten, unless --force is given.

Flags:
      --force      (export) overwrite files that exist
  -h, --help       print this help
`

// rolesFlags are the flags of kplay roles.
type rolesFlags struct {
	force bool
}

// newRolesFlagSet declares kplay roles' flags.
func newRolesFlagSet(f *rolesFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("kplay roles", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&f.force, "force", false, "")
	return fs
}

// runRoles is `kplay roles [show NAME | export NAME DIR]`.
func runRoles(args []string, stdout io.Writer) error {
	var f rolesFlags
	pos, err := parseArgs(newRolesFlagSet(&f), args)
	if err == errHelp {
		fmt.Fprint(stdout, rolesUsage)
		return errHelp
	}
	if err != nil {
		return usageErrorf("roles: %v (see kplay roles --help)", err)
	}
	switch {
	case len(pos) == 0 || (len(pos) == 1 && pos[0] == "list"):
		return printRoles(roles.FS, stdout)
	case pos[0] == "show" && len(pos) == 2:
		return showRole(roles.FS, pos[1], stdout)
	case pos[0] == "export" && len(pos) == 3:
		return exportRole(roles.FS, pos[1], pos[2], f.force, stdout)
	}
	return usageErrorf("roles: unexpected arguments %q (see kplay roles --help)", pos)
}

// printRoles lists every role with its summary, then its variables.
func printRoles(fsys fs.FS, w io.Writer) error {
	rs, err := listRoles(fsys)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		summary := r.Summary
		if summary == "" {
			summary = "(no README.md)"
		}
		fmt.Fprintf(w, "%s: %s\n", r.Name, summary)
		width := 0
		for _, v := range r.Defaults {
			width = max(width, len(v.Name))
		}
		for _, v := range r.Defaults {
			fmt.Fprintf(w, "    %-*s  %s\n", width, v.Name, defaultText(v.Value))
		}
	}
	return nil
}

// defaultText shows a default value on one line: strings as written
// (empty as ""), the rest as compact JSON.
func defaultText(v any) string {
	if s, ok := v.(string); ok && s != "" && !strings.ContainsAny(s, "\n") {
		return s
	}
	return compactJSON(v)
}

// role finds a role of fsys by name; an unknown name is a bad option.
func role(fsys fs.FS, name string) (roleInfo, error) {
	rs, err := listRoles(fsys)
	if err != nil {
		return roleInfo{}, err
	}
	var names []string
	for _, r := range rs {
		if r.Name == name {
			return r, nil
		}
		names = append(names, r.Name)
	}
	return roleInfo{}, usageErrorf("roles: no role %q (embedded: %s)", name, strings.Join(names, ", "))
}

// showRole prints the role's README.md; a role without one is shown by
// its defaults file, which documents its variables.
func showRole(fsys fs.FS, name string, w io.Writer) error {
	r, err := role(fsys, name)
	if err != nil {
		return err
	}
	readme, err := fs.ReadFile(fsys, path.Join(name, "README.md"))
	if err == nil {
		_, err = w.Write(readme)
		return err
	}
	fmt.Fprintf(w, "Role %s has no README.md. Its variables (defaults/main.yaml):\n\n", name)
	_, err = io.WriteString(w, r.DefaultsText)
	return err
}

// exportRole writes every file of the role under dir/roles/NAME.
func exportRole(fsys fs.FS, name, dir string, force bool, w io.Writer) error {
	if _, err := role(fsys, name); err != nil {
		return err
	}
	var files []outFile
	err := fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, outFile{name: p, data: data, mode: 0o644})
		return nil
	})
	if err != nil {
		return fmt.Errorf("roles export %s: read: %w", name, err)
	}
	if err := writeFiles(filepath.Join(dir, "roles"), files, force, w); err != nil {
		return fmt.Errorf("roles export %s: %w", name, err)
	}
	return nil
}
