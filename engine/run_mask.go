package engine

import (
	"slices"
	"strings"

	"github.com/kplay/kplay/modules"
)

// secretMask replaces secret values in everything a run shows.
const secretMask = "********"

// addSecret records a value of a secrets file. Values shorter than four
// characters are not masked: masking "1" or "yes" everywhere would hide
// more than it protects.
func (p *playRun) addSecret(v string) {
	if len(strings.TrimSpace(v)) >= 4 && !slices.Contains(p.secrets, v) {
		p.secrets = append(p.secrets, v)
		// Longest first, so that a secret containing another is masked whole.
		slices.SortFunc(p.secrets, func(a, b string) int { return len(b) - len(a) })
	}
}

// mask returns res with every secret value replaced, as a copy; res itself
// (registered for later tasks) keeps the real values.
func (p *playRun) mask(res *TaskResult) *TaskResult {
	if len(p.secrets) == 0 || res == nil {
		return res
	}
	c := *res
	c.Msg, c.Cmd, c.Stdout, c.Stderr, c.Err = p.maskString(c.Msg), p.maskString(c.Cmd),
		p.maskString(c.Stdout), p.maskString(c.Stderr), p.maskString(c.Err)
	if c.Data != nil {
		c.Data, _ = p.maskValue(c.Data).(map[string]any)
	}
	c.Item = p.maskValue(c.Item)
	if c.Diff != nil {
		c.Diff = make([]modules.Diff, len(res.Diff))
		for i, d := range res.Diff {
			c.Diff[i] = modules.Diff{Path: d.Path, Before: p.maskString(d.Before), After: p.maskString(d.After)}
		}
	}
	if c.Items != nil {
		c.Items = make([]*TaskResult, len(res.Items))
		for i, it := range res.Items {
			c.Items[i] = p.mask(it)
		}
	}
	return &c
}

func (p *playRun) maskString(s string) string {
	for _, secret := range p.secrets {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, secretMask)
		}
	}
	return s
}

func (p *playRun) maskValue(v any) any {
	switch x := v.(type) {
	case string:
		return p.maskString(x)
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = p.maskValue(it)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			out[k] = p.maskValue(it)
		}
		return out
	}
	return v
}
