package inventory

import (
	"fmt"
	"strings"
	"testing"
)

// bigINI is an inventory of n hosts in 10 groups under one parent.
func bigINI(n int) []byte {
	var b strings.Builder
	for g := 0; g < 10; g++ {
		fmt.Fprintf(&b, "[g%d]\n", g)
		for h := g; h < n; h += 10 {
			fmt.Fprintf(&b, "host%05d ansible_host=10.0.%d.%d idx=%d\n", h, h/256, h%256, h)
		}
		fmt.Fprintf(&b, "[g%d:vars]\nrole=r%d\n", g, g)
	}
	b.WriteString("[k8s:children]\ng0\ng1\ng2\n[all:vars]\nansible_user=ops\n")
	return []byte(b.String())
}

func BenchmarkParseINI1000(b *testing.B) {
	data := bigINI(1000)
	for b.Loop() {
		if _, err := Parse("hosts", data, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch1000(b *testing.B) {
	inv, err := Parse("hosts", bigINI(1000), "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := inv.Match("k8s:&~host0.*:!g1[0:10]"); err != nil {
			b.Fatal(err)
		}
	}
}
