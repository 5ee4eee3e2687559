package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/kplay/kplay/shell"
)

// KindK8s marks a journal entry for Kubernetes objects that k8s_apply
// applied or deleted. Backup names the undo script the module left on the
// host (sh SCRIPT [check]); it prints "changed" when it changes, or in check
// would change, something.
const KindK8s = "k8s"

// K8sApplyArgs are the arguments of k8s_apply.
type K8sApplyArgs struct {
	// Src is a manifest file on the control machine (files/NAME of the
	// role or playbook, or an absolute path), sent as it is.
	Src string `arg:"src"`
	// Template is a Go template (templates/NAME) rendered with the host's
	// variables.
	Template string `arg:"template"`
	// Definition is the manifest inline: YAML text, one object (a map) or a
	// list of objects.
	Definition any `arg:"definition"`
	// Name names the stored manifest (dest default); it defaults to the
	// base name of src or template without .tmpl/.yaml.
	Name string `arg:"name"`
	// Dest is where the manifest is kept on the host
	// (default /etc/kubernetes/addons/<name>.yaml).
	Dest           string `arg:"dest"`
	State          string `arg:"state"`
	Kubeconfig     string `arg:"kubeconfig"`
	Kubectl        string `arg:"kubectl"`
	Namespace      string `arg:"namespace"`
	FieldManager   string `arg:"field_manager"`
	ForceConflicts bool   `arg:"force_conflicts"`
}

// K8sApply applies a Kubernetes manifest on the host with kubectl
// server-side apply, so the cluster is changed only through the API with
// the credentials already on a master. `kubectl diff --server-side` decides
// whether anything would change, which makes a re-run report ok and lets
// check mode predict the change. Before applying (or deleting with state
// absent) it saves the live objects next to the manifest under .previous/
// with an undo script, journaled as a KindK8s change, so rollback can put
// the objects back.
type K8sApply struct{}

// k8sJob is one k8s_apply invocation with its arguments resolved.
type k8sJob struct {
	a        K8sApplyArgs
	manifest []byte
	objs     []k8sRef
	dest     string
}

// Run implements Module.
func (K8sApply) Run(ctx context.Context, req *Request) (Result, error) {
	j, err := newK8sJob(req)
	if err != nil {
		return Result{}, err
	}
	if j.a.State == "absent" {
		return j.absent(ctx, req)
	}
	return j.present(ctx, req)
}

// newK8sJob decodes and checks the arguments and loads the manifest.
func newK8sJob(req *Request) (*k8sJob, error) {
	var a K8sApplyArgs
	if err := Decode(req.Args, &a); err != nil {
		return nil, err
	}
	n := 0
	for _, set := range []bool{a.Src != "", a.Template != "", a.Definition != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("k8s_apply: exactly one of src, template or definition is required")
	}
	switch a.State {
	case "":
		a.State = "present"
	case "present", "absent":
	default:
		return nil, fmt.Errorf("k8s_apply: state %q: want present or absent", a.State)
	}
	if a.Kubectl == "" {
		a.Kubectl = "/usr/local/bin/kubectl"
	}
	if a.Kubeconfig == "" {
		a.Kubeconfig = "/etc/kubernetes/admin.conf"
	}
	if a.FieldManager == "" {
		a.FieldManager = "kplay"
	}
	j := &k8sJob{a: a}
	if err := j.resolveDest(); err != nil {
		return nil, err
	}
	m, err := loadManifest(req, a)
	if err != nil {
		return nil, err
	}
	name := a.Src + a.Template
	if name == "" {
		name = "definition"
	}
	if j.objs, err = parseManifest(name, m); err != nil {
		return nil, err
	}
	if len(j.objs) == 0 {
		return nil, fmt.Errorf("k8s_apply: manifest %s has no objects", name)
	}
	j.manifest = m
	return j, nil
}

// resolveDest sets dest from dest, name or the source's base name.
func (j *k8sJob) resolveDest() error {
	if j.a.Dest != "" {
		if !path.IsAbs(j.a.Dest) || strings.HasSuffix(j.a.Dest, "/") {
			return fmt.Errorf("k8s_apply: dest %q: want an absolute file path", j.a.Dest)
		}
		j.dest = path.Clean(j.a.Dest)
		return nil
	}
	name := j.a.Name
	if name == "" {
		base := path.Base(j.a.Src + j.a.Template)
		if j.a.Definition != nil || base == "." || base == "/" {
			return errors.New("k8s_apply: name or dest is required with definition")
		}
		name = strings.TrimSuffix(base, ".tmpl")
	}
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".yaml"), ".yml")
	if name == "" || strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("k8s_apply: name %q: want a plain file name", j.a.Name)
	}
	j.dest = "/etc/kubernetes/addons/" + name + ".yaml"
	return nil
}

