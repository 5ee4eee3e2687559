package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
)

// maxRewrites bounds the rewrite loop: each pass removes one Jinja-ism.
const maxRewrites = 200

// filterRenames maps Jinja filter names that clash with expr-lang builtins
// (or are aliases) to the kplay function that behaves as Ansible's filter.
var filterRenames = map[string]string{
	"count": "length",
	"d":     "default",
}

// rewriteSource turns the Jinja spellings kplay accepts into plain
// expr-lang, one construct per pass, on expr-lang's own tokens (so that
// string literals never confuse it):
//
//	x | f          -> f(x)             (a bare filter name is a call)
//	x | f(a, b)    -> f(x, a, b)       (the filter binds to the operand, as in Jinja)
//	x is [not] t   -> [not] test_t(x)  (Jinja tests)
//	f(k=v)         -> f(kw("k", v))    (keyword arguments)
//	a if c else b  -> (c) ? (a) : (b)  (Jinja's inline if)
//	True/False/None -> true/false/nil
func rewriteSource(src string) (string, error) {
	for range maxRewrites {
		toks, err := lexer.Lex(file.NewSource(src))
		if err != nil {
			return "", errors.New(exprMessage(err))
		}
		out, changed, err := rewriteOnce([]rune(src), toks)
		if err != nil {
			return "", err
		}
		if !changed {
			return src, nil
		}
		src = out
	}
	return "", errors.New("expression too complex: too many filters")
}

// rewriteOnce performs the first rewrite found, left to right.
func rewriteOnce(src []rune, toks []lexer.Token) (string, bool, error) {
	for i, t := range toks {
		afterDot := i > 0 && toks[i-1].Is(lexer.Operator, ".", "?.")
		switch {
		case t.Kind == lexer.Identifier && strings.HasPrefix(t.Value, "__"):
			return "", false, fmt.Errorf("names starting with __ are reserved: %s", t.Value)
		case t.Kind == lexer.Identifier && !afterDot && pyLiteral(t.Value) != "":
			return splice(src, t.From, t.To, pyLiteral(t.Value)), true, nil
		case t.Is(lexer.Operator, "|"):
			return rewritePipe(src, toks, i)
		case t.Is(lexer.Operator, "if") && i > 0 && endsOperand(toks[i-1]):
			return rewriteInlineIf(src, toks, i)
		case t.Is(lexer.Identifier, "is") && !afterDot && i+1 < len(toks) &&
			(toks[i+1].Kind == lexer.Identifier || toks[i+1].Is(lexer.Operator, "not")):
			return rewriteTest(src, toks, i)
		case t.Kind == lexer.Identifier && i+1 < len(toks) && toks[i+1].Is(lexer.Operator, "=") &&
			i > 0 && (toks[i-1].Is(lexer.Bracket, "(") || toks[i-1].Is(lexer.Operator, ",")):
			return rewriteKwarg(src, toks, i)
		}
	}
	return string(src), false, nil
}

func pyLiteral(name string) string {
	switch name {
	case "True":
		return "true"
	case "False":
		return "false"
	case "None":
		return "nil"
	}
	return ""
}

// rewritePipe turns `operand | name(args)` into `name(operand, args)`.
func rewritePipe(src []rune, toks []lexer.Token, p int) (string, bool, error) {
	if p == 0 {
		return "", false, errors.New("filter `|` needs a value on its left")
	}
	start, err := operandStart(toks, p-1)
	if err != nil {
		return "", false, err
	}
	name, args, end, err := filterCall(src, toks, p+1)
	if err != nil {
		return "", false, err
	}
	if r, ok := filterRenames[name]; ok {
		name = r
	}
	if name == "map" && jinjaMapArgs(toks, p+1) {
		name = "jmap"
	}
	left := string(src[toks[start].From:toks[p-1].To])
	call := name + "(" + left
	if strings.TrimSpace(args) != "" {
		call += ", " + args
	}
	call += ")"
	return splice(src, toks[start].From, end, call), true, nil
}

// jinjaMapArgs reports whether `map(...)` after a pipe is Jinja's map
// (a filter name string or attribute=) rather than expr-lang's predicate map.
func jinjaMapArgs(toks []lexer.Token, i int) bool {
	for i < len(toks) && !toks[i].Is(lexer.Bracket, "(") {
		i++
	}
	if i+1 >= len(toks) {
		return false
	}
	next := toks[i+1]
	return next.Kind == lexer.String || next.Is(lexer.Identifier, "attribute", "kw")
}

