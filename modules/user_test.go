package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runUser(t *testing.T, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := User{}.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check})
	if err != nil {
		t.Fatalf("user %v: %v", args, err)
	}
	return res
}

func readDB(t *testing.T, state, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const testHash = "$6$salt$Wm0cKnLlwHHZUB7Nb6DRdbcAaJT3Ow1XW0Pd1e0XfO9y2v0kOxb.g6nYq9Ugv1qBqWbi1E6Hy0u6FdgJb5sZV."

func TestUserCreateModifyRemove(t *testing.T) {
	conn, state := accountsEnv(t)
	args := map[string]any{"name": "etcd", "uid": 2379, "shell": "/sbin/nologin", "home": "/var/lib/etcd",
		"groups": []any{"docker"}, "comment": "etcd user", "password": testHash, "system": true}
	if res := runUser(t, conn, true, args); !res.Changed || res.Changes[0].Action != "created" || strings.Contains(readDB(t, state, "passwd"), "etcd") {
		t.Fatalf("check: %+v", res)
	}
	res := runUser(t, conn, false, args)
	if !res.Changed || res.Failed || res.Changes[0] != (Change{Kind: KindUser, Name: "etcd", Action: "created"}) {
		t.Fatalf("create: %+v", res)
	}
	if got := readDB(t, state, "passwd"); !strings.Contains(got, "etcd:x:2379:2379:etcd user:/var/lib/etcd:/sbin/nologin") {
		t.Errorf("passwd = %s", got)
	}
	if got := readDB(t, state, "shadow"); !strings.Contains(got, "etcd:"+testHash+":") {
		t.Errorf("shadow = %s", got)
	}
	calls := readDB(t, state, "calls")
	if strings.Contains(calls, "$6$") {
		t.Errorf("the password hash reached a command line: %s", calls)
	}
	if !strings.Contains(calls, "useradd -u 2379 -G docker -s /sbin/nologin -d /var/lib/etcd -c etcd user -r -M -- etcd") {
		t.Errorf("useradd call: %s", calls)
	}
	if res := runUser(t, conn, false, args); res.Changed {
		t.Errorf("second run: %+v", res)
	}
	args["shell"], args["groups"], args["append"] = "/bin/bash", []any{"wheel"}, true
	res = runUser(t, conn, false, args)
	want := Change{Kind: KindUser, Name: "etcd", Action: "modified", Old: "shell=/sbin/nologin groups=docker", New: "shell=/bin/bash groups=wheel"}
	if len(res.Changes) != 1 || res.Changes[0] != want {
		t.Errorf("modify: %+v, want %+v", res.Changes, want)
	}
	if got := readDB(t, state, "group"); !strings.Contains(got, "wheel:x:10:etcd") || !strings.Contains(got, "docker:x:998:etcd") {
		t.Errorf("append groups: %s", got)
	}
	if res := runUser(t, conn, false, args); res.Changed {
		t.Errorf("after modify: %+v", res)
	}
	res = runUser(t, conn, false, map[string]any{"name": "etcd", "groups": "wheel"})
	if !res.Changed || !strings.Contains(readDB(t, state, "group"), "docker:x:998:\n") {
		t.Errorf("exact groups: %+v\n%s", res, readDB(t, state, "group"))
	}
	res = runUser(t, conn, false, map[string]any{"name": "etcd", "password": "$6$other$x"})
	if len(res.Changes) != 1 || res.Changes[0].Old != "password" || strings.Contains(res.Changes[0].New, "$6$") {
		t.Errorf("password change: %+v", res)
	}
	if res := runUser(t, conn, false, map[string]any{"name": "etcd", "password": testHash, "update_password": "on_create"}); res.Changed {
		t.Errorf("on_create: %+v", res)
	}
	res = runUser(t, conn, false, map[string]any{"name": "etcd", "state": "absent"})
	if res.Changes[0].Action != "removed" || strings.Contains(readDB(t, state, "passwd"), "etcd") {
		t.Errorf("remove: %+v", res)
	}
	if res := runUser(t, conn, false, map[string]any{"name": "etcd", "state": "absent"}); res.Changed {
		t.Errorf("remove again: %+v", res)
	}
}

func TestUserFailures(t *testing.T) {
	conn, _ := accountsEnv(t)
	res := runUser(t, conn, false, map[string]any{"name": "kube", "group": "nosuch"})
	if !res.Failed || !strings.Contains(res.Msg, "does not exist") || len(res.Changes) != 0 {
		t.Errorf("missing group: %+v", res)
	}
	for _, args := range []map[string]any{
		{}, {"name": "a:b"}, {"name": "x", "state": "locked"}, {"name": "x", "password": "a:b"},
		{"name": "x", "update_password": "never"}, {"name": "x", "shell": "/bin/sh\n"}, {"name": "x", "uid": -5},
	} {
		if _, err := (User{}).Run(context.Background(), &Request{Conn: conn, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}

func TestWantGroups(t *testing.T) {
	tests := []struct {
		cur, want  []string
		appendOnly bool
		wantArg    string
		ok         bool
	}{
		{[]string{"a", "b"}, []string{"b", "a"}, false, "a,b", true},
		{[]string{"a"}, []string{"a", "b"}, true, "b", false},
		{[]string{"a", "b"}, []string{"a"}, true, "", true},
		{[]string{"a", "b"}, []string{"a"}, false, "a", false},
		{nil, []string{"prim"}, false, "", true},
	}
	for _, tt := range tests {
		got, ok := wantGroups(tt.cur, tt.want, tt.appendOnly, "prim")
		if got != tt.wantArg || ok != tt.ok {
			t.Errorf("wantGroups(%v, %v, %v) = %q, %v; want %q, %v", tt.cur, tt.want, tt.appendOnly, got, ok, tt.wantArg, tt.ok)
		}
	}
}
