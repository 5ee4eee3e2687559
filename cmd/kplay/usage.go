package main

// usageText is kplay's --help. Every flag of newPlayFlagSet appears here (a
// test checks it).
const usageText = `kplay runs Ansible-like playbooks on hosts over SSH (agentless; targets need only sh).

Usage:
  kplay [flags] PLAYBOOK...        run playbooks (flags may also follow the playbooks)
  kplay vars HOST [-i INV] [PLAYBOOK] [--explain]
                                   print a host's merged variables
  kplay init DIR                   write a ready environment folder (hosts.yaml, group_vars, kplay.yaml)
  kplay roles [show|export] ...    list, read or export the embedded roles
  kplay runs [show ID]             list the journaled runs, or print one run's journal
  kplay rollback [ID] [--check]    undo a run's changes (default: the newest run)
  kplay certs check                days left of every certificate, on the control machine and hosts
  kplay lab ...                    manage the local multi-host lab
  kplay version                    print the version
  kplay help                       print this help

A PLAYBOOK that is not a file is looked up among the playbooks embedded in kplay.
Settings in ./kplay.yaml (see kplay init) apply to runs; flags override them.

Flags:
  -i, --inventory FILE        inventory (YAML or INI); default ./hosts.yaml if present,
                              else an implicit localhost
  -e, --extra-vars VARS       extra variables, highest precedence; repeatable:
                              k=v pairs, @file.yaml, or inline JSON/YAML
  -C, --check                 dry run: change nothing, report what would change
  -D, --diff                  show the changes made to files as unified diffs
      --list-tasks            list the tasks of each play, touching no host
      --list-hosts            list the hosts of each play, touching no host
      --list-tags             list the tags of each play, touching no host
      --syntax-check          load and validate the playbooks, touching no host
  -l, --limit PATTERN         run on the hosts matching PATTERN only
  -t, --tags TAGS             run only tasks tagged with one of TAGS (comma-separated, repeatable)
      --skip-tags TAGS        skip tasks tagged with one of TAGS
      --start-at-task NAME    start each playbook at the task named NAME
      --force-handlers        run notified handlers on hosts that failed later (as force_handlers: true)
  -f, --forks N               hosts run in parallel (default: all hosts of a batch)
      --task-timeout SECS     fail a task on a host that runs longer (a task's timeout: wins)
  -v, --verbose               show task results (-v), commands (-vv), more (-vvv)
      --json                  write events as JSON lines on stdout, nothing else
      --no-color              no colours (they are also off when NO_COLOR is set or stdout
                              is not a terminal; CLICOLOR_FORCE=1 forces them)
      --no-progress           no live progress board under the log (it is shown only when
                              stdout is a terminal); see docs/progress.md
      --version               print the version
  -h, --help                  print this help

Journal (every change is recorded in .kplay/runs/<id>/ next to the inventory):
      --journal-dir DIR       keep run journals in DIR instead
      --no-journal            record no journal (no rollback, no resume)
      --resume[=ID]           resume the last (or the given) interrupted or failed run
      --rollback-on-failure   undo a host's changes of a play when it fails there

SSH:
      --known-hosts FILE      known_hosts file to check host keys against (repeatable;
                              the inventory variable kplay_known_hosts adds one)
      --accept-new-host-keys  accept and record keys of hosts not yet known
      --ssh-config FILE       read Host entries from this ssh_config file
      --connect-timeout SECS  SSH connect timeout (seconds or a duration like 500ms)
      --ssh-keepalive SECS    keepalive interval; a link silent for 4 of them is dead (default 15s)
      --private-key FILE      private key to authenticate with
  -k, --ask-pass              ask for the SSH password (on the terminal, no echo)
  -K, --ask-become-pass       ask for the sudo password (on the terminal, no echo)

Exit codes: 0 ok, 1 error, 2 a host failed, 3 a host unreachable,
4 playbook or inventory error, 5 bad options, 99 interrupted.
`
