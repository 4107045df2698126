#!/usr/bin/env bash
# Starts the real engines (scripts/testenv.sh up), runs the tests of each
# build tag given as an argument against them, and stops the engines it
# started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
tags=("$@")
env_out=$(./scripts/testenv.sh up)
eval "$env_out"
trap './scripts/testenv.sh down >/dev/null 2>&1 || true' EXIT
export COURIER_REQUIRE_ENGINES=1
for t in "${tags[@]}"; do
  echo "== engine tests, tags: $t"
  go test -race -count=1 -timeout 20m -tags "$t" ./client/ ./serverplugin/... $(find _testutils -name "*_test.go" -printf "./%h\n" | sort -u)
done