// loadManifest reads src, renders template or serializes definition.
func loadManifest(req *Request, a K8sApplyArgs) ([]byte, error) {
	switch {
	case a.Definition != nil:
		return definitionYAML(a.Definition)
	case a.Template != "":
		if req.Render == nil {
			return nil, errors.New("k8s_apply: no renderer in the request")
		}
		fsys, name, err := openSource(req, "templates", a.Template)
		if err != nil {
			return nil, fmt.Errorf("k8s_apply: %w", err)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("k8s_apply: read template %s: %w", a.Template, err)
		}
		out, err := req.Render(a.Template, text)
		if err != nil {
			return nil, fmt.Errorf("k8s_apply: template %s: %w", a.Template, err)
		}
		return out, nil
	}
	fsys, name, err := openSource(req, "files", a.Src)
	if err != nil {
		return nil, fmt.Errorf("k8s_apply: %w", err)
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("k8s_apply: read %s: %w", a.Src, err)
	}
	return b, nil
}

// kubectl is the command line prefix with the kubeconfig and namespace.
func (j *k8sJob) kubectl(args ...string) string {
	pre := []string{j.a.Kubectl, "--kubeconfig", j.a.Kubeconfig}
	if j.a.Namespace != "" {
		pre = append(pre, "--namespace", j.a.Namespace)
	}
	return shell.Join(append(pre, args...)...)
}

// ssaFlags are the server-side apply flags shared by diff and apply.
func (j *k8sJob) ssaFlags() []string {
	f := []string{"--server-side", "--field-manager=" + j.a.FieldManager}
	if j.a.ForceConflicts {
		f = append(f, "--force-conflicts")
	}
	return f
}

// exec runs a kubectl command line with the manifest on stdin when
// withManifest is set, returning stdout, stderr and the exit code; err is
// only for a command that could not run at all.
func (j *k8sJob) exec(ctx context.Context, c Conn, cmd string, withManifest bool) (string, string, int, error) {
	var out, errb bytes.Buffer
	var err error
	if withManifest {
		err = c.Exec(ctx, cmd, bytes.NewReader(j.manifest), &out, &errb)
	} else {
		err = c.Exec(ctx, cmd, nil, &out, &errb)
	}
	rc := ExitCode(err)
	if rc < 0 {
		return "", "", rc, fmt.Errorf("k8s_apply %s: run kubectl: %w", j.dest, err)
	}
	return out.String(), errb.String(), rc, nil
}

// diff runs kubectl diff --server-side. It reports whether objects would
// change, the diff text, and a note when the diff could not be computed
// because the manifest itself creates the missing namespace or CRD.
func (j *k8sJob) diff(ctx context.Context, c Conn) (bool, string, string, error) {
	cmd := j.kubectl(append(append([]string{"diff"}, j.ssaFlags()...), "-f", "-")...)
	out, errs, rc, err := j.exec(ctx, c, cmd, true)
	switch {
	case err != nil:
		return false, "", "", err
	case rc == 0:
		return false, "", "", nil
	case rc == 1:
		return true, out, "", nil
	}
	if note := createdByManifest(j.objs, errs); note != "" {
		return true, out, note, nil
	}
	return false, "", "", fmt.Errorf("k8s_apply %s: kubectl diff: rc %d: %s", j.dest, rc, strings.TrimSpace(errs))
}

// present applies the manifest when kubectl diff or the stored manifest
// says something would change.
func (j *k8sJob) present(ctx context.Context, req *Request) (Result, error) {
	if missing, err := j.noClusterYet(ctx, req); err != nil {
		return Result{}, err
	} else if missing {
		fr, err := j.storeManifest(ctx, req)
		if err != nil {
			return Result{}, err
		}
		return Result{Changed: true, Diff: fr.Diff, Msg: "objects would be applied (kubectl or the kubeconfig is not on the host yet)"}, nil
	}
	changed, text, note, err := j.diff(ctx, req.Conn)
	if err != nil {
		return Result{}, err
	}
	fileReq := *req
	fileReq.Diff = req.Diff && !changed
	res := Result{Cmd: j.kubectl(append(append([]string{"apply"}, j.ssaFlags()...), "-f", j.dest)...)}
	if req.Check || !changed {
		return j.predict(ctx, req, &fileReq, changed, text, note, res)
	}
	return j.apply(ctx, req, &fileReq, text, note, res)
}

// predict reports the objects' predicted change (check mode) or that they
// are up to date, and keeps the stored manifest current (only predicted
// in check mode).
func (j *k8sJob) predict(ctx context.Context, req, fileReq *Request, changed bool, text, note string, res Result) (Result, error) {
	fr, err := j.storeManifest(ctx, fileReq)
	if err != nil {
		return Result{}, err
	}
	res.Changed, res.Diff, res.Msg = changed || fr.Changed, fr.Diff, "objects up to date"
	if changed {
		res.Msg = joinNote("objects would change", note)
	} else if fr.Changed {
		res.Msg = "stored manifest " + fr.Msg
	}
	if !req.Check {
		res.Changes = fr.Changes
	}
	if req.Diff && changed {
		res.Diff = append(parseKubectlDiff(text), res.Diff...)
	}
	return res, nil
}

