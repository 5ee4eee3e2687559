package engine

import (
	"fmt"
	"sort"

	"github.com/kplay/kplay/modules"
)

// This file renders the boolean keywords a task or block writes as a
// template (ignore_errors: "{{ x }}", become, check_mode, diff,
// ignore_unreachable), which Ansible allows. The loader keeps them in
// Task.BoolExprs; the run renders them once per host, before the task's
// loop, with the host's variables (so item is not defined there).

// boolKeyword renders one boolean keyword's template to a boolean.
func (s *scope) boolKeyword(key, text string) (bool, error) {
	v, err := s.render(text)
	if err != nil {
		return false, fmt.Errorf("%s: %w", key, err)
	}
	b, err := modules.ToBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not a boolean", key, shorten(toString(v)))
	}
	return b, nil
}

// forHost returns the taskRun to use on one host: tr itself when neither
// the task nor its enclosing blocks template a boolean keyword (the usual
// case, no copy), else a copy whose task and blocks carry the values
// rendered with the host's scope. A template that fails on a host where
// the task's when: is false anyway is not an error.
func (tr *taskRun) forHost(s *scope) (*taskRun, error) {
	if len(tr.t.BoolExprs) == 0 && !blocksTemplateBools(tr.f.blocks) {
		return tr, nil
	}
	t, err := withBools(s, tr.t)
	if err != nil {
		return tr, tr.unlessSkipped(s, err)
	}
	f := *tr.f
	f.blocks = make([]*Task, len(tr.f.blocks))
	for i, b := range tr.f.blocks {
		if f.blocks[i], err = withBools(s, b); err != nil {
			return tr, tr.unlessSkipped(s, err)
		}
	}
	return &taskRun{p: tr.p, t: t, f: &f, name: tr.name}, nil
}

// unlessSkipped drops err when the task's conditions, evaluated without a
// loop item, say it will be skipped on this host.
func (tr *taskRun) unlessSkipped(s *scope, err error) error {
	if ok, werr := allTrue(s, tr.t.When); werr == nil && !ok {
		return nil
	}
	return err
}

func blocksTemplateBools(blocks []*Task) bool {
	for _, b := range blocks {
		if len(b.BoolExprs) > 0 {
			return true
		}
	}
	return false
}

// withBools returns t, or a copy of it with its templated boolean
// keywords rendered.
func withBools(s *scope, t *Task) (*Task, error) {
	if len(t.BoolExprs) == 0 {
		return t, nil
	}
	keys := make([]string, 0, len(t.BoolExprs))
	for k := range t.BoolExprs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	c := *t
	c.BoolExprs = nil
	for _, k := range keys {
		b, err := s.boolKeyword(k, t.BoolExprs[k])
		if err != nil {
			return nil, err
		}
		switch k {
		case "ignore_errors":
			c.IgnoreErrs = b
		case "ignore_unreachable":
			c.IgnoreUnrch = b
		case "check_mode":
			c.CheckMode = &b
		case "diff":
			c.Diff = &b
		case "become":
			c.Become = &b
		default:
			return nil, fmt.Errorf("%s: a templated value is not supported", k)
		}
	}
	return &c, nil
}
