package inventory

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Selection is the result of a host pattern: the hosts, in inventory
// order, and Ansible's warnings (a sub-pattern that matched nothing), which
// are not errors.
type Selection struct {
	Hosts    []string
	Warnings []string
}

// Match returns the names of the hosts the pattern selects, in inventory
// order. A pattern that matches nothing gives an empty list and no error
// (use Select for the warnings); a malformed pattern (bad regex, empty
// sub-pattern, subscript out of range) is an error.
func (inv *Inventory) Match(pattern string) ([]string, error) {
	s, err := inv.Select(pattern)
	return s.Hosts, err
}

// Select evaluates a host pattern as Ansible does: it is split into
// sub-patterns (on ',' if it has any, else on ':' outside brackets), then
// plain sub-patterns are unioned in order, then "&x" ones intersected,
// then "!x" ones removed; with no plain sub-pattern, "all" is the start.
func (inv *Inventory) Select(pattern string) (Selection, error) {
	pats, err := splitPatternStrict(pattern)
	if err != nil {
		return Selection{}, err
	}
	if len(pats) == 0 {
		return Selection{}, fmt.Errorf("host pattern %q: empty pattern", pattern)
	}
	return inv.evaluate(pats)
}

// CheckPattern reports what makes a host pattern malformed (an empty
// sub-pattern, an invalid regex, an unclosed bracket, a malformed
// subscript) without an inventory, so that a playbook's static hosts: is
// checked when it is loaded rather than when its play starts. Whether the
// pattern matches any host is not checked.
func CheckPattern(pattern string) error {
	pats, err := splitPatternStrict(pattern)
	if err != nil {
		return err
	}
	if len(pats) == 0 {
		return fmt.Errorf("host pattern %q: empty pattern", pattern)
	}
	for _, p := range pats {
		expr := p
		if p[0] == '&' || p[0] == '!' {
			expr = strings.TrimSpace(p[1:])
		}
		if expr == "" {
			return fmt.Errorf("host pattern %q: empty sub-pattern", p)
		}
		name, _, _, err := splitSubscript(expr)
		if err != nil {
			return err
		}
		if _, err := compilePattern(name); err != nil {
			return err
		}
	}
	return nil
}

// Limit keeps the hosts (in their order) that the --limit expression also
// selects. It uses the pattern grammar; a sub-pattern "@path" stands for
// the patterns listed one per line in that file, as in Ansible.
func (inv *Inventory) Limit(hosts []string, limit string) (Selection, error) {
	parts, err := splitPatternStrict(limit)
	if err != nil {
		return Selection{}, fmt.Errorf("limit: %w", err)
	}
	var pats []string
	for _, p := range parts {
		if !strings.HasPrefix(p, "@") {
			pats = append(pats, p)
			continue
		}
		data, err := os.ReadFile(p[1:])
		if err != nil {
			return Selection{}, fmt.Errorf("limit: read limit file: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				pats = append(pats, line)
			}
		}
	}
	if len(pats) == 0 {
		return Selection{}, fmt.Errorf("limit %q: empty pattern", limit)
	}
	sel, err := inv.evaluate(pats)
	if err != nil {
		return Selection{}, fmt.Errorf("limit: %w", err)
	}
	keep := make(map[string]bool, len(sel.Hosts))
	for _, h := range sel.Hosts {
		keep[h] = true
	}
	out := []string{}
	for _, h := range hosts {
		if keep[h] {
			out = append(out, h)
		}
	}
	return Selection{Hosts: out, Warnings: sel.Warnings}, nil
}

var (
	patternWords = regexp.MustCompile(`(?:[^\s:\[\]]|\[[^\]]*\])+`)
	hostWithPort = regexp.MustCompile(`^(?:[A-Za-z0-9_.-]+|\[[^\]]+\]):[0-9]+$`)
)

