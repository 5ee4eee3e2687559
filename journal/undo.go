package journal

import (
	"fmt"
	"path"
	"strings"

	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/shell"
)

// undoScript returns one sh script that puts path back as the change found
// it, printing "changed" when it changed something (or would, with dry
// set) and nothing otherwise, and, when backupDir is set, saving the
// current content first under backupDir (mirroring the path, 0700) so the
// rollback itself can be undone; backups do not go next to the file, where
// they would keep a directory the run created from being removed. A line
// "entry ACTION EXISTED [BACKUP]" describes the rollback's journal entry.
func undoScript(c modules.Change, backupDir string, dry bool) string {
	var b strings.Builder
	// d and n are the folder and name of p, split here: $(dirname) would
	// drop a newline that ends a name.
	fmt.Fprintf(&b, "p=%s; d=%s; n=%s; b=%s; bd=%s; dry=%s\n", shell.Quote(c.Path), shell.Quote(path.Dir(c.Path)),
		shell.Quote(path.Base(c.Path)), shell.Quote(c.Backup), shell.Quote(backupDir), map[bool]string{true: "1", false: ""}[dry])
	// mp, md: where the current content is kept, backupDir mirroring the
	// path (a relative path too: inside backupDir, not next to it).
	mp := backupDir + "/" + strings.TrimPrefix(c.Path, "/")
	fmt.Fprintf(&b, "mp=%s; md=%s\n", shell.Quote(mp), shell.Quote(path.Dir(mp)))
	// cur: the attributes now, so the rollback's own entry can undo them.
	b.WriteString(`if [ -L "$p" ]; then k=link; elif [ -d "$p" ]; then k=directory; else k=file; fi
if [ -e "$p" ] || [ -L "$p" ]; then echo "cur $(stat -c '%a %U %G' -- "$p") $k"; fi
`)
	// save: keep what is there now, for the rollback's own journal.
	b.WriteString(`save() {
  if [ -n "$bd" ] && { [ -e "$p" ] || [ -L "$p" ]; }; then
    if [ -L "$p" ]; then echo "entry $1 yes"; echo "target $(readlink -- "$p")"; return 0; fi
    if [ -d "$p" ]; then echo "entry $1 yes"; return 0; fi
    mkdir -p -m 0700 -- "$md" && cp -P -p -- "$p" "$mp" || exit 1; echo "entry $1 yes $mp"
  else echo "entry $1 no"; fi
}
`)
	switch {
	case !c.Existed:
		b.WriteString(`if [ -L "$p" ] || [ -f "$p" ]; then
  echo changed; [ -n "$dry" ] && exit 0
  save removed; rm -f -- "$p" || exit 1
elif [ -d "$p" ]; then
  if [ -n "$dry" ]; then echo changed; exit 0; fi
  if [ -z "$(ls -A -- "$p")" ]; then echo changed; echo "entry removed yes"; rmdir -- "$p" || exit 1
  else echo "kept non-empty directory $p" >&2; fi
fi
`)
		return b.String()
	case c.OldKind == "link" && c.OldTarget != "":
		fmt.Fprintf(&b, "t=%s\n", shell.Quote(c.OldTarget))
		// (x keeps a newline that ends the target from $(...)'s trimming)
		b.WriteString(`if [ ! -L "$p" ] || { r=$(readlink -- "$p"; echo x); r=${r%x}; [ "${r%?}" != "$t" ]; }; then
  echo changed; [ -n "$dry" ] && exit 0
  save modified; rm -rf -- "$p.kplay-rb.tmp"; ln -s -- "$t" "$p.kplay-rb.tmp" && mv -f -T -- "$p.kplay-rb.tmp" "$p" || exit 1
fi
`)
		return b.String()
	case c.OldKind == "directory" && c.Backup == "":
		b.WriteString(`if [ ! -d "$p" ]; then
  echo changed; [ -n "$dry" ] && exit 0
  echo "entry created no"; mkdir -p -- "$p" || exit 1
fi
`)
	case c.Backup != "" && strings.HasSuffix(c.Backup, ".tar"):
		b.WriteString(`if [ ! -d "$p" ]; then
  echo changed; [ -n "$dry" ] && exit 0
  save modified; rm -f -- "$p"; mkdir -p -- "$p" && tar --no-unquote -x -p -f "$b" -C "$p" || exit 1
fi
`)
	case c.Backup != "":
		b.WriteString(`if [ ! -e "$b" ]; then echo "backup $b is missing" >&2; exit 3; fi
if [ -L "$p" ] || [ ! -f "$p" ] || ! cmp -s -- "$b" "$p"; then
  echo changed; [ -n "$dry" ] && exit 0
  if [ -e "$p" ] || [ -L "$p" ]; then save modified; else echo "entry created no"; fi
  t="$d/.$n.kplay-rb.$$"
  mkdir -p -- "$d" && cp -p -- "$b" "$t" && mv -f -- "$t" "$p" || { rm -f -- "$t"; exit 1; }
fi
`)
	}
	writeAttrs(&b, c)
	return b.String()
}

