package transport

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSSHConfigLookup(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	writeFile(t, filepath.Join(dir, "extra.conf"), "Host inc\n  HostName included.example\n")
	cfg := filepath.Join(dir, "config")
	writeFile(t, cfg, `# global first
IdentityFile ~/.ssh/global_%r
Include extra.conf

Host web-* !web-bastion
    User deploy
    Port 2222
    IdentityFile %d/keys/%h
Host web-? db
    User ignored-first-wins
    HostName %h.internal
Host web-bastion
    HostName bastion.example
Host * 
    User = fallback
    ProxyJump "jumpy"
Match host x
    User never
`)
	sc, err := loadSSHConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host                            string
		hostName, user, port, proxyJump string
		identity                        []string
	}{
		{host: "web-1", hostName: "web-1.internal", user: "deploy", port: "2222", proxyJump: "jumpy",
			identity: []string{dir + "/.ssh/global_deploy", dir + "/keys/web-1.internal"}},
		{host: "web-bastion", hostName: "bastion.example", user: "fallback", proxyJump: "jumpy",
			identity: []string{dir + "/.ssh/global_fallback"}},
		{host: "DB", hostName: "DB.internal", user: "ignored-first-wins", proxyJump: "jumpy",
			identity: []string{dir + "/.ssh/global_ignored-first-wins"}},
		{host: "inc", hostName: "included.example", user: "fallback", proxyJump: "jumpy",
			identity: []string{dir + "/.ssh/global_fallback"}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			st := sc.lookup(tt.host)
			got := []string{st.hostName, st.user, st.port, st.proxyJump}
			want := []string{tt.hostName, tt.user, tt.port, tt.proxyJump}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("settings = %q, want %q", got, want)
			}
			h := st.hostName
			if ids := st.identityFiles(h, st.user, 22); !reflect.DeepEqual(ids, tt.identity) {
				t.Errorf("identity files = %q, want %q", ids, tt.identity)
			}
		})
	}
}

func TestSSHConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ content, want string }{
		{"Host\n", "config:1: host: missing argument"},
		{"Host a\n  User \"unterminated\n", "config:2: unterminated quote"},
		{"Include self\n", "include nested too deeply"},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, "config")
		writeFile(t, path, tt.content)
		writeFile(t, filepath.Join(dir, "self"), "Include self\n")
		_, err := loadSSHConfig(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.content, err, tt.want)
		}
	}
	if _, err := loadSSHConfig(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing file: %v, want empty config", err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	path := filepath.Join(dir, "config")
	writeFile(t, path, "Host alias\n  HostName 10.0.0.5\n  User cfguser\n  Port 2200\n  IdentityFile /k/id\n  ProxyJump j1,ops@j2:2022\nHost bad\n  Port x\n")
	p := NewPool(Options{SSHConfigFile: path})
	got, err := p.resolve(Config{Name: "alias", Address: "alias", User: "explicit"})
	if err != nil {
		t.Fatal(err)
	}
	want := target{host: "10.0.0.5", port: 2200, user: "explicit", keyFiles: []string{"/k/id"}, jump: "j1,ops@j2:2022"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resolve = %+v, want %+v", got, want)
	}
	if _, err := p.resolve(Config{Name: "bad"}); err == nil || !strings.Contains(err.Error(), `bad port "x"`) {
		t.Errorf("bad port: err = %v", err)
	}
	j, err := parseJump(got.jump)
	if err != nil {
		t.Fatal(err)
	}
	if wantJ := (Config{Name: "j2", Address: "j2", User: "ops", Port: 2022, ProxyJump: "j1"}); !reflect.DeepEqual(j, wantJ) {
		t.Errorf("parseJump = %+v, want %+v", j, wantJ)
	}
}

func TestMatchHost(t *testing.T) {
	tests := []struct {
		patterns []string
		host     string
		want     bool
	}{
		{[]string{"*"}, "a", true},
		{[]string{"*.example", "!secret.example"}, "www.example", true},
		{[]string{"*.example", "!secret.example"}, "secret.example", false},
		{[]string{"!secret.example"}, "other", false},
		{[]string{"h?"}, "h1", true},
		{[]string{"h?"}, "h10", false},
		{[]string{"a,b"}, "b", true},
	}
	for _, tt := range tests {
		if got := matchHost(tt.patterns, tt.host); got != tt.want {
			t.Errorf("matchHost(%q, %q) = %v, want %v", tt.patterns, tt.host, got, tt.want)
		}
	}
}
