package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestScopeLazyRendering(t *testing.T) {
	ev := NewEvaluator()
	layers := []layer{
		{"defaults", map[string]any{"a": "{{ b }}-a", "b": "low", "n": "{{ 1 + 1 }}", "broken": "{{ missing }}"}, true},
		{"play", map[string]any{"b": "{{ c }}", "c": "C", "self": "{{ self }}", "out": "{{ '{{ x }}' }}"}, true},
		{"facts", map[string]any{"raw": "{{ not rendered }}"}, false},
	}
	tests := []struct {
		expr    string
		want    string
		wantErr string
	}{
		{expr: "a", want: "C-a"},
		{expr: "n + 1", want: "3"},
		{expr: "raw", want: "{{ not rendered }}"},
		{expr: "broken | default('d')", want: "d"},
		{expr: "broken", wantErr: `variable "broken"`},
		{expr: "self", wantErr: "refers to itself"},
		{expr: "'broken' + a", want: "brokenC-a"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s := newScope(ev, layers)
			v, err := s.eval(tc.expr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(v); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDropOmitted(t *testing.T) {
	in := map[string]any{"a": omitValue, "b": 1, "c": map[string]any{"d": omitValue, "e": "x"}, "l": []any{omitValue, "y"}}
	got := fmt.Sprint(dropOmitted(in))
	if want := "map[b:1 c:map[e:x] l:[y]]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestIdents(t *testing.T) {
	var got []string
	idents("a.b_1 | default('x y') + 2z _u", func(s string) { got = append(got, s) })
	if want := []string{"a", "b_1", "default", "x", "y", "z", "_u"}; !equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSerialBatchesTable(t *testing.T) {
	hosts := []string{"a", "b", "c", "d", "e"}
	tests := []struct {
		serial []any
		want   string
	}{
		{nil, "[[a b c d e]]"},
		{[]any{2}, "[[a b] [c d] [e]]"},
		{[]any{"40%"}, "[[a b] [c d] [e]]"},
		{[]any{"10%"}, "[[a] [b] [c] [d] [e]]"},
		{[]any{1, "50%"}, "[[a] [b c] [d e]]"},
		{[]any{0}, "[[a b c d e]]"},
	}
	for _, tc := range tests {
		got, err := serialBatches(tc.serial, hosts)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("serial %v = %v, want %s", tc.serial, got, tc.want)
		}
	}
	if _, err := serialBatches([]any{"x%"}, hosts); err == nil {
		t.Error("bad percentage: no error")
	}
}

func TestParseFacts(t *testing.T) {
	out := "hostname=n1\nfqdn=n1.lab\nkernel=6.1.0\narch=x86_64\nvcpus=4\nmemtotal_kb=8048576\nipv4=10.0.0.5\ninit=systemd\n---\n" +
		"NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n"
	f := parseFacts(out)
	want := map[string]any{
		"ansible_hostname": "n1", "ansible_fqdn": "n1.lab", "ansible_kernel": "6.1.0", "ansible_architecture": "x86_64",
		"ansible_processor_vcpus": 4, "ansible_memtotal_mb": 7859, "ansible_service_mgr": "systemd",
		"ansible_distribution": "Ubuntu", "ansible_distribution_version": "22.04", "ansible_os_family": "Debian",
		"ansible_distribution_major_version": "22",
	}
	for k, w := range want {
		if fmt.Sprint(f[k]) != fmt.Sprint(w) {
			t.Errorf("%s = %v, want %v", k, f[k], w)
		}
	}
	if ip := f["ansible_default_ipv4"].(map[string]any)["address"]; ip != "10.0.0.5" {
		t.Errorf("ipv4 = %v", ip)
	}
	for _, tc := range []struct{ id, like, want string }{
		{"rocky", "rhel centos fedora", "RedHat"}, {"linuxmint", "ubuntu debian", "Debian"}, {"weird", "", "Unknown"},
	} {
		if got := osFamily(tc.id, tc.like); got != tc.want {
			t.Errorf("osFamily(%s, %s) = %s, want %s", tc.id, tc.like, got, tc.want)
		}
	}
}

func TestReportExitCode(t *testing.T) {
	tests := []struct {
		rep  Report
		want int
	}{
		{Report{}, 0},
		{Report{Failed: []string{"a"}}, 2},
		{Report{Unreachable: []string{"a"}}, 3},
		{Report{Failed: []string{"a"}, Unreachable: []string{"b"}}, 3},
		{Report{Failed: []string{"a"}, Interrupted: true}, 99},
	}
	for _, tc := range tests {
		if got := tc.rep.ExitCode(); got != tc.want {
			t.Errorf("%+v: exit %d, want %d", tc.rep, got, tc.want)
		}
	}
	var oe *OptionsError
	if err := checkOptions(Options{}); !errors.As(err, &oe) {
		t.Errorf("empty options: %v", err)
	}
}
