package modules

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kplay/kplay/shell"
)

// k8sRef names one object of a manifest.
type k8sRef struct {
	APIVersion, Kind, Namespace, Name string
	// CRDKind is the kind a CustomResourceDefinition defines.
	CRDKind string
}

// String is "Kind namespace/name" or "Kind name".
func (r k8sRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// stub is the least kubectl needs to find (get, delete) the object.
func (r k8sRef) stub() map[string]any {
	md := map[string]any{"name": r.Name}
	if r.Namespace != "" {
		md["namespace"] = r.Namespace
	}
	return map[string]any{"apiVersion": r.APIVersion, "kind": r.Kind, "metadata": md}
}

// parseManifest reads every object of a multi-document manifest (List
// kinds are expanded), so that bad YAML or an object without kind or name
// is reported before anything runs on the host.
func parseManifest(name string, b []byte) ([]k8sRef, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var refs []k8sRef
	for doc := 1; ; doc++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return refs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("k8s_apply: manifest %s: document %d: %w", name, doc, err)
		}
		if m == nil {
			continue
		}
		more, err := refsOf(m)
		if err != nil {
			return nil, fmt.Errorf("k8s_apply: manifest %s: document %d: %w", name, doc, err)
		}
		refs = append(refs, more...)
	}
}

func refsOf(m map[string]any) ([]k8sRef, error) {
	kind, _ := m["kind"].(string)
	if items, ok := m["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var refs []k8sRef
		for i, it := range items {
			o, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("item %d: not an object", i)
			}
			r, err := refsOf(o)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			refs = append(refs, r...)
		}
		return refs, nil
	}
	r := refOf(m)
	switch {
	case r.APIVersion == "":
		return nil, errors.New("object without apiVersion")
	case r.Kind == "":
		return nil, errors.New("object without kind")
	case r.Name == "":
		return nil, fmt.Errorf("%s without metadata.name (generateName cannot be applied)", r.Kind)
	}
	return []k8sRef{r}, nil
}

func refOf(m map[string]any) k8sRef {
	r := k8sRef{}
	r.APIVersion, _ = m["apiVersion"].(string)
	r.Kind, _ = m["kind"].(string)
	md, _ := m["metadata"].(map[string]any)
	r.Name, _ = md["name"].(string)
	r.Namespace, _ = md["namespace"].(string)
	if r.Kind == "CustomResourceDefinition" {
		spec, _ := m["spec"].(map[string]any)
		names, _ := spec["names"].(map[string]any)
		r.CRDKind, _ = names["kind"].(string)
	}
	return r
}

func terminating(o map[string]any) bool {
	md, _ := o["metadata"].(map[string]any)
	return md["deletionTimestamp"] != nil
}

// definitionYAML turns an inline definition into manifest text.
func definitionYAML(v any) ([]byte, error) {
	switch d := v.(type) {
	case string:
		return []byte(d), nil
	case map[string]any:
		return yaml.Marshal(d)
	case []any:
		var b bytes.Buffer
		for i, o := range d {
			y, err := yaml.Marshal(o)
			if err != nil {
				return nil, fmt.Errorf("k8s_apply: definition item %d: %w", i, err)
			}
			if i > 0 {
				b.WriteString("---\n")
			}
			b.Write(y)
		}
		return b.Bytes(), nil
	}
	return nil, fmt.Errorf("k8s_apply: definition: want YAML text, an object or a list of objects, got %s", typeName(v))
}

// createdByManifest explains a failed server-side diff whose only errors
// are a namespace or a CRD kind that the manifest itself creates (a dry run
// cannot see them), and returns "" for any other failure.
func createdByManifest(objs []k8sRef, stderr string) string {
	excuses := map[string]string{}
	for _, o := range objs {
		if o.Kind == "Namespace" {
			excuses[fmt.Sprintf("namespaces %q not found", o.Name)] = "namespace " + o.Name + " is created by this manifest"
		}
		if o.CRDKind != "" {
			excuses[fmt.Sprintf("no matches for kind %q", o.CRDKind)] = "kind " + o.CRDKind + " is defined by this manifest"
		}
	}
	var notes []string
	seen := map[string]bool{}
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "Warning:") || line == "ensure CRDs are installed first" {
			continue
		}
		why := ""
		for pat, n := range excuses {
			if strings.Contains(line, pat) {
				why = n
			}
		}
		if why == "" {
			return ""
		}
		if !seen[why] {
			seen[why] = true
			notes = append(notes, why)
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "no server-side diff: " + strings.Join(notes, ", ")
}

