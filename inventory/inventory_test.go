package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parse parses src as an inventory named name, with no vars folders.
func parse(t *testing.T, name, src string) *Inventory {
	t.Helper()
	inv, err := Parse(name, []byte(src), "")
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return inv
}

// writeTree writes files (slash paths relative to a new temp dir) and
// returns the dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadKubeasz(t *testing.T) {
	inv, err := Load("testdata/kubeasz/hosts")
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"192.168.1.1", "192.168.1.2", "192.168.1.3", "192.168.1.4", "192.168.1.5", "worker-06.lan", "worker-07.lan"}
	if !reflect.DeepEqual(inv.Order, wantOrder) {
		t.Errorf("Order = %v, want %v", inv.Order, wantOrder)
	}
	gm := inv.GroupMap()
	wantGroups := map[string][]string{
		"all":         wantOrder,
		"ungrouped":   {},
		"etcd":        {"192.168.1.1", "192.168.1.2", "192.168.1.3"},
		"kube_master": {"192.168.1.1", "192.168.1.2", "192.168.1.3"},
		"kube_node":   {"192.168.1.4", "192.168.1.5", "worker-06.lan", "worker-07.lan"},
		"k8s":         wantOrder,
		"harbor":      {}, "ex_lb": {}, "chrony": {},
	}
	if !reflect.DeepEqual(gm, wantGroups) {
		t.Errorf("GroupMap = %v\nwant %v", gm, wantGroups)
	}
	h, _ := inv.Host("192.168.1.1")
	if want := []string{"etcd", "k8s", "kube_master"}; !reflect.DeepEqual(h.Groups, want) {
		t.Errorf("group_names = %v, want %v", h.Groups, want)
	}
	w2, _ := inv.Host("192.168.1.5")
	checks := []struct {
		host *Host
		key  string
		want any
	}{
		{h, "k8s_nodename", "master-01"},
		{h, "SECURE_PORT", "6443"}, // quoted in [all:vars]: a string
		{h, "CLUSTER_NETWORK", "calico"},
		{h, "ENABLE_MIRROR_REGISTRY", "true"}, // not a Python literal: stays text
		{h, "cluster_dir", "{{ base_dir }}/clusters/_cluster_name_"},
		{h, "ansible_python_interpreter", "/usr/bin/python3"},
		{w2, "ansible_port", 2222},
		{w2, "ansible_user", "ops"},
		{w2, "k8s_nodename", "worker-02"},
		{inv.Hosts["worker-06.lan"], "k8s_nodename", ""},
	}
	for _, c := range checks {
		if got := c.host.Vars[c.key]; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %s = %#v, want %#v", c.host.Name, c.key, got, c.want)
		}
	}
	if g := inv.Groups["kube_master"]; g.Pos != "testdata/kubeasz/hosts:9" {
		t.Errorf("kube_master Pos = %q", g.Pos)
	}
}

func TestLoadKubespray(t *testing.T) {
	inv, err := Load("testdata/kubespray/hosts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"node1", "node2", "node3"}; !reflect.DeepEqual(inv.Order, want) {
		t.Errorf("Order = %v, want %v", inv.Order, want)
	}
	k := inv.Groups["k8s_cluster"]
	if want := []string{"kube_control_plane", "kube_node", "calico_rr"}; !reflect.DeepEqual(k.Children, want) {
		t.Errorf("k8s_cluster children = %v, want %v", k.Children, want)
	}
	n3 := inv.Hosts["node3"]
	if want := []string{"etcd", "k8s_cluster", "kube_node"}; !reflect.DeepEqual(n3.Groups, want) {
		t.Errorf("node3 group_names = %v, want %v", n3.Groups, want)
	}
	if len(inv.Groups["ungrouped"].Hosts) != 0 {
		t.Errorf("hosts listed under all and in groups must not be ungrouped: %v", inv.Groups["ungrouped"].Hosts)
	}
	var sources []string
	for _, l := range n3.Layers {
		sources = append(sources, l.Source)
	}
	wantSources := []string{"hosts.yaml group all", "group_vars/all/all.yml", "group_vars/all/etcd.yml", "group_vars/k8s_cluster/k8s-cluster.yml", "hosts.yaml host node3"}
	if !reflect.DeepEqual(sources, wantSources) {
		t.Errorf("layers = %v, want %v", sources, wantSources)
	}
	for key, want := range map[string]any{
		"kube_network_plugin":         "cilium", // group_vars/k8s_cluster over the file's all vars
		"ansible_host":                "95.54.0.14",
		"loadbalancer_apiserver_port": 6443,
		"upstream_dns_servers":        []any{"8.8.8.8", "8.8.4.4"},
		"ansible_user":                "ubuntu",
	} {
		if got := n3.Vars[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("node3 %s = %#v, want %#v", key, got, want)
		}
	}
}

