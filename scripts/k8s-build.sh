#!/usr/bin/env bash
# Puts the Kubernetes binaries of K8S_VERSION in the artifact folder:
# downloaded from the official release URLs (dl.k8s.io, each checked
# against its published .sha256) where the network allows, else built
# from the Go module proxy (k8s.io/kubernetes at K8S_VERSION with its
# staging modules pinned to the matching v0.x release), as on machines
# where dl.k8s.io is unreachable. Output: $OUT/<binary> and
# $OUT/SHA256SUMS. A finished set (SHA256SUMS present and every binary
# matching it) is reused: nothing is fetched or rebuilt.
#
#   scripts/k8s-build.sh [binary...]      (default: all seven)
#
# Environment: K8S_VERSION (default v1.34.4), KPLAY_ARTIFACTS (default
# ~/.cache/kplay/artifacts), GO (default go), KPLAY_K8S_SOURCE: auto
# (default: download, else build), download (no fallback) or build (never
# contact dl.k8s.io), KPLAY_K8S_URL (default https://dl.k8s.io/release, a
# mirror with the same layout).
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.34.4}
GO=${GO:-go}
ARTIFACTS=${KPLAY_ARTIFACTS:-$HOME/.cache/kplay/artifacts}
OUT=$ARTIFACTS/kubernetes/$K8S_VERSION/bin
WORK=$ARTIFACTS/kubernetes/$K8S_VERSION/build

ALL=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy kubeadm)
if [ $# -gt 0 ]; then BINS=("$@"); else BINS=("${ALL[@]}"); fi

ver=${K8S_VERSION#v}
major=${ver%%.*}
rest=${ver#*.}
minor=${rest%%.*}
staging=v0.${rest}

# Reuse: every asked binary present and matching SHA256SUMS.
if [ -f "$OUT/SHA256SUMS" ]; then
	ok=1
	for b in "${BINS[@]}"; do
		grep -q "  $b\$" "$OUT/SHA256SUMS" || { ok=0; break; }
	done
	if [ $ok = 1 ] && (cd "$OUT" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
		echo "kubernetes $K8S_VERSION: cached in $OUT"
		exit 0
	fi
fi

# sums writes SHA256SUMS for every binary in $OUT.
sums() {
	(cd "$OUT" && sha256sum $(ls | grep -v -e SHA256SUMS -e '^\.' | sort)) >"$OUT/.SHA256SUMS.tmp"
	mv "$OUT/.SHA256SUMS.tmp" "$OUT/SHA256SUMS"
}

# download fetches the asked binaries from dl.k8s.io into a temporary
# folder, checks each against the .sha256 published beside it, and only
# then moves them into $OUT. Returns 1 when dl.k8s.io cannot be reached,
# 2 on a checksum mismatch (never a fallback then).
download() {
	local arch base tmp b want got
	arch=$("$GO" env GOARCH)
	base="${KPLAY_K8S_URL:-https://dl.k8s.io/release}/$K8S_VERSION/bin/linux/$arch"
	mkdir -p "$OUT"
	tmp=$(mktemp -d "$OUT/.download.XXXXXX")
	for b in "${BINS[@]}"; do
		if ! want=$(curl -fsSL --connect-timeout 5 --max-time 30 "$base/$b.sha256") ||
			! curl -fsSL --connect-timeout 5 --max-time 900 -o "$tmp/$b" "$base/$b"; then
			rm -rf "$tmp"
			return 1
		fi
		got=$(sha256sum "$tmp/$b" | cut -d' ' -f1)
		if [ "$got" != "${want%% *}" ]; then
			echo "k8s-build: $base/$b: sha256 $got, published ${want%% *}" >&2
			rm -rf "$tmp"
			return 2
		fi
		chmod 0755 "$tmp/$b"
	done
	for b in "${BINS[@]}"; do mv "$tmp/$b" "$OUT/$b"; done
	rmdir "$tmp"
	sums
	echo "kubernetes $K8S_VERSION: downloaded from $base into $OUT"
}

case ${KPLAY_K8S_SOURCE:-auto} in
auto | download)
	rc=0
	download || rc=$?
	[ $rc = 0 ] && exit 0
	if [ $rc = 2 ] || [ "${KPLAY_K8S_SOURCE:-auto}" = download ]; then
		echo "k8s-build: download from ${KPLAY_K8S_URL:-https://dl.k8s.io/release} failed" >&2
		exit 1
	fi
	echo "k8s-build: dl.k8s.io unreachable: building from the Go module proxy"
	;;
build) ;;
*)
	echo "k8s-build: KPLAY_K8S_SOURCE=${KPLAY_K8S_SOURCE}: want auto, download or build" >&2
	exit 2
	;;
esac

mkdir -p "$WORK" "$OUT"
cd "$WORK"
modfile=$(mktemp "$WORK/.mod.XXXXXX")
trap 'rm -f "$modfile"' EXIT
{
	echo "module kplay.local/k8sbuild"
	echo
	echo "go 1.24"
	echo
	echo "require k8s.io/kubernetes $K8S_VERSION"
	echo
	echo "replace ("
	# The staging modules k8s.io/kubernetes replaces with ./staging/src/...
	# are published as k8s.io/<name> v0.<minor>.<patch>.
	curl -fsS --max-time 60 "$(${GO} env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/$K8S_VERSION.mod" |
		sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p'
	echo ")"
} >"$modfile"
mv "$modfile" go.mod
trap - EXIT
[ -f main.go ] || printf 'package main\n\nfunc main() {}\n' >main.go

pkg=k8s.io/component-base/version
cpkg=k8s.io/client-go/pkg/version
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ld="-s -w"
for p in $pkg $cpkg; do
	ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
	ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$date"
done

export CGO_ENABLED=0 GOFLAGS=-mod=mod
for b in "${BINS[@]}"; do
	path=k8s.io/kubernetes/cmd/$b
	echo "building $b $K8S_VERSION"
	"$GO" build -trimpath -ldflags "$ld" -o "$OUT/.$b.tmp" "$path"
	mv "$OUT/.$b.tmp" "$OUT/$b"
done

sums
"$OUT/${BINS[0]}" --version 2>/dev/null || true
echo "kubernetes $K8S_VERSION: built into $OUT"
