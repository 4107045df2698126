# courier — make help lists the targets.
SHELL := /bin/bash
GO ?= go
# ./_testutils/... matches nothing (the go tool skips _dirs in patterns), so list them.
TESTUTILS := $(shell find _testutils -name '*.go' -printf './%h\n' 2>/dev/null | sort -u)
PKGS := ./... $(TESTUTILS)
# Build tag sets that must always compile and vet.
TAGSETS := etcd zookeeper consul mdns quic kcp "etcd zookeeper consul mdns quic kcp" "browser etcd zookeeper consul"
# Tags whose tests need the real engines started by scripts/testenv.sh.
ENGINE_TAGS := etcd zookeeper consul mdns
FUZZTIME ?= 30s

.PHONY: bench-cli-check scale cli-tools help test test-all test-unit test-tags test-examples test-transports test-compat test-benchmarks test-engines test-rolling test-dashboard bench bench-compare bench-overload bench-ci lint fmt fuzz cover

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

test: test-unit test-tags test-examples ## unit tests with -race, fuzz seeds, tag builds, examples

test-unit: cli-tools ## go vet + go test -race -short over the module and _testutils
	$(GO) vet $(PKGS)
	COURIER_REQUIRE_PROTOC=1 COURIER_REQUIRE_TMUX=1 $(GO) test -race -short -count=1 -timeout 15m $(PKGS)

cli-tools: ## install protoc and tmux for the command-line tests when missing (Debian)
	./scripts/cli-tools.sh

test-tags: ## vet and build every build-tag combination that matters
	@for t in $(TAGSETS); do echo "== tags: $$t"; $(GO) vet -tags "$$t" $(PKGS) || exit 1; done

test-examples: ## build every example and smoke-run the self-contained ones
	$(GO) build ./examples/...
	./scripts/run-examples.sh

test-all: test test-transports bench-ci test-compat test-benchmarks bench-cli-check test-engines test-rolling test-dashboard ## everything CI runs: test + tagged transports + benchmarks once + rpcx compat + benchmark module builds + courier bench check + real engines + rolling restart + dashboard in a browser

test-rolling: ## rolling restart of 3 server processes under load: 0 failed calls, 0 lost or refused oneway (about 35s)
	$(GO) test -count=1 -timeout 3m -v -run TestRollingRestart ./internal/rolling/

test-transports: ## quic and kcp compiled in: server, client and transport-matrix tests, tagged examples
	$(GO) test -race -count=1 -timeout 15m -tags "quic kcp" ./server/ ./client/ ./_testutils/
	timeout 120 $(GO) run -tags quic ./examples/transport/quic
	timeout 120 $(GO) run -tags kcp ./examples/transport/kcp

test-compat: ## rpcx v1.9.1 wire compatibility, both directions (separate module)
	cd compat && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 10m ./...
	cd protocol/testdata/rpcxcheck && $(GO) run .

test-engines: ## tagged tests against real etcd/ZooKeeper/Consul started by scripts/testenv.sh
	@if [ -x scripts/testenv.sh ]; then ./scripts/engine-tests.sh $(ENGINE_TAGS); else echo "scripts/testenv.sh missing"; exit 1; fi

scale: ## registries at scale: etcd 500 servers, ZooKeeper and Consul 200, 50 XClients (own engines; about 3 minutes)
	env_out=$$(COURIER_TESTENV_WAIT_CONSUL=1 ./scripts/testenv.sh up) && eval "$$env_out" && \
	trap './scripts/testenv.sh down >/dev/null 2>&1 || true' EXIT && \
	$(GO) run -tags "etcd zookeeper consul" ./_testutils/scale/cmd/scale -require -runs etcd=500,zookeeper=200,consul=200

test-dashboard: ## dashboard in headless chromium + registry admin, against real etcd/ZooKeeper/Consul (about 1 min; COURIER_SCREENSHOTS=docs refreshes the README's screenshots)
	./scripts/dashboard-tests.sh

test-benchmarks: ## the side-by-side benchmark module (rpcx, grpc-go) still vets and builds
	cd benchmarks && $(GO) vet ./... && $(GO) build ./...

bench-cli-check: ## courier bench agrees within 10% with benchmarks/cmd/client, same server and run (about 45 s)
	cd benchmarks && $(GO) run ./cmd/clicheck

bench-compare: ## courier vs rpcx vs grpc-go, interleaved (about 6 minutes; see benchmarks/README.md)
	cd benchmarks && ./run.sh

bench-overload: ## overload scenarios (slow server, 3x overload, retry storm, brown-out) vs rpcx (about 105 s)
	cd benchmarks && $(GO) run ./cmd/overload

bench: ## micro-benchmarks with -benchmem
	$(GO) test -run '^$$' -bench . -benchmem ./protocol/ ./server/ ./client/

bench-ci: ## run every benchmark once so they never rot
	$(GO) test -run '^$$' -bench . -benchtime=1x ./...

lint: ## gofmt check + go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

fmt: ## gofmt -w the tree
	gofmt -w $$(git ls-files '*.go')

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./protocol/
	$(GO) test -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime $(FUZZTIME) ./protocol/

cover: ## coverage report in cover.out
	$(GO) test -short -coverprofile=cover.out $(PKGS)
	$(GO) tool cover -func=cover.out | tail -1
