#!/usr/bin/env bash
# Builds the Kubernetes binaries from the Go module proxy (k8s.io/kubernetes
# at K8S_VERSION with its staging modules pinned to the matching v0.x
# release), for machines where the official release URLs are unreachable.
# Output: $OUT/<binary> and $OUT/SHA256SUMS. A finished build (SHA256SUMS
# present and every binary matching it) is reused: nothing is rebuilt.
#
#   scripts/k8s-build.sh [binary...]      (default: all seven)
#
# Environment: K8S_VERSION (default v1.34.4), KPLAY_ARTIFACTS (default
# ~/.cache/kplay/artifacts), GO (default go).
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

(cd "$OUT" && sha256sum $(ls | grep -v -e SHA256SUMS -e '^\.' | sort)) >"$OUT/.SHA256SUMS.tmp"
mv "$OUT/.SHA256SUMS.tmp" "$OUT/SHA256SUMS"
"$OUT/${BINS[0]}" --version 2>/dev/null || true
echo "kubernetes $K8S_VERSION: built into $OUT"
