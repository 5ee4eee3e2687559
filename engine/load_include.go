package engine

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/shell"
)

// IncludePath finds the tasks file that include_tasks or import_tasks of t
// names: relative to t's own file, then in its role's tasks/ folder.
func IncludePath(t *Task, file string) (fs.FS, string, bool) {
	if t == nil {
		return nil, "", false
	}
	if t.FS != nil {
		if fsys, name, ok := resolvePath(t.FS, t.Dir, file); ok && exists(fsys, name, false) {
			return fsys, name, true
		}
	}
	if t.Role != nil && t.Role.FS != nil {
		if fsys, name, ok := resolvePath(t.Role.FS, "tasks", file); ok && exists(fsys, name, false) {
			return fsys, name, true
		}
	}
	return nil, "", false
}

// FindFile finds the file a task's src (kind "templates" or "files") or
// include_vars (kind "vars") names, as Ansible searches: the role's
// <kind>/ folder and the task's folder, then the playbook's <kind>/
// folder and the playbook folder. pb may be nil. Directories count as
// found for kind "files" (copy of a folder).
func FindFile(pb *Playbook, t *Task, kind, name string) (fs.FS, string, error) {
	var pbFS fs.FS
	if pb != nil {
		pbFS = pb.FS
	}
	if t == nil {
		t = &Task{}
	}
	var looked []string
	for _, p := range searchPlaces(pbFS, t, kind, name) {
		fsys, rel, ok := resolvePath(p.fsys, p.dir, name)
		if !ok {
			continue
		}
		if exists(fsys, rel, kind == "files") {
			return fsys, rel, nil
		}
		looked = append(looked, displayName(fsys, rel))
	}
	return nil, "", fmt.Errorf("%q not found (looked in %s)", name, strings.Join(dedup(looked), ", "))
}

type place struct {
	fsys fs.FS
	dir  string
}

func searchPlaces(pbFS fs.FS, t *Task, kind, name string) []place {
	if filepath.IsAbs(name) {
		return []place{{fsys: newDirFS("/"), dir: "."}}
	}
	var out []place
	if t.Role != nil && t.Role.FS != nil {
		out = append(out, place{t.Role.FS, kind}, place{t.Role.FS, "."})
	}
	if t.FS != nil {
		if t.Role == nil {
			out = append(out, place{t.FS, path.Join(t.Dir, kind)})
		}
		out = append(out, place{t.FS, t.Dir})
	}
	if pbFS != nil {
		out = append(out, place{pbFS, kind}, place{pbFS, "."})
	}
	return out
}

