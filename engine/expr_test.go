package engine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// testVars is the variable set the expression tests run over.
func testVars() map[string]any {
	return map[string]any{
		"name":    "etcd",
		"port":    2379,
		"ratio":   0.5,
		"enabled": true,
		"empty":   "",
		"nothing": nil,
		"nums":    []any{3, 1, 2},
		"hosts":   []any{"m1", "m2"},
		"cfg":     map[string]any{"a": map[string]any{"b": 7}, "list": []any{"x", "y"}},
		"users":   []any{map[string]any{"name": "ann", "age": 31}, map[string]any{"name": "bob", "age": 17}},
		"result":  map[string]any{"rc": 0, "stdout": "10.0.0.1 up", "changed": true, "failed": false},
		"csv":     "a,b,c",
		"host":    "m1",
		"hostvars": map[string]any{
			"m1": map[string]any{"ip": "10.0.0.11"},
			"m2": map[string]any{"ip": "10.0.0.12"},
		},
	}
}

type evalCase struct {
	src  string
	want any
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	runEvalCasesWith(t, testVars(), cases)
}

func runEvalCasesWith(t *testing.T, vars map[string]any, cases []evalCase) {
	t.Helper()
	e := NewEvaluator()
	for _, c := range cases {
		got, err := e.Eval(c.src, vars)
		if err != nil {
			t.Errorf("Eval(%s): %v", c.src, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Eval(%s) = %#v, want %#v", c.src, got, c.want)
		}
	}
}

func TestEvalBasics(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`name`, "etcd"},
		{`port + 1`, 2380},
		{`cfg.a.b`, 7},
		{`cfg["a"]["b"]`, 7},
		{`hostvars[host].ip`, "10.0.0.11"},
		{`hosts[-1]`, "m2"},
		{`nothing`, nil},
		{`name == "etcd" && port > 2000`, true},
		{`"10.0.0.1" in result.stdout`, true},
		{`"etc" in name`, true},
		{`"zz" not in name`, true},
		{`"m1" in hosts`, true},
		{`"a" in cfg`, true},
		{`2 in [1.0, 2.0]`, true},
		{`True and not False`, true},
		{`None`, nil},
		{`port > 1 ? "big" : "small"`, "big"},
		{`filter(users, .age > 18)[0].name`, "ann"},
		{`map(users, .name)`, []any{"ann", "bob"}},
		{`let x = port; x + 1`, 2380},
		{`name + "-" + string(port)`, "etcd-2379"},
		{`nothing ?? "dflt"`, "dflt"},
		{`missing ?? "dflt"`, "dflt"},
		{`cfg.a?.b`, 7},
		{`nothing?.a`, nil},
	})
}

func TestEvalTruthiness(t *testing.T) {
	e := NewEvaluator()
	cases := []struct {
		src  string
		want bool
	}{
		{`empty`, false}, {`name`, true}, {`0`, false}, {`port`, true}, {`nothing`, false},
		{`[]`, false}, {`nums`, true}, {`{}`, false}, {`cfg`, true}, {`0.0`, false}, {`ratio`, true},
		{`enabled`, true}, {`not enabled`, false}, {`empty or name`, true}, {`nums and empty`, false},
		{`!empty`, true}, {`empty ? 1 : 0`, false}, {`"false"`, true}, {`1 and 0`, false},
	}
	for _, c := range cases {
		got, err := e.EvalBool(c.src, testVars())
		if err != nil {
			t.Errorf("EvalBool(%s): %v", c.src, err)
			continue
		}
		if got != c.want {
			t.Errorf("EvalBool(%s) = %v, want %v", c.src, got, c.want)
		}
	}
}

