package shell

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestQuoteTable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"abc", "abc"},
		{"/etc/hosts", "/etc/hosts"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$(id)", "'$(id)'"},
		{"~root", "'~root'"},
		{"a=b", "'a=b'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// roundTrip runs sh with printf '%s' and the quoted word and returns what sh
// printed, which must be the input unchanged.
func roundTrip(t *testing.T, s string) []byte {
	t.Helper()
	cmd := exec.Command("sh", "-c", "printf '%s' "+Quote(s))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh for %q: %v", s, err)
	}
	return out
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "sp ace", "'", "''", `"`, "`id`", "$(id)", "$HOME", "a\nb", "\\", "*", "\t", "-n", "héllo", "\xff\xfe", "a;b|c&d", "!x"} {
		if got := roundTrip(t, s); !bytes.Equal(got, []byte(s)) {
			t.Errorf("round trip %q: got %q", s, got)
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "'", "$(x)", "\n", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if bytes.IndexByte([]byte(s), 0) >= 0 {
			t.Skip("a NUL byte cannot be part of a command-line argument")
		}
		if got := roundTrip(t, s); !bytes.Equal(got, []byte(s)) {
			t.Fatalf("round trip %q: got %q", s, got)
		}
	})
}

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ls -l /tmp", []string{"ls", "-l", "/tmp"}},
		{`echo 'a b' "c d"`, []string{"echo", "a b", "c d"}},
		{`echo a\ b`, []string{"echo", "a b"}},
		{`echo "x\"y"`, []string{"echo", `x"y`}},
		{`echo ''`, []string{"echo", ""}},
		{`echo $HOME`, []string{"echo", "$HOME"}},
		{"  ", nil},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if err != nil {
			t.Fatalf("Split(%q): %v", tt.in, err)
		}
		if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") || len(got) != len(tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := Split(`echo 'x`); err == nil {
		t.Error("unterminated quote: want an error")
	}
}
