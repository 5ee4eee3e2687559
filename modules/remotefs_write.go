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
	"strconv"
	"strings"

	"github.com/kplay/kplay/shell"
)

// Attrs are the ownership and permissions a task asks for. Empty fields
// mean "leave as it is" (or the default for a new file). Mode is octal
// ("0644"); symbolic modes are resolved by the modules before they get here.
type Attrs struct {
	Mode  string
	Owner string
	Group string
}

// WriteOptions extend WriteFile for the modules that need more than
// attributes.
type WriteOptions struct {
	Attrs
	// Validate is a command with "%s", run on the temp file before the
	// rename ("nginx -t -c %s"); a non-zero exit leaves the destination
	// untouched and returns a *ValidateError.
	Validate string
	// BackupSuffix, when set and the destination exists, saves it first
	// with cp -p as path+suffix (made unique as ".<time>.1.kplay~" ... when that
	// name is taken) in the same round trip.
	BackupSuffix string
	// MakeParents creates the missing folders above the destination
	// first (mkdir -p under umask 022, as MkdirAll), in the same round
	// trip.
	MakeParents bool
}

// ValidateError reports a validate command that rejected the new content.
type ValidateError struct {
	Cmd    string
	RC     int
	Output string
}

func (e *ValidateError) Error() string {
	return fmt.Sprintf("failed to validate with %q: rc %d: %s", e.Cmd, e.RC, strings.TrimSpace(e.Output))
}

// Exit codes the write script uses to tell its failures apart.
const (
	rcTempExists = 97
	rcValidate   = 98
)

// WriteFile replaces path on the host atomically with the bytes of r: a
// temp file in the same folder is created exclusively (noclobber) under
// umask 077, filled from stdin as a stream, given its final mode and owner,
// then renamed over path. Readers see the old or the new file, never a
// partial one, and the new content is never readable by others before its
// mode is set. Empty attrs keep an existing file's mode and owner; a new
// file gets 0644. The rename replaces whatever is at path, a link
// included: modules that write through links resolve path first.
func WriteFile(ctx context.Context, c Conn, path string, r io.Reader, attrs Attrs) error {
	_, err := WriteFileWith(ctx, c, path, r, WriteOptions{Attrs: attrs})
	return err
}

// WriteFileWith is WriteFile with validation and a backup of the old
// content; it returns the backup's path ("" when none was made).
func WriteFileWith(ctx context.Context, c Conn, dest string, r io.Reader, o WriteOptions) (string, error) {
	if o.Validate != "" && !strings.Contains(o.Validate, "%s") {
		return "", fmt.Errorf("write %s: validate must contain %%s: %q", dest, o.Validate)
	}
	tmp, err := tempName(dest)
	if err != nil {
		return "", err
	}
	var out, errb bytes.Buffer
	err = c.Exec(ctx, writeScript(dest, tmp, o), r, &out, &errb)
	switch rc := ExitCode(err); rc {
	case 0:
		return backupFrom(&out), nil
	case rcValidate:
		return "", &ValidateError{Cmd: o.Validate, RC: validateRC(errb.String()), Output: errb.String()}
	case rcTempExists:
		return "", fmt.Errorf("write %s: temp file %s exists: %w", dest, tmp, err)
	}
	return "", execErr("write", dest, err, &errb)
}

// tempName picks a random hidden name next to dest.
func tempName(dest string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("temp name for %s: %w", dest, err)
	}
	return path.Join(path.Dir(dest), "."+path.Base(dest)+".kplay-"+hex.EncodeToString(b[:])+".tmp"), nil
}

// writeScript builds the one sh script of an atomic write. The temp file is
// opened with noclobber (O_EXCL) under umask 077; the EXIT trap that
// removes it is set only once it is ours.
func writeScript(dest, tmp string, o WriteOptions) string {
	var b strings.Builder
	if o.MakeParents {
		b.WriteString("umask 022\nmkdir -p -- " + shell.Quote(path.Dir(dest)) + " || exit 1\n")
	}
	b.WriteString("umask 077\n")
	b.WriteString("d=" + shell.Quote(dest) + "; t=" + shell.Quote(tmp) + "\n")
	b.WriteString("trap 'exit 1' HUP INT TERM\n")
	// The EXIT trap is set before the temp file is created, so a signal
	// between its creation and the first byte cannot leave it behind; it
	// removes the file once it is ours (o set), or while it is still empty
	// (never someone else's content, were the random name ever taken).
	b.WriteString(`o=; trap '{ [ -n "$o" ] || [ ! -s "$t" ]; } && rm -f -- "$t"' EXIT` + "\n")
	b.WriteString("set -C\n")
	b.WriteString(`{ o=1; cat; } > "$t" || { [ -n "$o" ] && exit 1; [ -e "$t" ] && exit ` + strconv.Itoa(rcTempExists) + "; exit 1; }\n")
	b.WriteString("set +C\n")
	if o.Mode != "" {
		b.WriteString("chmod " + shell.Quote(o.Mode) + ` -- "$t" || exit 1` + "\n")
	} else {
		b.WriteString(`if [ -e "$d" ]; then chmod --reference="$d" -- "$t"; else chmod 0644 -- "$t"; fi || exit 1` + "\n")
	}
	// Keep the old owner and group (only root may give a file away), then
	// apply what the task asks.
	b.WriteString(`if [ -e "$d" ]; then chown --reference="$d" -- "$t" 2>/dev/null || [ "$(id -u)" != 0 ] || exit 1; fi` + "\n")
	b.WriteString(chownCmd(`"$t"`, o.Attrs))
	if o.Validate != "" {
		cmd := strings.ReplaceAll(o.Validate, "%s", shell.Quote(tmp))
		b.WriteString("v=0; sh -c " + shell.Quote(cmd) + " >&2 || v=$?\n")
		b.WriteString(`if [ "$v" != 0 ]; then echo "kplay-validate-rc=$v" >&2; exit ` + strconv.Itoa(rcValidate) + "; fi\n")
	}
	if o.BackupSuffix != "" {
		b.WriteString(`if [ -e "$d" ]; then ` + backupCmd(`"$d"`, o.BackupSuffix) + "; fi\n")
	}
	b.WriteString(`mv -f -- "$t" "$d" || exit 1` + "\n")
	b.WriteString("trap - EXIT\n")
	return b.String()
}

