package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeAccounts is one script installed as getent, id, useradd, usermod,
// userdel, groupadd, groupmod, groupdel and chpasswd, keeping passwd,
// group and shadow files in $FAKE_DIR, so the tests never touch the
// machine's accounts. Only the options the modules use are understood.
const fakeAccounts = `db=$FAKE_DIR; me=$(basename "$0")
echo "$me $*" >> "$db/calls"
rewrite() { awk -F: -v OFS=: "$@" "$db/$f" > "$db/$f.new" && mv "$db/$f.new" "$db/$f"; }
dropmember() { f=group; rewrite -v n="$1" '{ m=""; k=split($4, a, ","); for (i=1;i<=k;i++) if (a[i]!=n && a[i]!="") m=m (m==""?"":",") a[i]; $4=m; print }'; }
case $me in
getent) [ -r "$db/$1" ] || exit 1; grep "^$2:" "$db/$1" || exit 2 ;;
id)
  case $1 in -gn|-Gn) ;; *) exec /usr/bin/id "$@" ;; esac
  n=$3; gid=$(grep "^$n:" "$db/passwd" | cut -d: -f4); [ -n "$gid" ] || exit 1
  pg=$(grep "^[^:]*:[^:]*:$gid:" "$db/group" | cut -d: -f1)
  if [ "$1" = -gn ]; then echo "$pg"; exit 0; fi
  echo "$pg" $(awk -F: -v n="$n" -v pg="$pg" '$1!=pg { k=split($4, a, ","); for (i=1;i<=k;i++) if (a[i]==n) print $1 }' "$db/group") ;;
useradd|usermod)
  u=; g=; G=; setG=; s=; d=; c=; setC=; a=
  while [ $# -gt 0 ]; do case $1 in
    -u) u=$2; shift ;; -g) g=$2; shift ;; -G) G=$2; setG=1; shift ;; -s) s=$2; shift ;; -d) d=$2; shift ;;
    -c) c=$2; setC=1; shift ;; -a) a=1 ;; -m|-M|-r) ;; --) shift; break ;; esac; shift; done
  n=$1; old=$(grep "^$n:" "$db/passwd")
  if [ $me = useradd ]; then
    [ -z "$old" ] || { echo "useradd: user '$n' already exists" >&2; exit 9; }
    [ -n "$u" ] || u=$((1000 + $(wc -l < "$db/passwd")))
    old="$n:x:$u:$u::/home/$n:/bin/sh"
    [ -n "$g" ] || echo "$n:x:$u:" >> "$db/group"
    echo "$n:!:19000:0:99999:7:::" >> "$db/shadow"
  fi
  [ -n "$old" ] || { echo "usermod: user '$n' does not exist" >&2; exit 6; }
  IFS=:; set -- $old; unset IFS
  gid=$4
  if [ -n "$g" ]; then gid=$(grep "^$g:" "$db/group" | cut -d: -f3); [ -n "$gid" ] || { echo "$me: group '$g' does not exist" >&2; exit 6; }; fi
  [ -n "$setC" ] || c=$5
  grep -v "^$n:" "$db/passwd" > "$db/passwd.new"; echo "$n:x:${u:-$3}:$gid:$c:${d:-$6}:${s:-$7}" >> "$db/passwd.new"; mv "$db/passwd.new" "$db/passwd"
  if [ -n "$setG" ]; then
    [ -n "$a" ] || dropmember "$n"
    for x in $(echo "$G" | tr ',' ' '); do f=group; rewrite -v n="$n" -v g="$x" '$1==g { $4 = ($4=="" ? n : $4 "," n) } { print }'; done
  fi ;;
userdel) [ "$1" = -r ] && shift; [ "$1" = -- ] && shift
  grep -q "^$1:" "$db/passwd" || exit 6
  for f in passwd shadow; do grep -v "^$1:" "$db/$f" > "$db/$f.new"; mv "$db/$f.new" "$db/$f"; done; dropmember "$1" ;;
groupadd)
  gid=$((2000 + $(wc -l < "$db/group")))
  while [ $# -gt 1 ]; do case $1 in -g) gid=$2; shift ;; esac; shift; done
  grep -q "^$1:" "$db/group" && { echo "groupadd: group '$1' already exists" >&2; exit 9; }
  echo "$1:x:$gid:" >> "$db/group" ;;
groupmod) f=group; rewrite -v g="$3" -v id="$2" '$1==g { $3=id } { print }' ;;
groupdel) grep -q "^$1:" "$db/group" || exit 6; grep -v "^$1:" "$db/group" > "$db/group.new"; mv "$db/group.new" "$db/group" ;;
chpasswd) while IFS=: read -r n h; do f=shadow; rewrite -v n="$n" -v h="$h" '$1==n { $2=h } { print }'; done ;;
esac
`

