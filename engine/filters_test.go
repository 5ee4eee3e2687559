package engine

import (
	"strings"
	"testing"
)

func TestStringFilters(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`"Ab" | upper`, "AB"},
		{`"Ab" | lower`, "ab"},
		{`port | upper`, "2379"},
		{`"hello WORLD" | capitalize`, "Hello world"},
		{`"  x \n" | trim`, "x"},
		{`"--x--" | trim("-")`, "x"},
		{`"a-b-c" | replace("-", "+")`, "a+b+c"},
		{`"a-b-c" | replace("-", "+", 1)`, "a+b-c"},
		{`csv | split(",")`, []any{"a", "b", "c"}},
		{`" a  b " | split`, []any{"a", "b"}},
		{`"a b c" | split(" ", 1)`, []any{"a", "b c"}},
		{`"v1.28.3" | regex_replace("^v", "")`, "1.28.3"},
		{`"k=v" | regex_replace("(\\w+)=(\\w+)", "\\2=\\1")`, "v=k"},
		{`"k=v" | regex_replace("(?P<a>\\w)=", "\\g<a>:")`, "k:v"},
		{`"price 5" | regex_replace("\\d", "$")`, "price $"},
		{`"aaa" | regex_replace("a", "b", 2)`, "bba"},
		{`"ABC" | regex_replace("b", "x", ignorecase=true)`, "AxC"},
		{`"server 10.0.0.1:80" | regex_search("[0-9.]+")`, "10.0.0.1"},
		{`"abc" | regex_search("z")`, nil},
		{`"key=val" | regex_search("(\\w+)=(\\w+)", "\\2", "\\1")`, []any{"val", "key"}},
		{`"a1b22c333" | regex_findall("\\d+")`, []any{"1", "22", "333"}},
		{`"a=1 b=2" | regex_findall("(\\w)=(\\d)")`, []any{[]any{"a", "1"}, []any{"b", "2"}}},
		{`"k=1 j=2" | regex_findall("(\\w)=")`, []any{"k", "j"}},
		{`"a.b" | regex_escape`, `a\.b`},
		{`"/etc/kubernetes/pki/ca.crt" | basename`, "ca.crt"},
		{`"/etc/kubernetes/pki/ca.crt" | dirname`, "/etc/kubernetes/pki"},
		{`"it's" | quote`, `'it'\''s'`},
		{`"plain" | quote`, "plain"},
	})
}

func TestConversionFilters(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`"42" | int`, 42},
		{`" 42 " | int`, 42},
		{`"4.7" | int`, 4},
		{`4.7 | int`, 4},
		{`"abc" | int`, 0},
		{`"abc" | int(7)`, 7},
		{`"ff" | int(base=16)`, 255},
		{`"0x1f" | int(0, 16)`, 31},
		{`true | int`, 1},
		{`"1.5" | float`, 1.5},
		{`3 | float`, 3.0},
		{`"x" | float`, 0.0},
		{`port | string`, "2379"},
		{`ratio | string`, "0.5"},
		{`nums | string`, "[3,1,2]"},
		{`nothing | string`, ""},
		{`"yes" | bool`, true},
		{`"On" | bool`, true},
		{`"no" | bool`, false},
		{`"false" | bool`, false},
		{`1 | bool`, true},
		{`0 | bool`, false},
		{`enabled | bool`, true},
		{`nothing | bool`, false},
		{`enabled | ternary("on", "off")`, "on"},
		{`empty | ternary("on", "off")`, "off"},
		{`nothing | ternary("on", "off", "unset")`, "unset"},
		{`name | mandatory`, "etcd"},
	})
}

