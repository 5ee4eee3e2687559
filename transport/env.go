package transport

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kplay/kplay/shell"
)

// WithEnv returns a Conn that runs every command with the given variables
// exported (`export K='v';` in sorted key order, values quoted by
// shell.Quote). Wrap it around WithBecome, not inside it, so that the
// variables reach the become user's command (sudo resets the environment).
// A key that is not a shell name makes Exec fail before anything runs.
func WithEnv(c Conn, env map[string]string) Conn {
	if len(env) == 0 {
		return c
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if !isShellName(k) {
			return &envConn{err: fmt.Errorf("environment: %q is not a valid variable name", k)}
		}
		b.WriteString("export " + k + "=" + shell.Quote(env[k]) + "; ")
	}
	return &envConn{inner: c, prefix: b.String()}
}

type envConn struct {
	inner  Conn
	prefix string
	err    error
}

// Exec implements Conn.
func (e *envConn) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	if e.err != nil {
		return e.err
	}
	return e.inner.Exec(ctx, e.prefix+cmd, stdin, stdout, stderr)
}

// isShellName reports whether s is a POSIX name: [A-Za-z_][A-Za-z0-9_]*.
func isShellName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
