GO ?= go

.PHONY: build deps test lint fuzz lab-deps e2e e2e-roles demo demo-down diff bench faults soak
build:
	$(GO) build -o bin/kplay ./cmd/kplay

# Debian packages the tests, the lab and the benchmarks use (root).
DEPS = openssh-server openssh-client sudo iproute2 debootstrap systemd-container \
	ansible-core tmux curl wget xz-utils bzip2 unzip \
	qemu-system-x86 qemu-utils e2fsprogs cpio nftables iptables busybox-static
deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps installs Debian packages: run it as root"; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEPS) >/dev/null

test: lint
	$(GO) test -race -count=1 -timeout 30m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Every fuzz target for FUZZTIME each (bounded; CI runs it).
fuzz:
	FUZZTIME=$${FUZZTIME:-10s} ./scripts/fuzz.sh

# What `kplay lab` needs on a Debian/Ubuntu machine (run as root).
lab-deps:
	apt-get install -y --no-install-recommends debootstrap systemd-container iproute2 openssh-client \
		qemu-system-x86 qemu-utils e2fsprogs

# End-to-end tests on a real local lab (root; skipped where a lab cannot run).
e2e:
	KPLAY_E2E=1 $(GO) test -count=1 -timeout 30m -v ./lab/... ./e2e/...

# Fault injection (root): sshd restarted/stopped/frozen, endless command,
# full disk, kplay killed on 20 sshd hosts, lab hosts off/crashed/cut off.
# Each test prints a "RELIABILITY |" line (docs/reliability.md).
faults:
	KPLAY_FAULTS=1 KPLAY_E2E=1 $(GO) test -count=1 -timeout 30m -v ./faults/

# Soak: the 20-task playbook SOAK_RUNS times (default 200) on 20 sshd hosts
# with a host fault every 10 runs; goroutines, fds, heap counted.
soak:
	KPLAY_SOAK=1 SOAK_RUNS=$${SOAK_RUNS:-200} $(GO) test -count=1 -timeout 60m -v -run TestSoak ./faults/

# Only the shipped roles' lab tests (e2e/): site.yaml on 5 and 3 hosts,
# re-run, --check, etcd flag change and rollback, failover, add members.
e2e-roles:
	KPLAY_E2E=1 $(GO) test -count=1 -timeout 30m -v ./e2e/...

# The main job on the embedded default (root): a local lab of 5 Debian
# hosts (built once; make lab-deps first if systemd-nspawn or debootstrap
# is missing) and the shipped site.yaml deployed on it. The lab stays up to
# be looked at (kplay lab ssh h1 ...); make demo-down removes it.
demo: build
	@command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null && command -v qemu-system-x86_64 >/dev/null || $(MAKE) lab-deps
	$(MAKE) k8s-artifacts k8s-images
	./bin/kplay lab up -n 5 --vm-nodes 1 --name demo
	cd /var/lib/kplay-lab/demo && $(CURDIR)/bin/kplay -i hosts.yaml site.yaml $(DEMO_ARGS)
	@echo
	@echo "The lab is up: ./bin/kplay lab status --name demo; ./bin/kplay lab ssh --name demo h1"
	@echo "The cluster: $${KPLAY_ARTIFACTS:-$$HOME/.cache/kplay/artifacts}/kubernetes/v1.34.4/bin/kubectl --kubeconfig /var/lib/kplay-lab/demo/.kplay/pki/kubeconfig/admin.conf get nodes,pods -A"
	@echo "Again (changes nothing): cd /var/lib/kplay-lab/demo && $(CURDIR)/bin/kplay -i hosts.yaml site.yaml"
	@echo "Undo: cd /var/lib/kplay-lab/demo && $(CURDIR)/bin/kplay rollback -i hosts.yaml"
	@echo "Remove the lab: make demo-down"

demo-down: build
	./bin/kplay lab down --name demo

# kplay against ansible-playbook and an SSH floor on real sshd hosts on
# loopback (root; installs ansible-core if missing). Quick set N=1,10,50
# (~10 min); BENCH_FULL=1 for N up to 500, 3 runs, every case (hours).
# BENCH_ARGS passes flags (go run ./bench -h). docs/benchmarks.md.
bench:
	$(GO) run ./bench $(BENCH_ARGS)

# Differential suite: the same playbooks run by ansible-playbook and kplay
# must leave the same trees and exit codes (skips without ansible-core;
# also part of make test).
diff:
	$(GO) test -count=1 -timeout 30m -v -run TestDifferential ./difftest/

# Container images (pause, CoreDNS, flannel, busybox) as OCI archives and
# the CNI plugins, built from source into $KPLAY_ARTIFACTS (default
# ~/.cache/kplay/artifacts)/images and /cni; cached by version.
# govulncheck against vuln.go.dev, or VULNDB=DIR: a local database in the
# v1 layout (e.g. built with golang/vulndb's cmd/indexdb from its data/osv).
.PHONY: vuln
vuln:
	$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.9.0 $(if $(VULNDB),-db file://$(abspath $(VULNDB))) ./...

.PHONY: k8s-images
k8s-images:
	./scripts/images-build.sh

# Kubernetes binaries of kube_version (scripts/k8s-build.sh: downloaded
# from dl.k8s.io and checked against the published sha256 where the
# network allows, else built from the Go module proxy; into
# $KPLAY_ARTIFACTS/kubernetes/<version>/bin with SHA256SUMS; a finished set
# is reused; KPLAY_K8S_SOURCE=build never contacts dl.k8s.io).
.PHONY: k8s-artifacts
k8s-artifacts:
	./scripts/k8s-build.sh

# The Kubernetes roles' lab tests (e2e/k8s/: master, node, addons; root,
# minutes of CPU each), after the binaries exist.
.PHONY: e2e-k8s
e2e-k8s: k8s-artifacts k8s-images
	KPLAY_K8S=1 $(GO) test -count=1 -timeout 10m -v -run RealAPIServer ./modules/
	KPLAY_E2E=1 KPLAY_K8S=1 $(GO) test -count=1 -timeout 60m -v ./e2e/k8s/...