// splitPattern splits a pattern into sub-patterns as Ansible's
// split_host_pattern: on commas when there are any; otherwise an address
// ("::1", "host:22") stays whole and anything else splits on colons and
// spaces outside [...] brackets.
func splitPattern(pattern string) []string {
	var parts []string
	switch {
	case strings.Contains(pattern, ","):
		parts = strings.Split(pattern, ",")
	case isAddress(pattern):
		parts = []string{pattern}
	default:
		parts = patternWords.FindAllString(pattern, -1)
	}
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// splitPatternStrict is splitPattern that refuses what it would have to
// drop or misread: a '[' or ']' without its pair.
func splitPatternStrict(pattern string) ([]string, error) {
	pats := splitPattern(pattern)
	if isAddress(pattern) {
		return pats, nil
	}
	if !strings.Contains(pattern, ",") {
		rest := patternWords.ReplaceAllString(pattern, "")
		if strings.ContainsAny(rest, "[]") {
			return nil, fmt.Errorf("host pattern %q: unclosed [ or unmatched ]", pattern)
		}
	}
	for _, p := range pats {
		if strings.HasPrefix(strings.TrimLeft(p, "&!"), "~") {
			continue // a regex: compiling it checks its brackets
		}
		if !balancedBrackets(p) {
			return nil, fmt.Errorf("host pattern %q: unclosed [ or unmatched ]", p)
		}
	}
	return pats, nil
}

// balancedBrackets reports whether every '[' of p is closed by a ']' and
// no ']' comes without one; brackets do not nest in patterns.
func balancedBrackets(p string) bool {
	open := false
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[':
			if open {
				return false
			}
			open = true
		case ']':
			if !open {
				return false
			}
			open = false
		}
	}
	return !open
}

func isAddress(p string) bool {
	p = strings.TrimSpace(p)
	if ip := net.ParseIP(p); ip != nil && strings.Contains(p, ":") {
		return true
	}
	return hostWithPort.MatchString(p)
}

// evaluate applies ordered sub-patterns as Ansible's _evaluate_patterns.
func (inv *Inventory) evaluate(pats []string) (Selection, error) {
	var sel Selection
	set := map[string]bool{}
	for _, p := range orderPatterns(pats) {
		if _, ok := inv.Hosts[p]; ok {
			set[p] = true
			continue
		}
		op, expr := byte(0), p
		if p[0] == '&' || p[0] == '!' {
			op, expr = p[0], strings.TrimSpace(p[1:])
		}
		if expr == "" {
			return Selection{}, fmt.Errorf("host pattern %q: empty sub-pattern", p)
		}
		that, warns, err := inv.matchOne(expr)
		if err != nil {
			return Selection{}, err
		}
		sel.Warnings = append(sel.Warnings, warns...)
		apply(set, that, op)
	}
	sel.Hosts = inv.inOrder(set)
	return sel, nil
}

// apply merges one sub-pattern's hosts into set: union, & intersection or
// ! exclusion.
func apply(set map[string]bool, that []string, op byte) {
	switch op {
	case '&':
		keep := make(map[string]bool, len(that))
		for _, h := range that {
			keep[h] = true
		}
		for h := range set {
			if !keep[h] {
				delete(set, h)
			}
		}
	case '!':
		for _, h := range that {
			delete(set, h)
		}
	default:
		for _, h := range that {
			set[h] = true
		}
	}
}

// orderPatterns puts plain sub-patterns first, then &, then !, and starts
// from "all" when there is no plain one.
func orderPatterns(pats []string) []string {
	var plain, and, not []string
	for _, p := range pats {
		switch p[0] {
		case '&':
			and = append(and, p)
		case '!':
			not = append(not, p)
		default:
			plain = append(plain, p)
		}
	}
	if len(plain) == 0 {
		plain = []string{"all"}
	}
	return slices.Concat(plain, and, not)
}

// matchOne evaluates one sub-pattern without its & or ! prefix.
func (inv *Inventory) matchOne(p string) ([]string, []string, error) {
	expr, sub, warn, err := splitSubscript(p)
	if err != nil {
		return nil, nil, err
	}
	hosts, warns, err := inv.enumerate(expr)
	if err != nil {
		return nil, nil, err
	}
	if warn != "" {
		warns = append(warns, warn)
	}
	hosts, err = sub.apply(hosts)
	if err != nil {
		return nil, nil, fmt.Errorf("host pattern %q: %w", p, err)
	}
	return hosts, warns, nil
}

// enumerate finds the hosts of the groups the expression matches and, when
// no group matched or it is a glob or regex, the hosts it matches by name;
// "localhost" and its addresses fall back to the implicit localhost.
func (inv *Inventory) enumerate(expr string) ([]string, []string, error) {
	re, err := compilePattern(expr)
	if err != nil {
		return nil, nil, err
	}
	set := map[string]bool{}
	groups := 0
	for name := range inv.Groups {
		if re == nil && name == expr || re != nil && re.MatchString(name) {
			groups++
			for _, h := range inv.groupHosts(name) {
				set[h] = true
			}
		}
	}
	if groups == 0 || re != nil {
		for _, h := range inv.Order {
			if re == nil && h == expr || re != nil && re.MatchString(h) {
				set[h] = true
			}
		}
	}
	if _, ok := inv.implicit[expr]; ok && len(set) == 0 {
		set[expr] = true
	}
	var warns []string
	if len(set) == 0 && groups == 0 && expr != "all" {
		warns = append(warns, "could not match supplied host pattern, ignoring: "+expr)
	}
	return inv.inOrder(set), warns, nil
}

