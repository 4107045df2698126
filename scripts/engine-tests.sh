#!/usr/bin/env bash
# Installs what the engine tests need (scripts/ci-deps.sh: apt packages and
# the cached Consul build), starts the real engines (scripts/testenv.sh up),
# runs the tests compiled with the build tags given as arguments against
# them, and stops the engines it started, whatever happens.
#
#   scripts/engine-tests.sh etcd zookeeper consul mdns
set -euo pipefail
cd "$(dirname "$0")/.."
tags="$*"
./scripts/ci-deps.sh
env_out=$(COURIER_TESTENV_WAIT_CONSUL=1 ./scripts/testenv.sh up)
trap './scripts/testenv.sh down >/dev/null 2>&1 || true' EXIT
eval "$env_out"
export COURIER_REQUIRE_ENGINES=1
echo "== engine tests, tags: $tags"
# -p 1: fault tests stop whole engines, which must not hit another package's tests.
pkgs=(./client/ ./serverplugin/ ./serverplugin/prometheus/ $(find _testutils -name '*_test.go' -printf './%h\n' | sort -u))
go test -p 1 -race -count=1 -timeout 40m -tags "$tags" "${pkgs[@]}"
# courier list/describe --registry against every engine (the built binary; about 15 s).
go test -race -count=1 -timeout 5m -run '^TestRegistry' ./cmd/courier/
# Rolling restart with etcd registration and the readiness shutdown order (about 20 s).
go test -race -count=1 -timeout 3m -tags etcd -run '^TestRollingRestartEtcd$' ./internal/rolling/
