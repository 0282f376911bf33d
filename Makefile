# MiniMost. `make run` builds and starts minimostd on ./data; `make test` runs every test.
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.Version=$(VERSION)

.PHONY: all build run test vet fmt-check tidy-check bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/minimostd ./cmd/minimostd
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/minimostctl ./cmd/minimostctl

run: build
	@mkdir -p data
	@echo "MiniMost: open https://127.0.0.1:5000 (self-signed certificate); admin: cd data && ../$(BIN)/minimostctl status"
	cd data && ../$(BIN)/minimostd

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Every test: vet, unit, integration against the real binaries, the guide's sqlite3
# procedures and the browser tests in headless Chromium.
test: fmt-check vet check-proto
	$(GO) test -count=1 -timeout 15m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s -timeout 30m ./pkg/store/

clean:
	rm -rf $(BIN)

include Makefile.proto
