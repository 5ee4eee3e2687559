package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestApplyConfig checks that kplay.yaml fills the flags not given, that
// given flags win, and that relative paths follow the file's folder.
func TestApplyConfig(t *testing.T) {
	const cfg = `inventory: inv/hosts.yaml
forks: 7
journal_dir: runs
ssh:
  known_hosts: [kh, /abs/kh2]
  accept_new_host_keys: true
  connect_timeout: 3
  private_key: id_test
  ssh_config: none
`
	tests := []struct {
		name string
		args []string
		want playFlags
	}{
		{"file only", []string{"site.yaml"}, playFlags{
			inventory: "DIR/inv/hosts.yaml", forks: 7, journalDir: "DIR/runs", knownHosts: listFlag{"DIR/kh", "/abs/kh2"},
			acceptNewKeys: true, connectTimeout: secondsFlag(3 * time.Second), privateKey: "DIR/id_test", sshConfig: "none",
		}},
		{"flags win", []string{"-i", "other.yaml", "--forks", "0", "--known-hosts", "mine", "--accept-new-host-keys=false",
			"--connect-timeout", "1", "--private-key", "k", "--ssh-config", "c", "--journal-dir", "j", "site.yaml"}, playFlags{
			inventory: "other.yaml", forks: 0, knownHosts: listFlag{"mine"}, journalDir: "j",
			connectTimeout: secondsFlag(time.Second), privateKey: "k", sshConfig: "c",
		}},
		{"short flags win", []string{"-f", "2", "-i", "x", "site.yaml"}, playFlags{
			inventory: "x", forks: 2, journalDir: "DIR/runs", knownHosts: listFlag{"DIR/kh", "/abs/kh2"},
			acceptNewKeys: true, connectTimeout: secondsFlag(3 * time.Second), privateKey: "DIR/id_test", sshConfig: "none",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "kplay.yaml"), cfg)
			t.Setenv(configEnv, filepath.Join(dir, "kplay.yaml"))
			var f playFlags
			fset := newPlayFlagSet(&f)
			if _, err := parseArgs(fset, tt.args); err != nil {
				t.Fatal(err)
			}
			if err := applyConfig(&f, flagsSet(fset)); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.inventory = strings.Replace(want.inventory, "DIR", dir, 1)
			want.privateKey = strings.Replace(want.privateKey, "DIR", dir, 1)
			want.journalDir = strings.Replace(want.journalDir, "DIR", dir, 1)
			for i := range want.knownHosts {
				want.knownHosts[i] = strings.Replace(want.knownHosts[i], "DIR", dir, 1)
			}
			if !reflect.DeepEqual(f, want) {
				t.Errorf("got  %+v\nwant %+v", f, want)
			}
		})
	}
}

// TestApplyConfigNone: without ./kplay.yaml and KPLAY_CONFIG nothing
// changes; a KPLAY_CONFIG naming a missing file is a bad option.
func TestApplyConfigNone(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv(configEnv, "")
	var f playFlags
	if err := applyConfig(&f, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, playFlags{}) {
		t.Errorf("flags changed without a config: %+v", f)
	}
	t.Setenv(configEnv, "missing.yaml")
	err := applyConfig(&f, nil)
	if err == nil || codeOf(err) != exitUsage || !strings.Contains(err.Error(), "KPLAY_CONFIG") {
		t.Errorf("missing KPLAY_CONFIG file: err = %v (code %d), want a bad-option error naming KPLAY_CONFIG", err, codeOf(err))
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "forks: 2\nfrok: 3\n", `kplay.yaml:2:1: unknown setting "frok" in the top level`},
		{"unknown ssh key", "ssh:\n  known_host: x\n", `kplay.yaml:2:3: unknown setting "known_host" in ssh:`},
		{"ssh not a mapping", "ssh: [a]\n", `kplay.yaml:1:6: ssh:: want a mapping`},
		{"negative forks", "forks: -1\n", "forks must be 0 (all hosts) or more, got -1"},
		{"bad timeout", "ssh: {connect_timeout: soon}\n", "ssh.connect_timeout: want seconds or a duration"},
		{"bad type", "forks: many\n", "cannot unmarshal"},
		{"bad yaml", "forks: [\n", "kplay.yaml: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "kplay.yaml")
			writeFile(t, p, tt.yaml)
			_, err := loadConfig(p)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if codeOf(err) != exitUsage {
				t.Errorf("exit code %d, want %d", codeOf(err), exitUsage)
			}
			if got := strings.ReplaceAll(err.Error(), filepath.Dir(p)+"/", ""); !strings.Contains(got, tt.want) {
				t.Errorf("error %q does not contain %q", got, tt.want)
			}
		})
	}
}

// TestLoadConfigEmpty: a file of comments only is a valid config.
func TestLoadConfigEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kplay.yaml")
	writeFile(t, p, "# nothing set yet\n")
	if _, err := loadConfig(p); err != nil {
		t.Fatal(err)
	}
}

// TestInitConfigLoads: the kplay.yaml that kplay init writes is accepted
// by loadConfig and names the inventory init writes.
func TestInitConfigLoads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kplay.yaml")
	if err := os.WriteFile(p, []byte(initConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Inventory != "hosts.yaml" {
		t.Errorf("inventory = %q, want hosts.yaml", c.Inventory)
	}
}