// filterCall reads `name` or `name(args)` (namespaces such as
// ansible.utils. are dropped) starting at token i. It returns the name, the
// text between the parentheses and the rune offset where the call ends.
func filterCall(src []rune, toks []lexer.Token, i int) (string, string, int, error) {
	if i >= len(toks) || toks[i].Kind != lexer.Identifier {
		return "", "", 0, errors.New("filter `|` must be followed by a filter name")
	}
	name, end := toks[i].Value, toks[i].To
	for (name == "ansible" || name == "community" || name == "builtin" || name == "utils" ||
		name == "general" || name == "netcommon") && i+2 < len(toks) &&
		toks[i+1].Is(lexer.Operator, ".") && toks[i+2].Kind == lexer.Identifier {
		i += 2
		name, end = toks[i].Value, toks[i].To
	}
	if i+1 < len(toks) && toks[i+1].Is(lexer.Bracket, "(") {
		close := matchForward(toks, i+1)
		if close < 0 {
			return "", "", 0, errors.New("unclosed ( in filter call")
		}
		return name, string(src[toks[i+1].To:toks[close].From]), toks[close].To, nil
	}
	return name, "", end, nil
}

// rewriteTest turns `operand is [not] name[(args)]` into `[not] test_name(operand, args)`.
func rewriteTest(src []rune, toks []lexer.Token, p int) (string, bool, error) {
	if p == 0 {
		return "", false, errors.New("test `is` needs a value on its left")
	}
	start, err := operandStart(toks, p-1)
	if err != nil {
		return "", false, err
	}
	i, neg := p+1, ""
	if toks[i].Is(lexer.Operator, "not") {
		i, neg = i+1, "not "
	}
	name, args, end, err := filterCall(src, toks, i)
	if err != nil {
		return "", false, errors.New("`is` must be followed by a test name such as defined")
	}
	if _, ok := jinjaTests[name]; !ok {
		return "", false, fmt.Errorf("unknown test %q", name)
	}
	left := string(src[toks[start].From:toks[p-1].To])
	call := neg + "test_" + name + "(" + left
	if strings.TrimSpace(args) != "" {
		call += ", " + args
	}
	call += ")"
	return splice(src, toks[start].From, end, call), true, nil
}

// rewriteKwarg turns the keyword argument `name = value` at token i into
// `kw("name", value)`.
func rewriteKwarg(src []rune, toks []lexer.Token, i int) (string, bool, error) {
	j := i + 2
	depth := 0
	for ; j < len(toks); j++ {
		t := toks[j]
		if t.Kind == lexer.Bracket && strings.ContainsAny(t.Value, "([{") {
			depth++
		} else if t.Kind == lexer.Bracket && strings.ContainsAny(t.Value, ")]}") {
			if depth == 0 {
				break
			}
			depth--
		} else if t.Is(lexer.Operator, ",") && depth == 0 {
			break
		}
	}
	if j >= len(toks) || j == i+2 {
		return "", false, fmt.Errorf("keyword argument %s has no value", toks[i].Value)
	}
	value := string(src[toks[i+2].From:toks[j-1].To])
	repl := fmt.Sprintf("kw(%q, %s)", toks[i].Value, value)
	return splice(src, toks[i].From, toks[j-1].To, repl), true, nil
}

// rewriteInlineIf turns Jinja's `a if c else b` (the if following an
// operand; expr-lang's own `if c {a} else {b}` starts an expression) into
// `(c) ? (a) : (b)`. Like Jinja's, it has the lowest precedence: a and b
// reach to the enclosing bracket, comma or colon.
func rewriteInlineIf(src []rune, toks []lexer.Token, p int) (string, bool, error) {
	start := p
	for depth := 0; start > 0; start-- {
		t := toks[start-1]
		if t.Kind == lexer.Bracket && strings.ContainsAny(t.Value, ")]}") {
			depth++
		} else if t.Kind == lexer.Bracket {
			if depth == 0 {
				break
			}
			depth--
		} else if depth == 0 && isBoundary(t) {
			break
		}
	}
	elseAt, end := -1, len(toks)
	for j, depth := p+1, 0; j < len(toks); j++ {
		t := toks[j]
		if t.Kind == lexer.EOF || depth == 0 && (isBoundary(t) || t.Kind == lexer.Bracket && strings.ContainsAny(t.Value, ")]}")) {
			end = j
			break
		}
		if t.Kind == lexer.Bracket {
			depth += map[bool]int{true: 1, false: -1}[strings.ContainsAny(t.Value, "([{")]
		} else if depth == 0 && elseAt < 0 && t.Is(lexer.Operator, "else") {
			elseAt = j
		} else if depth == 0 && t.Is(lexer.Operator, "if") && endsOperand(toks[j-1]) && elseAt < 0 {
			return "", false, errors.New("inline if: nested if needs parentheses before else")
		}
	}
	if p+1 >= end || elseAt == p+1 || elseAt == end-1 || start == p {
		return "", false, errors.New("inline if: want `a if cond else b`")
	}
	text := func(from, to int) string { return string(src[toks[from].From:toks[to].To]) }
	a := text(start, p-1)
	c, b := "", "nil"
	if elseAt < 0 {
		c = text(p+1, end-1)
	} else {
		c, b = text(p+1, elseAt-1), text(elseAt+1, end-1)
	}
	repl := "(" + c + ") ? (" + a + ") : (" + b + ")"
	return splice(src, toks[start].From, toks[end-1].To, repl), true, nil
}

