// Package shell holds the one quoting function every remote command in kplay
// goes through, so that no value can break out of its argument.
package shell

import "strings"

// Quote returns s as a single POSIX sh word that the shell reads back as
// exactly s, byte for byte. It uses single quotes, inside which sh gives no
// character a special meaning; a single quote itself is written as '\”.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes every argument and joins them with spaces, giving a command
// line that sh splits back into exactly args.
func Join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// isSafe reports whether s needs no quoting: only characters that sh never
// treats specially in any position.
func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '/' || c == ',' || c == ':' || c == '+' || c == '@' || c == '%':
		default:
			return false
		}
	}
	// A leading '-' is safe for sh but could look like an option; callers
	// put "--" where that matters. '=' and '~' are excluded above.
	return true
}