func TestCollectionFilters(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`nums | length`, 3},
		{`name | length`, 4},
		{`cfg | length`, 2},
		{`nothing | length`, 0},
		{`nums | first`, 3},
		{`nums | last`, 2},
		{`name | first`, "e"},
		{`[] | first`, nil},
		{`nums | min`, 1},
		{`nums | max`, 3},
		{`["b", "a"] | min`, "a"},
		{`users | max(attribute="age")`, map[string]any{"name": "ann", "age": 31}},
		{`nums | sort`, []any{1, 2, 3}},
		{`nums | sort(true)`, []any{3, 2, 1}},
		{`nums | sort(reverse=true)`, []any{3, 2, 1}},
		{`["b", "c", "a"] | sort`, []any{"a", "b", "c"}},
		{`users | sort(attribute="age") | map(attribute="name")`, []any{"bob", "ann"}},
		{`[1, 2, 1, 3, 2] | unique`, []any{1, 2, 3}},
		{`[1, 2] | union([2, 3])`, []any{1, 2, 3}},
		{`[1, 2, 3] | intersect([3, 2, 9])`, []any{2, 3}},
		{`[1, 2, 3] | difference([2])`, []any{1, 3}},
		{`[1, [2, [3, [4]]], nil] | flatten`, []any{1, 2, 3, 4}},
		{`[1, [2, [3]]] | flatten(1)`, []any{1, 2, []any{3}}},
		{`hosts | join(",")`, "m1,m2"},
		{`nums | join`, "312"},
		{`[1, "a", true] | join("-")`, "1-a-true"},
		{`cfg | list`, []any{"a", "list"}},
		{`"ab" | list`, []any{"a", "b"}},
		{`{"b": 2, "a": 1} | dict2items`, []any{map[string]any{"key": "a", "value": 1}, map[string]any{"key": "b", "value": 2}}},
		{`{"a": 1} | dict2items(key_name="k", value_name="v")`, []any{map[string]any{"k": "a", "v": 1}}},
		{`[{"key": "a", "value": 1}] | items2dict`, map[string]any{"a": 1}},
		{`[{"n": "a", "v": 1}] | items2dict(key_name="n", value_name="v")`, map[string]any{"a": 1}},
		{`{"a": 1, "n": {"x": 1}} | combine({"b": 2, "n": {"y": 2}})`, map[string]any{"a": 1, "b": 2, "n": map[string]any{"y": 2}}},
		{`{"n": {"x": 1}} | combine({"n": {"y": 2}}, recursive=true)`, map[string]any{"n": map[string]any{"x": 1, "y": 2}}},
		{`{"n": {"x": 1}} | combine({"n": {"y": 2}}, True)`, map[string]any{"n": map[string]any{"x": 1, "y": 2}}},
		{`[{"a": 1}, {"b": 2}] | combine`, map[string]any{"a": 1, "b": 2}},
		{`zip(hosts, [1, 2, 3])`, []any{[]any{"m1", 1}, []any{"m2", 2}}},
		{`hosts | zip(["a", "b"])`, []any{[]any{"m1", "a"}, []any{"m2", "b"}}},
		{`range(3)`, []any{0, 1, 2}},
		{`range(1, 7, 3)`, []any{1, 4}},
		{`range(3, 0, -1)`, []any{3, 2, 1}},
		{`users | map(attribute="name")`, []any{"ann", "bob"}},
		{`map_attr(users, "age")`, []any{31, 17}},
		{`users | map(attribute="zz", default=0)`, []any{0, 0}},
		{`hosts | map("upper")`, []any{"M1", "M2"}},
		{`hosts | map("regex_replace", "m", "n")`, []any{"n1", "n2"}},
		{`hosts | map("extract", hostvars, "ip") | list`, []any{"10.0.0.11", "10.0.0.12"}},
		{`"m1" | extract(hostvars)`, map[string]any{"ip": "10.0.0.11"}},
		{`nums | map(# * 2)`, []any{6, 2, 4}},
		{`[0, 1, "", "x"] | select`, []any{1, "x"}},
		{`nums | select("gt", 1)`, []any{3, 2}},
		{`nums | reject("equalto", 1)`, []any{3, 2}},
		{`hosts | select("match", "m[2-9]")`, []any{"m2"}},
		{`users | selectattr("age", ">=", 18) | map(attribute="name")`, []any{"ann"}},
		{`users | rejectattr("age", "gt", 18) | map(attribute="name")`, []any{"bob"}},
		{`users | selectattr("zz", "defined")`, []any{}},
		{`users | selectattr("name", "in", ["bob"]) | length`, 1},
		{`filter(nums, # > 1)`, []any{3, 2}},
		{`"a\nb" | indent(2)`, "a\n  b"},
		{`"a\n\nb" | indent(2, true)`, "  a\n\n  b"},
		{`"a\nb" | indent(">")`, "a\n>b"},
	})
}

func TestDataFilters(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`{"b": [1, "<x>"], "a": nil} | to_json`, `{"a":null,"b":[1,"<x>"]}`},
		{`{"a": 1} | to_nice_json`, "{\n    \"a\": 1\n}"},
		{`{"a": 1} | to_nice_json(indent=2)`, "{\n  \"a\": 1\n}"},
		{`"{\"a\": [1, 2.5, \"x\"]}" | from_json`, map[string]any{"a": []any{1, 2.5, "x"}}},
		{`{"b": {"c": [1, 2]}, "a": "x"} | to_yaml`, "a: x\nb:\n  c:\n    - 1\n    - 2"},
		{`{"b": {"c": 1}} | to_nice_yaml(indent=4)`, "b:\n    c: 1"},
		{`"a: [1, {b: 2}]\n" | from_yaml`, map[string]any{"a": []any{1, map[string]any{"b": 2}}}},
		{`"1: x" | from_yaml`, map[string]any{"1": "x"}},
		{`cfg | to_json | from_json`, map[string]any{"a": map[string]any{"b": 7}, "list": []any{"x", "y"}}},
		{`"kplay" | b64encode`, "a3BsYXk="},
		{`"a3BsYXk=" | b64decode`, "kplay"},
		{`"a3BsYXk" | b64decode`, "kplay"},
		{`"abc" | hash("sha256")`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{`"abc" | hash`, "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{`"abc" | sha256`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{`"abc" | md5`, "900150983cd24fb0d6963f7d28e17f72"},
		{`"abc" | sha1`, "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{`"abc" | checksum`, "a9993e364706816aba3e25717850c26c9cd0d89d"},
	})
}

