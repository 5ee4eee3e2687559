package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// roleInfo is what `kplay roles` and `kplay init` tell about an embedded
// role, read from its files so it never drifts from them.
type roleInfo struct {
	Name     string
	Summary  string    // first line of README.md ("" without one)
	Defaults []roleVar // defaults/main.yaml, in file order
	// DefaultsText is defaults/main.yaml as written, comments included.
	DefaultsText string
}

// roleVar is one variable of a role's defaults.
type roleVar struct {
	Name  string
	Value any
}

// listRoles reads every role of fsys (one folder per role), by name;
// `common` comes first since the other roles depend on it.
func listRoles(fsys fs.FS) ([]roleInfo, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded roles: %w", err)
	}
	var out []roleInfo
	for _, e := range entries {
		if !e.IsDir() || !isRole(fsys, e.Name()) {
			continue
		}
		r, err := readRole(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b roleInfo) int {
		switch {
		case a.Name == b.Name:
			return 0
		case a.Name == "common":
			return -1
		case b.Name == "common":
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// roleDirs are the folders of Ansible's role layout; a folder with none
// of them (Go test helpers beside the roles) is not a role.
var roleDirs = []string{"tasks", "defaults", "vars", "meta", "handlers", "templates", "files"}

func isRole(fsys fs.FS, name string) bool {
	for _, d := range roleDirs {
		if st, err := fs.Stat(fsys, path.Join(name, d)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// readRole reads one role's summary and defaults.
func readRole(fsys fs.FS, name string) (roleInfo, error) {
	r := roleInfo{Name: name}
	if readme, err := fs.ReadFile(fsys, path.Join(name, "README.md")); err == nil {
		r.Summary = summaryLine(string(readme))
	}
	file := path.Join(name, "defaults", "main.yaml")
	data, err := fs.ReadFile(fsys, file)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("read role %s: %w", name, err)
	}
	r.DefaultsText = string(data)
	r.Defaults, err = decodeDefaults(data)
	if err != nil {
		return r, fmt.Errorf("role %s: %s: %w", name, file, err)
	}
	return r, nil
}

// summaryLine is the first sentence of a README's first paragraph
// (headings skipped), on one line, at most summaryMax bytes.
func summaryLine(readme string) string {
	var para []string
	for _, line := range strings.Split(readme, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#") && len(para) == 0:
			continue
		case line == "" && len(para) == 0:
			continue
		case line == "" || strings.HasPrefix(line, "#"):
			return firstSentence(strings.Join(para, " "))
		}
		para = append(para, line)
	}
	return firstSentence(strings.Join(para, " "))
}

const summaryMax = 160

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if len(s) > summaryMax {
		cut := strings.LastIndex(s[:summaryMax], " ")
		if cut < 0 {
			cut = summaryMax
		}
		s = s[:cut] + " ..."
	}
	return s
}

// decodeDefaults returns the top-level variables of a defaults file in
// the order they are written.
func decodeDefaults(data []byte) ([]roleVar, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		if m.Tag == "!!null" {
			return nil, nil
		}
		return nil, fmt.Errorf("line %d: want a mapping of variables", m.Line)
	}
	var vars []roleVar
	for i := 0; i+1 < len(m.Content); i += 2 {
		var v any
		if err := m.Content[i+1].Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", m.Content[i].Line, m.Content[i].Value, err)
		}
		vars = append(vars, roleVar{Name: m.Content[i].Value, Value: v})
	}
	return vars, nil
}

// groupVarsHeader opens the group_vars/all.yaml that kplay init writes.
const groupVarsHeader = `# group_vars/all.yaml: variables of every host of this environment.
#
# Written by kplay init (kplay %s) from the defaults of the roles embedded in
# kplay, with their explanations. Every setting is shown commented out with its
# default value: a line "#name: value" (no space after the #) is a setting;
# remove that "#", and the one of each indented line right below it, to
# change the value. Lines "# text" explain the setting below them.
#
# Values set here override the roles' defaults; host_vars/HOST.yaml, the
# inventory's host variables and -e override these. kplay roles lists the
# same variables; kplay vars HOST --explain shows where each value a host
# sees comes from.
`

// groupVarsAll renders every role's defaults as a commented-out
// group_vars file. A variable that two roles both default is written once,
// with the first role (common comes first).
func groupVarsAll(rs []roleInfo, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, groupVarsHeader, version)
	seen := map[string]string{}
	for _, r := range rs {
		if strings.TrimSpace(r.DefaultsText) == "" {
			continue
		}
		rule := "# " + strings.Repeat("-", 76) + "\n"
		b.WriteString("\n" + rule)
		title := "# role " + r.Name
		if r.Summary != "" {
			title += ": " + r.Summary
		}
		b.WriteString(title + "\n" + rule + "\n")
		b.WriteString(commentOut(r.DefaultsText, r.Name, seen))
	}
	return b.String()
}

// commentOut prefixes each setting line of a defaults file (a top-level
// key and its indented continuation) with "#", keeping the comments (as
// "# text"). A key already in seen (written for another role) is replaced
// by a note.
func commentOut(text, role string, seen map[string]string) string {
	var b strings.Builder
	skipping := false
	for _, line := range strings.SplitAfter(text, "\n") {
		body := strings.TrimRight(line, "\n")
		switch {
		case body == "---" || body == "...": // document markers
			continue
		case strings.TrimSpace(body) == "":
			skipping = false
			b.WriteString(line)
		case strings.HasPrefix(body, "#"):
			// Explanations always read "# text", so that they never look
			// like a commented-out setting or its continuation.
			skipping = false
			if text := strings.TrimLeft(body[1:], " \t"); text != "" {
				b.WriteString("# " + text + "\n")
			} else {
				b.WriteString("#\n")
			}
		case body[0] != ' ' && body[0] != '\t' && body[0] != '-':
			key, _, _ := strings.Cut(body, ":")
			key = strings.Trim(strings.TrimSpace(key), `"'`)
			if other, dup := seen[key]; dup {
				skipping = true
				fmt.Fprintf(&b, "# %s: also a default of role %s, see above\n", key, other)
				continue
			}
			seen[key] = role
			skipping = false
			b.WriteString("#" + line)
		case !skipping:
			b.WriteString("#" + line)
		}
	}
	s := b.String()
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}
