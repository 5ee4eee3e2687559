package modules

import (
	"path/filepath"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

func TestLinePresent(t *testing.T) {
	tests := []struct {
		name string
		in   string
		args LineinfileArgs
		want string
		msg  string
	}{
		{"regexp replaces (selinux example)", "# c\nSELINUX=disabled\nSELINUXTYPE=targeted\n",
			LineinfileArgs{Regexp: ptr("^SELINUX="), Line: ptr("SELINUX=enforcing")},
			"# c\nSELINUX=enforcing\nSELINUXTYPE=targeted\n", "line replaced"},
		{"regexp replaces the last match", "a=1\na=2\nb\n",
			LineinfileArgs{Regexp: ptr("^a="), Line: ptr("a=3")}, "a=1\na=3\nb\n", "line replaced"},
		{"firstmatch replaces the first", "a=1\na=2\nb\n",
			LineinfileArgs{Regexp: ptr("^a="), Line: ptr("a=3"), FirstMatch: true}, "a=3\na=2\nb\n", "line replaced"},
		{"already there", "x\n127.0.0.1 localhost\n",
			LineinfileArgs{Regexp: ptr(`^127\.0\.0\.1`), Line: ptr("127.0.0.1 localhost")}, "x\n127.0.0.1 localhost\n", ""},
		{"no match appends at EOF", "a\nb", LineinfileArgs{Regexp: ptr("^c"), Line: ptr("c")}, "a\nb\nc\n", "line added"},
		{"identical line elsewhere", "a\nc\nb\n", LineinfileArgs{Line: ptr("c")}, "a\nc\nb\n", ""},
		{"empty file", "", LineinfileArgs{Line: ptr("c")}, "c\n", "line added"},
		{"insertafter last match (httpd example)", "#Listen 1\n#Listen 2\nX\n",
			LineinfileArgs{Regexp: ptr("^Listen "), InsertAfter: "^#Listen ", Line: ptr("Listen 8080")},
			"#Listen 1\n#Listen 2\nListen 8080\nX\n", "line added"},
		{"insertafter with firstmatch", "#Listen 1\n#Listen 2\nX\n",
			LineinfileArgs{Regexp: ptr("^Listen "), InsertAfter: "^#Listen ", Line: ptr("Listen 8080"), FirstMatch: true},
			"#Listen 1\nListen 8080\n#Listen 2\nX\n", "line added"},
		{"insertafter ignored when regexp matches", "#Listen 1\nListen 80\n",
			LineinfileArgs{Regexp: ptr("^Listen "), InsertAfter: "^#Listen ", Line: ptr("Listen 8080")},
			"#Listen 1\nListen 8080\n", "line replaced"},
		{"insertafter at EOF match", "a\nb\n", LineinfileArgs{InsertAfter: "^b", Line: ptr("c")}, "a\nb\nc\n", "line added"},
		{"insertafter the last line without newline", "a\nb", LineinfileArgs{InsertAfter: "^b", Line: ptr("c")}, "a\nb\nc\n", "line added"},
		{"insertafter no match goes to EOF", "a\nb\n", LineinfileArgs{InsertAfter: "^zzz", Line: ptr("c")}, "a\nb\nc\n", "line added"},
		{"insertbefore last match", "# Example\nx\n# Example\n",
			LineinfileArgs{InsertBefore: "^# Example", Line: ptr("new")}, "# Example\nx\nnew\n# Example\n", "line added"},
		{"insertbefore BOF", "a\n", LineinfileArgs{InsertBefore: "BOF", Line: ptr("first")}, "first\na\n", "line added"},
		{"insertafter BOF", "a\n", LineinfileArgs{InsertAfter: "BOF", Line: ptr("first")}, "first\na\n", "line added"},
		{"backrefs (Xms example)", "JAVA_OPTS=-Xms256m -Xmx1g\n",
			LineinfileArgs{Regexp: ptr(`^(.*)Xms(\d+)m(.*)$`), Line: ptr(`\1Xms512m\3`), Backrefs: true},
			"JAVA_OPTS=-Xms512m -Xmx1g\n", "line replaced"},
		{"backrefs without a match changes nothing", "nothing here\n",
			LineinfileArgs{Regexp: ptr(`^(.*)Xms(\d+)m(.*)$`), Line: ptr(`\1Xms512m\3`), Backrefs: true},
			"nothing here\n", ""},
		{"search_string (php example)", "<FilesMatch \".php[45]?$\">\n",
			LineinfileArgs{SearchString: ptr(`<FilesMatch ".php[45]?$">`), Line: ptr(`<FilesMatch ".php[345]?$">`)},
			"<FilesMatch \".php[345]?$\">\n", "line replaced"},
		{"regexp $ anchors before the newline", "port=1\n", LineinfileArgs{Regexp: ptr(`^port=\d+$`), Line: ptr("port=2")}, "port=2\n", "line replaced"},
		{"CRLF line kept as replaced", "a\r\nb\r\n", LineinfileArgs{Regexp: ptr("^a"), Line: ptr("A")}, "A\nb\r\n", "line replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newLineEdit(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			got, msg := linePresent([]byte(tt.in), e)
			if string(got) != tt.want || msg != tt.msg {
				t.Errorf("got %q (%q), want %q (%q)", got, msg, tt.want, tt.msg)
			}
		})
	}
}

