package inventory

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxExpand bounds how many names one host range may produce, so a typo
// such as web[1:99999999] fails instead of exhausting memory.
const maxExpand = 100000

var (
	bracketedHostPort = regexp.MustCompile(`^\[(.+)\]:([0-9]+)$`)
	hostPort          = regexp.MustCompile(`^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`)
)

// expandHostPattern splits an optional ":port" off a host entry and expands
// its [a:b] / [a:b:step] ranges, as Ansible's _expand_hostpattern does:
// "[::1]:2222", "host:2222", "web[01:03].lan" and "db-[a:c]" are all valid.
// A port of 0 means none was given.
func expandHostPattern(s string) ([]string, int, error) {
	pattern, port := s, 0
	m := bracketedHostPort.FindStringSubmatch(s)
	if m == nil {
		m = hostPort.FindStringSubmatch(s)
	}
	if m != nil && m[1] != "" {
		p, err := strconv.Atoi(m[2])
		if err != nil || p > 65535 {
			return nil, 0, fmt.Errorf("host %q: port out of range", s)
		}
		pattern, port = m[1], p
	}
	if pattern == "" {
		return nil, 0, errors.New("empty host name")
	}
	names, err := expandRange(pattern, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("host range %q: %w", pattern, err)
	}
	return names, port, nil
}

// expandRange expands the first [begin:end(:step)] of s and recurses for
// the rest. Numeric bounds with a leading zero keep their width (01..10);
// single letters make an alphabetic range (a:f), as in Ansible.
func expandRange(s string, acc []string) ([]string, error) {
	open := strings.IndexByte(s, '[')
	if open < 0 {
		if len(acc) >= maxExpand {
			return nil, fmt.Errorf("more than %d hosts", maxExpand)
		}
		return append(acc, s), nil
	}
	rel := strings.IndexByte(s[open:], ']')
	if rel < 0 {
		return nil, errors.New("missing ]")
	}
	head, body, tail := s[:open], s[open+1:open+rel], s[open+rel+1:]
	seq, err := rangeItems(body)
	if err != nil {
		return nil, err
	}
	for _, item := range seq {
		if acc, err = expandRange(head+item+tail, acc); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// rangeItems lists the items of one "begin:end(:step)" range body.
func rangeItems(body string) ([]string, error) {
	bounds := strings.Split(body, ":")
	if len(bounds) != 2 && len(bounds) != 3 {
		return nil, errors.New("host range must be begin:end or begin:end:step")
	}
	beg, end, step := bounds[0], bounds[1], 1
	if len(bounds) == 3 {
		n, err := strconv.Atoi(bounds[2])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("host range step %q must be a positive integer", bounds[2])
		}
		step = n
	}
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return nil, errors.New("host range must specify end value")
	}
	if isLetter(beg) && isLetter(end) {
		return letterRange(beg[0], end[0], step)
	}
	return numberRange(beg, end, step)
}

func isLetter(s string) bool {
	return len(s) == 1 && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// letterRange follows Python's string.ascii_letters order: a..z then A..Z.
func letterRange(b, e byte, step int) ([]string, error) {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	i, j := strings.IndexByte(letters, b), strings.IndexByte(letters, e)
	if i > j {
		return nil, errors.New("host range must have begin <= end")
	}
	var out []string
	for k := i; k <= j; k += step {
		out = append(out, letters[k:k+1])
	}
	return out, nil
}

// numberRange expands begin..end inclusive, zero-padded when begin has a
// leading zero (then begin and end must have the same width).
func numberRange(beg, end string, step int) ([]string, error) {
	b, err1 := strconv.Atoi(beg)
	e, err2 := strconv.Atoi(end)
	if err1 != nil || err2 != nil || b < 0 || e < 0 {
		return nil, fmt.Errorf("host range bounds %q:%q must be numbers or single letters", beg, end)
	}
	width := 0
	if beg[0] == '0' && len(beg) > 1 {
		if len(beg) != len(end) {
			return nil, errors.New("host range must specify equal-length begin and end formats")
		}
		width = len(beg)
	}
	if e >= b && (e-b)/step >= maxExpand {
		return nil, fmt.Errorf("more than %d hosts", maxExpand)
	}
	var out []string
	for k := b; k <= e; k += step {
		out = append(out, fmt.Sprintf("%0*d", width, k))
	}
	return out, nil
}
