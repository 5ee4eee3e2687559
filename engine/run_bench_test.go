package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/transport"
)

// nopConn answers every command at once, so a benchmark measures the
// engine and not the hosts.
type nopConn struct{}

func (nopConn) Exec(context.Context, string, io.Reader, io.Writer, io.Writer) error { return nil }

// BenchmarkRunOverhead runs 20 tasks on 200 hosts whose commands cost
// nothing; ns/op divided by 4000 is the engine's cost per task and host.
func BenchmarkRunOverhead(b *testing.B) {
	var inv strings.Builder
	inv.WriteString("all:\n  vars:\n")
	for i := range 40 {
		fmt.Fprintf(&inv, "    d%d: \"{{ inventory_hostname }}-%d\"\n", i, i)
	}
	inv.WriteString("  hosts:\n")
	for i := range 200 {
		fmt.Fprintf(&inv, "    host%03d: {n: %d}\n", i, i)
	}
	var pb strings.Builder
	pb.WriteString("- hosts: all\n  gather_facts: false\n  tasks:\n")
	for i := range 10 {
		fmt.Fprintf(&pb, "    - name: cmd %d\n      command: echo {{ d%d }} {{ n }}\n      register: r%d\n", i, i, i)
		fmt.Fprintf(&pb, "    - name: dbg %d\n      debug: {msg: '{{ r%d.rc }}'}\n      when: n >= 0\n", i, i)
	}
	f := newFixture(b, inv.String(), map[string]string{"site.yaml": pb.String()})
	f.opts.Sink = nil
	f.opts.Connect = func(*inventory.Host) (transport.Conn, error) { return nopConn{}, nil }
	b.ResetTimer()
	for range b.N {
		rep, err := Run(context.Background(), f.opts)
		if err != nil || rep.ExitCode() != 0 {
			b.Fatalf("run: %v %v", err, rep.ExitCode())
		}
	}
}
