package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/kplay/kplay/inventory"
	"golang.org/x/term"
)

// defaultInventory is read when -i is not given and it exists.
const defaultInventory = "hosts.yaml"

// loadInventory reads -i, or ./hosts.yaml, or else gives an inventory with
// only the implicit localhost, as ansible-playbook does. A missing file is
// a bad option (exit 5), a broken one a parse error (exit 4).
func loadInventory(path string, stderr io.Writer) (*inventory.Inventory, error) {
	if path == "" {
		if _, err := os.Stat(defaultInventory); err != nil {
			inv, err := inventory.Parse("(implicit localhost)", nil, "")
			if err != nil {
				return nil, withCode(exitError, fmt.Errorf("implicit inventory: %w", err))
			}
			fmt.Fprintf(stderr, "[WARNING]: no -i and no ./%s: only the implicit localhost is available (it does not match 'all')\n", defaultInventory)
			return inv, nil
		}
		path = defaultInventory
	}
	if st, err := os.Stat(path); err != nil {
		return nil, usageErrorf("inventory %s: %w", path, err)
	} else if st.IsDir() {
		return nil, usageErrorf("inventory %s: is a directory, want a file", path)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, usageErrorf("%w", err)
		}
		return nil, withCode(exitParse, err)
	}
	for _, w := range inv.Warnings {
		fmt.Fprintf(stderr, "[WARNING]: %s\n", w)
	}
	return inv, nil
}

// Connection variables set from flags, each with the spellings the
// inventory package reads for the same setting (see inventory.Connection).
var (
	keyFileVars  = []string{"ansible_ssh_private_key_file", "kplay_private_key_file", "ansible_private_key_file"}
	passwordVars = []string{"ansible_password", "kplay_password", "ansible_ssh_pass", "ansible_ssh_password"}
)

// setDefaultHostVar gives every host names[0]=value unless the inventory
// sets any of names (inventory host and group vars win over command-line
// connection flags, as in Ansible). source names the flag in
// `kplay vars --explain`.
func setDefaultHostVar(inv *inventory.Inventory, source string, names []string, value any) {
	key := names[0]
	for _, h := range inv.Hosts {
		if slices.ContainsFunc(names, func(n string) bool { _, ok := h.Vars[n]; return ok }) {
			continue
		}
		if h.Vars == nil {
			h.Vars = map[string]any{}
		}
		h.Vars[key] = value
		layer := inventory.Layer{Source: source, Vars: map[string]any{key: value}}
		h.Layers = append([]inventory.Layer{layer}, h.Layers...)
	}
}

// inventoryKnownHosts returns the known_hosts files named by the hosts'
// kplay_known_hosts (a path or a list; usually set once in all:vars, as the
// lab does so that its hosts' keys are trusted), relative to the
// inventory's folder, each once. Host keys are checked by one pool for the
// whole run, so the files of every host are used for all.
func inventoryKnownHosts(inv *inventory.Inventory) []string {
	var names []string
	add := func(n string) {
		if n == "" {
			return
		}
		if !filepath.IsAbs(n) && inv.Dir != "" {
			n = filepath.Join(inv.Dir, n)
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, name := range inv.Order {
		h, ok := inv.Host(name)
		if !ok {
			continue
		}
		switch v := h.Vars["kplay_known_hosts"].(type) {
		case string:
			add(v)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					add(s)
				}
			}
		}
	}
	return names
}

// colorWanted reports whether colour output suits w: NO_COLOR unset or
// empty, and w a terminal or CLICOLOR_FORCE set (for pagers and tests).
func colorWanted(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	if v := os.Getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