// isBoundary reports whether t ends an inline-if operand.
func isBoundary(t lexer.Token) bool {
	return t.Is(lexer.Operator, ",", ":", ";", "=", "let")
}

// operandStart walks back from token end over one Jinja operand: a name,
// literal, parenthesised group, list or map, followed by any chain of
// .attr, [index] and (call) suffixes. It returns the index of its first token.
func operandStart(toks []lexer.Token, end int) (int, error) {
	i := end
	for {
		t := toks[i]
		switch {
		case t.Kind == lexer.Bracket && strings.ContainsAny(t.Value, ")]}"):
			open := matchBackward(toks, i)
			if open < 0 {
				return 0, errors.New("unbalanced brackets before filter")
			}
			i = open
			if open > 0 && !toks[open].Is(lexer.Bracket, "{") && endsOperand(toks[open-1]) {
				i = open - 1 // call or index: the operand continues on the left
				continue
			}
		case t.Kind == lexer.Identifier || t.Kind == lexer.Number || t.Kind == lexer.String || t.Kind == lexer.Bytes:
		case t.Is(lexer.Operator, "#"):
		default:
			return 0, fmt.Errorf("filter or test needs a value on its left, found %q", t.Value)
		}
		if t.Kind == lexer.Identifier && i > 0 && toks[i-1].Is(lexer.Operator, "#") {
			return i - 1, nil // #index, #acc
		}
		if i > 0 && toks[i-1].Is(lexer.Operator, ".", "?.") {
			if i > 1 && endsOperand(toks[i-2]) {
				i -= 2
				continue
			}
			return i - 1, nil // `.name` inside a predicate
		}
		return i, nil
	}
}

// endsOperand reports whether t can be the last token of an operand.
func endsOperand(t lexer.Token) bool {
	switch t.Kind {
	case lexer.Identifier, lexer.Number, lexer.String, lexer.Bytes:
		return true
	case lexer.Bracket:
		return strings.ContainsAny(t.Value, ")]}")
	}
	return t.Is(lexer.Operator, "#")
}

func matchBackward(toks []lexer.Token, i int) int { return matchBracket(toks, i, -1, ")]}") }

func matchForward(toks []lexer.Token, i int) int { return matchBracket(toks, i, 1, "([{") }

// matchBracket walks from the bracket at i in direction step to the one
// that balances it; deeper are the brackets in `deeper` (the closing ones
// walking back, the opening ones walking forward). -1 when unbalanced.
func matchBracket(toks []lexer.Token, i, step int, deeper string) int {
	depth := 0
	for ; i >= 0 && i < len(toks); i += step {
		if toks[i].Kind != lexer.Bracket {
			continue
		}
		if strings.ContainsAny(toks[i].Value, deeper) {
			depth++
		} else {
			depth--
		}
		if depth == 0 {
			return i
		}
	}
	return -1
}

// fixEscapes gives string literals Python's rule for backslashes that are
// not escapes: `'\.j2$'` keeps its backslash (expr-lang would reject it),
// so regexps written for Ansible work unchanged.
func fixEscapes(src string) string {
	if !strings.Contains(src, "\\") {
		return src
	}
	var b strings.Builder
	quote := byte(0)
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case quote == 0:
			if c == '"' || c == '\'' {
				quote = c
			}
		case c == quote:
			quote = 0
		case c == '\\' && i+1 < len(src):
			n := escapeLen(src[i+1:], quote)
			if n == 0 {
				b.WriteString("\\\\")
				continue
			}
			b.WriteString(src[i : i+1+n])
			i += n
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// escapeLen is the length of the valid expr-lang escape after a backslash
// at the start of s, or 0 when there is none.
func escapeLen(s string, quote byte) int {
	hex := func(n int) int {
		if len(s) < n+1 {
			return 0
		}
		for _, r := range s[1 : n+1] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return 0
			}
		}
		return n + 1
	}
	switch c := s[0]; {
	case strings.IndexByte("abfnrtv\\", c) >= 0 || c == quote:
		return 1
	case c >= '0' && c <= '7':
		if len(s) >= 3 && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' {
			return 3
		}
	case c == 'x':
		return hex(2)
	case c == 'u':
		return hex(4)
	case c == 'U':
		return hex(8)
	}
	return 0
}

// splice replaces the runes [from, to) of src with repl.
func splice(src []rune, from, to int, repl string) string {
	return string(src[:from]) + repl + string(src[to:])
}
