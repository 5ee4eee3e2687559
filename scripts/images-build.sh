#!/usr/bin/env bash
# Builds the container images and CNI plugins a Kubernetes node needs, from
# source, for machines that reach no container registry (only the Go module
# proxy and Debian's packages). Output, under $KPLAY_ARTIFACTS (default
# ~/.cache/kplay/artifacts):
#
#   images/<name>_<tag>.tar   OCI image layout archives for
#                             `ctr -n k8s.io images import`:
#     pause_3.10.tar          registry.k8s.io/pause:3.10 (tools/images/pause)
#     coredns_<v>.tar         registry.k8s.io/coredns/coredns:<v>
#     flannel_<v>.tar         ghcr.io/flannel-io/flannel:<v> (flanneld
#                             without the tencentvpc and udp backends,
#                             install-conf, iptables/ip6tables (nf_tables)
#                             and nft from this Debian machine, busybox)
#     busybox_<v>.tar         docker.io/library/busybox:<v> (Debian's
#                             busybox-static; for DNS checks)
#   and, for kubeadm mode (install_mode: kubeadm), the control-plane images
#   from the Kubernetes binaries in kubernetes/<KUBE_VERSION>/bin (make
#   k8s-artifacts), one layer with the binary at /usr/local/bin/<name>:
#     kube-apiserver_<kv>.tar, kube-controller-manager_<kv>.tar,
#     kube-scheduler_<kv>.tar registry.k8s.io/<name>:<kv>
#     kube-proxy_<kv>.tar     registry.k8s.io/kube-proxy:<kv> (+ nft,
#                             iptables (nf_tables) and busybox from this
#                             Debian machine, as flannel)
#   images/SHA256SUMS
#   cni/bin/{flannel,bridge,host-local,loopback,portmap} + cni/bin/SHA256SUMS
#
# Binaries are cached by version under images/build/, so a second run only
# repacks (the archives are byte-identical). Versions: COREDNS_VERSION,
# FLANNEL_VERSION, CNI_PLUGINS_VERSION, CNI_FLANNEL_VERSION below.
#
#   scripts/images-build.sh                (from the repository root)
#   scripts/images-build.sh control-plane  (only the control-plane images)
set -euo pipefail

GO=${GO:-go}
ARTIFACTS=${KPLAY_ARTIFACTS:-$HOME/.cache/kplay/artifacts}
OUT=$ARTIFACTS/images
CNI_OUT=$ARTIFACTS/cni/bin
CACHE=$OUT/build
PAUSE_VERSION=3.10
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.6}
FLANNEL_VERSION=${FLANNEL_VERSION:-v0.28.10}
# bridge, host-local, loopback, portmap
CNI_PLUGINS_VERSION=${CNI_PLUGINS_VERSION:-v1.6.2}
# The flannel CNI plugin: github.com/flannel-io/cni-plugin is not served by
# the module proxy; containernetworking/plugins carried the same plugin
# (plugins/meta/flannel) up to v0.9.x.
CNI_FLANNEL_VERSION=${CNI_FLANNEL_VERSION:-v0.9.1}
KUBE_VERSION=${KUBE_VERSION:-v1.34.4}
KUBE_BIN=$ARTIFACTS/kubernetes/$KUBE_VERSION/bin
ROOT=$(cd "$(dirname "$0")/.." && pwd)

