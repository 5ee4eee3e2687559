#!/bin/sh
# Prints key=value facts for kplay's preflight role. $1 is the host's
# cluster address (the `ip` variable). Only reads; changes nothing.
want_ip=$1
echo "pid1=$(cat /proc/1/comm 2>/dev/null)"
[ -d /run/systemd/system ] && echo "systemd_run=yes" || echo "systemd_run=no"
virt=$(systemd-detect-virt -c 2>/dev/null || true)
[ -z "$virt" ] && [ -f /run/systemd/container ] && virt=$(cat /run/systemd/container)
echo "container=${virt:-none}"
echo "hostname=$(hostname 2>/dev/null || uname -n)"
echo "machine_id=$(cat /etc/machine-id 2>/dev/null)"
echo "ips=$(ip -o -4 addr show 2>/dev/null | awk '{split($4,a,"/"); printf "%s ", a[1]}')"
line=$(ip -o -4 addr show 2>/dev/null | awk -v ip="$want_ip" '{split($4,a,"/"); if (a[1]==ip) {print $2, $4; exit}}')
echo "iface=${line%% *}"
echo "ip_cidr=${line#* }"
iface=${line%% *}
[ -n "$iface" ] && echo "mac=$(cat /sys/class/net/$iface/address 2>/dev/null)" || echo "mac="
echo "swap_devices=$(tail -n +2 /proc/swaps 2>/dev/null | wc -l)"
echo "cgroup_fs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"
command -v modprobe >/dev/null 2>&1 && echo "modprobe=yes" || echo "modprobe=no"
echo "modules_loaded=$(for m in overlay br_netfilter nf_conntrack; do [ -d /sys/module/$m ] && printf '%s ' $m; done)"
# Not loaded yet but present for this kernel (modprobe's dry run finds it):
# the node role loads these itself (modules-load.d + modprobe).
echo "modules_loadable=$(for m in overlay br_netfilter nf_conntrack; do [ ! -d /sys/module/$m ] && modprobe -n -q $m 2>/dev/null && printf '%s ' $m; done)"
echo "mem_mb=$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo)"
echo "ntp_synced=$(timedatectl show -p NTPSynchronized --value 2>/dev/null || echo unknown)"
echo "ntp_service=$(for s in chrony chronyd systemd-timesyncd ntp ntpsec; do systemctl is-active --quiet $s 2>/dev/null && printf '%s ' $s; done)"
echo "epoch=$(date +%s)"
