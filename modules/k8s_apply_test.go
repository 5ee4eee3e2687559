package modules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kplay/kplay/transport"
)

// fakeKubectl is a kubectl stand-in for one ConfigMap "demo" whose only
// state is the "color: X" line kept in DIR/live. It logs every call to
// DIR/calls. DIR/diff_error and DIR/apply_error make diff or apply fail
// with their content on stderr; DIR/terminating marks the object as being
// deleted.
const fakeKubectl = `#!/bin/sh
D=%DIR%
echo "$*" >> "$D/calls"
sub=""; file=""; prev=""; out=""
for a in "$@"; do
  case "$prev" in --kubeconfig|--namespace) prev=""; continue;; -f) file="$a"; prev=""; continue;; -o) out="$a"; prev=""; continue;; esac
  case "$a" in --kubeconfig|--namespace|-f|-o) prev="$a"; continue;; -*) continue;; esac
  [ -z "$sub" ] && sub="$a"
done
in="$D/in.$$"; trap 'rm -f "$in"' EXIT
if [ "$file" = - ]; then cat > "$in"; else cat "$file" > "$in"; fi
want=$(grep -o 'color: .*' "$in" | head -n 1)
case "$sub" in
diff)
  if [ -e "$D/diff_error" ]; then cat "$D/diff_error" >&2; exit 2; fi
  have=$(cat "$D/live" 2>/dev/null)
  [ "$have" = "$want" ] && exit 0
  echo "diff -u -N /tmp/LIVE-1/v1.ConfigMap.default.demo /tmp/MERGED-2/v1.ConfigMap.default.demo"
  echo "--- /tmp/LIVE-1/v1.ConfigMap.default.demo	2026-01-01 00:00:00"
  echo "+++ /tmp/MERGED-2/v1.ConfigMap.default.demo	2026-01-01 00:00:00"
  echo "@@ -1,2 +1,2 @@"
  echo " data:"
  [ -n "$have" ] && echo "-  $have"
  echo "+  $want"
  exit 1;;
get)
  [ -e "$D/live" ] || exit 0
  ts=null; [ -e "$D/terminating" ] && ts=2026-01-01T00:00:00Z
  case "$out" in custom-columns=*) [ "$ts" = null ] && echo "<none>" || echo "$ts"; exit 0;; esac
  cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: default
  resourceVersion: "7"
  uid: u-1
  deletionTimestamp: $ts
  managedFields: [{manager: kplay}]
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", keep: "yes"}
data:
  $(cat "$D/live")
status: {}
EOF
  ;;
apply)
  if [ -e "$D/apply_error" ]; then cat "$D/apply_error" >&2; exit 1; fi
  echo "$want" > "$D/live"; echo "configmap/demo serverside-applied";;
delete)
  [ -e "$D/live" ] && rm "$D/live" && echo 'configmap "demo" deleted';;
*) echo "fake kubectl: unknown command $sub" >&2; exit 3;;
esac
`

const demoManifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: default
data:
  color: %C%
