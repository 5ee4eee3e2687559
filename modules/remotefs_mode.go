package modules

import (
	"fmt"
	"strconv"
	"strings"
)

// FileMode is a mode argument as Ansible accepts it: an octal string
// ("0644", "644"), a YAML number (0644 read as octal, so the int 420), a
// symbolic mode ("u=rw,g=r,o=r", "u+x") or "preserve" (copy). Decoding
// normalizes octal forms to four digits so they compare with Stat's Mode.
type FileMode string

// DecodeArg implements ArgDecoder.
func (m *FileMode) DecodeArg(v any) error {
	switch x := v.(type) {
	case nil:
		*m = ""
		return nil
	case int, int64, uint64, float64:
		n, err := toInt(x)
		if err != nil || n < 0 || n > 0o7777 {
			return fmt.Errorf("mode %v is out of range", x)
		}
		*m = FileMode(fmt.Sprintf("%04o", n))
		return nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" || s == "preserve" {
			*m = FileMode(s)
			return nil
		}
		if n, err := strconv.ParseUint(s, 8, 32); err == nil {
			if n > 0o7777 {
				return fmt.Errorf("mode %q is out of range", s)
			}
			*m = FileMode(fmt.Sprintf("%04o", n))
			return nil
		}
		if _, err := applySymbolic(0, s, false); err != nil {
			return err
		}
		*m = FileMode(s)
		return nil
	}
	return fmt.Errorf("mode: want a string or a number, got %s", typeName(v))
}

// isOctal reports whether m is already a normalized octal mode.
func (m FileMode) isOctal() bool {
	_, err := strconv.ParseUint(string(m), 8, 32)
	return err == nil
}

// resolve returns the octal mode that m gives a path whose mode is now cur
// ("" for a new path, which starts from def). Empty m resolves to "".
func (m FileMode) resolve(cur, def string, isDir bool) (string, error) {
	if m == "" || m == "preserve" {
		return "", nil
	}
	if m.isOctal() {
		return string(m), nil
	}
	if cur == "" {
		cur = def
	}
	n, err := strconv.ParseUint(cur, 8, 32)
	if err != nil {
		return "", fmt.Errorf("mode %q: current mode %q: %w", m, cur, err)
	}
	out, err := applySymbolic(uint32(n), string(m), isDir)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%04o", out), nil
}

// whoMask maps the "who" letters of a symbolic mode to the bits they
// govern (setuid/setgid go with u/g, sticky with o).
var whoMask = map[byte]uint32{'u': 0o4700, 'g': 0o2070, 'o': 0o1007, 'a': 0o7777}

// applySymbolic applies a chmod-style symbolic mode to cur. Without "who"
// letters the clause applies to everyone (umask is not consulted, unlike
// chmod(1); Ansible does the same).
func applySymbolic(cur uint32, spec string, isDir bool) (uint32, error) {
	for _, clause := range strings.Split(spec, ",") {
		i, who := 0, uint32(0)
		for i < len(clause) && whoMask[clause[i]] != 0 {
			who |= whoMask[clause[i]]
			i++
		}
		if who == 0 {
			who = 0o7777
		}
		if i == len(clause) {
			return 0, fmt.Errorf("mode %q: bad symbolic clause %q", spec, clause)
		}
		for i < len(clause) {
			op := clause[i]
			if op != '+' && op != '-' && op != '=' {
				return 0, fmt.Errorf("mode %q: bad operator in %q", spec, clause)
			}
			i++
			var bits uint32
			for ; i < len(clause) && !strings.ContainsRune("+-=", rune(clause[i])); i++ {
				b, err := permBits(clause[i], cur, isDir)
				if err != nil {
					return 0, fmt.Errorf("mode %q: %w", spec, err)
				}
				bits |= b
			}
			bits &= who
			switch op {
			case '+':
				cur |= bits
			case '-':
				cur &^= bits
			case '=':
				keep := uint32(0o7777)
				if isDir {
					keep = 0o1777 // chmod keeps a directory's setuid/setgid
				}
				cur = cur&^(who&keep) | bits
			}
		}
	}
	return cur, nil
}

func permBits(c byte, cur uint32, isDir bool) (uint32, error) {
	switch c {
	case 'r':
		return 0o444, nil
	case 'w':
		return 0o222, nil
	case 'x':
		return 0o111, nil
	case 'X':
		if isDir || cur&0o111 != 0 {
			return 0o111, nil
		}
		return 0, nil
	case 's':
		return 0o6000, nil
	case 't':
		return 0o1000, nil
	case 'u':
		return ((cur >> 6) & 7) * 0o111, nil
	case 'g':
		return ((cur >> 3) & 7) * 0o111, nil
	case 'o':
		return (cur & 7) * 0o111, nil
	}
	return 0, fmt.Errorf("unknown permission %q", c)
}

// idMatches reports whether want (a name or a numeric id) names the owner
// or group that has name and id.
func idMatches(want, name string, id int) bool {
	if want == "" {
		return true
	}
	if n, err := strconv.Atoi(want); err == nil {
		return n == id
	}
	return want == name
}

// attrsToApply returns the part of want that differs from fi (mode already
// resolved to octal), and whether anything differs.
func attrsToApply(fi FileInfo, want Attrs) (Attrs, bool) {
	var d Attrs
	if want.Mode != "" && want.Mode != fi.Mode {
		d.Mode = want.Mode
	}
	if !idMatches(want.Owner, fi.Owner, fi.UID) {
		d.Owner = want.Owner
	}
	if !idMatches(want.Group, fi.Group, fi.GID) {
		d.Group = want.Group
	}
	return d, d != Attrs{}
}