func dedup(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// importTasks expands import_tasks: the file's tasks, with the import's
// when/tags/vars/become folded into each.
func (l *loader) importTasks(c *taskCtx, t *Task, rt *rawTask) []*Task {
	l.checkStaticImport(c, t, rt)
	file, static, ok := l.requiredArg(c, t, rt, "file")
	if !ok {
		return nil
	}
	if !static {
		l.errorf(c.src, rt.argNode(t, "file"), "%s: import_tasks: file %q cannot hold {{ }} (imports are static); use include_tasks", label(t), file)
		return nil
	}
	fsys, name, ok := IncludePath(t, file)
	if !ok {
		l.errorf(c.src, rt.argNode(t, "file"), "%s: import_tasks: no such file %q", label(t), file)
		return nil
	}
	tasks := l.tasksFile(fsys, name, taskCtx{role: c.role, handler: c.handler, parent: c.parent})
	applyImport(tasks, t)
	return tasks
}

// applyImport folds an import's keywords into the imported tasks.
func applyImport(tasks []*Task, imp *Task) {
	fold(tasks, imp.When, imp.Tags)
	walkTasks(tasks, func(t *Task) {
		if len(imp.Vars) > 0 {
			merged := make(map[string]any, len(imp.Vars)+len(t.Vars))
			for k, v := range imp.Vars {
				merged[k] = v
			}
			for k, v := range t.Vars {
				merged[k] = v
			}
			t.Vars = merged
		}
		if expr := imp.BoolExprs["become"]; expr != "" && t.Become == nil && t.BoolExprs["become"] == "" {
			if t.BoolExprs == nil {
				t.BoolExprs = map[string]string{}
			}
			t.BoolExprs["become"] = expr
		}
		if t.Become == nil && t.BoolExprs["become"] == "" {
			t.Become = imp.Become
		}
		if t.BecomeUser == "" {
			t.BecomeUser = imp.BecomeUser
		}
	})
}

// roleFromArgs reads tasks_from & co. of import_role/include_role.
func roleFromArgs(args map[string]any) roleFrom {
	get := func(k string) string {
		s, _ := modules.ToString(args[k])
		return s
	}
	return roleFrom{tasks: get("tasks_from"), vars: get("vars_from"), defaults: get("defaults_from"), handlers: get("handlers_from")}
}

// importRole expands import_role: the role's tasks (dependencies first)
// in place, its handlers added to the play's.
func (l *loader) importRole(c *taskCtx, t *Task, rt *rawTask) []*Task {
	l.checkStaticImport(c, t, rt)
	name, static, ok := l.requiredArg(c, t, rt, "name")
	if !ok {
		return nil
	}
	if !static {
		l.errorf(c.src, rt.argNode(t, "name"), "%s: import_role: name %q cannot hold {{ }} (imports are static); use include_role", label(t), name)
		return nil
	}
	ref := &RoleRef{Pos: t.Pos, Name: name, Vars: t.Vars, When: t.When, Tags: t.Tags}
	ref.Role = l.loadRole(ref, roleFromArgs(t.Args))
	tasks, handlers := l.expandRole(ref, nil, nil, map[string]bool{})
	if l.play != nil {
		l.play.handlers = append(l.play.handlers, handlers...)
	}
	applyImport(tasks, &Task{Become: t.Become, BecomeUser: t.BecomeUser, BoolExprs: t.BoolExprs})
	return tasks
}

// includeRole checks an include_role whose name is static: the role must
// exist and load cleanly. The runner loads it again with LoadRole.
func (l *loader) includeRole(c *taskCtx, t *Task, rt *rawTask) {
	name, static, ok := l.requiredArg(c, t, rt, "name")
	if !ok || !static {
		return
	}
	mark := 0
	if l.play != nil {
		mark = len(l.play.notifies)
	}
	ref := &RoleRef{Pos: t.Pos, Name: name}
	ref.Role = l.loadRole(ref, roleFromArgs(t.Args))
	if l.play == nil || ref.Role == nil {
		return
	}
	_, handlers := ExpandRole(ref.Role)
	own := handlerNames(handlers)
	kept := l.play.notifies[:mark]
	for _, n := range l.play.notifies[mark:] {
		if !own[n.name] {
			kept = append(kept, n)
		}
	}
	l.play.notifies = kept
}

// includeFile checks include_tasks and include_vars whose file is static:
// the file must exist and parse. Tasks files are checked once per load.
func (l *loader) includeFile(c *taskCtx, t *Task, rt *rawTask) {
	file, static, ok := l.requiredArg(c, t, rt, "file")
	if !ok || !static {
		return
	}
	if t.Module == "include_vars" {
		fsys, name, err := FindFile(l.pb, t, "vars", file)
		if err != nil {
			l.errorf(c.src, rt.argNode(t, "file"), "%s: include_vars: %v", label(t), err)
			return
		}
		l.varsFile(fsys, name)
		return
	}
	fsys, name, ok := IncludePath(t, file)
	if !ok {
		l.errorf(c.src, rt.argNode(t, "file"), "%s: include_tasks: no such file %q", label(t), file)
		return
	}
	key := displayName(fsys, name)
	if l.checked[key] {
		return
	}
	l.checked[key] = true
	l.tasksFile(fsys, name, taskCtx{role: c.role, handler: c.handler, parent: t})
}

// checkSrcFile checks that the static src of template and copy exists,
// and compiles template files.
func (l *loader) checkSrcFile(c *taskCtx, t *Task, rt *rawTask) {
	kind := map[string]string{"template": "templates", "copy": "files", "script": "files"}[t.Module]
	src, _ := t.Args["src"].(string)
	argKey := "src"
	if t.Module == "script" {
		raw, _ := t.Args["_raw_params"].(string)
		if words, err := shell.Split(raw); err == nil && len(words) > 0 {
			src, argKey = words[0], "_raw_params"
		}
		if _, ok := t.Args["cmd"]; ok {
			return
		}
	}
	if kind == "" || src == "" || IsTemplated(src) {
		return
	}
	if remote, _ := modules.ToBool(t.Args["remote_src"]); remote {
		return
	}
	fsys, name, err := FindFile(l.pb, t, kind, src)
	if err != nil {
		l.errorf(c.src, rt.argNode(t, argKey), "%s: %s: %s %v", label(t), t.Module, map[string]string{"src": "src", "_raw_params": "script"}[argKey], err)
		return
	}
	if t.Module != "template" || l.eval == nil {
		return
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		l.errorf(c.src, rt.argNode(t, "src"), "%s: template: read %s: %s", label(t), displayName(fsys, name), errText(err))
		return
	}
	if err := l.eval.CheckTemplate(displayName(fsys, name), data); err != nil {
		l.errorf(c.src, rt.argNode(t, "src"), "%s: template: %v", label(t), err)
	}
}

// handlerNames are the names a list of handlers answers to: name,
// "role : name" and listen topics.
func handlerNames(handlers []*Task) map[string]bool {
	names := map[string]bool{}
	walkTasks(handlers, func(h *Task) {
		if h.Name != "" {
			names[h.Name] = true
		}
		if h.Role != nil && h.Name != "" {
			names[h.Role.Name+" : "+h.Name] = true
		}
		for _, t := range h.Listen {
			names[t] = true
		}
	})
	return names
}
