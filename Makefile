GO ?= go

.PHONY: build test lint
build:
	$(GO) build -o bin/kplay ./cmd/kplay

test: lint
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
