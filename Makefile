GO ?= go

.PHONY: build test lint fuzz
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
