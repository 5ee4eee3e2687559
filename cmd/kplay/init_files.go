package main

// The files kplay init writes besides group_vars/all.yaml (which is
// generated from the roles' defaults, see groupVarsAll).

// initHosts is the environment's inventory: the groups the shipped
// playbooks use, with commented example hosts.
const initHosts = `# hosts.yaml: the machines of this cluster and the groups (roles) they are in.
# Uncomment the example lines and put your hosts' names and addresses
# (192.0.2.0/24 is reserved for documentation: replace every address).
# Groups left empty are allowed; a host may be in several groups.
#
# Per-host variables the shipped roles read:
#   ansible_host  address kplay connects to (default: the host's name)
#   ip            the host's address on the cluster network, used in
#                 certificates and peer URLs (default: ansible_host)
#   node_name     name of the node / etcd member (default: the host's name)
#   lb_priority   keepalived priority on an lb host (default: 120, 110, ...)
#   ansible_user, ansible_port, ansible_ssh_private_key_file: how to log in
# Variables for every host go in group_vars/all.yaml.
all:
  vars:
    # User kplay logs in as. The shipped roles need root: log in as root,
    # or as a sudoer with become on (-K asks for the sudo password); then
    # also write host_vars/localhost.yaml with "ansible_become: false", so
    # the tasks run on this control machine do not use sudo here.
    # ansible_user: root
    # ansible_become: true
    # Address of the control plane's virtual IP, held by the lb group.
    # vip: 192.0.2.100
  children:
    # etcd members: 1, 3 or 5 hosts (an odd number).
    etcd:
      hosts:
        # m1: {ansible_host: 192.0.2.11}
        # m2: {ansible_host: 192.0.2.12}
        # m3: {ansible_host: 192.0.2.13}
    # keepalived + L4 load balancer holding the VIP in front of the
    # apiservers: 2 hosts. Leave it empty to run them on the masters.
    lb:
      hosts:
        # lb1: {ansible_host: 192.0.2.21}
        # lb2: {ansible_host: 192.0.2.22}
    # Kubernetes control plane (apiserver, controller-manager, scheduler).
    master:
      hosts:
        # m1:
        # m2:
        # m3:
    # Kubernetes workers (kubelet, kube-proxy).
    node:
      hosts:
        # w1: {ansible_host: 192.0.2.31}
        # w2: {ansible_host: 192.0.2.32}
`

// initConfig is the environment's kplay.yaml, kplay's ansible.cfg. Every
// key is one that applyConfig reads.
const initConfig = `# kplay.yaml: settings of kplay runs started in this folder, as ansible.cfg
# is for Ansible. kplay reads ./kplay.yaml (or the file named by
# $KPLAY_CONFIG); flags given on the command line override it. Relative
# paths are relative to this file's folder.

# Inventory (-i/--inventory): the hosts and groups of this environment.
inventory: hosts.yaml

# Hosts that run a task in parallel (-f/--forks); 0 = every host of a batch.
forks: 0

# Folder of the runs' journals: what each run changed, with the backups
# that kplay rollback restores (--journal-dir). "" = .kplay/runs next to
# the inventory.
journal_dir: ""

ssh:
  # known_hosts files the hosts' keys are checked against (--known-hosts);
  # with accept_new_host_keys, first-seen keys are recorded in the first one.
  # [] = ~/.ssh/known_hosts. A per-environment file: [known_hosts].
  known_hosts: []
  # Trust a host's key the first time it is seen and record it
  # (--accept-new-host-keys; OpenSSH's StrictHostKeyChecking=accept-new).
  # A key that changed is refused either way.
  accept_new_host_keys: false
  # Time to connect and finish the SSH handshake (--connect-timeout):
  # seconds, or a duration like 500ms.
  connect_timeout: 10s
  # Private key to log in with (--private-key); a host's own
  # ansible_ssh_private_key_file wins. "" = ssh-agent and ~/.ssh/id_*.
  private_key: ""
  # ssh_config file with Host entries: HostName, User, Port, IdentityFile,
  # ProxyJump (--ssh-config). "" = ~/.ssh/config; none = no file at all.
  ssh_config: ""
`

// initReadme explains the environment folder to whoever opens it next.
const initReadme = `# kplay environment

This folder describes one cluster for [kplay](https://github.com/kplay/kplay).
It was written by ` + "`kplay init`" + `; every file in it is yours to edit and to keep
under version control (but not .kplay/, which holds the runs' journals and,
by default, the cluster's private keys).

| file | what it holds |
|---|---|
| ` + "`hosts.yaml`" + ` | the machines and their groups: etcd, lb, master, node |
| ` + "`group_vars/all.yaml`" + ` | every variable of the shipped roles, with its default and meaning (commented out) |
| ` + "`group_vars/GROUP.yaml`" + `, ` + "`host_vars/HOST.yaml`" + ` | variables of one group or host (create them as needed) |
| ` + "`kplay.yaml`" + ` | kplay's settings for runs from this folder: inventory, forks, journal folder, SSH options |
| ` + "`roles/NAME/...`" + ` | your versions of files of a shipped role (` + "`kplay roles export NAME .`" + `) |

## Use

1. Put your hosts in ` + "`hosts.yaml`" + `, and your settings (at least ` + "`vip`" + `) in
   ` + "`group_vars/all.yaml`" + `.
2. From this folder, with no flag beyond the playbook:

       kplay site.yaml --list-hosts     # which hosts each play runs on
       kplay vars m1 --explain          # the variables a host sees, and from where
       kplay site.yaml --check --diff   # what would change, changing nothing
       kplay site.yaml                  # deploy

   ` + "`site.yaml`" + ` is the playbook embedded in kplay; a file of that name in this
   folder would be run instead. Flags override ` + "`kplay.yaml`" + ` (` + "`-f 20`" + `,
   ` + "`--accept-new-host-keys`" + `, ...).

## Customizing a role

Any file of a shipped role can be replaced for this environment by a file at
the same path under ` + "`roles/NAME/`" + ` here, for example
` + "`roles/etcd/templates/etcd.env.tmpl`" + `. ` + "`kplay roles export NAME .`" + ` writes all
the files of a role there; keep the ones you change and delete the others,
so that they keep following kplay's versions.

` + "`kplay roles`" + ` lists the roles and their variables; ` + "`kplay roles show NAME`" + `
prints a role's documentation.
`
