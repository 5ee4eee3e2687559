#!/bin/sh
# vip.sh held VIP: prints "held IFACE" if this host has VIP, else "free".
# vip.sh probe VIP IFACE SECONDS: asks the link who has VIP (arping) and
# prints "answered MAC..." or "silent". Works with both arping flavours
# (Debian's arping by Habets and iputils-arping). Only reads.
case $1 in
held)
  dev=$(ip -o -4 addr show 2>/dev/null | awk -v ip="$2" '{split($4,a,"/"); if (a[1]==ip) {print $2; exit}}')
  [ -n "$dev" ] && echo "held $dev" || echo "free"
  ;;
probe)
  vip=$2; dev=$3; secs=${4:-3}
  if ! command -v arping >/dev/null 2>&1; then echo "noarping"; exit 0; fi
  if arping --help 2>&1 | grep -q Habets; then
    out=$(arping -c "$secs" -w "$secs" -i "$dev" "$vip" 2>&1)
  else
    out=$(arping -D -c "$secs" -w "$secs" -I "$dev" "$vip" 2>&1)
  fi
  macs=$(echo "$out" | grep -oiE '([0-9a-f]{2}:){5}[0-9a-f]{2}' | sort -u | tr '\n' ' ')
  [ -n "$macs" ] && echo "answered $macs" || echo "silent"
  ;;
esac
exit 0
