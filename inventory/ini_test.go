package inventory

import (
	"reflect"
	"strings"
	"testing"
)

func TestINIValues(t *testing.T) {
	tests := []struct {
		raw      string // as written after "key="
		hostLine any    // value when written on a host line
		varsLine any    // value when written in [g:vars]
	}{
		{"5", 5, 5},
		{"-3", -3, -3},
		{"0x10", 16, 16},
		{"1_000", 1000, 1000},
		{"1.5", 1.5, 1.5},
		{"1e3", 1000.0, 1000.0},
		{"True", true, true},
		{"False", false, false},
		{"None", nil, nil},
		{"true", "true", "true"}, // not Python: text, as in Ansible
		{"yes", "yes", "yes"},
		{"FALSE", "FALSE", "FALSE"},
		{"0123", "0123", "0123"},
		{"/usr/bin/python3", "/usr/bin/python3", "/usr/bin/python3"},
		{"10.0.0.1", "10.0.0.1", "10.0.0.1"},
		{"'5'", 5, "5"}, // shlex strips the quotes on host lines first
		{`"a b"`, "a b", "a b"},
		{`"'x'"`, "x", `'x'`},
		{`'[1, "two"]'`, []any{1, "two"}, `[1, "two"]`},
		{`"{'k': 1}"`, map[string]any{"k": 1}, `{'k': 1}`},
		{"[1,2]", []any{1, 2}, []any{1, 2}},
		{"(1,)", []any{1}, []any{1}},
		{"{'a':[1,(2,3)]}", "{a:[1,(2,3)]}", map[string]any{"a": []any{1, []any{2, 3}}}},
		{`'a\tb'`, `a\tb`, "a\tb"}, // shlex keeps the backslash, literal_eval decodes it
		{"x#y", "x", "x#y"},        // '#' starts a shlex comment on host lines
		{"''", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			src := "[g]\nh k=" + tt.raw + "\n[g:vars]\nk=" + tt.raw + "\n"
			inv := parse(t, "hosts", src)
			if got := inv.Hosts["h"].Vars["k"]; !reflect.DeepEqual(got, tt.hostLine) {
				t.Errorf("host line: k = %#v, want %#v", got, tt.hostLine)
			}
			if got := inv.Groups["g"].Vars["k"]; !reflect.DeepEqual(got, tt.varsLine) {
				t.Errorf("vars section: k = %#v, want %#v", got, tt.varsLine)
			}
		})
	}
}

func TestINIStructure(t *testing.T) {
	src := "\ufeff" + `; a comment
# another
loose1
loose2 x=1   # trailing comment

[web]
web[01:03].lan http_port=8080
db1

[db]   # trailing comment on a section
db1:2222 ansible_user=pg
db[a:c] role="replica 1"

[prod:vars]
env = production # kept: [vars] values are not shlex-split

[prod:children]
web   # comment
late

[late]
late1

` + "[prod]\r\np1\r\n" // CRLF lines too
	inv := parse(t, "hosts", src)
	wantOrder := []string{"loose1", "loose2", "web01.lan", "web02.lan", "web03.lan", "db1", "dba", "dbb", "dbc", "late1", "p1"}
	if !reflect.DeepEqual(inv.Order, wantOrder) {
		t.Fatalf("Order = %v\nwant %v", inv.Order, wantOrder)
	}
	gm := inv.GroupMap()
	want := map[string][]string{
		"ungrouped": {"loose1", "loose2"},
		"web":       {"web01.lan", "web02.lan", "web03.lan", "db1"},
		"db":        {"db1", "dba", "dbb", "dbc"},
		"prod":      {"web01.lan", "web02.lan", "web03.lan", "db1", "late1", "p1"},
		"late":      {"late1"},
	}
	for g, w := range want {
		if !reflect.DeepEqual(gm[g], w) {
			t.Errorf("groups[%s] = %v, want %v", g, gm[g], w)
		}
	}
	db1 := inv.Hosts["db1"]
	if w := []string{"db", "prod", "web"}; !reflect.DeepEqual(db1.Groups, w) {
		t.Errorf("db1 group_names = %v, want %v", db1.Groups, w)
	}
	for k, w := range map[string]any{"ansible_port": 2222, "ansible_user": "pg", "env": "production # kept: [vars] values are not shlex-split"} {
		if got := db1.Vars[k]; got != w {
			t.Errorf("db1 %s = %#v, want %#v", k, got, w)
		}
	}
	if got := inv.Hosts["dbb"].Vars["role"]; got != "replica 1" {
		t.Errorf("dbb role = %#v", got)
	}
	if got := inv.Hosts["loose2"].Vars["x"]; got != 1 {
		t.Errorf("loose2 x = %#v", got)
	}
	if got := inv.Groups["web"].Pos; got != "hosts:6" {
		t.Errorf("web Pos = %q", got)
	}
}

func TestINIErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown section type", "[web]\na\n[web:foo]\n", "hosts:3: section [web:foo] has unknown type: foo"},
		{"space in section", "[web servers]\n", "hosts:1: invalid section entry"},
		{"unclosed section", "[db]\nh\n[web\nw1\n", `hosts:3: unclosed section header: "[web"`},
		{"unclosed section with comment", "[web # the web tier\n", `hosts:1: unclosed section header: "[web # the web tier"`},
		{"vars line without =", "[web]\na\n[web:vars]\nx\n", "hosts:4: expected key=value, got: x"},
		{"host var without =", "[web]\na b\n", "hosts:2: expected key=value host variable assignment, got: b"},
		{"unclosed quote", "[web]\na x='y\n", `hosts:2: error parsing host definition "a x='y": no closing quotation`},
		{"bad child name", "[a:children]\nb:c\n", "hosts:2: expected group name, got: b:c"},
		{"undefined child", "[a]\nh\n[a:children]\nnope\n", "hosts:4: section [a:children] includes undefined group: nope"},
		{"vars of undefined group", "[a:vars]\nx=1\n", "hosts:1: section [a:vars] not valid for undefined group: a"},
		{"bad range", "[a]\nweb[1:x]\n", `hosts:2: host range "web[1:x]"`},
		{"range width", "[a]\nweb[01:100]\n", "equal-length begin and end"},
		{"huge range", "[a]\nweb[0:10000000]\n", "more than 100000 hosts"},
		{"cycle", "[a:children]\nb\n[b:children]\na\n", `hosts:4: group "a" as child of "b": cycle b -> a -> b`},
		{"late cycle", "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n", "cycle"},
		{"bad priority", "[a]\nh\n[a:vars]\nansible_group_priority=x\n", `hosts:4: group "a": ansible_group_priority must be an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("hosts", []byte(tt.src), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExpandHostPattern(t *testing.T) {
	tests := []struct {
		in       string
		want     []string
		wantPort int
	}{
		{"web", []string{"web"}, 0},
		{"web:22", []string{"web"}, 22},
		{"10.0.0.1:2222", []string{"10.0.0.1"}, 2222},
		{"[::1]:2222", []string{"::1"}, 2222},
		{"fe80::1", []string{"fe80::1"}, 0},
		{"web[1:3]", []string{"web1", "web2", "web3"}, 0},
		{"web[:2]", []string{"web0", "web1", "web2"}, 0},
		{"web[01:03].lan:8022", []string{"web01.lan", "web02.lan", "web03.lan"}, 8022},
		{"w[1:5:2]", []string{"w1", "w3", "w5"}, 0},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}, 0},
		{"n[y:B]", []string{"ny", "nz", "nA", "nB"}, 0},
		{"r[1:2]-[a:b]", []string{"r1-a", "r1-b", "r2-a", "r2-b"}, 0},
		{"x[3:1]", nil, 0},
	}
	for _, tt := range tests {
		got, port, err := expandHostPattern(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) || port != tt.wantPort {
			t.Errorf("expandHostPattern(%q) = %v, %d, %v; want %v, %d", tt.in, got, port, err, tt.want, tt.wantPort)
		}
	}
	for _, bad := range []string{"w[1]", "w[1:2:0]", "w[1:2", "w[c:a]", "w[1:2:3:4]", "h:99999"} {
		if _, _, err := expandHostPattern(bad); err == nil {
			t.Errorf("expandHostPattern(%q): no error", bad)
		}
	}
}
