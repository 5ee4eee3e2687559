package engine

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Evaluator compiles and runs the expressions of playbooks (`when:`,
// `until:`, `{{ ... }}`) and renders template files. Each expression is
// compiled once and cached by its source text, so the thousands of
// evaluations a run makes (tasks x hosts x loop items) cost one VM run each.
// An Evaluator is safe for concurrent use by many goroutines.
type Evaluator struct {
	progs    sync.Map // source text -> *compiled
	tmpls    sync.Map // name + "\x00" + text -> *parsedTemplate
	compiles atomic.Int64
	cached   atomic.Int64
	opts     []expr.Option
	funcs    map[string]bool // names of the installed functions
	txtFuncs template.FuncMap
}

// maxCached bounds the compile cache: a playbook has far fewer distinct
// expressions; past it (rendering generated text) programs are not kept.
const maxCached = 1 << 14

// compiled is one cache entry; once makes concurrent first uses of the same
// source compile it exactly once.
type compiled struct {
	once sync.Once
	prog *vm.Program
	err  error
}

// NewEvaluator returns an Evaluator with an empty cache and the kplay
// filters and tests installed.
func NewEvaluator() *Evaluator {
	e := &Evaluator{}
	e.funcs = map[string]bool{}
	for name, fn := range exprFuncs() {
		e.opts = append(e.opts, expr.Function(name, fn))
		e.funcs[name] = true
	}
	// repeat could build a string of any size; range() is the bounded way.
	e.opts = append(e.opts, expr.DisableBuiltin("repeat"))
	e.txtFuncs = templateFuncs()
	return e
}

// sharedEvaluator is the process's Evaluator: the loader checks a
// playbook's expressions with it and the run evaluates them with it, so
// each distinct expression compiles once. Its cache is bounded (maxCached).
var sharedEvaluator = sync.OnceValue(NewEvaluator)

// errInternal marks a recovered panic: a bug in kplay, reported as an error.
var errInternal = errors.New("internal error")

// ExprError is the error of one expression: its source as the user wrote
// it and the cause. Undefined names the variable path when the cause is an
// undefined variable, so callers can tell that case apart.
type ExprError struct {
	Expr      string
	Err       error
	Undefined string
}

func (e *ExprError) Error() string {
	return fmt.Sprintf("expression `%s`: %v", e.Expr, e.Err)
}

func (e *ExprError) Unwrap() error { return e.Err }

// UndefinedError is the cause of an ExprError when a variable (or a key or
// index below it) does not exist.
type UndefinedError struct {
	Name string
}

func (e *UndefinedError) Error() string {
	return fmt.Sprintf("undefined variable %q", e.Name)
}

// Check compiles expr without running it, so that the loader can report a
// syntax error with the task's file:line before any host is touched.
func (e *Evaluator) Check(src string) error {
	_, err := e.program(src)
	return err
}

// Eval runs the bare expression src over vars and returns its value. The
// value may share maps and lists with vars: treat it as read-only.
func (e *Evaluator) Eval(src string, vars map[string]any) (any, error) {
	prog, err := e.program(src)
	if err != nil {
		return nil, err
	}
	return e.run(src, prog, vars)
}

// EvalBool runs src and reports its truthiness as Jinja does: false, nil,
// "", 0, an empty list or map are false; every other value is true.
func (e *Evaluator) EvalBool(src string, vars map[string]any) (bool, error) {
	v, err := e.Eval(src, vars)
	if err != nil {
		return false, err
	}
	return truthy(v), nil
}

// program returns the cached compiled form of src, compiling it on first use.
func (e *Evaluator) program(src string) (*vm.Program, error) {
	v, ok := e.progs.Load(src)
	if !ok && e.cached.Load() >= maxCached {
		e.compiles.Add(1)
		return e.compile(src)
	}
	if !ok {
		var loaded bool
		if v, loaded = e.progs.LoadOrStore(src, &compiled{}); !loaded {
			e.cached.Add(1)
		}
	}
	c := v.(*compiled)
	c.once.Do(func() {
		e.compiles.Add(1)
		c.prog, c.err = e.compile(src)
	})
	return c.prog, c.err
}

// compile rewrites the Jinja spellings into expr-lang, then compiles with the
// AST patch that makes variable access strict and filters Jinja-like.
func (e *Evaluator) compile(src string) (prog *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, &ExprError{Expr: src, Err: fmt.Errorf("%w: compile: %v", errInternal, r)}
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, &ExprError{Expr: src, Err: errors.New("empty expression")}
	}
	rewritten, err := rewriteSource(fixEscapes(unwrap(src)))
	if err != nil {
		return nil, &ExprError{Expr: src, Err: err}
	}
	opts := make([]expr.Option, 0, len(e.opts)+3)
	opts = append(opts, e.opts...)
	callees := &calleeCollector{callees: map[any]bool{}, lets: map[string]bool{}}
	p := newPatcher(callees, e.funcs)
	opts = append(opts, expr.Patch(callees), expr.Patch(p))
	prog, err = expr.Compile(rewritten, opts...)
	if p.err != nil {
		return nil, &ExprError{Expr: src, Err: p.err}
	}
	if err != nil {
		return nil, &ExprError{Expr: src, Err: errors.New(exprMessage(err) + predicateHint(rewritten, err))}
	}
	return prog, nil
}

// unwrap accepts `when: "{{ x }}"` as Ansible does: a bare expression that
// is one `{{ }}` and nothing else is that expression.
func unwrap(src string) string {
	if !strings.HasPrefix(strings.TrimSpace(src), "{{") {
		return src
	}
	if segs, err := scanString(strings.TrimSpace(src)); err == nil {
		if inner, ok := single(segs); ok {
			return inner
		}
	}
	return src
}

// run executes prog, turning a panic or a VM error into an *ExprError.
func (e *Evaluator) run(src string, prog *vm.Program, vars map[string]any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &ExprError{Expr: src, Err: fmt.Errorf("%w: run: %v", errInternal, r)}
		}
	}()
	if vars == nil {
		vars = map[string]any{}
	}
	out, err = expr.Run(prog, vars)
	if err != nil {
		return nil, wrapRunError(src, err)
	}
	return out, nil
}

// wrapRunError keeps the cause a function returned (for errors.As) and drops
// expr-lang's source snippet, which shows the rewritten text, not the user's.
func wrapRunError(src string, err error) error {
	var undef *UndefinedError
	if errors.As(err, &undef) {
		return &ExprError{Expr: src, Err: undef, Undefined: undef.Name}
	}
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Prev != nil {
			return &ExprError{Expr: src, Err: fe.Prev}
		}
		return &ExprError{Expr: src, Err: errors.New(fe.Message)}
	}
	return &ExprError{Expr: src, Err: err}
}

// predicateHint explains the one expr-lang parse error a Jinja author hits
// with map(list, {'k': #}): a `{` as a predicate opens a block, not a map
// literal, so the literal must be wrapped in parentheses.
func predicateHint(src string, err error) string {
	if strings.Contains(exprMessage(err), `Operator(":")`) && strings.Contains(src, "{") {
		return "; a map literal as a map()/filter() predicate must be wrapped in parentheses: map(l, ({'k': #}))"
	}
	return ""
}

// exprMessage is the first line of an expr-lang error, without the snippet.
func exprMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
