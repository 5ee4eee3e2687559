// Package modules holds kplay's modules and the remote file helpers they
// share. A module moves one aspect of a host toward what its arguments
// describe, talking to the host only through Conn (one sh command line per
// call, input and output streamed), so the local and SSH transports behave
// the same and targets need nothing but sh and coreutils.
//
// # The module contract
//
// Every module decodes its arguments strictly (Decode with `arg:` tags: an
// unknown or misspelled argument is an error, never ignored) and then keeps
// four promises, which the tests check for every module against
// transport.Local in a temporary folder:
//
//   - Idempotence: run twice with the same arguments, the second run
//     reports Changed == false and touches nothing. Modules compare before
//     they act (checksums computed on the host, attributes from one stat)
//     rather than acting and reporting blindly. The exceptions are the
//     ones Ansible has: command, shell, script and raw without
//     creates/removes, and file state=touch (the times move).
//   - Check mode (Request.Check): change nothing on the host, and report
//     exactly the change the real run would make: the same Changed, the
//     same Diff. No journal entries are returned in check mode. A module
//     that cannot know (command without creates/removes) sets Unknown.
//   - Diff (Request.Diff): Result.Diff holds the before/after text of a
//     changed file when both sides are valid UTF-8 without NUL and at most
//     1 MiB; otherwise a one-line "(binary or large file: N bytes, sha256
//     ...)" note stands for the side that cannot be shown. Attribute and
//     kind changes (mode, owner, link target, absent) are shown as short
//     before/after lines.
//   - Undo: Result.Changes are the journal entries (Change) that let
//     rollback, in a later process, put the host back. They are data, not
//     closures.
//
// # Writing files
//
// All file content goes through WriteFile/WriteFileWith: a temp file
// ".<name>.kplay-<random>.tmp" in the destination's folder is created
// exclusively (sh noclobber, i.e. O_EXCL) under umask 077, so the content
// is never readable by others, even for the first byte; content is
// streamed from stdin (a 50 MB file is never held in memory); the final
// mode and owner are set on the temp file; the optional validate command
// runs on it; the old file is backed up; and mv renames the temp file over
// the destination. Readers see the old file or the new one, never a part.
// An EXIT trap removes the temp file on any failure, including a failed
// validate, which leaves the destination untouched. With no mode or owner
// asked, an existing file keeps its own; a new file gets 0644.
//
// Writes follow symbolic links: a destination that is a link has the file
// it points to replaced, and the link stays (as Ansible's lineinfile and
// blockinfile do; for copy and template this is also the safer choice for
// links such as /etc/resolv.conf).
//
// # Backups and the journal
//
// Ansible's backup: true asks for a user-visible backup file. The journal
// needs the old content whether or not the user asked, so kplay always
// saves it: whenever a module replaces the content of an existing file it
// first copies the old file with cp -p (mode, owner and times kept) to
// path+Request.BackupSuffix (".<timestamp>.kplay~"; path+suffix.N if that
// name is taken, so two tasks changing one file in one run each keep their
// own "before"). The Change entry records that path as Backup. backup: true
// only adds Result.Data["backup_file"], as Ansible reports it. Attribute-
// only changes make no backup: the entry records the old mode, owner and
// group instead.
//
// A Change for a file carries what rollback needs:
//
//   - created (Existed false): rollback removes the path. Folders created
//     on the way (copy to a new folder, lineinfile create, file
//     state=directory) get one entry each, outermost first, so the
//     backward walk removes the innermost first.
//   - modified (Existed true, Backup): rollback copies Backup back; OldMode,
//     OldOwner, OldGroup and OldKind say what stood there.
//   - attrs: rollback restores OldMode/OldOwner/OldGroup (file with
//     recurse gives one entry per path it changed).
//   - removed (file state=absent) and links that replaced a file: a file
//     or link is moved aside with mv to path+suffix (atomic, loses
//     nothing) and Backup names it; a link's old target is in OldTarget; a
//     folder's content is archived with tar (path+suffix.tar, tar -C path
//     -cf ... .) before rm -rf, so rollback restores it with mkdir -p path
//     and tar -x -p -f backup -C path. OldKind tells which.
//
// fetch changes only the control machine and returns no entries; script,
// stat and slurp return none either (a script's effects are unknown; stat
// and slurp change nothing).
//
// # Patterns
//
// lineinfile, blockinfile and replace use Go's regexp (RE2) instead of
// Python's re. Most patterns are the same; the differences: no
// backreferences inside a pattern and no lookahead/lookbehind (an error at
// the start of the task, never a silent mismatch); \Z is written \z; and
// lineinfile matches each line without its trailing newline, so "$"
// anchors at the end of the line as it does in Python. Replacement
// strings keep Python's syntax (\1, \g<1>, \g<name>), so Ansible playbooks
// port unchanged; "$" in a replacement is a plain dollar sign.
//
// # Tools assumed on the host
//
// GNU coreutils (stat -c/--printf, chmod/chown --reference, readlink -f,
// mv -T, sha256sum, mktemp), plus tar for archiving a removed folder and
// GNU find for file recurse. Busybox-only hosts are not supported.
package modules
