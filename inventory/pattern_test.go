package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const patternInventory = `all:
  hosts:
    lone:
  children:
    web:
      hosts:
        web1.example.com:
        web2.example.com:
        web3.example.com:
    db:
      hosts:
        db1:
        db2:
    prod:
      hosts:
        web1.example.com:
        db1:
    staging:
      hosts:
        web2.example.com:
        db2:
`

var (
	w1, w2, w3 = "web1.example.com", "web2.example.com", "web3.example.com"
	allHosts   = []string{"lone", w1, w2, w3, "db1", "db2"}
)

func TestMatch(t *testing.T) {
	inv := parse(t, "hosts.yaml", patternInventory)
	tests := []struct {
		pattern  string
		want     []string
		warnings int
	}{
		{"all", allHosts, 0},
		{"*", allHosts, 0},
		{"web", []string{w1, w2, w3}, 0},
		{"db1", []string{"db1"}, 0},
		{"ungrouped", []string{"lone"}, 0},
		{"web*", []string{w1, w2, w3}, 0},
		{"*.example.com", []string{w1, w2, w3}, 0},
		{"web?.example.com", []string{w1, w2, w3}, 0},
		{"web[12].example.com", []string{w1, w2}, 0},
		{"web[!1].example.com", []string{w2, w3}, 0},
		{"d*", []string{"db1", "db2"}, 0},
		{"~db[12]", []string{"db1", "db2"}, 0},
		{"~web\\d", []string{w1, w2, w3}, 0},
		{"~example", nil, 1}, // anchored at the start, like Python's re.match
		{"~(prod|staging)", []string{w1, w2, "db1", "db2"}, 0},
		{"db:web", []string{w1, w2, w3, "db1", "db2"}, 0}, // inventory order, not pattern order
		{"db,web", []string{w1, w2, w3, "db1", "db2"}, 0},
		{"db web", []string{w1, w2, w3, "db1", "db2"}, 0},
		{" db , lone ", []string{"lone", "db1", "db2"}, 0},
		{"web:&prod", []string{w1}, 0},
		{"web,&prod", []string{w1}, 0},
		{"web:!staging", []string{w1, w3}, 0},
		{"!staging:web", []string{w1, w3}, 0},
		{"!db", []string{"lone", w1, w2, w3}, 0},
		{"&prod", []string{w1, "db1"}, 0},
		{"prod:staging:&web:!web2*", []string{w1}, 0},
		{"!prod:&web:staging:prod", []string{w2}, 0},
		{"web[0]", []string{w1}, 0},
		{"web[-1]", []string{w3}, 0},
		{"web[1:2]", []string{w2, w3}, 0},
		{"web[1:]", []string{w2, w3}, 0},
		{"web[0:10]", []string{w1, w2, w3}, 0},
		{"web[2:1]", nil, 0},
		{"web[1-2]", []string{w2, w3}, 1},
		{"web[0]:db[-1]", []string{w1, "db2"}, 0},
		{"nothing", nil, 1},
		{"nothing:web", []string{w1, w2, w3}, 1},
		{"nothing[0]", nil, 1},
		{"db1:22", nil, 1}, // an address with a port stays one pattern, as in Ansible
		{"localhost", []string{"localhost"}, 0},
		{"::1", []string{"::1"}, 0},
		{"all:localhost", append(append([]string{}, allHosts...), "localhost"), 0},
		{"all:!localhost", allHosts, 0},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			sel, err := inv.Select(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(sel.Hosts, want) {
				t.Errorf("hosts = %v, want %v", sel.Hosts, want)
			}
			if len(sel.Warnings) != tt.warnings {
				t.Errorf("warnings = %q, want %d", sel.Warnings, tt.warnings)
			}
			got, err := inv.Match(tt.pattern)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Match = %v, %v", got, err)
			}
		})
	}
}

