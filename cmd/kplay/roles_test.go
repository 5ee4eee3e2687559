package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

var testRoles = fstest.MapFS{
	"web/README.md":           {Data: []byte("# web\n\nServes pages.\n\nDetails.\n")},
	"web/defaults/main.yaml":  {Data: []byte("# port to listen on\nport: 80\nname: \"\"\n")},
	"web/tasks/main.yaml":     {Data: []byte("- debug: {msg: hi}\n")},
	"bare/defaults/main.yaml": {Data: []byte("# the size\nsize: 3\n")},
}

func TestShowRole(t *testing.T) {
	tests := []struct{ role, want string }{
		{"web", "# web\n\nServes pages.\n\nDetails.\n"},
		{"bare", "Role bare has no README.md. Its variables (defaults/main.yaml):\n\n# the size\nsize: 3\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := showRole(testRoles, tt.role, &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("show %s:\n%s\nwant:\n%s", tt.role, out.String(), tt.want)
		}
	}
	if err := showRole(testRoles, "nope", &bytes.Buffer{}); codeOf(err) != exitUsage {
		t.Errorf("unknown role: err %v, code %d, want %d", err, codeOf(err), exitUsage)
	}
}

func TestPrintRoles(t *testing.T) {
	var out bytes.Buffer
	if err := printRoles(testRoles, &out); err != nil {
		t.Fatal(err)
	}
	want := "bare: (no README.md)\n    size  3\n\nweb: Serves pages.\n    port  80\n    name  \"\"\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestExportRole: every file of the role lands under DIR/roles/NAME with
// the same content; a second export refuses and leaves edits alone.
func TestExportRole(t *testing.T) {
	dir := t.TempDir()
	if err := exportRole(testRoles, "web", dir, false, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"README.md", "defaults/main.yaml", "tasks/main.yaml"} {
		got, err := os.ReadFile(filepath.Join(dir, "roles", "web", name))
		if err != nil {
			t.Fatal(err)
		}
		if want := testRoles["web/"+name].Data; !bytes.Equal(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	edited := filepath.Join(dir, "roles", "web", "tasks", "main.yaml")
	writeFile(t, edited, "mine\n")
	if err := exportRole(testRoles, "web", dir, false, &bytes.Buffer{}); err == nil {
		t.Fatal("second export: no error")
	}
	if got, _ := os.ReadFile(edited); string(got) != "mine\n" {
		t.Errorf("edited file overwritten: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "roles", "bare")); err == nil {
		t.Error("another role was exported")
	}
}
