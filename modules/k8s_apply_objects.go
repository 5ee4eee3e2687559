package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
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