// compilePattern compiles "~regex" (matched at the start, like Python's
// re.match) or a glob with * ? [...] (whole name, like fnmatch); it returns
// nil for a plain name, compared exactly.
func compilePattern(expr string) (*regexp.Regexp, error) {
	src := ""
	switch {
	case expr[0] == '~':
		src = "^(?:" + expr[1:] + ")"
	case strings.ContainsAny(expr, ".?*["):
		src = globRegexp(expr)
	default:
		return nil, nil
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid host list pattern %q: %w", expr, err)
	}
	return re, nil
}

// globRegexp translates an fnmatch glob into an anchored regexp: * any
// run, ? one character, [abc] [a-z] [!abc] classes, an unclosed [ literal.
func globRegexp(glob string) string {
	var b strings.Builder
	b.WriteString("^(?s:")
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i + 1
			if j < len(glob) && glob[j] == '!' {
				j++
			}
			if j < len(glob) && glob[j] == ']' {
				j++
			}
			end := strings.IndexByte(glob[j:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(globClass(glob[i+1 : j+end]))
			i = j + end
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(")$")
	return b.String()
}

// globClass turns the inside of a glob [...] into a regexp class.
func globClass(body string) string {
	var b strings.Builder
	b.WriteByte('[')
	if strings.HasPrefix(body, "!") {
		b.WriteByte('^')
		body = body[1:]
	}
	for k := 0; k < len(body); k++ {
		c := body[k]
		if c == '-' && k > 0 && k < len(body)-1 {
			b.WriteByte('-')
			continue
		}
		if c < 0x80 && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte(']')
	return b.String()
}

// subscript is a [i] or [start:end] suffix on a sub-pattern.
type subscript struct {
	set        bool
	single     bool
	start, end int // end -1 = to the last host
}

// malformedSubscript is a trailing [...] of digits, '-' and ':' only that
// patternSubscript did not take: [], [:3], [1:2:3], [-1:2].
var malformedSubscript = regexp.MustCompile(`\[[-0-9:]*\]$`)

var patternSubscript = regexp.MustCompile(`^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$`)

// splitSubscript separates "group[1:3]" into "group" and its subscript;
// regex patterns have none.
func splitSubscript(p string) (string, subscript, string, error) {
	m := patternSubscript.FindStringSubmatch(p)
	if p[0] == '~' {
		return p, subscript{}, "", nil
	}
	if m == nil {
		if bad := malformedSubscript.FindString(p); bad != "" {
			return "", subscript{}, "", fmt.Errorf("host pattern %q: malformed subscript %s (want [i], [start:end] or [start:])", p, bad)
		}
		return p, subscript{}, "", nil
	}
	num := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("host pattern %q: bad subscript: %w", p, err)
		}
		return n, nil
	}
	if m[2] != "" {
		n, err := num(m[2])
		return m[1], subscript{set: true, single: true, start: n}, "", err
	}
	start, err := num(m[3])
	if err != nil {
		return "", subscript{}, "", err
	}
	end := -1
	if m[5] != "" {
		if end, err = num(m[5]); err != nil {
			return "", subscript{}, "", err
		}
	}
	warn := ""
	if m[4] == "-" {
		warn = fmt.Sprintf("host pattern %q: use [x:y] inclusive subscripts instead of [x-y]", p)
	}
	return m[1], subscript{set: true, start: start, end: end}, warn, nil
}

// apply selects by position as Ansible does: [i] (negative from the end)
// must exist; [a:b] is inclusive and clamps like a Python slice.
func (s subscript) apply(hosts []string) ([]string, error) {
	if !s.set || len(hosts) == 0 {
		return hosts, nil
	}
	n := len(hosts)
	if s.single {
		i := s.start
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, fmt.Errorf("no hosts matched the subscripted pattern (index %d of %d hosts)", s.start, n)
		}
		return hosts[i : i+1], nil
	}
	end := s.end
	if end < 0 || end >= n {
		end = n - 1
	}
	if s.start > end {
		return []string{}, nil
	}
	return hosts[s.start : end+1], nil
}
