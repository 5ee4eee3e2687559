package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// Connection is how to reach a host, read from its variables so that the
// transport needs to know nothing about inventories. Each field is read
// from the first of these variables that is set (a kplay_ spelling wins
// over Ansible's):
//
//	Type            kplay_connection, ansible_connection (default "ssh"; "smart" and "paramiko" mean "ssh")
//	Address         kplay_host, ansible_host, ansible_ssh_host (default: the host name)
//	Port            kplay_port, ansible_port, ansible_ssh_port
//	User            kplay_user, ansible_user, ansible_ssh_user
//	KeyFile         kplay_private_key_file, ansible_ssh_private_key_file, ansible_private_key_file
//	Password        kplay_password, ansible_password, ansible_ssh_pass, ansible_ssh_password
//	Become          kplay_become, ansible_become
//	BecomeUser      kplay_become_user, ansible_become_user
//	BecomeMethod    kplay_become_method, ansible_become_method
//	BecomePassword  kplay_become_password, ansible_become_password, ansible_become_pass
type Connection struct {
	Type           string // "ssh" | "local" (other values are passed through for the caller to reject)
	Address        string // defaults to the host name
	Port           int    // 0 = default
	User           string
	KeyFile        string
	Password       string
	Become         bool
	BecomeUser     string // "" = default (root)
	BecomeMethod   string // "" = default (sudo)
	BecomePassword string
}

// connVars lists, for each Connection field, the variables read, first
// found wins: the kplay_ spelling, then Ansible's names (current, then the
// older ones Ansible still accepts). Keep the Connection doc comment and
// docs/inventory.md in step with it.
var connVars = struct {
	typ, addr, port, user, key, pass, become, becomeUser, becomeMethod, becomePass []string
}{
	typ:          []string{"kplay_connection", "ansible_connection"},
	addr:         []string{"kplay_host", "ansible_host", "ansible_ssh_host"},
	port:         []string{"kplay_port", "ansible_port", "ansible_ssh_port"},
	user:         []string{"kplay_user", "ansible_user", "ansible_ssh_user"},
	key:          []string{"kplay_private_key_file", "ansible_ssh_private_key_file", "ansible_private_key_file"},
	pass:         []string{"kplay_password", "ansible_password", "ansible_ssh_pass", "ansible_ssh_password"},
	become:       []string{"kplay_become", "ansible_become"},
	becomeUser:   []string{"kplay_become_user", "ansible_become_user"},
	becomeMethod: []string{"kplay_become_method", "ansible_become_method"},
	becomePass:   []string{"kplay_become_password", "ansible_become_password", "ansible_become_pass"},
}

// Connection returns the host's connection settings from its inventory
// variables. A value that cannot be read (a port of "{{ p }}") is left at
// its zero value; the engine, which renders templates, should call
// ConnectionOf on rendered variables to get such errors.
func (h *Host) Connection() Connection {
	c, _ := ConnectionOf(h.Name, h.Vars)
	return c
}

// ConnectionOf reads connection settings for host name from vars (see
// connVars for the names and aliases). Type defaults to "ssh" ("smart" and
// "paramiko" also mean ssh) and Address to name. It returns every field it
// could read and an error naming the variables it could not.
func ConnectionOf(name string, vars map[string]any) (Connection, error) {
	c := Connection{Type: "ssh", Address: name}
	var bad []string
	str := func(dst *string, names []string) {
		if k, v, ok := first(vars, names); ok {
			if s, ok := scalarString(v); ok {
				*dst = s
			} else {
				bad = append(bad, fmt.Sprintf("%s: want a string, got %T", k, v))
			}
		}
	}
	str(&c.Type, connVars.typ)
	str(&c.Address, connVars.addr)
	str(&c.User, connVars.user)
	str(&c.KeyFile, connVars.key)
	str(&c.Password, connVars.pass)
	str(&c.BecomeUser, connVars.becomeUser)
	str(&c.BecomeMethod, connVars.becomeMethod)
	str(&c.BecomePassword, connVars.becomePass)
	if c.Type == "smart" || c.Type == "paramiko" {
		c.Type = "ssh"
	}
	if k, v, ok := first(vars, connVars.port); ok {
		if n, ok := toInt(v); ok && n >= 0 && n <= 65535 {
			c.Port = n
		} else {
			bad = append(bad, fmt.Sprintf("%s: want a port number, got %v", k, v))
		}
	}
	if k, v, ok := first(vars, connVars.become); ok {
		if b, ok := ansibleBool(v); ok {
			c.Become = b
		} else {
			bad = append(bad, fmt.Sprintf("%s: want a boolean, got %v", k, v))
		}
	}
	if len(bad) > 0 {
		return c, fmt.Errorf("host %s: connection vars: %s", name, strings.Join(bad, "; "))
	}
	return c, nil
}

// first returns the first of names set in vars.
func first(vars map[string]any, names []string) (string, any, bool) {
	for _, n := range names {
		if v, ok := vars[n]; ok && v != nil {
			return n, v, true
		}
	}
	return "", nil, false
}

// scalarString formats strings and numbers (an INI password of 1234 is an
// int) as strings.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// ansibleBool reads a boolean as Ansible's boolean() does: yes/no, on/off,
// true/false, 1/0 and y/n, in any case.
func ansibleBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "yes", "on", "true", "1", "y", "t":
			return true, true
		case "no", "off", "false", "0", "n", "f", "":
			return false, true
		}
	}
	return false, false
}