// liveObjects gets the manifest's objects that exist now. When the whole
// get fails (a kind unknown to the server), each object is asked alone and
// an unknown kind counts as absent.
func (j *k8sJob) liveObjects(ctx context.Context, c Conn) ([]map[string]any, error) {
	cmd := j.kubectl("get", "--ignore-not-found", "-o", "yaml", "-f", "-")
	out, errs, rc, err := j.exec(ctx, c, cmd, true)
	if err != nil {
		return nil, err
	}
	if rc == 0 {
		return parseLive(out)
	}
	var all []map[string]any
	for _, r := range j.objs {
		one, err := yaml.Marshal(r.stub())
		if err != nil {
			return nil, err
		}
		var o, e bytes.Buffer
		err = c.Exec(ctx, cmd, bytes.NewReader(one), &o, &e)
		switch rc := ExitCode(err); {
		case rc < 0:
			return nil, fmt.Errorf("k8s_apply %s: run kubectl: %w", j.dest, err)
		case rc != 0 && unknownKind(e.String()):
			continue
		case rc != 0:
			return nil, fmt.Errorf("k8s_apply %s: kubectl get %s: rc %d: %s", j.dest, r, rc, strings.TrimSpace(e.String()+"\n"+errs))
		}
		objs, err := parseLive(o.String())
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
	}
	return all, nil
}

func unknownKind(stderr string) bool {
	for _, s := range []string{"no matches for kind", "resource mapping not found", "doesn't have a resource type"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// parseLive reads kubectl get -o yaml output: nothing, one object or a List.
func parseLive(out string) ([]map[string]any, error) {
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("k8s_apply: parse kubectl get output: %w", err)
	}
	kind, _ := m["kind"].(string)
	items, isList := m["items"].([]any)
	if !strings.HasSuffix(kind, "List") || (!isList && m["items"] != nil) {
		return []map[string]any{m}, nil
	}
	objs := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if o, ok := it.(map[string]any); ok {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

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

// parseKubectlDiff turns kubectl diff's unified output into one Diff per
// object, each side rebuilt from the hunks (context plus its own lines;
// "..." between hunks), so --diff shows the same change.
func parseKubectlDiff(text string) []Diff {
	var out []Diff
	var cur *Diff
	var bef, aft strings.Builder
	flush := func() {
		if cur != nil {
			cur.Before, cur.After = bef.String(), aft.String()
			out = append(out, *cur)
		}
		bef.Reset()
		aft.Reset()
	}
	inHunk := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "diff "):
			flush()
			f := strings.Fields(line)
			cur, inHunk = &Diff{Path: "k8s: " + path.Base(f[len(f)-1])}, false
		case !inHunk && strings.HasPrefix(line, "--- "):
			if cur == nil {
				name := strings.Fields(strings.TrimPrefix(line, "--- "))
				cur = &Diff{Path: "k8s: " + path.Base(strings.Join(name[:min(1, len(name))], ""))}
			}
		case !inHunk && strings.HasPrefix(line, "+++ "):
		case strings.HasPrefix(line, "@@"):
			if inHunk {
				bef.WriteString("...\n")
				aft.WriteString("...\n")
			}
			inHunk = true
		case !inHunk || cur == nil:
		case strings.HasPrefix(line, " "):
			bef.WriteString(line[1:] + "\n")
			aft.WriteString(line[1:] + "\n")
		case strings.HasPrefix(line, "-"):
			bef.WriteString(line[1:] + "\n")
		case strings.HasPrefix(line, "+"):
			aft.WriteString(line[1:] + "\n")
		}
	}
	flush()
	return out
}