func TestYAMLStructure(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		wantOrder  []string
		wantGroups map[string][]string // GroupMap entries to check
		wantNames  map[string][]string // group_names per host
	}{
		{
			name: "nested groups and a host in several groups",
			src: `all:
  children:
    k8s:
      children:
        masters:
          hosts: {m1: , m2: }
        workers:
          hosts: {w1: , m2: }
`,
			wantOrder:  []string{"m1", "m2", "w1"},
			wantGroups: map[string][]string{"k8s": {"m1", "m2", "w1"}, "workers": {"m2", "w1"}, "ungrouped": {}},
			wantNames:  map[string][]string{"m2": {"k8s", "masters", "workers"}, "w1": {"k8s", "workers"}},
		},
		{
			name:       "hosts directly under all are ungrouped",
			src:        "all:\n  hosts:\n    a:\n    b:\n  children:\n    g:\n      hosts:\n        b:\n",
			wantOrder:  []string{"a", "b"},
			wantGroups: map[string][]string{"ungrouped": {"a"}, "g": {"b"}, "all": {"a", "b"}},
			wantNames:  map[string][]string{"a": {"ungrouped"}, "b": {"g"}},
		},
		{
			name:       "top-level group without all, ranges and ports",
			src:        "web:\n  hosts:\n    web[1:3]:\n    db.lan:2222:\n",
			wantOrder:  []string{"web1", "web2", "web3", "db.lan"},
			wantGroups: map[string][]string{"all": {"web1", "web2", "web3", "db.lan"}},
			wantNames:  map[string][]string{"web2": {"web"}},
		},
		{
			name:       "a string stands for a one-entry mapping",
			src:        "g:\n  hosts: solo\n",
			wantOrder:  []string{"solo"},
			wantGroups: map[string][]string{"g": {"solo"}},
		},
		{
			name:       "children listed before their definition",
			src:        "parent:\n  children:\n    kid:\nkid:\n  hosts:\n    k1:\n",
			wantOrder:  []string{"k1"},
			wantGroups: map[string][]string{"parent": {"k1"}},
			wantNames:  map[string][]string{"k1": {"kid", "parent"}},
		},
		{
			name:       "empty inventory",
			src:        "# nothing yet\n",
			wantOrder:  nil,
			wantGroups: map[string][]string{"all": {}, "ungrouped": {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := parse(t, "hosts.yaml", tt.src)
			if !reflect.DeepEqual(inv.Order, tt.wantOrder) {
				t.Errorf("Order = %v, want %v", inv.Order, tt.wantOrder)
			}
			gm := inv.GroupMap()
			for g, want := range tt.wantGroups {
				if !reflect.DeepEqual(gm[g], want) {
					t.Errorf("groups[%s] = %v, want %v", g, gm[g], want)
				}
			}
			for h, want := range tt.wantNames {
				if got := inv.Hosts[h].Groups; !reflect.DeepEqual(got, want) {
					t.Errorf("%s group_names = %v, want %v", h, got, want)
				}
			}
		})
	}
}

func TestYAMLValueTypes(t *testing.T) {
	inv := parse(t, "hosts.yaml", `all:
  vars:
    n: 3
    big: 12345678901
    f: 1.5
    b: yes
    t: true
    s: "3"
    l: [1, two]
    m: {k: [1]}
    z: ~
    d: 2024-01-01
  hosts:
    h:
      port_in_string: "22"
`)
	want := map[string]any{
		"n": 3, "big": 12345678901, "f": 1.5, "b": "yes", "t": true, "s": "3",
		"l": []any{1, "two"}, "m": map[string]any{"k": []any{1}}, "z": nil,
		"d":              "2024-01-01",
		"port_in_string": "22",
	}
	if got := inv.Hosts["h"].Vars; !reflect.DeepEqual(got, want) {
		t.Errorf("vars = %#v\nwant %#v", got, want)
	}
}

func TestYAMLWarnings(t *testing.T) {
	inv := parse(t, "hosts.yaml", "all:\n  host:\n    a:\n  children:\n    a:\n      hosts:\n        a:\n")
	joined := strings.Join(inv.Warnings, "\n")
	for _, want := range []string{`hosts.yaml:2:3: skipping unexpected key "host" in group "all"`, "both group and host with same name: a"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", joined, want)
		}
	}
}

func TestYAMLErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"syntax", "all:\n  hosts:\n    a: [\n", "hosts.yaml:3: "},
		{"tab indentation", "all:\n\thosts:\n", "hosts.yaml:2: found character that cannot start any token"},
		{"not a mapping", "- a\n- b\n", "hosts.yaml:1:1: inventory must be a mapping of group names, got a list"},
		{"hosts is a list", "all:\n  hosts:\n    - a\n", `hosts.yaml:3:5: invalid "hosts" entry for group "all": requires a mapping, found a list`},
		{"vars is a list", "g:\n  vars: [a]\n", `hosts.yaml:2:9: invalid "vars" entry for group "g"`},
		{"host vars not a mapping", "g:\n  hosts:\n    a: 3\n", `hosts.yaml:3:8: host "a": vars must be a mapping`},
		{"duplicate var", "g:\n  vars:\n    a: 1\n    a: 2\n", `hosts.yaml:4:5: mapping key "a" already defined at line 3`},
		{"bad range", "g:\n  hosts:\n    web[1:]:\n", `hosts.yaml:3:5: host range "web[1:]": host range must specify end value`},
		{"cycle", "a:\n  children:\n    b:\n      children:\n        a:\n", `hosts.yaml:3:5: group "b" as child of "a": cycle a -> b -> a`},
		{"duplicate host", "g:\n  hosts:\n    a:\n    a:\n", `hosts.yaml:4:5: mapping key "a" already defined at line 3`},
		{"self child", "a:\n  children:\n    a:\n", `cycle a -> a`},
		{"all as child", "a:\n  children:\n    all:\n", `cycle`},
		{"vault", "g:\n  vars:\n    pw: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n", "hosts.yaml:3:9: !vault values are not supported"},
		{"unsafe", "g:\n  hosts:\n    h:\n      x: !unsafe '{{ a }}'\n", "hosts.yaml:4:10: !unsafe values are not supported"},
		{"bad priority", "g:\n  vars:\n    ansible_group_priority: high\n", `hosts.yaml:3:5: group "g": ansible_group_priority must be an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("hosts.yaml", []byte(tt.src), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name, src string
		wantYAML  bool
	}{
		{"hosts.yaml", "x", true},
		{"hosts.yml", "x", true},
		{"inv.json", "{}", true},
		{"hosts.ini", "all:\n  hosts:\n", false},
		{"hosts", "all:\n  hosts:\n    a:\n", true},
		{"hosts", "# c\n[web]\na\n", false},
		{"hosts", "a\nb\n", false},
		{"hosts", "a:22\n", false},
		{"hosts", "a ansible_host=1.2.3.4\n", false},
		{"hosts", "", false},
	}
	for _, tt := range tests {
		if got := isYAML(tt.name, []byte(tt.src)); got != tt.wantYAML {
			t.Errorf("isYAML(%s, %q) = %v, want %v", tt.name, tt.src, got, tt.wantYAML)
		}
	}
}

func TestImplicitLocalhost(t *testing.T) {
	inv := parse(t, "hosts.yaml", "all:\n  vars:\n    x: 1\n  hosts:\n    a:\n")
	if got, _ := inv.Match("all"); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf(`Match("all") = %v, implicit localhost must not be in all`, got)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		got, err := inv.Match(name)
		if err != nil || !reflect.DeepEqual(got, []string{name}) {
			t.Errorf("Match(%q) = %v, %v", name, got, err)
		}
		h, ok := inv.Host(name)
		if !ok {
			t.Fatalf("Host(%q) missing", name)
		}
		if h.Vars["ansible_connection"] != "local" || h.Vars["x"] != 1 || len(h.Groups) != 0 {
			t.Errorf("%s: vars %v groups %v; want local connection, all's vars, no groups", name, h.Vars, h.Groups)
		}
		if c := h.Connection(); c.Type != "local" {
			t.Errorf("%s: connection type %q", name, c.Type)
		}
	}
	if got, _ := inv.Match("all:localhost"); !reflect.DeepEqual(got, []string{"a", "localhost"}) {
		t.Errorf(`Match("all:localhost") = %v`, got)
	}
	if _, ok := inv.Host("other"); ok {
		t.Error(`Host("other") found`)
	}
	if _, ok := inv.GroupMap()["all"]; !ok || len(inv.GroupMap()["all"]) != 1 {
		t.Errorf("groups.all = %v", inv.GroupMap()["all"])
	}

	// Defined explicitly, localhost is an ordinary host, as in Ansible.
	inv = parse(t, "hosts.yaml", "all:\n  hosts:\n    localhost:\n")
	h, _ := inv.Host("localhost")
	if _, ok := h.Vars["ansible_connection"]; ok || h.Connection().Type != "ssh" {
		t.Errorf("explicit localhost vars = %v, want no implicit connection", h.Vars)
	}
	if got, _ := inv.Match("all"); !reflect.DeepEqual(got, []string{"localhost"}) {
		t.Errorf(`Match("all") = %v`, got)
	}
}