func TestPipesAndTests(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`name | upper`, "ETCD"},
		{`name | upper()`, "ETCD"},
		{`nums | length`, 3},
		{`nums | count`, 3},
		{`nums | sort | first`, 1},
		{`nums | length > 2`, true},
		{`port > 1 and nums | length > 2`, true},
		{`hosts | join(",") | upper`, "M1,M2"},
		{`(port + 1) | string`, "2380"},
		{`cfg.list[0] | upper`, "X"},
		{`users[1].name | upper`, "BOB"},
		{`csv.split(",") | last`, "c"},
		{`"a b" | quote`, "'a b'"},
		{`name is defined`, true},
		{`nope is defined`, false},
		{`nope is undefined`, true},
		{`nope is not defined`, true},
		{`cfg.a.b is defined`, true},
		{`cfg.a.zz is defined`, false},
		{`cfg.zz.b is defined`, false},
		{`nope.a.b is defined`, false},
		{`hostvars[host].ip is defined`, true},
		{`hostvars["m9"].ip is defined`, false},
		{`nothing is none`, true},
		{`name is none`, false},
		{`nope is defined and nope > 1`, false},
		{`not (nope is defined)`, true},
		{`name is string and port is number and nums is sequence and cfg is mapping`, true},
		{`name is match("et")`, true},
		{`name is match("tc")`, false},
		{`name is search("tc")`, true},
		{`result is changed`, true},
		{`result is failed`, false},
		{`result is succeeded`, true},
		{`"1.28.3" is version("1.28", ">=")`, true},
		{`"v1.27.9" is version("1.28.0", "<")`, true},
		{`name | ansible.builtin.upper`, "ETCD"},
	})
}

func TestDefault(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`nope | default("y")`, "y"},
		{`nope | d("y")`, "y"},
		{`default(nope, 3)`, 3},
		{`name | default("y")`, "etcd"},
		{`cfg.a.zz | default(1)`, 1},
		{`cfg.zz.b | default(1)`, 1},
		{`nope.a.b | default(1)`, 1},
		{`hostvars["m9"].ip | default("none")`, "none"},
		{`hosts[5] | default("x")`, "x"},
		{`nothing | default("x")`, nil},
		{`empty | default("x")`, ""},
		{`empty | default("x", true)`, "x"},
		{`nothing | default("x", true)`, "x"},
		{`empty | default("x", boolean=true)`, "x"},
		{`nope | default(port) + 1`, 2380},
		{`(nope | default([])) | length`, 0},
		{`nope | default("a") | upper`, "A"},
		{`nope | default`, ""},
	})
}

