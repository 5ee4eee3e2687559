package modules

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kplay/kplay/shell"
)

// serverFields are metadata the server owns; a saved object without them
// can be applied again (a resourceVersion would make the apply fail once
// the object moved on).
var serverFields = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// controllerAnnotations are written by controllers or client-side apply,
// not by the objects' author.
var controllerAnnotations = []string{"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision", "deprecated.daemonset.template.generation"}

// cleanLive strips status and server-owned metadata.
func cleanLive(o map[string]any) map[string]any {
	delete(o, "status")
	md, _ := o["metadata"].(map[string]any)
	for _, f := range serverFields {
		delete(md, f)
	}
	if ann, ok := md["annotations"].(map[string]any); ok {
		for _, a := range controllerAnnotations {
			delete(ann, a)
		}
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	return o
}

// listYAML serializes objects as one List ("" for none), cleaned for
// re-applying when clean is set.
func listYAML(objs []map[string]any, clean bool) ([]byte, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	items := make([]any, len(objs))
	for i, o := range objs {
		if clean {
			o = cleanLive(o)
		}
		items[i] = o
	}
	return yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
}

// createdRefs lists the manifest objects that do not exist yet.
func createdRefs(objs []k8sRef, live []map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range objs {
		found := false
		for _, o := range live {
			l := refOf(o)
			if l.Kind == r.Kind && l.Name == r.Name && (r.Namespace == "" || r.Namespace == l.Namespace) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, r.stub())
		}
	}
	return out
}

// saveUndo saves, under .previous/ next to dest, the objects as they are
// now (cleaned), the objects the apply creates, and an undo script using
// both, and returns the journal entry naming the script.
func (j *k8sJob) saveUndo(ctx context.Context, req *Request, action string) (Change, error) {
	live, err := j.liveObjects(ctx, req.Conn)
	if err != nil {
		return Change{}, err
	}
	var created []map[string]any
	if action == "applied" {
		created = createdRefs(j.objs, live)
	}
	before, err := listYAML(live, true)
	if err != nil {
		return Change{}, err
	}
	newer, err := listYAML(created, false)
	if err != nil {
		return Change{}, err
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return Change{}, err
	}
	stamp := strings.TrimSuffix(strings.TrimPrefix(backupSuffix(req), "."), ".kplay~") + "-" + hex.EncodeToString(rnd[:])
	dir := path.Join(path.Dir(j.dest), ".previous")
	base := path.Join(dir, strings.TrimSuffix(path.Base(j.dest), ".yaml")+"."+stamp)
	files := []struct {
		name string
		data []byte
		mode string
	}{
		{base + ".before.yaml", before, "0600"},
		{base + ".created.yaml", newer, "0600"},
		{base + ".undo.sh", []byte(j.undoScript(base, action)), "0700"},
	}
	if err := MkdirAll(ctx, req.Conn, dir, Attrs{Mode: "0700"}); err != nil {
		return Change{}, err
	}
	for _, f := range files {
		if err := WriteFile(ctx, req.Conn, f.name, bytes.NewReader(f.data), Attrs{Mode: f.mode}); err != nil {
			return Change{}, err
		}
	}
	return Change{Kind: KindK8s, Path: j.dest, Action: action, Existed: len(live) > 0,
		Backup: files[2].name, Name: strings.TrimSuffix(path.Base(j.dest), ".yaml")}, nil
}

// undoScript puts the objects back: deletes what the change created, then
// applies the saved objects when they differ from the live ones. With
// "check" as its argument it only says whether it would change anything.
func (j *k8sJob) undoScript(base, action string) string {
	fm := "--field-manager=" + j.a.FieldManager
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# kplay k8s_apply: puts back the objects of %s as they were before they were %s.\n", j.dest, action)
	b.WriteString("# sh THIS [check]: prints \"changed\" when it changes (with check: would change) something.\n")
	fmt.Fprintf(&b, "k() { %s \"$@\"; }\n", j.kubectl())
	fmt.Fprintf(&b, "before=%s; created=%s\n", shell.Quote(base+".before.yaml"), shell.Quote(base+".created.yaml"))
	b.WriteString(`if [ -s "$created" ]; then
  live=$(k get --ignore-not-found --no-headers -o custom-columns=D:.metadata.deletionTimestamp -f "$created") || exit 1
  case "$live" in *"<none>"*)
    echo changed
    [ "$1" = check ] || k delete --ignore-not-found --wait=false -f "$created" >/dev/null || exit 1;;
  esac
fi
if [ -s "$before" ]; then
`)
	fmt.Fprintf(&b, "  if ! k diff --server-side --force-conflicts %s -f \"$before\" >/dev/null 2>&1; then\n", shell.Quote(fm))
	b.WriteString("    echo changed\n")
	fmt.Fprintf(&b, "    [ \"$1\" = check ] || k apply --server-side --force-conflicts %s -f \"$before\" >/dev/null || exit 1\n", shell.Quote(fm))
	b.WriteString("  fi\nfi\n")
	return b.String()
}
