package inventory

import (
	"strings"
	"testing"
)

func TestConnectionOf(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]any
		want Connection
	}{
		{"defaults", nil, Connection{Type: "ssh", Address: "h"}},
		{
			"ansible names",
			map[string]any{
				"ansible_connection": "ssh", "ansible_host": "10.0.0.5", "ansible_port": 2222, "ansible_user": "ops",
				"ansible_ssh_private_key_file": "~/.ssh/id", "ansible_password": "pw", "ansible_become": true,
				"ansible_become_user": "admin", "ansible_become_method": "su", "ansible_become_password": "bpw",
			},
			Connection{Type: "ssh", Address: "10.0.0.5", Port: 2222, User: "ops", KeyFile: "~/.ssh/id", Password: "pw",
				Become: true, BecomeUser: "admin", BecomeMethod: "su", BecomePassword: "bpw"},
		},
		{
			"older ansible aliases",
			map[string]any{"ansible_ssh_host": "a", "ansible_ssh_port": "22", "ansible_ssh_user": "u", "ansible_private_key_file": "k", "ansible_ssh_pass": "p", "ansible_become_pass": "bp"},
			Connection{Type: "ssh", Address: "a", Port: 22, User: "u", KeyFile: "k", Password: "p", BecomePassword: "bp"},
		},
		{
			"kplay spellings win",
			map[string]any{
				"ansible_connection": "ssh", "kplay_connection": "local",
				"ansible_host": "1.1.1.1", "kplay_host": "2.2.2.2",
				"ansible_port": 22, "kplay_port": 2200,
				"ansible_user": "a", "kplay_user": "k",
				"ansible_ssh_private_key_file": "a", "kplay_private_key_file": "k",
				"ansible_password": "a", "kplay_password": "k",
				"ansible_become": false, "kplay_become": "yes",
				"ansible_become_user": "a", "kplay_become_user": "k",
				"ansible_become_method": "sudo", "kplay_become_method": "su",
				"ansible_become_password": "a", "kplay_become_password": "k",
			},
			Connection{Type: "local", Address: "2.2.2.2", Port: 2200, User: "k", KeyFile: "k", Password: "k",
				Become: true, BecomeUser: "k", BecomeMethod: "su", BecomePassword: "k"},
		},
		{"smart means ssh", map[string]any{"ansible_connection": "smart"}, Connection{Type: "ssh", Address: "h"}},
		{"numeric password from INI", map[string]any{"ansible_password": 1234}, Connection{Type: "ssh", Address: "h", Password: "1234"}},
		{"become as Ansible booleans", map[string]any{"ansible_become": "On"}, Connection{Type: "ssh", Address: "h", Become: true}},
		{"become no", map[string]any{"ansible_become": "no"}, Connection{Type: "ssh", Address: "h"}},
		{"null falls through to the next name", map[string]any{"kplay_user": nil, "ansible_user": "u"}, Connection{Type: "ssh", Address: "h", User: "u"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConnectionOf("h", tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestConnectionOfErrors(t *testing.T) {
	vars := map[string]any{"ansible_port": "{{ p }}", "ansible_become": "maybe", "ansible_user": []any{"x"}, "ansible_host": "a"}
	c, err := ConnectionOf("h", vars)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"ansible_port", "ansible_become", "ansible_user"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if c.Address != "a" || c.Port != 0 {
		t.Errorf("readable fields lost: %+v", c)
	}
}

func TestHostConnectionFromInventory(t *testing.T) {
	inv := parse(t, "hosts", "[web]\nw1:2222 ansible_host=10.0.0.1 kplay_user=deploy ansible_user=root ansible_become=True\n[web:vars]\nansible_ssh_private_key_file=/k\n")
	h, _ := inv.Host("w1")
	want := Connection{Type: "ssh", Address: "10.0.0.1", Port: 2222, User: "deploy", KeyFile: "/k", Become: true}
	if got := h.Connection(); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
