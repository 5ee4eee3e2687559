package main

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseArgsInterspersed(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantPos []string
		check   func(*playFlags) bool
	}{
		{"flags first", []string{"-i", "inv", "site.yaml"}, []string{"site.yaml"},
			func(f *playFlags) bool { return f.inventory == "inv" }},
		{"flags after", []string{"site.yaml", "--check", "-i", "inv"}, []string{"site.yaml"},
			func(f *playFlags) bool { return f.inventory == "inv" && f.check }},
		{"between playbooks", []string{"a.yaml", "-D", "b.yaml", "-l", "h1"}, []string{"a.yaml", "b.yaml"},
			func(f *playFlags) bool { return f.diff && f.limit == "h1" }},
		{"verbosity counted", []string{"-vvv", "x.yaml", "-v"}, []string{"x.yaml"},
			func(f *playFlags) bool { return f.verbosity == 4 }},
		{"repeatable", []string{"-e", "a=1", "x", "--extra-vars", "b=2", "-t", "a,b", "--tags", "c"}, []string{"x"},
			func(f *playFlags) bool {
				return len(f.extraVars) == 2 && reflect.DeepEqual(commaList(f.tags), []string{"a", "b", "c"})
			}},
		{"double dash", []string{"-C", "--", "-odd.yaml"}, []string{"-odd.yaml"},
			func(f *playFlags) bool { return f.check }},
		{"timeout seconds", []string{"--connect-timeout", "2", "x"}, []string{"x"},
			func(f *playFlags) bool { return time.Duration(f.connectTimeout) == 2*time.Second }},
		{"timeout duration", []string{"--connect-timeout=300ms", "x"}, []string{"x"},
			func(f *playFlags) bool { return time.Duration(f.connectTimeout) == 300*time.Millisecond }},
		{"ssh flags", []string{"x", "-k", "-K", "--accept-new-host-keys", "--known-hosts", "a", "--known-hosts", "b"}, []string{"x"},
			func(f *playFlags) bool {
				return f.askPass && f.askBecomePass && f.acceptNewKeys && len(f.knownHosts) == 2
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f playFlags
			pos, err := parseArgs(newPlayFlagSet(&f), tt.args)
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(pos, tt.wantPos) {
				t.Errorf("positional = %q, want %q", pos, tt.wantPos)
			}
			if !tt.check(&f) {
				t.Errorf("flags not as expected: %+v", f)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--nope", "x"},
		{"x", "-f", "many"},
		{"x", "--connect-timeout", "soon"},
		{"x", "-i"},
	} {
		var f playFlags
		_, err := parseArgs(newPlayFlagSet(&f), args)
		if err == nil || codeOf(err) != exitUsage {
			t.Errorf("parseArgs(%q) = %v (code %d), want a usage error (code 5)", args, err, codeOf(err))
		}
	}
	var f playFlags
	if _, err := parseArgs(newPlayFlagSet(&f), []string{"x", "--help"}); err != errHelp {
		t.Errorf("--help: got %v, want errHelp", err)
	}
}

// TestUsageNamesEveryFlag keeps --help complete: every flag the parser
// knows is documented.
func TestUsageNamesEveryFlag(t *testing.T) {
	var f playFlags
	newPlayFlagSet(&f).VisitAll(func(fl *flag.Flag) {
		spelling := "--" + fl.Name
		if len(fl.Name) == 1 {
			spelling = "-" + fl.Name + ","
		}
		if !strings.Contains(usageText, spelling) {
			t.Errorf("usage text lacks %s", spelling)
		}
	})
}

func TestParseExtraVars(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/vars.yaml"
	writeFile(t, file, "a: 1\nlist: [x, y]\n")
	tests := []struct {
		in   []string
		want map[string]any
	}{
		{[]string{"a=1 b='two words'"}, map[string]any{"a": "1", "b": "two words"}},
		{[]string{`{"a": 2, "m": {"k": true}}`}, map[string]any{"a": 2, "m": map[string]any{"k": true}}},
		{[]string{"@" + file}, map[string]any{"a": 1, "list": []any{"x", "y"}}},
		{[]string{"a: 3"}, map[string]any{"a": 3}},
		{[]string{"a=1", "a=2"}, map[string]any{"a": "2"}},
	}
	for _, tt := range tests {
		got, err := parseExtraVars(tt.in)
		if err != nil {
			t.Errorf("parseExtraVars(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseExtraVars(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "@" + dir + "/missing.yaml", "1x=2", "{a: [", "- a\n- b"} {
		if _, err := parseExtraVars([]string{bad}); err == nil || codeOf(err) != exitUsage {
			t.Errorf("parseExtraVars(%q) = %v, want a usage error", bad, err)
		}
	}
}

func TestTagsSelect(t *testing.T) {
	tests := []struct {
		tags, only, skip []string
		want             bool
	}{
		{nil, nil, nil, true},
		{[]string{"never"}, nil, nil, false},
		{[]string{"never", "debug"}, []string{"debug"}, nil, true},
		{[]string{"always"}, []string{"x"}, nil, true},
		{[]string{"always"}, nil, []string{"always"}, false},
		{[]string{"a"}, []string{"b"}, nil, false},
		{[]string{"a"}, []string{"a"}, []string{"a"}, false},
		{nil, []string{"untagged"}, nil, true},
		{[]string{"a"}, []string{"tagged"}, nil, true},
	}
	for _, tt := range tests {
		if got := tagsSelect(tt.tags, tt.only, tt.skip); got != tt.want {
			t.Errorf("tagsSelect(%q, only %q, skip %q) = %v, want %v", tt.tags, tt.only, tt.skip, got, tt.want)
		}
	}
}

// FuzzParseArgs: no command line makes flag parsing or -e decoding panic.
func FuzzParseArgs(f *testing.F) {
	f.Add("-i\x00inv\x00site.yaml\x00-vvv\x00-e\x00a=1 b=2")
	f.Add("-e\x00{\"a\": [1, {\"b\": null}]}\x00--\x00-x")
	f.Add("-e\x00@/dev/null\x00--tags=a,,b\x00--connect-timeout=1.5")
	f.Fuzz(func(t *testing.T, joined string) {
		var fl playFlags
		if _, err := parseArgs(newPlayFlagSet(&fl), strings.Split(joined, "\x00")); err != nil {
			return
		}
		var safe listFlag
		for _, v := range fl.extraVars {
			if !strings.HasPrefix(strings.TrimSpace(v), "@") {
				safe = append(safe, v)
			}
		}
		_, _ = parseExtraVars(safe)
		_ = commaList(fl.tags)
	})
}

// TestTranscriptsUseEveryFlag keeps the transcripts complete: every
// spelling of every flag is typed in at least one kplay command line.
func TestTranscriptsUseEveryFlag(t *testing.T) {
	var lines []string
	for _, dir := range []string{"testdata/script", "testdata/ssh"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(data), "\n") {
				if regexp.MustCompile(`^(exec|exitcode \d+) kplay `).MatchString(l) {
					lines = append(lines, l)
				}
			}
		}
	}
	if len(lines) < 50 {
		t.Fatalf("found only %d kplay command lines in the transcripts", len(lines))
	}
	text := strings.Join(lines, "\n")
	var f playFlags
	newPlayFlagSet(&f).VisitAll(func(fl *flag.Flag) {
		name := regexp.QuoteMeta(fl.Name)
		if fl.Name == "v" {
			name = "v+"
		}
		if !regexp.MustCompile(`(?m)\s--?` + name + `(=|\s|$)`).MatchString(text) {
			t.Errorf("no transcript types -%s", fl.Name)
		}
	})
}
