package engine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// omitValue is what the magic variable omit renders to: a module argument
// whose rendered value is exactly this is dropped, as Ansible's omit.
const omitValue = "__omit_place_holder__kplay"

// maxVarDepth bounds how deep variables may refer to variables before the
// chain is reported as a loop.
const maxVarDepth = 32

// layer is one source of variables in precedence order (lowest first).
// Templated layers hold values as written, rendered on use; others (facts,
// registered results, magic variables) hold data that is never rendered,
// so a command's output containing "{{" stays as it is.
type layer struct {
	name  string
	vars  map[string]any
	templ bool
}

// scope is the variables of one host for one task (or one loop item), with
// lazy rendering: a variable whose value holds "{{ }}" is rendered when an
// expression names it, after the variables it names in turn. A scope is
// used by one goroutine.
type scope struct {
	ev     *Evaluator
	out    map[string]any // what expressions see; templated values replaced once rendered
	templ  map[string]any // raw values still to render
	src    map[string]string
	errs   map[string]error // variables whose rendering failed, removed from out
	busy   map[string]bool
	lazy   map[string]func() any
	parent *scope
}

// newScope merges layers into a scope; later layers win key by key.
func newScope(ev *Evaluator, layers []layer) *scope {
	return newScopeCached(ev, layers, nil)
}

// newScopeCached is newScope with a cache of which keys of long-lived
// layers hold templates (tc may be nil).
func newScopeCached(ev *Evaluator, layers []layer, tc *templCache) *scope {
	n := 0
	for _, l := range layers {
		n += len(l.vars)
	}
	s := &scope{ev: ev, out: make(map[string]any, n), templ: map[string]any{}, src: make(map[string]string, n),
		errs: map[string]error{}, busy: map[string]bool{}, lazy: map[string]func() any{}}
	for _, l := range layers {
		var keys map[string]bool
		if l.templ && tc != nil {
			keys = tc.keys(l.vars)
		}
		for k, v := range l.vars {
			templ := l.templ
			if templ {
				if keys != nil {
					templ = keys[k]
				} else {
					templ = hasTemplate(v)
				}
			}
			s.set(k, v, templ, l.name)
		}
	}
	return s
}

// set stores a variable; templ tells that its value holds a template.
func (s *scope) set(k string, v any, templ bool, src string) {
	if len(s.errs) > 0 {
		delete(s.errs, k)
	}
	if templ {
		s.templ[k] = v
		delete(s.out, k)
	} else {
		s.out[k] = v
		if len(s.templ) > 0 {
			delete(s.templ, k)
		}
	}
	s.src[k] = src
}

// templCache remembers which keys of a variables map hold templates. The
// maps it is given live for the whole run and are never changed (they
// come from the loaded playbook and inventory); it keeps a reference to
// each so that its address is not reused while cached.
type templCache struct {
	mu sync.Mutex
	m  map[uintptr]templEntry
}

type templEntry struct {
	keep map[string]any
	keys map[string]bool
}

func (c *templCache) keys(vars map[string]any) map[string]bool {
	if len(vars) == 0 {
		return nil
	}
	ptr := reflect.ValueOf(vars).Pointer()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uintptr]templEntry{}
	}
	if e, ok := c.m[ptr]; ok {
		return e.keys
	}
	keys := map[string]bool{}
	for k, v := range vars {
		if hasTemplate(v) {
			keys[k] = true
		}
	}
	c.m[ptr] = templEntry{keep: vars, keys: keys}
	return keys
}

// child returns a copy of s with vars added on top as plain data (loop
// items, the registered result seen by until and failed_when).
func (s *scope) child(vars map[string]any) *scope {
	c := &scope{ev: s.ev, out: make(map[string]any, len(s.out)+len(vars)), templ: make(map[string]any, len(s.templ)),
		src: s.src, errs: map[string]error{}, busy: map[string]bool{}, lazy: s.lazy}
	for k, v := range s.out {
		c.out[k] = v
	}
	for k, v := range s.templ {
		c.templ[k] = v
	}
	for k, v := range s.errs {
		c.errs[k] = v
	}
	for k, v := range vars {
		c.out[k] = v
		delete(c.templ, k)
		delete(c.errs, k)
	}
	return c
}

// idents calls f for every identifier-like word of text.
func idents(text string, f func(string)) {
	start := -1
	for i := 0; i <= len(text); i++ {
		var c byte
		if i < len(text) {
			c = text[i]
		}
		word := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && start >= 0
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			f(text[start:i])
			start = -1
		}
	}
}

// prepare renders, before text is evaluated, every templated variable that
// text may name (a generous guess by identifier: names inside string
// literals are rendered too, harmlessly).
func (s *scope) prepare(text string) {
	if len(s.templ) == 0 && len(s.lazy) == 0 {
		return
	}
	idents(text, func(name string) { s.resolve(name, 0) })
}

