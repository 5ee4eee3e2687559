GO ?= go

.PHONY: build test lint fuzz lab-deps e2e
build:
	$(GO) build -o bin/kplay ./cmd/kplay

test: lint
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Every fuzz target for FUZZTIME each (bounded; CI runs it).
fuzz:
	FUZZTIME=$${FUZZTIME:-10s} ./scripts/fuzz.sh

# What `kplay lab` needs on a Debian/Ubuntu machine (run as root).
lab-deps:
	apt-get install -y --no-install-recommends debootstrap systemd-container iproute2 openssh-client

# End-to-end tests on a real local lab (root; skipped where a lab cannot run).
e2e:
	KPLAY_E2E=1 $(GO) test -count=1 -timeout 30m -v ./lab/...