func TestFilterErrors(t *testing.T) {
	e := NewEvaluator()
	cases := []struct{ src, want string }{
		{`nope | mandatory`, `mandatory: mandatory variable "nope" not defined`},
		{`nope | mandatory("set nope in group_vars")`, "set nope in group_vars"},
		{`port | length`, "length: a number has no length"},
		{`name | sort`, "sort: want a list, got string"},
		{`[1, "a"] | sort`, "cannot compare"},
		{`name | combine({})`, "combine: argument 1: want a map"},
		{`range(0, 5, 0)`, "step must not be zero"},
		{`range(2000000)`, "range: more than"},
		{`"x" | from_json`, "from_json: invalid character"},
		{`"a: [" | from_yaml`, "from_yaml: yaml:"},
		{`"!!" | b64decode`, "b64decode: illegal base64"},
		{`"x" | hash("crc")`, `unknown algorithm "crc"`},
		{`hosts | map("nofilter")`, `unknown filter "nofilter"`},
		{`nums | select("nope")`, `unknown test "nope"`},
		{`users | map(attribute="zz")`, `undefined variable "item 0.zz"`},
		{`[{"k": 1}] | items2dict`, `item 0 has no "key" and "value"`},
		{`port is failed`, "want a registered result"},
		{`"1" is version("2", "~")`, `unknown operator "~"`},
		{`"a" | indent(99999)`, "width must be"},
	}
	for _, c := range cases {
		_, err := e.Eval(c.src, testVars())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Eval(%s) error = %v, want it to contain %q", c.src, err, c.want)
		}
	}
}

func TestMoreFilters(t *testing.T) {
	runEvalCases(t, []evalCase{
		{`"%s:%d" | format(name, port)`, "etcd:2379"},
		{`"%05.1f|%-4s|%x|%%" | format(2.25, "ab", 255)`, "002.2|ab  |ff|%"},
		{`"%s" | format(nums)`, "[3,1,2]"},
		{`dict(zip(hosts, [1, 2]))`, map[string]any{"m1": 1, "m2": 2}},
		{`dict(a=1, b="x")`, map[string]any{"a": 1, "b": "x"}},
		{`hosts | zip(nums) | dict`, map[string]any{"m1": 3, "m2": 1}},
		{`"a.j2" | regex_replace('\.j2$', '')`, "a"},
		{`"x1" | regex_replace("\d", "#")`, "x#"},
		{`"a\tb"`, "a\tb"},
		{`'it\'s'`, "it's"},
		{`"\u00e9\x41\101"`, "éAA"},
	})
	e := NewEvaluator()
	for _, c := range []struct{ src, want string }{
		{`"%s %s" | format(1)`, "not enough arguments"},
		{`"%s" | format(1, 2)`, "not all arguments converted"},
		{`"%q" | format(1)`, "unknown format verb %q"},
		{`dict([1])`, "item 0 is not a [key, value] pair"},
		{`lookup("file", "x")`, `unknown function or filter "lookup"; read files with the slurp module`},
		{`x | json_query("a")`, `unknown function or filter "json_query"`},
		{`name | nofilter`, `unknown function or filter "nofilter"`},
		{`repeat("x", 3)`, `unknown function or filter "repeat"`},
	} {
		err := e.Check(c.src)
		if err == nil {
			_, err = e.Eval(c.src, testVars())
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Eval(%s) error = %v, want it to contain %q", c.src, err, c.want)
		}
	}
}

func TestKeywordArguments(t *testing.T) {
	e := NewEvaluator()
	for _, c := range []struct{ src, want string }{
		{`name | upper(x=1)`, `upper: unexpected keyword argument "x"`},
		{`nums | sort(revers=true)`, `sort: unexpected keyword argument "revers"`},
		{`name is match("E", ignorecase=true)`, ""},
		{`name is match("E", ignore=true)`, `test match: unexpected keyword argument "ignore"`},
		{`f(k=)`, "keyword argument k has no value"},
	} {
		_, err := e.Eval(c.src, testVars())
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Eval(%s) error = %v, want %q", c.src, err, c.want)
		}
	}
}
