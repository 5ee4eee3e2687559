package journal

import (
	"sort"
	"strings"
)

// secretWords mark a variable name as holding a secret: the connection
// passwords (ansible_password, ansible_become_pass, kplay_become_password)
// and the usual names of tokens and keys' passphrases.
var secretWords = []string{"pass", "secret", "token", "credential"}

// SecretVarName tells whether a variable of that name is kept out of the
// journal: its name (any case) contains pass, secret, token or credential.
func SecretVarName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// SplitExtraVars returns the extra vars a run's Meta may store and the
// names of those it must not: a variable is withheld when its name, or a
// key of a mapping anywhere in its value, is a SecretVarName. The journal
// is 0600 on the control machine, but a password has no business in a
// file that is kept for weeks and copied around with the environment.
func SplitExtraVars(extra map[string]any) (stored map[string]any, withheld []string) {
	for k, v := range extra {
		if SecretVarName(k) || hasSecretKey(v) {
			withheld = append(withheld, k)
			continue
		}
		if stored == nil {
			stored = map[string]any{}
		}
		stored[k] = v
	}
	sort.Strings(withheld)
	return stored, withheld
}

func hasSecretKey(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, it := range x {
			if SecretVarName(k) || hasSecretKey(it) {
				return true
			}
		}
	case []any:
		for _, it := range x {
			if hasSecretKey(it) {
				return true
			}
		}
	}
	return false
}
