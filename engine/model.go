package engine

import (
	"fmt"
	"io/fs"
)

// Pos is a place in a source file, carried by every loaded item so that
// errors name file:line:col.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string {
	if p.File == "" {
		return "?"
	}
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Playbook is a loaded playbook file: its plays in order.
type Playbook struct {
	Path  string
	Dir   string
	Plays []*Play
	// FS is the playbook's folder (on disk or embedded), where play tasks
	// find their templates/ and files/.
	FS fs.FS
}

// Play is one play. Values that may hold expressions are kept as loaded
// (any) and rendered at run time.
type Play struct {
	Pos         Pos
	Name        string
	Hosts       string
	Vars        map[string]any
	VarsFiles   []string
	Roles       []*RoleRef
	PreTasks    []*Task
	Tasks       []*Task // role tasks come first, expanded at load time
	PostTasks   []*Task
	Handlers    []*Task // play handlers and the handlers of its roles
	Serial      []any   // each a number or "N%"; empty = all hosts
	MaxFailPct  *float64
	AnyErrFatal bool
	GatherFacts bool
	Become      *bool
	BecomeUser  string
	Tags        []string
	Environment map[string]any
	// RollbackOnFailure rolls a host back when it fails in this play.
	RollbackOnFailure bool
	// ForceHandlers runs the handlers a host was notified of even after
	// the host failed (force_handlers).
	ForceHandlers bool
	// Secrets lists vars files whose values are masked in every output.
	Secrets []string
	// BecomeMethod, CheckMode, Diff, NoLog and IgnoreUnreachable are the
	// play-level defaults of the task keywords of the same names.
	BecomeMethod      string
	CheckMode         *bool
	Diff              *bool
	NoLog             bool
	IgnoreUnreachable bool
	// only, when not nil, restricts the play to these hosts (kplay
	// rollback runs a role's rollback tasks only where it undid changes).
	only []string
}

// RoleRef is a role named by a play's roles:, a dependency in meta/main.yaml
// or import_role/include_role, with the vars and conditions given there.
type RoleRef struct {
	Pos  Pos
	Name string
	Vars map[string]any
	When []string
	Tags []string
	Role *Role
	// Become and BecomeUser given on the reference apply to each of the
	// role's tasks that does not set its own (folded in at load time).
	Become     *bool
	BecomeUser string
}

// Role is a loaded role. FS is rooted at the role folder (tasks/, files/,
// templates/...), with per-environment overrides already layered in.
type Role struct {
	Name     string
	Path     string // for role_path and messages
	FS       fs.FS
	Defaults map[string]any
	Vars     map[string]any
	Deps     []*RoleRef
	Tasks    []*Task
	Handlers []*Task
	// Rollback holds tasks/rollback.yaml, run where the role failed and
	// rollback_on_failure is set.
	Rollback []*Task
	// Params are the vars given where the role was referenced (roles:
	// entry, dependency, import_role vars:); each reference loads its own
	// Role value.
	Params map[string]any
	// AllowDuplicates is meta/main.yaml's allow_duplicates.
	AllowDuplicates bool
	// Includer is the role whose task include_role'd this one (nil for a
	// play's roles and for an include_role among a play's tasks): what
	// the included tasks change is that role's to roll back.
	Includer *Role
}

// Task is a task, a handler or a block. A block has Block set and no Module.
type Task struct {
	Pos  Pos
	Name string
	// Module is the module or built-in action name (command, copy, debug,
	// set_fact, include_tasks, ...); Args its arguments, unrendered. A
	// free-form string is stored under "_raw_params".
	Module string
	Args   map[string]any

	When      []string // expressions, all must hold
	Loop      any      // a list, or an expression string yielding one
	LoopVar   string   // loop_control.loop_var, default "item"
	IndexVar  string   // loop_control.index_var
	LoopLabel string   // loop_control.label (expression)
	LoopPause any      // loop_control.pause: seconds between items
	// LoopWith is "" for loop:, "items" for with_items (flatten one level
	// at run time), "dict" for with_dict (items are {key, value}).
	LoopWith    string
	Register    string
	Until       string
	Retries     any // number or expression; default 3 when Until is set
	Delay       any // seconds or Go duration ("2s"); default 5s
	Timeout     any // timeout: seconds (or expression) after which the task fails on a host; nil = Options.TaskTimeout
	IgnoreErrs  bool
	IgnoreUnrch bool
	FailedWhen  []string
	ChangedWhen []string
	Notify      []string
	Listen      []string // handlers only
	Tags        []string
	RunOnce     bool
	DelegateTo  string
	CheckMode   *bool
	Diff        *bool
	Environment map[string]any
	Become      *bool
	BecomeUser  string
	// BecomeMethod is sudo (default) or su.
	BecomeMethod string
	Vars         map[string]any
	NoLog        bool
	Throttle     int
	// BoolExprs holds the boolean keywords written as templates
	// (ignore_errors: "{{ x }}"), keyword -> text; each is rendered for
	// every host before the task runs there and its field above is unset.
	BoolExprs map[string]string

	// Block, Rescue and Always are set on blocks.
	Block  []*Task
	Rescue []*Task
	Always []*Task

	// Role is the role the task came from, nil for play tasks.
	Role *Role
	// Parent is the enclosing block, nil at the top.
	Parent *Task
	// FS and Dir locate the file the task was read from (Dir is its folder
	// inside FS): include_tasks and template/copy src resolve from there.
	FS  fs.FS
	Dir string
	// Inherited conditions and tags from imports and blocks are already
	// folded into When and Tags at load time.
}

// IsBlock reports whether t is a block.
func (t *Task) IsBlock() bool { return t.Block != nil }

// DisplayName is the name shown in output: the task's name, or the module
// and its role as Ansible shows it.
func (t *Task) DisplayName() string {
	name := t.Name
	if name == "" {
		name = t.Module
	}
	if t.Role != nil {
		return t.Role.Name + " : " + name
	}
	return name
}