// chownCmd changes owner and/or group of the (already quoted) target.
func chownCmd(target string, a Attrs) string {
	switch {
	case a.Owner != "" && a.Group != "":
		return "chown " + shell.Quote(a.Owner+":"+a.Group) + " -- " + target + " || exit 1\n"
	case a.Owner != "":
		return "chown " + shell.Quote(a.Owner) + " -- " + target + " || exit 1\n"
	case a.Group != "":
		return "chgrp " + shell.Quote(a.Group) + " -- " + target + " || exit 1\n"
	}
	return ""
}

// backupCmd copies src (a quoted shell word) to src+suffix, or to the first
// free numbered name, keeping mode, owner and times, and prints the name
// chosen after a marker line. suffix is the raw suffix (".<time>.kplay~"); a name already taken gets a
// number before ".kplay~" (".<time>.1.kplay~"), so every backup still ends
// in .kplay~.
func backupCmd(src, suffix string) string {
	stem, tail := suffix, ""
	if strings.HasSuffix(suffix, ".kplay~") {
		stem, tail = strings.TrimSuffix(suffix, ".kplay~"), ".kplay~"
	}
	s, t := shell.Quote(stem), shell.Quote(tail)
	return `b=` + src + s + t + `; n=0; while [ -e "$b" ] || [ -L "$b" ]; do n=$((n+1)); b=` + src + s + `.$n` + t + `; done; ` +
		`cp -p -- ` + src + ` "$b" || exit 1; printf 'kplay-backup\n%s' "$b"`
}

// backupFrom reads the name printed by backupCmd.
func backupFrom(out *bytes.Buffer) string {
	_, name, ok := strings.Cut(out.String(), "kplay-backup\n")
	if !ok {
		return ""
	}
	return name
}

func validateRC(stderr string) int {
	i := strings.LastIndex(stderr, "kplay-validate-rc=")
	if i < 0 {
		return -1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(stderr[i+len("kplay-validate-rc="):]))
	return n
}

// Backup copies path to path+suffix on the host with cp -p (mode, owner
// and times kept), choosing path+suffix.N when that name is taken, and
// returns the name used.
func Backup(ctx context.Context, c Conn, path, suffix string) (string, error) {
	if suffix == "" {
		return "", errors.New("backup " + path + ": empty suffix")
	}
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, backupCmd(shell.Quote(path), suffix), nil, &out, &errb); err != nil {
		return "", execErr("backup", path, err, &errb)
	}
	return backupFrom(&out), nil
}

// Remove deletes path on the host (recursively for a directory); a path
// that is already gone is not an error.
func Remove(ctx context.Context, c Conn, path string) error {
	var errb bytes.Buffer
	if err := c.Exec(ctx, "rm -rf -- "+shell.Quote(path), nil, nil, &errb); err != nil {
		return execErr("remove", path, err, &errb)
	}
	return nil
}

// MkdirAll creates path and its missing parents; attrs apply to path only
// (parents get 0755 and the connecting user, as mkdir -p gives them).
func MkdirAll(ctx context.Context, c Conn, path string, attrs Attrs) error {
	q := shell.Quote(path)
	cmd := "umask 022\nmkdir -p -- " + q + " || exit 1\n"
	if attrs.Mode != "" {
		cmd += "chmod " + shell.Quote(attrs.Mode) + " -- " + q + " || exit 1\n"
	}
	cmd += chownCmd(q, attrs)
	var errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, nil, &errb); err != nil {
		return execErr("mkdir", path, err, &errb)
	}
	return nil
}

// SetAttrs applies mode, owner and group to path in one round trip; empty
// fields are left alone. A link's own attributes are never changed: chmod
// and chown act on what it points to, as Ansible's file module does by
// default.
func SetAttrs(ctx context.Context, c Conn, path string, attrs Attrs) error {
	q := shell.Quote(path)
	cmd := ""
	if attrs.Mode != "" {
		cmd += "chmod " + shell.Quote(attrs.Mode) + " -- " + q + " || exit 1\n"
	}
	cmd += chownCmd(q, attrs)
	if cmd == "" {
		return nil
	}
	var errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, nil, &errb); err != nil {
		return execErr("set attributes of", path, err, &errb)
	}
	return nil
}