func TestLineAbsent(t *testing.T) {
	tests := []struct {
		in   string
		args LineinfileArgs
		want string
		n    int
	}{
		{"%wheel ALL\nroot ALL\n%wheel2\n", LineinfileArgs{State: "absent", Regexp: ptr("^%wheel")}, "root ALL\n", 2},
		{"a\nb\na\n", LineinfileArgs{State: "absent", Line: ptr("a")}, "b\n", 2},
		{"foo bar\nbaz\n", LineinfileArgs{State: "absent", SearchString: ptr("o b")}, "baz\n", 1},
		{"x\n", LineinfileArgs{State: "absent", Line: ptr("y")}, "x\n", 0},
	}
	for _, tt := range tests {
		e, err := newLineEdit(tt.args)
		if err != nil {
			t.Fatal(err)
		}
		if got, n := lineAbsent([]byte(tt.in), e); string(got) != tt.want || n != tt.n {
			t.Errorf("%q %+v: got %q %d, want %q %d", tt.in, tt.args, got, n, tt.want, tt.n)
		}
	}
}

func TestLineinfileBadArgs(t *testing.T) {
	for _, a := range []LineinfileArgs{
		{Line: ptr("x"), InsertAfter: "a", InsertBefore: "b"},
		{Line: ptr("x"), Regexp: ptr("a"), SearchString: ptr("b")},
		{Line: ptr("x"), Backrefs: true},
		{Regexp: ptr("a")},
		{State: "absent"},
		{Line: ptr("x"), Regexp: ptr("(")},
		{Line: ptr("x"), Regexp: ptr(`(?<=a)b`)},
	} {
		if _, err := newLineEdit(a); err == nil {
			t.Errorf("%+v: want an error", a)
		}
	}
}

func TestLineinfileModule(t *testing.T) {
	dir := hostileDir(t)
	p := filepath.Join(dir, "sshd_config")
	writeFile(t, p, "Port 22\nPermitRootLogin yes\n", 0o600)
	first := contract(t, Lineinfile{}, dir, func() *Request {
		return newReq(map[string]any{"path": p, "regexp": "^PermitRootLogin", "line": "PermitRootLogin no", "backup": true, "validate": "grep -q Port %s"}, nil, nil)
	})
	if got := readString(t, p); got != "Port 22\nPermitRootLogin no\n" || modeOf(t, p) != "0600" {
		t.Errorf("got %q mode %s", got, modeOf(t, p))
	}
	if first.Msg != "line replaced" || first.Data["backup_file"] != p+testSuffix || readString(t, p+testSuffix) != "Port 22\nPermitRootLogin yes\n" {
		t.Errorf("msg %q data %v", first.Msg, first.Data)
	}
	if d := first.Diff; len(d) != 1 || d[0].Before != "Port 22\nPermitRootLogin yes\n" || d[0].After != "Port 22\nPermitRootLogin no\n" {
		t.Errorf("diff %+v", d)
	}
	if ch := first.Changes[0]; !ch.Existed || ch.Backup == "" || ch.OldMode != "0600" {
		t.Errorf("entry %+v", ch)
	}
	// create: a new file in new folders; every folder is journaled.
	np := filepath.Join(dir, "new dir", "f.conf")
	first = contract(t, Lineinfile{}, dir, func() *Request {
		return newReq(map[string]any{"path": np, "line": "x=1", "create": true, "mode": "0640"}, nil, nil)
	})
	if readString(t, np) != "x=1\n" || modeOf(t, np) != "0640" || len(first.Changes) != 2 || first.Changes[1].Existed {
		t.Errorf("create: %q %s %+v", readString(t, np), modeOf(t, np), first.Changes)
	}
	res := runModule(t, Lineinfile{}, newReq(map[string]any{"path": filepath.Join(dir, "missing"), "line": "x"}, nil, nil))
	if !res.Failed || res.RC != 257 {
		t.Errorf("missing file without create: %+v", res)
	}
	res = runModule(t, Lineinfile{}, newReq(map[string]any{"path": filepath.Join(dir, "missing"), "line": "x", "state": "absent"}, nil, nil))
	if res.Changed || res.Failed {
		t.Errorf("absent on a missing file: %+v", res)
	}
	contract(t, Lineinfile{}, dir, func() *Request {
		return newReq(map[string]any{"path": p, "line": "Port 22", "state": "absent"}, nil, nil)
	})
}

// FuzzLineinfileIdempotent checks the module's promise on the pure edit:
// applying the same present edit twice gives the same text as once, when
// the line has no line break and the regexp (if any) matches the line.
func FuzzLineinfileIdempotent(f *testing.F) {
	f.Add("a=1\nb\n", "^a=", "a=2", "", false)
	f.Add("#Listen 1\n", "^Listen ", "Listen 8080", "^#Listen ", true)
	f.Add("x", "", "x", "BOF", false)
	f.Add("l\r\nl", "", "l", "^l", false)
	f.Fuzz(func(t *testing.T, text, re, line, after string, first bool) {
		if strings.ContainsAny(line, "\r\n") {
			t.Skip()
		}
		a := LineinfileArgs{Line: &line, InsertAfter: after, FirstMatch: first}
		if re != "" {
			a.Regexp = &re
		}
		e, err := newLineEdit(a)
		if err != nil || (e.re != nil && !e.re.MatchString(line)) {
			t.Skip()
		}
		once, _ := linePresent([]byte(text), e)
		twice, msg := linePresent(once, e)
		if string(twice) != string(once) {
			t.Fatalf("not idempotent (%s): %q -> %q -> %q", msg, text, once, twice)
		}
	})
}