// writeAttrs restores mode and owner when they differ from the recorded
// ones; a restored backup already has them (cp -p), so this mostly serves
// attribute-only changes.
func writeAttrs(b *strings.Builder, c modules.Change) {
	if c.OldMode != "" {
		fmt.Fprintf(b, "m=%s\n", shell.Quote(strings.TrimLeft(c.OldMode, "0")))
		b.WriteString(`if [ -e "$p" ] && [ ! -L "$p" ] && [ "$(stat -c %a -- "$p")" != "${m:-0}" ]; then
  echo changed; [ -n "$dry" ] && exit 0; echo "entry attrs yes"; chmod "${m:-0}" -- "$p" || exit 1
fi
`)
	}
	if c.OldOwner != "" || c.OldGroup != "" {
		fmt.Fprintf(b, "o=%s; g=%s\n", shell.Quote(c.OldOwner), shell.Quote(c.OldGroup))
		b.WriteString(`cur="$(stat -c %U:%G -- "$p" 2>/dev/null)"
want="${o:-${cur%%:*}}:${g:-${cur#*:}}"
if [ -e "$p" ] && [ "$cur" != "$want" ]; then
  echo changed; [ -n "$dry" ] && exit 0; echo "entry attrs yes"; chown -h -- "$want" "$p" || exit 1
fi
`)
	}
}

// serviceScript returns a script that puts a systemd unit back in the state
// recorded in old: "active"/"inactive" for running state, and
// "enabled"/"disabled" for boot state. restart asks for a restart of an
// active unit whose files the rollback changed.
func serviceScript(unit, running, boot string, restart, dry bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "u=%s; dry=%s\n", shell.Quote(unit), map[bool]string{true: "1", false: ""}[dry])
	b.WriteString("systemctl daemon-reload >/dev/null 2>&1 || true\n")
	switch boot {
	case "enabled", "disabled":
		fmt.Fprintf(&b, `if [ "$(systemctl is-enabled -- "$u" 2>/dev/null)" != %s ]; then
  echo changed; [ -n "$dry" ] || systemctl %s -- "$u" || exit 1
fi
`, boot, strings.TrimSuffix(boot, "d"))
	}
	switch {
	case running == "inactive":
		b.WriteString(`if systemctl is-active --quiet -- "$u"; then echo changed; [ -n "$dry" ] || systemctl stop -- "$u" || exit 1; fi
`)
	case running == "active" && restart:
		b.WriteString(`echo changed; [ -n "$dry" ] || systemctl restart -- "$u" || exit 1
`)
	case running == "active":
		b.WriteString(`if ! systemctl is-active --quiet -- "$u"; then echo changed; [ -n "$dry" ] || systemctl start -- "$u" || exit 1; fi
`)
	}
	return b.String()
}

