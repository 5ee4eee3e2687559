package main

import (
	"encoding/json"
	"io"
	"strings"
)

// maskWriter replaces secrets (the -k and -K passwords) with *** in
// everything written through it, as plain text and in their JSON-escaped
// form, so that a password echoed by a task or shown by debug never
// reaches the console or --json output. Each Write is masked on its own;
// the sinks write whole lines.
type maskWriter struct {
	w        io.Writer
	replacer *strings.Replacer
}

// maskSecrets wraps w when there is a non-empty secret to hide.
func maskSecrets(w io.Writer, secrets ...string) io.Writer {
	var pairs []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		pairs = append(pairs, s, "***")
		if b, err := json.Marshal(s); err == nil {
			if esc := string(b[1 : len(b)-1]); esc != s {
				pairs = append(pairs, esc, "***")
			}
		}
	}
	if len(pairs) == 0 {
		return w
	}
	return &maskWriter{w: w, replacer: strings.NewReplacer(pairs...)}
}

// Write implements io.Writer; it reports len(p) written when the masked
// text was written whole.
func (m *maskWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(m.w, m.replacer.Replace(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
