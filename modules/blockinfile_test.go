package modules

import (
	"path/filepath"
	"strings"
	"testing"
)

const (
	mBegin = "# BEGIN ANSIBLE MANAGED BLOCK\n"
	mEnd   = "# END ANSIBLE MANAGED BLOCK\n"
)

func TestBlockApply(t *testing.T) {
	tests := []struct {
		name string
		in   string
		args BlockinfileArgs
		want string
	}{
		{"append at EOF (sshd example)", "Port 22\n",
			BlockinfileArgs{Block: "Match User ansible-agent\nPasswordAuthentication no"},
			"Port 22\n" + mBegin + "Match User ansible-agent\nPasswordAuthentication no\n" + mEnd},
		{"newline added before the block", "Port 22",
			BlockinfileArgs{Block: "x"}, "Port 22\n" + mBegin + "x\n" + mEnd},
		{"replace in place", "a\n" + mBegin + "old\n" + mEnd + "b\n",
			BlockinfileArgs{Block: "new1\nnew2\n", InsertBefore: "BOF"}, "a\n" + mBegin + "new1\nnew2\n" + mEnd + "b\n"},
		{"unchanged", "a\n" + mBegin + "x\n" + mEnd, BlockinfileArgs{Block: "x"}, "a\n" + mBegin + "x\n" + mEnd},
		{"remove with state absent", "a\n" + mBegin + "x\n" + mEnd + "b\n", BlockinfileArgs{State: "absent"}, "a\nb\n"},
		{"remove with an empty block", "a\n" + mBegin + "x\n" + mEnd, BlockinfileArgs{}, "a\n"},
		{"absent without markers adds the final newline, as Ansible", "a", BlockinfileArgs{State: "absent"}, "a\n"},
		{"insertafter last match", "<a>\n<body>\n</body>\n<body>\n",
			BlockinfileArgs{Block: "x", InsertAfter: "<body>"}, "<a>\n<body>\n</body>\n<body>\n" + mBegin + "x\n" + mEnd},
		{"insertbefore match", "a\n</body>\n", BlockinfileArgs{Block: "x", InsertBefore: "</body>"}, "a\n" + mBegin + "x\n" + mEnd + "</body>\n"},
		{"insertbefore BOF", "a\n", BlockinfileArgs{Block: "x", InsertBefore: "BOF"}, mBegin + "x\n" + mEnd + "a\n"},
		{"insertafter no match: EOF", "a\n", BlockinfileArgs{Block: "x", InsertAfter: "zzz"}, "a\n" + mBegin + "x\n" + mEnd},
		{"html marker (docs example)", "<body>\n</body>\n",
			BlockinfileArgs{Block: "<h1>Welcome</h1>", Marker: ptr("<!-- {mark} ANSIBLE MANAGED BLOCK -->"), InsertAfter: "<body>"},
			"<body>\n<!-- BEGIN ANSIBLE MANAGED BLOCK -->\n<h1>Welcome</h1>\n<!-- END ANSIBLE MANAGED BLOCK -->\n</body>\n"},
		{"marker_begin/marker_end", "", BlockinfileArgs{Block: "x", MarkerBegin: ptr("START"), MarkerEnd: ptr("STOP")},
			"# START ANSIBLE MANAGED BLOCK\nx\n# STOP ANSIBLE MANAGED BLOCK\n"},
		{"multiline insertafter", "a\nb\nc\n", BlockinfileArgs{Block: "x", InsertAfter: `(?m)^a\nb$`}, "a\nb\n" + mBegin + "x\n" + mEnd + "c\n"},
		{"prepend and append newline", "a\nb\n", BlockinfileArgs{Block: "x", InsertAfter: "^a", PrependNewline: true, AppendNewline: true},
			"a\n\n" + mBegin + "x\n" + mEnd + "\nb\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newBlockEdit(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := blockApply([]byte(tt.in), e); string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBlockinfileModule(t *testing.T) {
	dir := hostileDir(t)
	p := filepath.Join(dir, "hosts")
	writeFile(t, p, "127.0.0.1 localhost\n", 0o644)
	block := "10.0.0.1 m1\n10.0.0.2 m2"
	first := contract(t, Blockinfile{}, dir, func() *Request {
		return newReq(map[string]any{"path": p, "block": block, "backup": true}, nil, nil)
	})
	want := "127.0.0.1 localhost\n" + mBegin + block + "\n" + mEnd
	if got := readString(t, p); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if first.Msg != "Block inserted" || first.Data["backup_file"] == nil || !first.Changes[0].Existed {
		t.Errorf("result %+v", first)
	}
	contract(t, Blockinfile{}, dir, func() *Request {
		return newReq(map[string]any{"path": p, "state": "absent"}, nil, nil)
	})
	if got := readString(t, p); got != "127.0.0.1 localhost\n" {
		t.Errorf("after removal: %q", got)
	}
	np := filepath.Join(dir, "created")
	contract(t, Blockinfile{}, dir, func() *Request {
		return newReq(map[string]any{"path": np, "block": "x", "create": true}, nil, nil)
	})
	res := runModule(t, Blockinfile{}, newReq(map[string]any{"path": filepath.Join(dir, "nope"), "block": "x"}, nil, nil))
	if !res.Failed || res.RC != 257 {
		t.Errorf("missing file: %+v", res)
	}
}

// FuzzBlockinfileIdempotent: applying the same block edit twice gives the
// same text as once (block lines that are themselves marker lines are out
// of scope, as in Ansible).
func FuzzBlockinfileIdempotent(f *testing.F) {
	f.Add("a\n", "x\ny", "", "", false)
	f.Add("END\nfoo\nBEGIN\n", "x", "^foo", "", true)
	f.Add("a", "", "", "BOF", false)
	f.Fuzz(func(t *testing.T, text, block, after, before string, absent bool) {
		a := BlockinfileArgs{Block: block, InsertAfter: after, InsertBefore: before}
		if absent {
			a.State = "absent"
		}
		e, err := newBlockEdit(a)
		if err != nil {
			t.Skip()
		}
		for _, l := range splitLines([]byte(block + "\n")) {
			if l == e.begin || l == e.end {
				t.Skip()
			}
		}
		once := blockApply([]byte(text), e)
		if twice := blockApply(once, e); string(twice) != string(once) {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, once, twice)
		}
		if !e.present && strings.Contains(string(once), e.begin+"") && strings.Contains(string(once), e.end) {
			// A removal leaves at most unmatched markers: never a block.
			b := strings.LastIndex(string(once), e.begin)
			if en := strings.LastIndex(string(once), e.end); b >= 0 && en > b && (b == 0 || once[b-1] == '\n') && (en == 0 || once[en-1] == '\n') {
				t.Fatalf("block still present after removal: %q -> %q", text, once)
			}
		}
	})
}