`

// fakeCluster writes the fake kubectl into its own folder (outside the
// folder the module writes to) and returns the folder and the script.
func fakeCluster(t *testing.T) (string, string) {
	t.Helper()
	d := t.TempDir()
	script := filepath.Join(d, "kubectl")
	writeFile(t, script, strings.ReplaceAll(fakeKubectl, "%DIR%", d), 0o755)
	writeFile(t, filepath.Join(d, "admin.conf"), "fake\n", 0o600)
	return d, script
}

func k8sReq(kubectl, dest, color string, extra map[string]any) *Request {
	args := map[string]any{"src": "demo.yaml", "dest": dest, "kubectl": kubectl, "kubeconfig": filepath.Join(filepath.Dir(kubectl), "admin.conf")}
	for k, v := range extra {
		args[k] = v
	}
	files := fstest.MapFS{"files/demo.yaml": {Data: []byte(strings.ReplaceAll(demoManifest, "%C%", color))}}
	return newReq(args, files, nil)
}

func live(t *testing.T, fake string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fake, "live"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestK8sApplyContract(t *testing.T) {
	fake, kubectl := fakeCluster(t)
	dir := filepath.Join(t.TempDir(), "addons")
	dest := filepath.Join(dir, "demo.yaml")
	first := contract(t, K8sApply{}, filepath.Dir(dir), func() *Request { return k8sReq(kubectl, dest, "red", nil) })
	if got := live(t, fake); got != "color: red" {
		t.Errorf("live object %q, want color: red", got)
	}
	if !strings.Contains(readString(t, dest), "color: red") || modeOf(t, dest) != "0600" {
		t.Errorf("stored manifest %q mode %s", readString(t, dest), modeOf(t, dest))
	}
	calls := readString(t, filepath.Join(fake, "calls"))
	for _, want := range []string{"--kubeconfig " + filepath.Join(fake, "admin.conf") + " apply --server-side --field-manager=kplay -f " + dest,
		"diff --server-side --field-manager=kplay -f -"} {
		if !strings.Contains(calls, want) {
			t.Errorf("calls %q lack %q", calls, want)
		}
	}
	if n := strings.Count(calls, " apply "); n != 1 {
		t.Errorf("%d applies, want 1 (the second run must not apply):\n%s", n, calls)
	}
	if len(first.Diff) != 1 || first.Diff[0].Path != "k8s: v1.ConfigMap.default.demo" ||
		first.Diff[0].Before != "data:\n" || first.Diff[0].After != "data:\n  color: red\n" {
		t.Errorf("diff %+v", first.Diff)
	}
	kinds := []string{}
	for _, c := range first.Changes {
		kinds = append(kinds, c.Kind+" "+c.Action)
	}
	if got := strings.Join(kinds, ", "); got != "file created, file created, k8s applied" {
		t.Errorf("journal entries %q, want the folder, the manifest, the objects", got)
	}
}

func TestK8sApplyChangeAndUndo(t *testing.T) {
	fake, kubectl := fakeCluster(t)
	dest := filepath.Join(t.TempDir(), "demo.yaml")
	runModule(t, K8sApply{}, k8sReq(kubectl, dest, "red", map[string]any{"force_conflicts": true}))
	res := runModule(t, K8sApply{}, k8sReq(kubectl, dest, "blue", nil))
	if !res.Changed || live(t, fake) != "color: blue" {
		t.Fatalf("second apply: changed=%v live %q", res.Changed, live(t, fake))
	}
	undo := res.Changes[len(res.Changes)-1]
	if undo.Kind != KindK8s || undo.Action != "applied" || !undo.Existed {
		t.Fatalf("journal entry %+v", undo)
	}
	before := readString(t, strings.TrimSuffix(undo.Backup, ".undo.sh")+".before.yaml")
	for _, gone := range []string{"resourceVersion", "uid", "managedFields", "last-applied", "status", "deletionTimestamp"} {
		if strings.Contains(before, gone) {
			t.Errorf("saved objects keep %s:\n%s", gone, before)
		}
	}
	if !strings.Contains(before, "color: red") || !strings.Contains(before, "keep: \"yes\"") {
		t.Errorf("saved objects lost content:\n%s", before)
	}
	sh := func(arg string) string {
		t.Helper()
		var out strings.Builder
		if err := (&transport.Local{}).Exec(t.Context(), "sh "+undo.Backup+" "+arg, nil, &out, &out); err != nil {
			t.Fatalf("undo %s: %v: %s", arg, err, out.String())
		}
		return strings.TrimSpace(out.String())
	}
	if got := sh("check"); got != "changed" || live(t, fake) != "color: blue" {
		t.Errorf("undo check: %q, live %q", got, live(t, fake))
	}
	if got := sh(""); got != "changed" || live(t, fake) != "color: red" {
		t.Errorf("undo: %q, live %q, want color: red back", got, live(t, fake))
	}
	if got := sh(""); got != "" {
		t.Errorf("second undo: %q, want no change", got)
	}
	if calls := readString(t, filepath.Join(fake, "calls")); !strings.Contains(calls, "apply --server-side --field-manager=kplay --force-conflicts -f "+dest) {
		t.Errorf("force_conflicts not passed:\n%s", calls)
	}
}

func TestK8sApplyUndoDeletesCreated(t *testing.T) {
	fake, kubectl := fakeCluster(t)
	dest := filepath.Join(t.TempDir(), "demo.yaml")
	res := runModule(t, K8sApply{}, k8sReq(kubectl, dest, "red", nil))
	undo := res.Changes[len(res.Changes)-1]
	if undo.Existed {
		t.Errorf("entry %+v: the object did not exist", undo)
	}
	var out strings.Builder
	if err := (&transport.Local{}).Exec(t.Context(), "sh "+undo.Backup, nil, &out, &out); err != nil {
		t.Fatalf("undo: %v: %s", err, out.String())
	}
	if strings.TrimSpace(out.String()) != "changed" || live(t, fake) != "" {
		t.Errorf("undo said %q, live %q: want the created object deleted", out.String(), live(t, fake))
	}
}

func TestK8sApplyAbsent(t *testing.T) {
	fake, kubectl := fakeCluster(t)
	dest := filepath.Join(t.TempDir(), "demo.yaml")
	runModule(t, K8sApply{}, k8sReq(kubectl, dest, "red", nil))
	absent := func(check bool) Result {
		req := k8sReq(kubectl, dest, "red", map[string]any{"state": "absent"})
		req.Check, req.Diff = check, true
		return runModule(t, K8sApply{}, req)
	}
	if r := absent(true); !r.Changed || live(t, fake) == "" || len(r.Diff) != 1 || r.Diff[0].After != "" {
		t.Fatalf("check absent: changed=%v live %q diff %+v", r.Changed, live(t, fake), r.Diff)
	}
	r := absent(false)
	if !r.Changed || live(t, fake) != "" || len(r.Changes) != 1 || r.Changes[0].Action != "deleted" {
		t.Fatalf("absent: changed=%v live %q changes %+v", r.Changed, live(t, fake), r.Changes)
	}
	if r := absent(false); r.Changed {
		t.Errorf("absent again: changed (%s)", r.Msg)
	}
	// An object already being deleted counts as absent.
	writeFile(t, filepath.Join(fake, "live"), "color: red\n", 0o644)
	writeFile(t, filepath.Join(fake, "terminating"), "", 0o644)
	if r := absent(false); r.Changed {
		t.Errorf("terminating object: changed (%s)", r.Msg)
	}
}

func TestK8sApplyFailures(t *testing.T) {
	fake, kubectl := fakeCluster(t)
	dest := filepath.Join(t.TempDir(), "demo.yaml")
	writeFile(t, filepath.Join(fake, "diff_error"), "error: connection refused\n", 0o644)
	_, err := K8sApply{}.Run(t.Context(), k8sReq(kubectl, dest, "red", nil))
	if err == nil || !strings.Contains(err.Error(), "kubectl diff: rc 2: error: connection refused") {
		t.Errorf("diff failure: got %v", err)
	}
	// A namespace the manifest creates is not an error: the dry run cannot see it.
	writeFile(t, filepath.Join(fake, "diff_error"), "Error from server (NotFound): namespaces \"demo\" not found\n", 0o644)
	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n" + strings.ReplaceAll(demoManifest, "%C%", "red")
	req := newReq(map[string]any{"definition": ns, "dest": dest, "kubectl": kubectl, "kubeconfig": filepath.Join(fake, "admin.conf")}, nil, nil)
	req.Check = true
	if r, err := (K8sApply{}).Run(t.Context(), req); err != nil || !r.Changed || !strings.Contains(r.Msg, "namespace demo is created by this manifest") {
		t.Errorf("check with a new namespace: %+v, %v", r, err)
	}
	if err := os.Remove(filepath.Join(fake, "diff_error")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(fake, "apply_error"), "error: admission webhook denied\n", 0o644)
	r, err := K8sApply{}.Run(t.Context(), k8sReq(kubectl, dest, "red", nil))
	if err != nil || !r.Failed || r.RC != 1 || !strings.Contains(r.Stderr, "admission webhook denied") {
		t.Errorf("apply failure: %+v, %v", r, err)
	}
	if len(r.Changes) == 0 || r.Changes[len(r.Changes)-1].Kind != KindK8s {
		t.Errorf("a failed apply must still journal its undo: %+v", r.Changes)
	}
}

func TestK8sApplyBadArgs(t *testing.T) {
	files := fstest.MapFS{"files/bad.yaml": {Data: []byte("kind: ConfigMap\nmetadata: {name: x}\n")},
		"files/broken.yaml": {Data: []byte("a: [1\n")}, "files/empty.yaml": {Data: []byte("---\n")}}
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "exactly one of src, template or definition"},
		{map[string]any{"src": "a.yaml", "definition": "x"}, "exactly one of"},
		{map[string]any{"definition": "kind: x"}, "name or dest is required"},
		{map[string]any{"src": "bad.yaml", "state": "gone"}, `state "gone"`},
		{map[string]any{"src": "bad.yaml", "dest": "rel/x.yaml"}, "want an absolute file path"},
		{map[string]any{"src": "bad.yaml"}, "document 1: object without apiVersion"},
		{map[string]any{"src": "broken.yaml"}, "manifest broken.yaml: document 1: yaml: line"},
		{map[string]any{"src": "empty.yaml"}, "has no objects"},
		{map[string]any{"src": "missing.yaml"}, "read missing.yaml"},
		{map[string]any{"definition": 3, "name": "x"}, "definition: want YAML text"},
		{map[string]any{"src": "bad.yaml", "colour": "x"}, `unsupported parameter "colour"`},
	}
	for _, c := range cases {
		_, err := K8sApply{}.Run(t.Context(), newReq(c.args, files, nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
}

func TestK8sApplyDefaultDest(t *testing.T) {
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"template": "coredns.yaml.tmpl"}, "/etc/kubernetes/addons/coredns.yaml"},
		{map[string]any{"src": "sub/flannel.yml"}, "/etc/kubernetes/addons/flannel.yaml"},
		{map[string]any{"definition": "x", "name": "extra"}, "/etc/kubernetes/addons/extra.yaml"},
		{map[string]any{"definition": "x", "dest": "/srv/m//x.yaml"}, "/srv/m/x.yaml"},
	}
	for _, c := range cases {
		j := &k8sJob{}
		if err := Decode(c.args, &j.a); err != nil {
			t.Fatal(err)
		}
		if err := j.resolveDest(); err != nil || j.dest != c.want {
			t.Errorf("%v: dest %q, %v; want %q", c.args, j.dest, err, c.want)
		}
	}
}

func TestParseKubectlDiffTwoObjectsTwoHunks(t *testing.T) {
	text := "diff -u -N /tmp/LIVE-1/v1.Service.kube-system.kube-dns /tmp/MERGED-1/v1.Service.kube-system.kube-dns\n" +
		"--- /tmp/LIVE-1/v1.Service.kube-system.kube-dns\t2026\n+++ /tmp/MERGED-1/v1.Service.kube-system.kube-dns\t2026\n" +
		"@@ -1,3 +1,3 @@\n a\n-b\n+c\n@@ -9 +9 @@\n-x\n+y\n" +
		"diff -u -N /tmp/LIVE-1/apps.v1.Deployment.kube-system.coredns /tmp/MERGED-1/apps.v1.Deployment.kube-system.coredns\n" +
		"--- a\n+++ b\n@@ -1 +1 @@\n--- old\n++++ new\n"
	got := parseKubectlDiff(text)
	want := []Diff{{Path: "k8s: v1.Service.kube-system.kube-dns", Before: "a\nb\n...\nx\n", After: "a\nc\n...\ny\n"},
		{Path: "k8s: apps.v1.Deployment.kube-system.coredns", Before: "-- old\n", After: "+++ new\n"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("diff %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// In check mode, a host without kubectl or the kubeconfig yet (an earlier
// play of the run installs them) gets the apply predicted, and nothing to
// delete; outside check mode that is an error.
func TestK8sApplyCheckBeforeTheClusterExists(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "addons", "demo.yaml")
	missing := filepath.Join(dir, "no-kubectl")
	req := k8sReq(missing, dest, "red", nil)
	req.Check = true
	r := runModule(t, K8sApply{}, req)
	if !r.Changed || !strings.Contains(r.Msg, "not on the host yet") || len(r.Changes) != 0 {
		t.Errorf("check: %+v", r)
	}
	if _, err := os.Stat(filepath.Dir(dest)); !os.IsNotExist(err) {
		t.Errorf("check mode created %s: %v", filepath.Dir(dest), err)
	}
	req = k8sReq(missing, dest, "red", map[string]any{"state": "absent"})
	req.Check = true
	if r := runModule(t, K8sApply{}, req); r.Changed {
		t.Errorf("check absent: %+v", r)
	}
	_, err := K8sApply{}.Run(t.Context(), k8sReq(missing, dest, "red", nil))
	if err == nil || !strings.Contains(err.Error(), "kubectl diff: rc 127") {
		t.Errorf("real run without kubectl: %v", err)
	}
}
