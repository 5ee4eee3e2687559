package inventory

import (
	"os"
	"testing"
)

// addSeeds adds the committed fixtures and the given snippets as seeds.
func addSeeds(f *testing.F, files []string, extra ...string) {
	f.Helper()
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzParseINI(f *testing.F) {
	addSeeds(f, []string{"testdata/kubeasz/hosts"},
		"[a:children]\nb\n[b]\nh x=\"1 2\" y=[1,(2,)] z={'k':u'v\\x41'}\n[b:vars]\nq=-0x1f\n",
		"h[01:10:2]-[a:c]:22 k=1e5\n[g:vars]\nansible_group_priority=3\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("hosts", data, "")
		if err == nil {
			checkInventory(t, inv)
		}
	})
}

func FuzzParseYAML(f *testing.F) {
	addSeeds(f, []string{"testdata/kubespray/hosts.yaml"},
		patternInventory, precedenceInventory,
		"a: &x\n  hosts: {h: {k: *x}}\nb: *x\n",
		"all:\n  children:\n    g:\n      hosts: 'w[1:3]:2222'\n      vars: {n: 99999999999999999999}\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("hosts.yaml", data, "")
		if err == nil {
			checkInventory(t, inv)
		}
	})
}

func FuzzPattern(f *testing.F) {
	inv, err := Parse("hosts.yaml", []byte(patternInventory), "")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"all", "web:&prod:!db1", "~w.*[0-9]", "web[1:]", "web[-1]", "*.example.com,db", "[", "web[", "~", "!", "&", "::1", "@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		hosts, err := inv.Match(pattern)
		if err != nil {
			return
		}
		for _, h := range hosts {
			if _, ok := inv.Host(h); !ok {
				t.Fatalf("Match(%q) returned unknown host %q", pattern, h)
			}
		}
	})
}

// checkInventory asserts the invariants every parsed inventory keeps.
func checkInventory(t *testing.T, inv *Inventory) {
	t.Helper()
	if len(inv.Order) != len(inv.Hosts) {
		t.Fatalf("Order has %d names, Hosts %d", len(inv.Order), len(inv.Hosts))
	}
	if inv.Groups["all"] == nil || inv.Groups["ungrouped"] == nil {
		t.Fatal("all or ungrouped missing")
	}
	all := inv.GroupMap()["all"]
	if len(all) != len(inv.Order) {
		t.Fatalf("groups.all = %v, Order = %v", all, inv.Order)
	}
	if _, err := inv.Match("all:!ungrouped:&*"); err != nil {
		t.Fatal(err)
	}
}
