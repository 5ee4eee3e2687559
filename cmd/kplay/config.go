package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// configFile is the per-environment settings file read from the current
// folder, as ansible.cfg is; configEnv names another one.
const (
	configFile = "kplay.yaml"
	configEnv  = "KPLAY_CONFIG"
)

// fileConfig is kplay.yaml: defaults for the flags of a run, so that a
// run from an environment folder needs no flag beyond the playbook.
// Relative paths in it are relative to the file's folder.
type fileConfig struct {
	Inventory string `yaml:"inventory"`
	Forks     *int   `yaml:"forks"`
	// JournalDir is --journal-dir.
	JournalDir string    `yaml:"journal_dir"`
	SSH        sshConfig `yaml:"ssh"`

	dir string // folder of the file, for relative paths
}

// sshConfig is the ssh: section of kplay.yaml.
type sshConfig struct {
	KnownHosts        stringList `yaml:"known_hosts"`
	AcceptNewHostKeys *bool      `yaml:"accept_new_host_keys"`
	ConnectTimeout    string     `yaml:"connect_timeout"`
	PrivateKey        string     `yaml:"private_key"`
	SSHConfig         string     `yaml:"ssh_config"`
}

// stringList is one string or a list of strings.
type stringList []string

// UnmarshalYAML accepts `x` as well as `[x, y]`.
func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "" {
			*l = stringList{n.Value}
		}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// configPath is the settings file to read: $KPLAY_CONFIG when set (it
// must exist), else ./kplay.yaml when it exists, else "" (none).
func configPath() (string, error) {
	if p := os.Getenv(configEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", usageErrorf("%s: %w", configEnv, err)
		}
		return p, nil
	}
	if _, err := os.Stat(configFile); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", usageErrorf("config: %w", err)
	}
	return configFile, nil
}

// loadConfig reads and strictly decodes a kplay.yaml: an unknown key is an
// error naming its line, as in playbooks.
func loadConfig(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("config: %w", err)
	}
	c := &fileConfig{dir: filepath.Dir(path)}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // empty, or comments only
			return c, nil
		}
		return nil, usageErrorf("%s: %w", path, err)
	}
	if err := checkKeys(path, doc.Content[0], configKeys, ""); err != nil {
		return nil, err
	}
	if err := doc.Decode(c); err != nil {
		return nil, usageErrorf("%s: %w", path, err)
	}
	if c.Forks != nil && *c.Forks < 0 {
		return nil, usageErrorf("%s: forks must be 0 (all hosts) or more, got %d", path, *c.Forks)
	}
	if c.SSH.ConnectTimeout != "" {
		var d secondsFlag
		if err := d.Set(c.SSH.ConnectTimeout); err != nil {
			return nil, usageErrorf("%s: ssh.connect_timeout: %w", path, err)
		}
	}
	return c, nil
}

// configKeys are the settings kplay.yaml knows, by section ("" = top).
var configKeys = map[string][]string{
	"":    {"inventory", "forks", "journal_dir", "ssh"},
	"ssh": {"known_hosts", "accept_new_host_keys", "connect_timeout", "private_key", "ssh_config"},
}

// checkKeys rejects a key kplay.yaml does not know (a typo would otherwise
// be ignored silently), naming its file:line:col.
func checkKeys(path string, n *yaml.Node, known map[string][]string, section string) error {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		return usageErrorf("%s:%d:%d: %s: want a mapping of settings", path, n.Line, n.Column, orTop(section))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known[section], k.Value) {
			return usageErrorf("%s:%d:%d: unknown setting %q in %s (known: %s)",
				path, k.Line, k.Column, k.Value, orTop(section), strings.Join(known[section], ", "))
		}
		if _, ok := known[k.Value]; ok && section == "" {
			if err := checkKeys(path, n.Content[i+1], known, k.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func orTop(section string) string {
	if section == "" {
		return "the top level"
	}
	return section + ":"
}

// path resolves p relative to the config file's folder.
func (c *fileConfig) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	return set
}

// applyConfig reads kplay.yaml (see configPath) and fills every setting of
// f whose flag was not given (set holds the names given, from
// flag.FlagSet.Visit): flags override the file.
func applyConfig(f *playFlags, set map[string]bool) error {
	path, err := configPath()
	if err != nil || path == "" {
		return err
	}
	c, err := loadConfig(path)
	if err != nil {
		return err
	}
	given := func(names ...string) bool {
		for _, n := range names {
			if set[n] {
				return true
			}
		}
		return false
	}
	if c.Inventory != "" && !given("i", "inventory") {
		f.inventory = c.path(c.Inventory)
	}
	if c.Forks != nil && !given("f", "forks") {
		f.forks = *c.Forks
	}
	if c.JournalDir != "" && !given("journal-dir") {
		f.journalDir = c.path(c.JournalDir)
	}
	s := c.SSH
	if len(s.KnownHosts) > 0 && !given("known-hosts") {
		f.knownHosts = nil
		for _, k := range s.KnownHosts {
			f.knownHosts = append(f.knownHosts, c.path(k))
		}
	}
	if s.AcceptNewHostKeys != nil && !given("accept-new-host-keys") {
		f.acceptNewKeys = *s.AcceptNewHostKeys
	}
	if s.ConnectTimeout != "" && !given("connect-timeout") {
		_ = f.connectTimeout.Set(s.ConnectTimeout) // checked by loadConfig
	}
	if s.PrivateKey != "" && !given("private-key") {
		f.privateKey = c.path(s.PrivateKey)
	}
	if s.SSHConfig != "" && !given("ssh-config") {
		f.sshConfig = s.SSHConfig
		if s.SSHConfig != "none" { // "none": read no ssh_config at all
			f.sshConfig = c.path(s.SSHConfig)
		}
	}
	return nil
}