need_debs() {
	local missing=()
	command -v nft >/dev/null || missing+=(nftables)
	command -v xtables-nft-multi >/dev/null || missing+=(iptables)
	[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || missing+=(busybox-static)
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "images-build: install ${missing[*]} (Debian packages) first" >&2
		exit 1
	fi
}

# gobin VERSION DIR PKG@VERSION... : go install the packages into
# $CACHE/DIR/, unless every binary is there already; extra ldflags in LDX.
gobin() {
	local version=$1 dir=$CACHE/$2
	shift 2
	local names=() p
	for p in "$@"; do names+=("$(basename "${p%@*}")"); done
	local ok=1 n
	for n in "${names[@]}"; do [ -x "$dir/$n" ] || ok=0; done
	[ $ok = 1 ] && return 0
	mkdir -p "$dir"
	local tmp
	tmp=$(mktemp -d "$dir/.build.XXXXXX")
	echo "building ${names[*]} $version"
	CGO_ENABLED=0 GOBIN=$tmp GOFLAGS=-mod=mod "$GO" install -trimpath -ldflags "-s -w ${LDX:-}" "$@"
	for n in "${names[@]}"; do mv "$tmp/$n" "$dir/$n"; done
	rmdir "$tmp"
}

# hostfiles FILE... : -file arguments for FILEs and every shared library
# they load (ldd), at the paths they are loaded from.
hostfiles() {
	local f lib
	{
		for f in "$@"; do
			echo "$f"
			ldd "$f" 2>/dev/null | sed -n 's#.*=> \(/[^ ]*\) .*#\1#p; s#^[[:space:]]*\(/[^ ]*\) (0x.*#\1#p'
		done
	} | sort -u | while read -r lib; do
		echo "-file=$lib=$(readlink -f "$lib"):0755"
	done
}

pack() {
	(cd "$ROOT" && "$GO" run ./tools/images "$@")
}

# nftables FILE... : -file/-link arguments putting nft and iptables
# (nf_tables) with their libraries and xtables extensions into an image.
nftables_args() {
	local xtdir=/usr/lib/x86_64-linux-gnu/xtables l
	hostfiles /usr/sbin/nft /usr/sbin/xtables-nft-multi "$xtdir"/*.so
	for l in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
		echo "-link=/usr/sbin/$l=xtables-nft-multi"
	done
}

# sums: images/SHA256SUMS over every archive.
sums() {
	(cd "$OUT" && sha256sum $(ls *.tar | sort)) >"$OUT/.SHA256SUMS.tmp"
	mv "$OUT/.SHA256SUMS.tmp" "$OUT/SHA256SUMS"
}

# control_plane: registry.k8s.io/{kube-apiserver,kube-controller-manager,
# kube-scheduler,kube-proxy}:$KUBE_VERSION from the binaries in $KUBE_BIN,
# each checked against its SHA256SUMS first; the binary at
# /usr/local/bin/<name> with PATH set, as upstream (kubeadm's static pods
# run the bare command name). kube-proxy also gets nft, iptables and a
# busybox shell (its nftables and iptables modes run them).
control_plane() {
	local n l extra
	[ -f "$KUBE_BIN/SHA256SUMS" ] || { echo "images-build: $KUBE_BIN/SHA256SUMS missing (make k8s-artifacts)" >&2; exit 1; }
	(cd "$KUBE_BIN" && grep -E '  (kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy)$' SHA256SUMS | sha256sum -c --quiet -) ||
		{ echo "images-build: binaries in $KUBE_BIN do not match their SHA256SUMS" >&2; exit 1; }
	for n in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
		extra=()
		if [ "$n" = kube-proxy ]; then
			mapfile -t extra < <(nftables_args)
			extra+=("-file=/bin/busybox=/bin/busybox:0755")
			for l in sh cat ls echo sleep test; do extra+=("-link=/bin/$l=busybox"); done
		fi
		pack -ref "registry.k8s.io/$n:$KUBE_VERSION" -out "$OUT/${n}_$KUBE_VERSION.tar" \
			-file "/usr/local/bin/$n=$KUBE_BIN/$n:0755" "${extra[@]}" \
			-env "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" -entrypoint "/usr/local/bin/$n"
	done
}

if [ "${1:-}" = control-plane ]; then
	need_debs
	mkdir -p "$OUT"
	control_plane
	sums
	echo "images in $OUT:"
	cat "$OUT/SHA256SUMS"
	exit 0
fi

need_debs
mkdir -p "$OUT" "$CNI_OUT" "$CACHE"

# pause: this repository's program.
mkdir -p "$CACHE/pause-$PAUSE_VERSION"
(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags '-s -w' -o "$CACHE/pause-$PAUSE_VERSION/pause" ./tools/images/pause)
pack -ref "registry.k8s.io/pause:$PAUSE_VERSION" -out "$OUT/pause_$PAUSE_VERSION.tar" \
	-file "/pause=$CACHE/pause-$PAUSE_VERSION/pause:0755" -entrypoint /pause -user 65535:65535

# CoreDNS.
gobin "$COREDNS_VERSION" "coredns-$COREDNS_VERSION" "github.com/coredns/coredns@$COREDNS_VERSION"
pack -ref "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" -out "$OUT/coredns_$COREDNS_VERSION.tar" \
	-file "/coredns=$CACHE/coredns-$COREDNS_VERSION/coredns:0755" -entrypoint /coredns

# flannel: built from its module source with two backends left out at
# build time: tencentvpc (its SDK module tencentcloud/vpc is not served by
# the module proxy) and udp (needs cgo). vxlan, host-gw, ipip, ipsec,
# wireguard, extension and alloc stay. flanneld needs iptables and ip6tables
# (it cleans up the backend it does not use, fatally) and nft; taken from
# this Debian machine with their libraries and xtables extensions.
flannel_build() {
	local dir=$CACHE/flannel-$FLANNEL_VERSION src
	[ -x "$dir/flannel" ] && [ -x "$dir/install_conf" ] && return 0
	echo "building flanneld $FLANNEL_VERSION (without the tencentvpc and udp backends)"
	src=$(GOFLAGS=-mod=mod "$GO" mod download -json "github.com/flannel-io/flannel@$FLANNEL_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || { echo "images-build: flannel $FLANNEL_VERSION: no module source" >&2; exit 1; }
	mkdir -p "$dir"
	rm -rf "$dir/src"
	cp -r "$src" "$dir/src"
	chmod -R u+w "$dir/src"
	(
		cd "$dir/src"
		sed -i -e '/pkg\/backend\/tencentvpc"/d' -e '/pkg\/backend\/udp"/d' main.go
		rm -rf pkg/backend/tencentvpc
		"$GO" mod edit -droprequire github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc \
			-droprequire github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common
		export CGO_ENABLED=0 GOFLAGS=-mod=mod
		"$GO" build -trimpath -ldflags "-s -w -X github.com/flannel-io/flannel/pkg/version.Version=$FLANNEL_VERSION" -o "$dir/.flannel.tmp" .
		"$GO" build -trimpath -ldflags "-s -w" -o "$dir/.install_conf.tmp" ./cmd/install_conf
	)
	mv "$dir/.flannel.tmp" "$dir/flannel"
	mv "$dir/.install_conf.tmp" "$dir/install_conf"
	rm -rf "$dir/src"
}
flannel_build
mapfile -t nfargs < <(nftables_args)
links=()
for l in sh cp mv rm mkdir cat ls ln echo sleep test; do links+=("-link=/bin/$l=busybox"); done
pack -ref "ghcr.io/flannel-io/flannel:$FLANNEL_VERSION" -out "$OUT/flannel_$FLANNEL_VERSION.tar" \
	-file "/opt/bin/flanneld=$CACHE/flannel-$FLANNEL_VERSION/flannel:0755" \
	-file "/opt/bin/install-conf=$CACHE/flannel-$FLANNEL_VERSION/install_conf:0755" \
	-file "/bin/busybox=/bin/busybox:0755" "${nfargs[@]}" "${links[@]}" \
	-env "PATH=/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin" -entrypoint /opt/bin/flanneld

# busybox (Debian's static build).
bbver=$(/bin/busybox 2>&1 | sed -n '1s/^BusyBox v\([0-9.]*\).*/\1/p')
bblinks=()
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || bblinks+=("-link=/bin/$a=busybox"); done
pack -ref "docker.io/library/busybox:$bbver" -out "$OUT/busybox_$bbver.tar" \
	-file "/bin/busybox=/bin/busybox:0755" "${bblinks[@]}" -env "PATH=/bin" -cmd sh

# The control-plane images (kubeadm mode), when the binaries are there.
if [ -f "$KUBE_BIN/SHA256SUMS" ]; then
	control_plane
else
	echo "images-build: no $KUBE_BIN/SHA256SUMS: control-plane images skipped (make k8s-artifacts, then again)"
fi
sums

# CNI plugins for /opt/cni/bin.
gobin "$CNI_FLANNEL_VERSION" "cni-$CNI_FLANNEL_VERSION" \
	"github.com/containernetworking/plugins/plugins/meta/flannel@$CNI_FLANNEL_VERSION"
gobin "$CNI_PLUGINS_VERSION" "cni-$CNI_PLUGINS_VERSION" \
	"github.com/containernetworking/plugins/plugins/main/bridge@$CNI_PLUGINS_VERSION" \
	"github.com/containernetworking/plugins/plugins/ipam/host-local@$CNI_PLUGINS_VERSION" \
	"github.com/containernetworking/plugins/plugins/main/loopback@$CNI_PLUGINS_VERSION" \
	"github.com/containernetworking/plugins/plugins/meta/portmap@$CNI_PLUGINS_VERSION"
cp -f "$CACHE/cni-$CNI_FLANNEL_VERSION/flannel" "$CNI_OUT/flannel"
for p in bridge host-local loopback portmap; do cp -f "$CACHE/cni-$CNI_PLUGINS_VERSION/$p" "$CNI_OUT/$p"; done
(cd "$CNI_OUT" && sha256sum bridge flannel host-local loopback portmap) >"$CNI_OUT/.SHA256SUMS.tmp"
mv "$CNI_OUT/.SHA256SUMS.tmp" "$CNI_OUT/SHA256SUMS"

echo "images in $OUT:"
cat "$OUT/SHA256SUMS"
echo "CNI plugins in $CNI_OUT:"
cat "$CNI_OUT/SHA256SUMS"