// apply saves the live objects, stores the manifest and applies it.
func (j *k8sJob) apply(ctx context.Context, req, fileReq *Request, text, note string, res Result) (Result, error) {
	fr, err := j.storeManifest(ctx, fileReq)
	if err != nil {
		return Result{}, err
	}
	undo, err := j.saveUndo(ctx, req, "applied")
	if err != nil {
		return Result{Changed: fr.Changed, Changes: fr.Changes}, err
	}
	res.Changed = true
	res.Changes = append(fr.Changes, undo)
	if req.Diff {
		res.Diff = parseKubectlDiff(text)
	}
	out, errs, rc, err := j.exec(ctx, req.Conn, res.Cmd, false)
	if err != nil {
		return res, err
	}
	res.RC, res.Stdout, res.Stderr = rc, strings.TrimRight(out, "\n"), strings.TrimRight(errs, "\n")
	res.Data = map[string]any{"dest": j.dest, "undo": undo.Backup}
	if rc != 0 {
		res.Failed, res.Msg = true, fmt.Sprintf("kubectl apply: rc %d", rc)
		return res, nil
	}
	res.Msg = joinNote("applied", note)
	return res, nil
}

// storeManifest writes the manifest to dest (0600: it may hold secrets),
// creating the folder; in check mode it only predicts.
func (j *k8sJob) storeManifest(ctx context.Context, req *Request) (Result, error) {
	pre, created, err := ensureParent(ctx, req, j.dest)
	if err != nil {
		return Result{}, err
	}
	fi := FileInfo{Path: j.dest}
	if !created || !req.Check {
		if fi, err = statDest(ctx, req.Conn, j.dest); err != nil {
			return Result{}, err
		}
	}
	spec := putSpec{dest: fi.Path, content: bytesContent(j.manifest), mode: "0600", force: true}
	res, err := putFile(ctx, req, spec, fi)
	if err != nil {
		return Result{}, err
	}
	return withParent(pre, created, res), nil
}

// absent deletes the manifest's objects that exist and are not already
// being deleted.
func (j *k8sJob) absent(ctx context.Context, req *Request) (Result, error) {
	if missing, err := j.noClusterYet(ctx, req); err != nil || missing {
		return Result{Msg: "no cluster to delete from yet"}, err
	}
	live, err := j.liveObjects(ctx, req.Conn)
	if err != nil {
		return Result{}, err
	}
	var present []map[string]any
	var names []string
	for _, o := range live {
		if !terminating(o) {
			present = append(present, o)
			names = append(names, refOf(o).String())
		}
	}
	cmd := j.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", "-")
	if len(present) == 0 {
		return Result{Msg: "objects absent", Cmd: cmd}, nil
	}
	res := Result{Changed: true, Cmd: cmd, Msg: "would delete " + strings.Join(names, ", ")}
	if req.Diff {
		before, err := listYAML(present, false)
		if err != nil {
			return Result{}, err
		}
		res.Diff = []Diff{{Path: j.dest + " (objects)", Before: string(before), After: ""}}
	}
	if req.Check {
		return res, nil
	}
	undo, err := j.saveUndo(ctx, req, "deleted")
	if err != nil {
		return Result{}, err
	}
	res.Changes = []Change{undo}
	out, errs, rc, err := j.exec(ctx, req.Conn, cmd, true)
	if err != nil {
		return res, err
	}
	res.RC, res.Stdout, res.Stderr = rc, strings.TrimRight(out, "\n"), strings.TrimRight(errs, "\n")
	if rc != 0 {
		res.Failed, res.Msg = true, fmt.Sprintf("kubectl delete: rc %d", rc)
		return res, nil
	}
	res.Msg = "deleted " + strings.Join(names, ", ")
	return res, nil
}

// noClusterYet is true in check mode when kubectl or the kubeconfig is not
// on the host: an earlier play of the same run would install them (the
// master role), so the cluster cannot be asked and the apply is predicted.
// Outside check mode a missing kubectl is an error of the diff.
func (j *k8sJob) noClusterYet(ctx context.Context, req *Request) (bool, error) {
	if !req.Check {
		return false, nil
	}
	cmd := "test -x " + shell.Quote(j.a.Kubectl) + " && test -r " + shell.Quote(j.a.Kubeconfig)
	err := req.Conn.Exec(ctx, cmd, nil, nil, nil)
	rc := ExitCode(err)
	if rc < 0 {
		return false, fmt.Errorf("k8s_apply %s: look for kubectl: %w", j.dest, err)
	}
	return rc != 0, nil
}

func joinNote(msg, note string) string {
	if note == "" {
		return msg
	}
	return msg + " (" + note + ")"
}
