package modules

import (
	"context"
	"errors"
	"io"
	"io/fs"
)

// Conn is what a module needs of a host: run one sh command line with its
// input and output streamed. transport.Conn satisfies it; modules do not
// import the transport package. A non-zero exit comes back as an error that
// has an ExitCode() int method (see ExitCode).
type Conn interface {
	Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error
}

// Module moves one aspect of a host toward what its args describe. Run twice
// with the same args, the second run reports Changed == false. In check mode
// it changes nothing and reports what it would change.
type Module interface {
	Run(ctx context.Context, req *Request) (Result, error)
}

// Request is everything a module gets for one host and one task. Fields may
// be added without breaking modules.
type Request struct {
	// Conn reaches the target host (already wrapped for become and
	// environment by the engine).
	Conn Conn
	// Host is the inventory hostname, for messages.
	Host string
	// Args are the task's arguments, every expression already rendered. A
	// free-form module (command, shell, raw, script) gets its string under
	// the key "_raw_params".
	Args map[string]any
	// Files resolves controller-side sources: "files/NAME" for copy, script
	// and unarchive; "templates/NAME" for template. The engine layers the
	// environment's role overrides, the role folder and the playbook folder.
	// Absolute names are not looked up here; modules open them with os.
	Files fs.FS
	// Render renders a text/template with the host's variables; name is used
	// in error messages.
	Render func(name string, text []byte) ([]byte, error)
	// Check is set in check mode: change nothing, predict the change.
	Check bool
	// Diff asks for Result.Diff on changes to file content.
	Diff bool
	// BackupSuffix, when not empty, is the suffix of backup files
	// (".<timestamp>.kplay~"); modules that write files with backup: true
	// save the old content as path+BackupSuffix.
	BackupSuffix string
	// Vars are the host's variables, for modules that need them beyond
	// Render (rarely). Read only.
	Vars map[string]any
}

// Result is what a module found and did. The engine, not the module, decides
// the final verdict after failed_when and changed_when.
type Result struct {
	Changed bool
	// Failed is set when the module ran but its goal was not met (a command
	// that exited non-zero, an assert that did not hold). Errors that stop
	// the module itself (bad args, I/O) are returned as error instead.
	Failed bool
	// Unknown is set in check mode when the module cannot predict whether
	// it would change anything (command/shell without creates/removes).
	Unknown bool
	// Skipped is set when a guard (creates/removes) says the work is done
	// and the module did nothing: shown as skipping, as Ansible shows
	// script and unarchive then.
	Skipped bool
	Msg     string
	Cmd     string
	RC      int
	Stdout  string
	Stderr  string
	// Data holds further return values, merged into the registered result
	// (stat's "stat", slurp's "content", ...).
	Data map[string]any
	// Diff lists before/after content for --diff.
	Diff []Diff
	// Changes are the journal entries that describe and undo what changed.
	Changes []Change
}

// Diff is one before/after pair shown by --diff.
type Diff struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Change is one journal entry: data, not a closure, because rollback runs in
// a later process. Kind is one of the Kind* constants.
type Change struct {
	Kind string `json:"kind"`
	// Path is the file, directory or link concerned.
	Path string `json:"path,omitempty"`
	// Action says what happened: "created", "modified", "removed",
	// "attrs", "started", "stopped", "restarted", "reloaded", "enabled",
	// "disabled", "installed", "removed", "set".
	Action string `json:"action"`
	// Existed tells whether Path existed before the change; if not,
	// rollback removes it.
	Existed bool `json:"existed"`
	// Backup is the path on the host of the saved old content, if any.
	Backup string `json:"backup,omitempty"`
	// Old attributes, so rollback can restore them.
	OldMode  string `json:"old_mode,omitempty"`
	OldOwner string `json:"old_owner,omitempty"`
	OldGroup string `json:"old_group,omitempty"`
	// OldTarget is a link's previous target.
	OldTarget string `json:"old_target,omitempty"`
	// OldKind is what stood at Path before: "file", "directory", "link".
	OldKind string `json:"old_kind,omitempty"`
	// Name is the service, package, sysctl key, user ... concerned.
	Name string `json:"name,omitempty"`
	// Old and New values for non-file changes (service state, sysctl value).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// Kinds of Change.
const (
	KindFile    = "file"
	KindService = "service"
	KindPackage = "package"
	KindSysctl  = "sysctl"
	KindUser    = "user"
	KindGroup   = "group"
	KindOther   = "other"
)

// ExitCode returns the exit status carried by err (an error with an
// ExitCode() int method, such as *transport.ExitError), 0 for nil, and -1
// for any other error.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return -1
}
