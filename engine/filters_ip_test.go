package engine

import (
	"strings"
	"testing"
)

func TestIPFilters(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`"10.96.0.0/12" | nthhost(1)`, "10.96.0.1"},
		{`"10.96.0.0/12" | nth_host(10)`, "10.96.0.10"},
		{`"10.96.0.0/12" | nthhost(-1)`, "10.111.255.255"},
		{`"10.0.0.0/8" | nthhost(305)`, "10.0.1.49"},
		{`"fd00::/108" | nthhost(10)`, "fd00::a"},
		{`"10.96.0.0/12" | ipaddr("net") | ipaddr(1) | ipaddr("address")`, "10.96.0.1"},
		{`"10.96.0.0/12" | ansible.utils.ipaddr("net") | ansible.utils.ipaddr(10) | ansible.utils.ipaddr("address")`, "10.96.0.10"},
		{`"10.96.0.0/12" | ipaddr("1")`, "10.96.0.1/12"},
		{`"10.0.0.5/24" | ipaddr`, "10.0.0.5/24"},
		{`"10.0.0.5" | ipaddr`, "10.0.0.5"},
		{`"host.example" | ipaddr`, false},
		{`port | ipaddr`, false},
		{`"10.0.0.5/24" | ipaddr("address")`, "10.0.0.5"},
		{`"10.0.0.5/24" | ipaddr("net")`, false},
		{`"10.0.0.0/24" | ipaddr("net")`, "10.0.0.0/24"},
		{`"10.0.0.5/24" | ipaddr("host")`, "10.0.0.5/24"},
		{`"10.0.0.0/24" | ipaddr("host")`, false},
		{`"10.0.0.5" | ipaddr("host")`, "10.0.0.5/32"},
		{`"10.0.0.5/24" | ipaddr("network")`, "10.0.0.0"},
		{`"10.0.0.5/24" | ipaddr("subnet")`, "10.0.0.0/24"},
		{`"10.0.0.5/24" | ipaddr("prefix")`, 24},
		{`"10.0.0.5/20" | ipaddr("netmask")`, "255.255.240.0"},
		{`"10.0.0.5/24" | ipaddr("broadcast")`, "10.0.0.255"},
		{`"10.0.0.5/24" | ipaddr("size")`, 256},
		{`"10.0.0.5" | ipaddr("private")`, "10.0.0.5"},
		{`"8.8.8.8" | ipaddr("private")`, false},
		{`"8.8.8.8" | ipaddr("public")`, "8.8.8.8"},
		{`"10.0.0.0/30" | ipaddr(9)`, false},
		{`["10.0.0.1", "x", "fe80::1", "10.1.0.0/16"] | ipaddr`, []any{"10.0.0.1", "fe80::1", "10.1.0.0/16"}},
		{`["10.0.0.1", "fe80::1"] | ipv4`, []any{"10.0.0.1"}},
		{`["10.0.0.1", "fe80::1"] | ipv6`, []any{"fe80::1"}},
		{`"10.0.0.1" | ipv4("address")`, "10.0.0.1"},
		{`"fe80::1" | ipv4`, false},
		{`"192.168.1.7/24" | network`, "192.168.1.0"},
		{`"192.168.1.7/24" | prefix`, 24},
		{`"192.168.1.7/23" | netmask`, "255.255.254.0"},
		{`"10.0.0.255" | ipmath(1)`, "10.0.1.0"},
		{`"10.0.0.5/24" | ipmath(-5)`, "10.0.0.0"},
		{`"fe80::1" | ipwrap`, "[fe80::1]"},
		{`"10.0.0.1" | ipwrap`, "10.0.0.1"},
	})
}

func TestIPFilterErrors(t *testing.T) {
	e := NewEvaluator()
	cases := []struct{ src, want string }{
		{`"10.96.0.0/30" | nthhost(4)`, "address 4 is outside 10.96.0.0/30"},
		{`"nope" | nthhost(1)`, `nthhost: "nope" is not an address or network`},
		{`"10.0.0.0/8" | nthhost("x")`, "index must be an integer"},
		{`"255.255.255.255" | ipmath(1)`, "overflows"},
		{`"nope" | network`, "not an address"},
		{`"10.0.0.1" | ipaddr("bogus")`, `unknown query "bogus"`},
		{`"::/0" | ipaddr("size")`, "network too large"},
	}
	for _, c := range cases {
		_, err := e.Eval(c.src, testVars())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Eval(%s) error = %v, want it to contain %q", c.src, err, c.want)
		}
	}
}
