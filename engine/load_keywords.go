package engine

import (
	"regexp"

	yaml "go.yaml.in/yaml/v3"
)

var varNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// taskKey reads one task keyword into t. block/rescue/always and args are
// read elsewhere.
func (l *loader) taskKey(c *taskCtx, t *Task, rt rawTask, kv pair) {
	s, v, key := c.src, kv.Value, kv.Key
	switch key {
	case "name":
		l.checkTemplated(s, v, key)
	case "when":
		t.When = l.conds(s, v, key)
	case "failed_when":
		t.FailedWhen = l.conds(s, v, key)
	case "changed_when":
		t.ChangedWhen = l.conds(s, v, key)
	case "until":
		if u := l.conds(s, v, key); len(u) == 1 {
			t.Until = u[0]
		} else if len(u) > 1 {
			l.errorf(s, v, "until: want one expression, got a list")
		}
	case "loop", "with_items", "with_list", "with_dict":
		l.loop(c, t, rt, kv)
	case "loop_control":
		l.loopControl(s, t, v)
	case "register":
		t.Register, _ = l.str(s, v, key)
		if !varNameRe.MatchString(t.Register) {
			l.errorf(s, v, "register: %q is not a valid variable name", t.Register)
		}
	case "retries":
		t.Retries = l.numberOrExpr(s, v, key, false)
	case "delay":
		t.Delay = l.numberOrExpr(s, v, key, true)
	case "timeout":
		t.Timeout = l.numberOrExpr(s, v, key, true)
	case "throttle":
		if n, ok := l.numberOrExpr(s, v, key, false).(int); ok {
			t.Throttle = n
		} else if isString(v) {
			l.errorf(s, v, "throttle: want a number")
		}
	default:
		l.taskFlag(c, t, rt, kv)
	}
}

// taskFlag reads the simpler keywords: booleans, strings, lists, maps.
func (l *loader) taskFlag(c *taskCtx, t *Task, rt rawTask, kv pair) {
	s, v, key := c.src, kv.Value, kv.Key
	switch key {
	case "ignore_errors":
		t.IgnoreErrs, _ = l.boolOrTemplate(s, t, v, key)
	case "ignore_unreachable":
		t.IgnoreUnrch, _ = l.boolOrTemplate(s, t, v, key)
	case "run_once":
		t.RunOnce, _ = l.boolean(s, v, key)
	case "no_log":
		t.NoLog, _ = l.boolean(s, v, key)
	case "check_mode":
		t.CheckMode = l.boolPtrOrTemplate(s, t, v, key)
	case "diff":
		t.Diff = l.boolPtrOrTemplate(s, t, v, key)
	case "become":
		t.Become = l.boolPtrOrTemplate(s, t, v, key)
	case "become_user":
		t.BecomeUser, _ = l.str(s, v, key)
		l.checkTemplated(s, v, key)
	case "become_method":
		t.BecomeMethod = l.becomeMethod(s, v)
	case "delegate_to":
		t.DelegateTo, _ = l.str(s, v, key)
		l.checkTemplated(s, v, key)
	case "notify":
		t.Notify = l.notify(s, v)
	case "listen":
		t.Listen = l.strList(s, v, key)
		if !c.handler {
			l.errorf(s, kv.KeyN, "%s: listen is only valid on handlers", label(t))
		}
	case "tags":
		t.Tags = l.tags(s, v)
	case "environment":
		t.Environment = l.mapping(s, v, key)
	case "vars":
		t.Vars = l.vars(s, v)
	case "rescue", "always":
		if !rt.isBlock {
			l.errorf(s, kv.KeyN, "%s: %s needs a block", label(t), key)
		}
	}
}

// boolOrTemplate reads a task boolean keyword that the run may render per
// host: a literal gives its value (ok true); a "{{ }}" string is compiled
// and kept in t.BoolExprs (ok false, the field stays unset).
func (l *loader) boolOrTemplate(s src, t *Task, n *yaml.Node, key string) (val, ok bool) {
	r := resolve(n)
	if !isString(r) || !IsTemplated(r.Value) {
		return l.boolean(s, n, key)
	}
	l.checkTemplated(s, n, key)
	if t.BoolExprs == nil {
		t.BoolExprs = map[string]string{}
	}
	t.BoolExprs[key] = r.Value
	return false, false
}

