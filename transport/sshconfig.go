package transport

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sshConfig is the subset of ssh_config(5) kplay honours: Host blocks with
// wildcard (* ?) and negated (!) patterns, HostName (with %h), User, Port,
// IdentityFile (several; ~ and %d %h %r %u %p %% expanded), ProxyJump, and
// Include (globs; relative paths are taken from the including file's
// directory). For every keyword the first value that applies wins, as in
// ssh. Match blocks are not evaluated: their settings never apply. Other
// keywords are ignored.
type sshConfig struct {
	path   string
	blocks []sshBlock
}

type sshBlock struct {
	patterns []string // nil: before the first Host line, applies to all
	settings []sshSetting
}

type sshSetting struct{ key, value string }

// sshSettings is what a host's lookup found.
type sshSettings struct {
	hostName, user, port, proxyJump string
	identity                        []string
	host                            string // the name looked up, for %h
}

const maxIncludeDepth = 16

// loadSSHConfig reads path; a missing file is an empty config.
func loadSSHConfig(path string) (*sshConfig, error) {
	c := &sshConfig{path: path, blocks: []sshBlock{{}}}
	if err := c.read(path, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return c, nil
}

func (c *sshConfig) read(path string, depth int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		key, args, err := splitConfigLine(sc.Text())
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if key == "" {
			continue
		}
		if err := c.apply(path, n, key, args, depth); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func (c *sshConfig) apply(path string, line int, key string, args []string, depth int) error {
	if len(args) == 0 {
		return fmt.Errorf("%s:%d: %s: missing argument", path, line, key)
	}
	switch key {
	case "host":
		c.blocks = append(c.blocks, sshBlock{patterns: args})
	case "match":
		c.blocks = append(c.blocks, sshBlock{patterns: []string{}})
	case "include":
		if depth >= maxIncludeDepth {
			return fmt.Errorf("%s:%d: include nested too deeply", path, line)
		}
		for _, a := range args {
			if err := c.include(path, line, a, depth); err != nil {
				return err
			}
		}
	default:
		b := &c.blocks[len(c.blocks)-1]
		b.settings = append(b.settings, sshSetting{key: key, value: strings.Join(args, " ")})
	}
	return nil
}

func (c *sshConfig) include(path string, line int, pattern string, depth int) error {
	pattern = expandTilde(pattern)
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(path), pattern)
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("%s:%d: include %q: %w", path, line, pattern, err)
	}
	for _, f := range files {
		if err := c.read(f, depth+1); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// splitConfigLine returns the lower-cased keyword and its arguments; a
// keyword may be followed by spaces or "=", arguments may be double-quoted.
func splitConfigLine(line string) (string, []string, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil, nil
	}
	end := strings.IndexAny(line, " \t=")
	if end < 0 {
		return strings.ToLower(line), nil, nil
	}
	key := strings.ToLower(line[:end])
	rest := strings.TrimLeft(line[end:], " \t")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "="), " \t")
	var args []string
	for rest != "" {
		if rest[0] == '"' {
			q := strings.IndexByte(rest[1:], '"')
			if q < 0 {
				return "", nil, errors.New("unterminated quote")
			}
			args = append(args, rest[1:q+1])
			rest = rest[q+2:]
		} else {
			w := strings.IndexAny(rest, " \t")
			if w < 0 {
				w = len(rest)
			}
			args = append(args, rest[:w])
			rest = rest[w:]
		}
		rest = strings.TrimLeft(rest, " \t")
	}
	return key, args, nil
}

// lookup collects the settings that apply to host, first value winning.
func (c *sshConfig) lookup(host string) sshSettings {
	st := sshSettings{host: host}
	first := map[string]bool{}
	for _, b := range c.blocks {
		if b.patterns != nil && !matchHost(b.patterns, host) {
			continue
		}
		for _, s := range b.settings {
			if s.key == "identityfile" {
				st.identity = append(st.identity, s.value)
				continue
			}
			if first[s.key] {
				continue
			}
			first[s.key] = true
			switch s.key {
			case "hostname":
				st.hostName = strings.ReplaceAll(s.value, "%h", host)
			case "user":
				st.user = s.value
			case "port":
				st.port = s.value
			case "proxyjump":
				st.proxyJump = s.value
			}
		}
	}
	return st
}

// identityFiles expands the IdentityFile values for the resolved host.
func (st sshSettings) identityFiles(host, user string, port int) []string {
	var out []string
	for _, v := range st.identity {
		if strings.EqualFold(v, "none") {
			continue
		}
		r := strings.NewReplacer("%%", "%", "%d", homePath(), "%h", host, "%r", user,
			"%u", localUser(), "%p", strconv.Itoa(port), "%n", st.host)
		out = append(out, expandTilde(r.Replace(v)))
	}
	return out
}

func expandTilde(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		return homePath(p[1:])
	}
	return p
}

// matchHost applies ssh's rule: some positive pattern matches and no
// negated one does.
func matchHost(patterns []string, host string) bool {
	host = strings.ToLower(host)
	ok := false
	for _, p := range patterns {
		for _, alt := range strings.Split(p, ",") {
			neg := strings.HasPrefix(alt, "!")
			alt = strings.ToLower(strings.TrimPrefix(alt, "!"))
			if !wildcard(alt, host) {
				continue
			}
			if neg {
				return false
			}
			ok = true
		}
	}
	return ok
}

// wildcard matches s against a pattern where * is any run of characters
// and ? any one character.
func wildcard(pat, s string) bool {
	for len(pat) > 0 {
		switch pat[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcard(pat[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pat[0] {
				return false
			}
		}
		pat, s = pat[1:], s[1:]
	}
	return s == ""
}