// accountsEnv installs fakeAccounts under every name and seeds the files.
func accountsEnv(t *testing.T) (Conn, string) {
	t.Helper()
	tools := map[string]string{}
	for _, n := range []string{"getent", "id", "useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel", "chpasswd"} {
		tools[n] = fakeAccounts
	}
	conn, state := fakeTools(t, tools)
	os.WriteFile(filepath.Join(state, "passwd"), []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644)
	os.WriteFile(filepath.Join(state, "group"), []byte("root:x:0:\nwheel:x:10:\ndocker:x:998:\n"), 0o644)
	os.WriteFile(filepath.Join(state, "shadow"), []byte("root:*:19000:0:99999:7:::\n"), 0o600)
	return conn, state
}

func runGroup(t *testing.T, conn Conn, check bool, args map[string]any) Result {
	t.Helper()
	res, err := Group{}.Run(context.Background(), &Request{Conn: conn, Args: args, Check: check})
	if err != nil {
		t.Fatalf("group %v: %v", args, err)
	}
	return res
}

func TestGroup(t *testing.T) {
	conn, state := accountsEnv(t)
	read := func() string { b, _ := os.ReadFile(filepath.Join(state, "group")); return string(b) }
	args := map[string]any{"name": "etcd", "gid": 2379, "system": true}
	if res := runGroup(t, conn, true, args); !res.Changed || res.Changes[0].Action != "created" || strings.Contains(read(), "etcd") {
		t.Fatalf("check: %+v", res)
	}
	res := runGroup(t, conn, false, args)
	if !res.Changed || res.Changes[0] != (Change{Kind: KindGroup, Name: "etcd", Action: "created"}) || !strings.Contains(read(), "etcd:x:2379:") {
		t.Fatalf("create: %+v\n%s", res, read())
	}
	if res := runGroup(t, conn, false, args); res.Changed {
		t.Errorf("second run: %+v", res)
	}
	res = runGroup(t, conn, false, map[string]any{"name": "etcd", "gid": 2380})
	if res.Changes[0] != (Change{Kind: KindGroup, Name: "etcd", Action: "modified", Old: "gid=2379", New: "gid=2380"}) || !strings.Contains(read(), "etcd:x:2380:") {
		t.Errorf("gid change: %+v", res)
	}
	res = runGroup(t, conn, false, map[string]any{"name": "etcd", "state": "absent"})
	if res.Changes[0].Action != "removed" || strings.Contains(read(), "etcd") {
		t.Errorf("remove: %+v", res)
	}
	if res := runGroup(t, conn, false, map[string]any{"name": "etcd", "state": "absent"}); res.Changed {
		t.Errorf("remove again: %+v", res)
	}
}

func TestGroupBadArgs(t *testing.T) {
	conn, _ := accountsEnv(t)
	for _, args := range []map[string]any{{}, {"name": "a b"}, {"name": "x", "state": "gone"}, {"name": "x", "gid": -1}, {"name": "x", "gid": "ten"}} {
		if _, err := (Group{}).Run(context.Background(), &Request{Conn: conn, Args: args}); err == nil {
			t.Errorf("args %v: want an error", args)
		}
	}
}