func TestMatchErrors(t *testing.T) {
	inv := parse(t, "hosts.yaml", patternInventory)
	tests := []struct{ pattern, want string }{
		{"", "empty pattern"},
		{" , ", "empty pattern"},
		{"~web(", "invalid host list pattern"},
		{"~(?=x)", "invalid host list pattern"},
		{"web:&", `"&": empty sub-pattern`},
		{"web:!", `"!": empty sub-pattern`},
		{"web[3]", `host pattern "web[3]": no hosts matched the subscripted pattern`},
		{"db[12]", "no hosts matched the subscripted pattern"},
		{"web[-4]", "no hosts matched the subscripted pattern"},
		{"web[99999999999999999999]", "bad subscript"},
		{"web[", `host pattern "web[": unclosed [`},
		{"web]", "unmatched ]"},
		{"web[,db", `host pattern "web[": unclosed [`},
		{"db:web[0", "unclosed ["},
		{"web[]", "malformed subscript []"},
		{"web[:3]", "malformed subscript [:3]"},
		{"web[1:2:3]", "malformed subscript"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			_, err := inv.Match(tt.pattern)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSplitPattern(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a:b", []string{"a", "b"}},
		{"a:!b:&c", []string{"a", "!b", "&c"}},
		{"a,b:c", []string{"a", "b:c"}},
		{"web[1:3]:db", []string{"web[1:3]", "db"}},
		{"fe80::1", []string{"fe80::1"}},
		{"[::1]:22", []string{"[::1]:22"}},
		{"host:22", []string{"host:22"}},
		{"a  b", []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := splitPattern(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitPattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLimit(t *testing.T) {
	inv := parse(t, "hosts.yaml", patternInventory)
	dir := t.TempDir()
	file := filepath.Join(dir, "retry")
	if err := os.WriteFile(file, []byte("db2\n\n  web1.example.com  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		limit    string
		want     []string
		warnings int
	}{
		{"web", []string{w1, w2, w3}, 0},
		{"!web", []string{"lone", "db1", "db2"}, 0},
		{"prod:&db", []string{"db1"}, 0},
		{"@" + file, []string{w1, "db2"}, 0},
		{"@" + file + ",lone", []string{"lone", w1, "db2"}, 0},
		{"nothing", nil, 1},
		{"localhost", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.limit, func(t *testing.T) {
			sel, err := inv.Limit(allHosts, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(sel.Hosts, want) || len(sel.Warnings) != tt.warnings {
				t.Errorf("Limit = %v %q, want %v and %d warnings", sel.Hosts, sel.Warnings, want, tt.warnings)
			}
		})
	}
	// The order of the hosts given is kept.
	sel, err := inv.Limit([]string{"db2", w1, "lone"}, "db:web")
	if err != nil || !reflect.DeepEqual(sel.Hosts, []string{"db2", w1}) {
		t.Errorf("Limit keeps order: %v, %v", sel.Hosts, err)
	}
	for _, bad := range []string{"@" + filepath.Join(dir, "missing"), "", "~(", "web[", "web[:1]"} {
		if _, err := inv.Limit(allHosts, bad); err == nil {
			t.Errorf("Limit(%q): no error", bad)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	tests := []struct{ pattern, wantErr string }{
		{"all", ""},
		{"web[0]:db[-1]", ""},
		{"web[1:]", ""},
		{"web[12].example.com", ""},
		{"~(prod|staging)", ""},
		{"~db[12]", ""},
		{"web*:&prod:!db1", ""},
		{"[::1]:22", ""},
		{"fe80::1", ""},
		{"a,b:c", ""},
		{"", "empty pattern"},
		{"~(", "invalid host list pattern"},
		{"web:&", "empty sub-pattern"},
		{"web[", "unclosed ["},
		{"web[:3]", "malformed subscript"},
		{"web[99999999999999999999]", "bad subscript"},
	}
	for _, tt := range tests {
		err := CheckPattern(tt.pattern)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckPattern(%q) = %v, want no error", tt.pattern, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckPattern(%q) = %v, want an error containing %q", tt.pattern, err, tt.wantErr)
		}
	}
}
