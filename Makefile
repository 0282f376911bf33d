# MiniMost. `make run` builds and starts minimostd on ./data; `make test` runs every test.
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.Version=$(VERSION)

.PHONY: all build run test test-race fuzz e2e vet vet-unix fmt-check tidy-check bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/minimostd ./cmd/minimostd
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/minimostctl ./cmd/minimostctl

run: build
	@mkdir -p data
	@echo "MiniMost: open https://127.0.0.1:5000 (self-signed certificate); admin: cd data && ../$(BIN)/minimostctl status"
	cd data && ../$(BIN)/minimostd

# Tracked and new (untracked, not ignored) Go files, generated code aside.
fmt-check:
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The other Unix systems the binaries build for (pure Go: no cgo). Not part of `make test`:
# on a fresh machine it compiles SQLite once per system, minutes on two cores. Windows is not
# supported: the admin socket's protection is Unix file permissions and peer credentials.
vet-unix:
	GOOS=darwin $(GO) vet ./...
	GOOS=freebsd $(GO) vet ./...

# Every test: gofmt, vet, the generated code (check-proto), the unit tests of pkg/ under the
# race detector (test-race), then every test without it: unit, integration against the real
# binaries, the guide's sqlite3 procedures and the browser tests in headless Chromium.
test: fmt-check vet check-proto test-race fuzz
	$(GO) test -count=1 -timeout 15m -parallel $(TEST_PARALLEL) ./...

# How many tests of a package run at once (t.Parallel). The end-to-end tests mostly wait on
# processes, so more than GOMAXPROCS (go test's default) pays on two cores.
TEST_PARALLEL ?= 4

# The packages with concurrency under -race: every package of pkg/ (so pkg/app and whatever
# comes next too) except markdown, a renderer without shared state (a sync.Pool aside) whose
# pathological-input tests only get slow under the race detector. -e lists a package that
# does not build, so that the test run reports why. -vet=off: `make vet` checks the same code,
# and go test's own vet would analyse every dependency again for the race build.
test-race:
	$(GO) test -race -vet=off -count=1 -timeout 10m $$($(GO) list -e ./pkg/... | grep -v '/markdown$$')

# Every fuzz target of a parser of outside input, for a short fixed budget each (its seed
# corpus and testdata/fuzz run as unit tests anyway). A longer run, e.g. before a release:
#   make fuzz FUZZTIME=10m
FUZZTIME ?= 4s
FUZZ_TARGETS := \
	./pkg/markdown:FuzzRender \
	./pkg/chat:FuzzParseConversationID \
	./pkg/chat:FuzzValidateUsername \
	./pkg/chat:FuzzSplitAccountID \
	./pkg/settings:FuzzParse \
	./pkg/app:FuzzCleanFileName \
	./pkg/slack:FuzzRender
# A run that ends in "context deadline exceeded" without a failing input is the fuzzing
# engine's workers starved of CPU (a loaded machine), not a finding: it is run once more.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		for try in 1 2; do \
			if out=$$($(GO) test -count=1 -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); then break; fi; \
			if [ $$try = 1 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
				echo "fuzz: $$fn stalled (workers starved of CPU), running it again"; continue; fi; \
			echo "$$out"; echo "fuzz: $$fn in $$pkg failed (a failing input is saved under testdata/fuzz/$$fn)"; exit 1; \
		done; \
	done

# The end-to-end tests alone (MINIMOST_E2E=required to fail, not skip, without sqlite3 or
# chromium).
e2e:
	$(GO) test -count=1 -timeout 15m -parallel $(TEST_PARALLEL) ./e2e/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s -timeout 30m ./pkg/store/

clean:
	rm -rf $(BIN)

include Makefile.proto
