#!/bin/sh
# For each PORT:UNIT argument, prints "busy PORT COMM HOLDER UNIT" when a
# process outside UNIT (in HOLDER, a unit or no-unit) listens on TCP PORT,
# "ours PORT UNIT" when UNIT owns it, nothing when the port is free. Only
# reads.
for spec in "$@"; do
  port=${spec%%:*}; want=${spec#*:}
  line=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1)
  [ -z "$line" ] && continue
  pid=$(echo "$line" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)
  comm=$(cat /proc/$pid/comm 2>/dev/null || echo unknown)
  unit=$(sed -n 's#.*/\([^/]*\.service\).*#\1#p' /proc/$pid/cgroup 2>/dev/null | head -n 1)
  # A pod of kubelet (kubeadm's static pods): kubepods.slice.
  [ -z "$unit" ] && grep -q '/kubepods' /proc/$pid/cgroup 2>/dev/null && unit=kubepods.slice
  if [ -n "$unit" ] && [ "$unit" = "$want" ]; then
    echo "ours $port $unit"
  else
    echo "busy $port ${comm:-unknown} ${unit:-no-unit} $want"
  fi
done
exit 0