// prepareValue prepares every string inside v.
func (s *scope) prepareValue(v any) {
	walkStrings(v, s.prepare)
}

func (s *scope) resolve(name string, depth int) {
	if f, ok := s.lazy[name]; ok {
		if _, done := s.out[name]; !done {
			s.out[name] = f()
		}
		return
	}
	raw, ok := s.templ[name]
	if !ok {
		return
	}
	if s.busy[name] || depth > maxVarDepth {
		s.fail(name, fmt.Errorf("variable %q refers to itself (through a loop of variables)", name))
		return
	}
	s.busy[name] = true
	walkStrings(raw, func(t string) {
		idents(t, func(m string) {
			if m != name {
				s.resolve(m, depth+1)
			}
		})
	})
	delete(s.busy, name)
	if _, still := s.templ[name]; !still {
		return // failed meanwhile (a loop through it)
	}
	v, err := s.ev.Render(raw, s.out)
	if err != nil {
		if undefinedRoot(err) == name {
			err = fmt.Errorf("variable %q refers to itself", name)
		} else {
			err = fmt.Errorf("variable %q: %w", name, s.explain(err))
		}
		s.fail(name, err)
		return
	}
	s.out[name] = v
	delete(s.templ, name)
}

func (s *scope) fail(name string, err error) {
	delete(s.templ, name)
	delete(s.out, name)
	if _, ok := s.errs[name]; !ok {
		s.errs[name] = err
	}
}

// explain replaces an undefined-variable error by the error of the
// variable that could not be rendered, which is the real cause.
func (s *scope) explain(err error) error {
	if root := undefinedRoot(err); root != "" {
		if cause, ok := s.errs[root]; ok {
			return cause
		}
	}
	return err
}

// undefinedRoot returns the variable name of an undefined-variable error
// ("a" for a.b[0]), or "".
func undefinedRoot(err error) string {
	var ee *ExprError
	if !errors.As(err, &ee) || ee.Undefined == "" {
		return ""
	}
	root := ee.Undefined
	if i := strings.IndexAny(root, ".["); i > 0 {
		root = root[:i]
	}
	return root
}

// eval evaluates a bare expression (when, until, failed_when, loop).
func (s *scope) eval(expr string) (any, error) {
	s.prepare(expr)
	v, err := s.ev.Eval(expr, s.out)
	return v, s.explain(err)
}

// evalBool evaluates a condition.
func (s *scope) evalBool(expr string) (bool, error) {
	s.prepare(expr)
	v, err := s.ev.EvalBool(expr, s.out)
	return v, s.explain(err)
}

// render renders every "{{ }}" inside v.
func (s *scope) render(v any) (any, error) {
	if !hasTemplate(v) {
		return v, nil
	}
	s.prepareValue(v)
	out, err := s.ev.Render(v, s.out)
	return out, s.explain(err)
}

// renderString renders a string value to a string: a value that renders
// to a list or a map ("{{ groups.web }}") takes the evaluator's string
// form, JSON, as inside a longer string.
func (s *scope) renderString(text string) (string, error) {
	v, err := s.render(text)
	if err != nil {
		return "", err
	}
	return toString(v), nil
}

// all renders every variable and returns the full map, for templates files
// and hostvars. Variables that fail to render are left out.
func (s *scope) all() map[string]any {
	for k := range s.lazy {
		s.resolve(k, 0)
	}
	for len(s.templ) > 0 {
		for k := range s.templ {
			s.resolve(k, 0)
			break
		}
	}
	return s.out
}

// lookup returns a variable's rendered value.
func (s *scope) lookup(name string) (any, bool, error) {
	s.resolve(name, 0)
	if err, ok := s.errs[name]; ok {
		return nil, false, err
	}
	v, ok := s.out[name]
	return v, ok, nil
}

// hasTemplate reports whether v holds "{{" in any string.
func hasTemplate(v any) bool {
	found := false
	walkStrings(v, func(s string) {
		if !found && strings.Contains(s, "{{") {
			found = true
		}
	})
	return found
}

// walkStrings calls f for every string inside v (maps, lists, scalars).
func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, it := range x {
			walkStrings(it, f)
		}
	case map[string]any:
		for k, it := range x {
			f(k)
			walkStrings(it, f)
		}
	case []string:
		for _, it := range x {
			f(it)
		}
	}
}

// dropOmitted removes map keys whose value is the omit placeholder, at any
// depth, and list items equal to it.
func dropOmitted(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			if s, ok := it.(string); ok && s == omitValue {
				continue
			}
			out[k] = dropOmitted(it)
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, it := range x {
			if s, ok := it.(string); ok && s == omitValue {
				continue
			}
			out = append(out, dropOmitted(it))
		}
		return out
	}
	return v
}

// mergeVars returns a new map with b's keys over a's.
func mergeVars(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
