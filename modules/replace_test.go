package modules

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceText(t *testing.T) {
	tests := []struct {
		name                   string
		in, re, repl, aft, bef string
		want                   string
		n                      int
	}{
		{"hosts example", "10.0.0.1   old.host.name  alias\n", `(\s+)old\.host\.name(\s+.*)?$`, `\1new.host.name\2`, "", "",
			"10.0.0.1   new.host.name  alias\n", 1},
		// The docs' "Start after line.*" matches to the end of the text
		// in dot-all mode, in Python as here, leaving an empty section.
		{"after with a greedy dot-all pattern", "keep\nStart after line here\na\nb\n", `^(.+)$`, `# \1`, "Start after line.*", "",
			"keep\nStart after line here\na\nb\n", 0},
		{"after: comment out the rest", "keep\nStart after line here\na\nb\n", `^(.+)$`, `# \1`, `(?-s:Start after line.*)\n`, "",
			"keep\nStart after line here\n# a\n# b\n", 2},
		{"before: comment out the start", "a\nb\nStart before line\nkeep\n", `^(.+)$`, `# \1`, "", "Start before line.*",
			"# a\n# b\nStart before line\nkeep\n", 2},
		{"between after and before (vhost example)", "x\n<VirtualHost *>\nA\n</VirtualHost>\ny\n", `^(.+)$`, `# \1`, `<VirtualHost [*]>`, `</VirtualHost>`,
			"x\n<VirtualHost *>\n# A\n</VirtualHost>\ny\n", 1},
		{"alternation group", "Listen 80\nNameVirtualHost 80 \nother\n", `^(NameVirtualHost|Listen)\s+80\s*$`, `\1 127.0.0.1:8080`, "", "",
			"Listen 127.0.0.1:8080\nNameVirtualHost 127.0.0.1:8080\nother\n", 2},
		{"named groups", "ListenAddress 10.0.0.1\n", `^(?P<dnsconfig>ListenAddress[ ]+)(?P<host>[^\n]+)$`, `#\g<dnsconfig>\g<host>\n\g<dnsconfig>0.0.0.0`, "", "",
			"#ListenAddress 10.0.0.1\nListenAddress 0.0.0.0\n", 1},
		{"no match", "a\n", `zzz`, `y`, "", "", "a\n", 0},
		{"section not found", "a\n", `a`, `b`, "nomatch", "", "a\n", 0},
		{"dollar is kept, not a Go template", "port=1\n", `port=\d`, `port=$1`, "", "", "port=$1\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, sec, err := compileReplace(tt.re, tt.aft, tt.bef)
			if err != nil {
				t.Fatal(err)
			}
			got, n, _ := replaceText(tt.in, re, tt.repl, sec)
			if got != tt.want || n != tt.n {
				t.Errorf("got %q %d, want %q %d", got, n, tt.want, tt.n)
			}
		})
	}
}

func TestReplaceModule(t *testing.T) {
	dir := hostileDir(t)
	p := filepath.Join(dir, "kubelet.conf")
	writeFile(t, p, "server: https://10.0.0.1:6443\nother: 1\n", 0o600)
	first := contract(t, Replace{}, dir, func() *Request {
		return newReq(map[string]any{"path": p, "regexp": `server: https://[^:]+:6443`, "replace": "server: https://10.0.0.100:6443"}, nil, nil)
	})
	if got := readString(t, p); got != "server: https://10.0.0.100:6443\nother: 1\n" || modeOf(t, p) != "0600" {
		t.Errorf("got %q", got)
	}
	if first.Msg != "1 replacements made" || first.Changes[0].Backup == "" {
		t.Errorf("result %+v", first)
	}
	res := runModule(t, Replace{}, newReq(map[string]any{"path": filepath.Join(dir, "nope"), "regexp": "a"}, nil, nil))
	if !res.Failed || res.RC != 257 {
		t.Errorf("missing file: %+v", res)
	}
}

// FuzzReplaceText: any pattern, replacement template and text: no panic,
// text outside the after/before section is kept, and with no match the
// text is returned unchanged.
func FuzzReplaceText(f *testing.F) {
	f.Add("a\nb\n", `^(.)$`, `\1\1\g<1>\g<x>\`, "", "")
	f.Add("x<a>y</a>z", `y`, `\g<`, "<a>", "</a>")
	f.Fuzz(func(t *testing.T, text, re, repl, after, before string) {
		r, sec, err := compileReplace(re, after, before)
		if err != nil {
			t.Skip()
		}
		got, n, changed := replaceText(text, r, repl, sec)
		if !changed && got != text {
			t.Fatalf("unchanged but different: %q -> %q", text, got)
		}
		if n == 0 && changed {
			t.Fatalf("changed with no match")
		}
	})
}

// An after pattern with an unterminated \Q quotes the section group away:
// a clear error, not a panic (found by FuzzReplaceText in CI).
func TestReplaceQuotedSection(t *testing.T) {
	if _, _, err := compileReplace("a", `\Qx`, ""); err == nil || !strings.Contains(err.Error(), "no section") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := compileReplace("a", "", `\Qx`); err != nil {
		t.Fatalf("before with \\Q: %v", err)
	}
}