// otherScript undoes a change that is not a file or a service: a package
// the run installed is removed again, a kernel parameter gets its old
// value back. What cannot be undone safely (a package upgrade or removal:
// the old version may be gone from the mirror) returns no script and says
// so.
func otherScript(c modules.Change, dry bool) (script, what string) {
	d := map[bool]string{true: "1", false: ""}[dry]
	switch {
	case c.Kind == modules.KindPackage && c.Action == "installed":
		return fmt.Sprintf(`n=%s; dry=%s
if command -v dpkg-query >/dev/null 2>&1; then
  if [ "$(dpkg-query -W -f='${db:Status-Status}' -- "$n" 2>/dev/null)" = installed ]; then
    echo changed; [ -n "$dry" ] || DEBIAN_FRONTEND=noninteractive apt-get remove -y -q -- "$n" >/dev/null || exit 1
  fi
elif rpm -q -- "$n" >/dev/null 2>&1; then
  echo changed; [ -n "$dry" ] || { dnf remove -y -q "$n" || yum remove -y -q "$n"; } >/dev/null || exit 1
fi
`, shell.Quote(c.Name), d), "remove package " + c.Name
	case c.Kind == modules.KindSysctl && c.Old != "":
		return fmt.Sprintf(`k=%s; v=%s; dry=%s
cur="$(sysctl -n -- "$k" 2>/dev/null | tr -s ' \t' '  ')"
if [ "$cur" != "$v" ]; then echo changed; [ -n "$dry" ] || sysctl -q -w "$k=$v" || exit 1; fi
`, shell.Quote(c.Name), shell.Quote(c.Old), d), "sysctl " + c.Name + " back to " + c.Old
	case c.Kind == modules.KindUser && c.Action == "created":
		return fmt.Sprintf(`n=%s; dry=%s
if getent passwd -- "$n" >/dev/null 2>&1; then echo changed; [ -n "$dry" ] || userdel -- "$n" || exit 1; fi
`, shell.Quote(c.Name), d), "remove user " + c.Name
	case c.Kind == modules.KindGroup && c.Action == "created":
		return fmt.Sprintf(`n=%s; dry=%s
if getent group -- "$n" >/dev/null 2>&1; then echo changed; [ -n "$dry" ] || groupdel -- "$n" || exit 1; fi
`, shell.Quote(c.Name), d), "remove group " + c.Name
	case c.Kind == modules.KindOther && c.Name == "hostname" && c.Old != "":
		return fmt.Sprintf(`n=%s; dry=%s
if [ "$(hostname)" != "$n" ]; then echo changed; [ -n "$dry" ] || hostnamectl --transient set-hostname -- "$n" 2>/dev/null || hostname -- "$n" || exit 1; fi
`, shell.Quote(c.Old), d), "hostname back to " + c.Old
	case c.Kind == modules.KindOther && strings.HasPrefix(c.Name, "module ") && c.Action == "loaded":
		m := strings.TrimPrefix(c.Name, "module ")
		return fmt.Sprintf(`m=%s; dry=%s
if grep -q "^$m " /proc/modules 2>/dev/null; then echo changed; [ -n "$dry" ] || modprobe -r -- "$m" || exit 1; fi
`, shell.Quote(m), d), "unload module " + m
	case c.Kind == modules.KindK8s && c.Backup != "":
		// k8s_apply left an undo script next to the manifest: it deletes
		// the objects the run created and re-applies the saved ones.
		return fmt.Sprintf(`s=%s; dry=%s
if [ ! -f "$s" ]; then echo "undo script $s is missing" >&2; exit 3; fi
sh "$s" ${dry:+check} || exit 1
`, shell.Quote(c.Backup), d), "kubernetes objects of " + c.Path + " back as before they were " + c.Action
	}
	return "", fmt.Sprintf("%s %s %s: not undone automatically", c.Kind, c.Name, c.Action)
}

// cleanupScript removes backups the run made of a file it had created
// (they hold content that did not exist before the run either).
func cleanupScript(backups []string, dry bool) string {
	if len(backups) == 0 || dry {
		return ""
	}
	return "rm -f -- " + shell.Join(backups...) + "\n"
}
