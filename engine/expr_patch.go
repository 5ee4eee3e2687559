package engine

import (
	"fmt"

	"github.com/expr-lang/expr/ast"
)

// calleeCollector is the first patch pass: it records which identifier
// nodes name a function and which names `let` declares, so that the second
// pass turns only variable references into strict lookups.
type calleeCollector struct {
	callees map[any]bool
	lets    map[string]bool
}

// Visit implements ast.Visitor.
func (c *calleeCollector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		c.callees[n.Callee] = true
	case *ast.VariableDeclaratorNode:
		c.lets[n.Name] = true
	}
}

// patcher is the second pass, run bottom-up by ast.Walk. It rewrites:
//
//	name, a.b[c]          -> __get($env, "name"), __get($env, "a", "b", c)  (error if missing)
//	default(a.b, ...)     -> default(__lookup($env, "a", "b"), ...)      (missing is allowed)
//	test_defined(a.b)     -> test_defined(__lookup($env, "a", "b"))
//	a.b ?? c              -> __lookup_nil($env, "a", "b") ?? c
//	a ?? b ?? c           -> __lookup_nil(a) ?? __lookup_nil(b) ?? c     (all but the last)
//	x + y                 -> __add(x, y)                                  (lists concatenate)
//	x in y                -> __in(x, y)                                   (also substrings)
//	a..b                  -> __span(a, b)                                 (bounded range)
//	x and y, not x, c?a:b -> truthy(x) and truthy(y), ...                 (Jinja truthiness)
//	s.split(","), d.get() -> __method("split", s, ","), ...               (Python methods)
type patcher struct {
	c     *calleeCollector
	funcs map[string]bool
	gets  map[*ast.CallNode]bool
	err   error // the first unknown function; expr.Patch cannot return it
}

func newPatcher(c *calleeCollector, funcs map[string]bool) *patcher {
	return &patcher{c: c, funcs: funcs, gets: map[*ast.CallNode]bool{}}
}

// missingHints explain the Ansible functions kplay does not have.
var missingHints = map[string]string{
	"lookup":     "; read files with the slurp module, inventory data is in groups and hostvars",
	"query":      "; read files with the slurp module, inventory data is in groups and hostvars",
	"json_query": "; use filter(list, .field == x) and map(list, .field)",
}

// lenientFuncs take an undefined first argument without error.
var lenientFuncs = map[string]bool{"default": true, "mandatory": true}

// Visit implements ast.Visitor.
func (p *patcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if p.c.callees[n] || p.c.lets[n.Value] || n.Value == "$env" {
			return
		}
		g := &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: "__get"},
			Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}, &ast.StringNode{Value: n.Value}},
		}
		p.gets[g] = true
		ast.Patch(node, g)
	case *ast.MemberNode:
		if g := p.getCall(n.Node); g != nil && !n.Optional {
			g.Arguments = append(g.Arguments, n.Property)
			ast.Patch(node, g)
		}
	case *ast.CallNode:
		p.call(node, n)
	case *ast.BinaryNode:
		p.binary(node, n)
	case *ast.UnaryNode:
		if n.Operator == "not" || n.Operator == "!" {
			wrapTruthy(&n.Node)
		}
	case *ast.ConditionalNode:
		wrapTruthy(&n.Cond)
	}
}

// getCall returns n when it is a strict variable lookup made by this pass.
func (p *patcher) getCall(n ast.Node) *ast.CallNode {
	if g, ok := n.(*ast.CallNode); ok && p.gets[g] {
		return g
	}
	return nil
}

// lenient turns the strict lookup n (if it is one) into fn.
func (p *patcher) lenient(n ast.Node, fn string) {
	if g := p.getCall(n); g != nil {
		g.Callee = &ast.IdentifierNode{Value: fn}
		delete(p.gets, g)
	}
}

func (p *patcher) call(node *ast.Node, n *ast.CallNode) {
	if id, ok := n.Callee.(*ast.IdentifierNode); ok {
		if !p.funcs[id.Value] && p.err == nil && !p.c.lets[id.Value] {
			p.err = fmt.Errorf("unknown function or filter %q%s", id.Value, missingHints[id.Value])
		}
		if (lenientFuncs[id.Value] || isTestFunc(id.Value)) && len(n.Arguments) > 0 {
			p.lenient(n.Arguments[0], "__lookup")
		}
		return
	}
	var recv ast.Node
	var method string
	if g := p.getCall(n.Callee); g != nil && len(g.Arguments) > 2 {
		s, ok := g.Arguments[len(g.Arguments)-1].(*ast.StringNode)
		if !ok || !pyMethods[s.Value] {
			return
		}
		g.Arguments = g.Arguments[:len(g.Arguments)-1]
		recv, method = g, s.Value
	} else if m, ok := n.Callee.(*ast.MemberNode); ok {
		s, ok := m.Property.(*ast.StringNode)
		if !ok || !pyMethods[s.Value] {
			return
		}
		recv, method = m.Node, s.Value
	} else {
		return
	}
	args := append([]ast.Node{&ast.StringNode{Value: method}, recv}, n.Arguments...)
	ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: "__method"}, Arguments: args})
}

func (p *patcher) binary(node *ast.Node, n *ast.BinaryNode) {
	switch n.Operator {
	case "and", "or", "&&", "||":
		wrapTruthy(&n.Left)
		wrapTruthy(&n.Right)
	case "??":
		p.coalesce(n)
	case "+":
		p.add(node, n)
	case "in", "..":
		fn := map[string]string{"in": "__in", "..": "__span"}[n.Operator]
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: fn},
			Arguments: []ast.Node{n.Left, n.Right},
		})
	}
}

// coalesce makes every operand of a `??` chain but the last tolerate an
// undefined variable. expr-lang parses `a ?? b ?? c` as `(a ?? b) ?? c`,
// so the left side of n may itself be a chain whose right operand (b)
// was left strict when the inner node was visited.
func (p *patcher) coalesce(n *ast.BinaryNode) {
	left := n.Left
	for {
		p.lenient(left, "__lookup_nil")
		b, ok := left.(*ast.BinaryNode)
		if !ok || b.Operator != "??" {
			return
		}
		p.lenient(b.Right, "__lookup_nil")
		left = b.Left
	}
}

// add turns `x + y` into __add(x, y), which concatenates two lists as
// Jinja does and otherwise adds as expr-lang does. Two literal numbers or
// strings are left alone so that the compiler still folds them.
func (p *patcher) add(node *ast.Node, n *ast.BinaryNode) {
	if isScalarLiteral(n.Left) && isScalarLiteral(n.Right) {
		return
	}
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "__add"},
		Arguments: []ast.Node{n.Left, n.Right},
	})
}

func isScalarLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode:
		return true
	}
	return false
}

// wrapTruthy makes *n a call of truthy unless it is a bool literal.
func wrapTruthy(n *ast.Node) {
	if _, ok := (*n).(*ast.BoolNode); ok {
		return
	}
	ast.Patch(n, &ast.CallNode{Callee: &ast.IdentifierNode{Value: "truthy"}, Arguments: []ast.Node{*n}})
}

func isTestFunc(name string) bool {
	return len(name) > 5 && name[:5] == "test_"
}