// boolPtrOrTemplate is boolOrTemplate for the keywords whose unset value
// (nil) means "inherit".
func (l *loader) boolPtrOrTemplate(s src, t *Task, n *yaml.Node, key string) *bool {
	if b, ok := l.boolOrTemplate(s, t, n, key); ok {
		return &b
	}
	return nil
}

// notify reads notify: and records each static name for the play's check.
func (l *loader) notify(s src, n *yaml.Node) []string {
	names := l.strList(s, n, "notify")
	r := resolve(n)
	for i, name := range names {
		at := r
		if r.Kind == yaml.SequenceNode && i < len(r.Content) {
			at = r.Content[i]
		}
		if IsTemplated(name) {
			l.checkTemplated(s, at, "notify")
			continue
		}
		if l.play != nil {
			l.play.notifies = append(l.play.notifies, notifyRef{name: name, pos: s.pos(at)})
		}
	}
	return names
}

// loop reads loop: (a list or an expression) and its with_* spellings.
func (l *loader) loop(c *taskCtx, t *Task, rt rawTask, kv pair) {
	s, v := c.src, kv.Value
	if t.Loop != nil {
		l.errorf(s, kv.KeyN, "%s: more than one loop keyword", label(t))
		return
	}
	r := resolve(v)
	switch {
	case r.Kind == yaml.SequenceNode:
		t.Loop, _ = l.value(s, v)
		l.checkTemplated(s, v, kv.Key)
	case r.Kind == yaml.MappingNode && kv.Key == "with_dict":
		t.Loop, _ = l.value(s, v)
		l.checkTemplated(s, v, kv.Key)
	case isString(r) && r.Value != "":
		t.Loop = r.Value
		l.checkTemplated(s, v, kv.Key)
	default:
		l.errorf(s, v, "%s: want a list or an expression string, got %s", kv.Key, kindName(v))
		return
	}
	switch kv.Key {
	case "with_items":
		t.LoopWith = "items"
		if list, ok := t.Loop.([]any); ok {
			t.Loop = flattenOnce(list)
		}
	case "with_dict":
		t.LoopWith = "dict"
	}
}

// flattenOnce flattens one level of nested lists, as with_items does.
func flattenOnce(list []any) []any {
	out := make([]any, 0, len(list))
	for _, it := range list {
		if inner, ok := it.([]any); ok {
			out = append(out, inner...)
			continue
		}
		out = append(out, it)
	}
	return out
}

// loopControl reads loop_control: loop_var, index_var, label, pause.
func (l *loader) loopControl(s src, t *Task, n *yaml.Node) {
	if resolve(n).Kind != yaml.MappingNode {
		l.errorf(s, n, "loop_control: want a mapping, got %s", kindName(n))
		return
	}
	known := []string{"loop_var", "index_var", "label", "pause", "extended"}
	for _, kv := range l.pairs(s, n) {
		switch kv.Key {
		case "loop_var", "index_var":
			name, _ := l.str(s, kv.Value, "loop_control."+kv.Key)
			if !varNameRe.MatchString(name) {
				l.errorf(s, kv.Value, "loop_control.%s: %q is not a valid variable name", kv.Key, name)
			}
			if kv.Key == "loop_var" {
				t.LoopVar = name
			} else {
				t.IndexVar = name
			}
		case "label":
			t.LoopLabel, _ = l.str(s, kv.Value, "loop_control.label")
			l.checkTemplated(s, kv.Value, "loop_control.label")
		case "pause":
			t.LoopPause = l.numberOrExpr(s, kv.Value, "loop_control.pause", true)
		case "extended":
			l.boolean(s, kv.Value, "loop_control.extended")
		default:
			l.errorf(s, kv.KeyN, "loop_control: unknown key %q%s", kv.Key, suggest(kv.Key, known))
		}
	}
}