func TestUndefinedErrors(t *testing.T) {
	e := NewEvaluator()
	cases := []struct{ src, undefined string }{
		{`foo`, "foo"},
		{`foo | upper`, "foo"},
		{`cfg.a.zz`, "cfg.a.zz"},
		{`cfg.zz.b`, "cfg.zz"},
		{`hostvars["m9"].ip`, "hostvars.m9"},
		{`hosts[9]`, "hosts[9]"},
		{`name == other`, "other"},
		{`nope.x is defined or zz`, "zz"},
		{`"{{ a }}" in foo`, "foo"},
	}
	for _, c := range cases {
		_, err := e.Eval(c.src, testVars())
		var xe *ExprError
		if !errors.As(err, &xe) {
			t.Errorf("Eval(%s) error = %v, want *ExprError", c.src, err)
			continue
		}
		if xe.Undefined != c.undefined || xe.Expr != c.src {
			t.Errorf("Eval(%s): Undefined=%q Expr=%q, want %q", c.src, xe.Undefined, xe.Expr, c.undefined)
		}
		want := fmt.Sprintf("expression `%s`: undefined variable %q", c.src, c.undefined)
		if err.Error() != want {
			t.Errorf("Eval(%s) error = %q, want %q", c.src, err, want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	e := NewEvaluator()
	cases := []struct{ src, want string }{
		{``, "empty expression"},
		{`1 +`, "unexpected"},
		{`x ~ y`, "unrecognized character"},
		{`| upper`, "needs a value"},
		{`name |`, "filter name"},
		{`name is bogus`, `unknown test "bogus"`},
		{`__get`, "reserved"},
		{`name | int(1, 2, 3, 4)`, "int: want 1 to 3 arguments"},
		{`nums | join(",", "x")`, "join: want 1 to 2 arguments"},
		{`name | regex_replace("(", "")`, "regex_replace: error parsing regexp"},
		{`port in port`, "cannot search a number"},
		{`name.nope()`, `undefined variable "name.nope"`},
	}
	for _, c := range cases {
		_, err := e.Eval(c.src, testVars())
		if err == nil {
			t.Errorf("Eval(%s): no error", c.src)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "expression `") {
			t.Errorf("Eval(%s) error = %q, want it to contain %q", c.src, err, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Eval(%s) error spans lines: %q", c.src, err)
		}
	}
}

func TestCheck(t *testing.T) {
	e := NewEvaluator()
	for _, ok := range []string{`x | default(1) > 2`, `a.b is defined`, `foo`, `hosts | map("upper") | list`} {
		if err := e.Check(ok); err != nil {
			t.Errorf("Check(%s): %v", ok, err)
		}
	}
	for _, bad := range []string{`a +`, `(`, `x is`, `"open`} {
		if err := e.Check(bad); err == nil {
			t.Errorf("Check(%s): no error", bad)
		}
	}
}

func TestPythonMethods(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`csv.split(",")`, []any{"a", "b", "c"}},
		{`"a b  c".split()`, []any{"a", "b", "c"}},
		{`csv.split(",", 1)`, []any{"a", "b,c"}},
		{`"  x ".strip()`, "x"},
		{`"xxyxx".strip("x")`, "y"},
		{`"  x".lstrip()`, "x"},
		{`"x  ".rstrip()`, "x"},
		{`name.upper()`, "ETCD"},
		{`"AB".lower()`, "ab"},
		{`name.startswith("et")`, true},
		{`name.endswith("x")`, false},
		{`name.replace("e", "E")`, "Etcd"},
		{`",".join(hosts)`, "m1,m2"},
		{`"a\nb\n".splitlines()`, []any{"a", "b"}},
		{`cfg.keys()`, []any{"a", "list"}},
		{`{"b": 2, "a": 1}.values()`, []any{1, 2}},
		{`{"a": 1}.items()`, []any{[]any{"a", 1}}},
		{`cfg.get("zz", 5)`, 5},
		{`cfg.get("a").b`, 7},
		{`result.get("nope")`, nil},
	})
}

func TestCompileCache(t *testing.T) {
	e := NewEvaluator()
	vars := testVars()
	for i := range 50 {
		if _, err := e.Eval(`port + 1`, vars); err != nil {
			t.Fatal(err)
		}
		if _, err := e.RenderString(fmt.Sprintf("%d {{ name | upper }}", i), vars); err != nil {
			t.Fatal(err)
		}
		_ = e.Check(`bad +`)
	}
	if got := e.compiles.Load(); got != 3 {
		t.Errorf("compiles = %d, want 3 (one per distinct expression)", got)
	}
}

func TestConcurrentEval(t *testing.T) {
	e := NewEvaluator()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vars := testVars()
			vars["port"] = g
			for i := range 200 {
				src := fmt.Sprintf("port + %d", i%7)
				got, err := e.Eval(src, vars)
				if err != nil || got != g+i%7 {
					errs <- fmt.Errorf("Eval(%s) = %v, %v; want %d", src, got, err, g+i%7)
					return
				}
				s, err := e.RenderString("{{ hosts | join(',') }}-{{ port }}", vars)
				if err != nil || s != fmt.Sprintf("m1,m2-%d", g) {
					errs <- fmt.Errorf("RenderString = %q, %v", s, err)
					return
				}
				out, err := e.RenderFile("t", []byte(`{{ .port }}`), vars)
				if err != nil || string(out) != fmt.Sprint(g) {
					errs <- fmt.Errorf("RenderFile = %q, %v", out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := e.compiles.Load(); got != 7+2 {
		t.Errorf("compiles = %d, want 9", got)
	}
}

func TestRewriteSource(t *testing.T) {
	cases := []struct{ in, want string }{
		{`x | f`, `f(x)`},
		{`x | f(1, 2)`, `f(x, 1, 2)`},
		{`a.b[c](d).e | f | g(1)`, `g(f(a.b[c](d).e), 1)`},
		{`a and b | f`, `a and f(b)`},
		{`(a + b) | f`, `f((a + b))`},
		{`"x | y" | f`, `f("x | y")`},
		{`x is defined`, `test_defined(x)`},
		{`x is not none`, `not test_none(x)`},
		{`x.y is match("a")`, `test_match(x.y, "a")`},
		{`f(a, k=1)`, `f(a, kw("k", 1))`},
		{`x | combine(y, recursive=True)`, `combine(x, y, kw("recursive", true))`},
		{`x | map(attribute="n")`, `jmap(x, kw("attribute", "n"))`},
		{`x | map(.n)`, `map(x, .n)`},
		{`x | d(1) || y`, `default(x, 1) || y`},
		{`filter(l, # | f)`, `filter(l, f(#))`},
		{`map(l, .name | upper)`, `map(l, upper(.name))`},
	}
	for _, c := range cases {
		got, err := rewriteSource(c.in)
		if err != nil || got != c.want {
			t.Errorf("rewriteSource(%s) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNoPanicOnOddInput(t *testing.T) {
	e := NewEvaluator()
	for _, src := range []string{`)`, `| |`, `x is not`, `a[`, `{{`, `1/0`, `nums[1:99]`, `"a" | f(`,
		`range(9999999999)`, `1 | nthhost(1)`, `[1] | combine`, `{} | sort`, `nums | min(attribute="x")`,
		`int("99999999999999999999999")`, `"\xff" | b64decode`, `hosts | regex_search("(")`} {
		_, _ = e.Eval(src, testVars())
	}
}

func TestBoundedBuiltins(t *testing.T) {
	runEvalCases(t, []evalCase{{`1..3`, []any{1, 2, 3}}, {`len(0..9)`, 10}})
	e := NewEvaluator()
	for _, src := range []string{`0..100000000`, `repeat("x", 1000000000)`} {
		if _, err := e.Eval(src, nil); err == nil {
			t.Errorf("Eval(%s): no error", src)
		}
	}
}

func TestCompileCacheBounded(t *testing.T) {
	e := NewEvaluator()
	e.cached.Store(maxCached)
	for range 3 {
		if got, err := e.Eval(`port * 2`, testVars()); err != nil || got != 4758 {
			t.Fatalf("Eval = %v, %v", got, err)
		}
	}
	if got := e.compiles.Load(); got != 3 {
		t.Errorf("compiles = %d, want 3 (cache full, nothing kept)", got)
	}
}

func TestRoleIdioms(t *testing.T) {
	vars := testVars()
	vars["groups"] = map[string]any{"etcd": []any{"m1", "m2"}}
	vars["service_cidr"] = "10.96.0.0/12"
	runEvalCasesWith(t, vars, []evalCase{
		{`groups['etcd'] | map('extract', hostvars, 'ip') | map('regex_replace', '^(.*)$', 'https://\\1:2379') | join(',')`,
			"https://10.0.0.11:2379,https://10.0.0.12:2379"},
		{`groups.etcd | map('extract', hostvars, ['ip']) | list`, []any{"10.0.0.11", "10.0.0.12"}},
		{`host == groups['etcd'][0]`, true},
		{`port | int + 1`, 2380},
		{`result.rc != 0 or "error" in result.stdout`, false},
		{`result.stdout.split()[0] | ipaddr("address")`, "10.0.0.1"},
		{`hostvars[host]['ip'] | default(nothing) | ipv4 is string`, true},
	})
}

func BenchmarkEvalCached(b *testing.B) {
	e := NewEvaluator()
	vars := testVars()
	for i := range 200 {
		vars[fmt.Sprintf("v%d", i)] = i
	}
	src := `cfg.a.b | default(1) > 2 and name is defined and "m1" in hosts`
	for b.Loop() {
		if _, err := e.EvalBool(src, vars); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderString(b *testing.B) {
	e := NewEvaluator()
	vars := testVars()
	for b.Loop() {
		if _, err := e.RenderString("https://{{ hostvars[host].ip }}:{{ port }}/{{ hosts | join(',') }}", vars); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	e := NewEvaluator()
	for i := 0; b.Loop(); i++ {
		if err := e.Check(fmt.Sprintf(`cfg.a.b | default(%d) > 2 and name is defined`, i)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInlineIf(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`"on" if enabled else "off"`, "on"},
		{`"on" if empty else "off"`, "off"},
		{`port + 1 if enabled else 0`, 2380},
		{`"a" if empty else "b" if enabled else "c"`, "b"},
		{`["x" if enabled else "y", 2]`, []any{"x", 2}},
		{`{"k": 1 if empty else 2}`, map[string]any{"k": 2}},
		{`("v" + name) if name is defined else "none"`, "vetcd"},
		{`nope if nope is defined else "dflt"`, "dflt"},
		{`"x" if empty`, nil},
		{`upper("a" if enabled else "b")`, "A"},
		{`if enabled { 1 } else { 2 }`, 1},
		{`hosts | join(",") if hosts else "-"`, "m1,m2"},
	})
	e := NewEvaluator()
	for _, bad := range []string{`1 if`, `1 if else 2`, `1 if x else`} {
		if err := e.Check(bad); err == nil {
			t.Errorf("Check(%s): no error", bad)
		}
	}
}
