#!/usr/bin/env bash
# dashboard-tests.sh - the dashboard's browser tests and the registry admin
# tests against real engines: installs what they need (scripts/ci-deps.sh:
# etcd, ZooKeeper, Consul, chromium), starts the engines (scripts/testenv.sh
# up), runs headless chromium through chromedp, and stops the engines it
# started, whatever happens. About 1 minute once the engines are installed.
#
#   scripts/dashboard-tests.sh                 run the tests
#   COURIER_SCREENSHOTS=docs scripts/dashboard-tests.sh   also refresh docs/dashboard-*.png
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ci-deps.sh
env_out=$(COURIER_TESTENV_WAIT_CONSUL=1 ./scripts/testenv.sh up)
trap './scripts/testenv.sh down >/dev/null 2>&1 || true' EXIT
eval "$env_out"
export COURIER_REQUIRE_ENGINES=1
if [[ -n ${COURIER_SCREENSHOTS:-} ]]; then
	mkdir -p "$COURIER_SCREENSHOTS"
	COURIER_SCREENSHOTS=$(cd "$COURIER_SCREENSHOTS" && pwd)
	export COURIER_SCREENSHOTS
fi
echo "== dashboard: registry admin against etcd, ZooKeeper, Consul; browser tests in headless chromium"
go test -race -count=1 -timeout 5m ./internal/registryadmin/
log=$(mktemp)
status=0
go test -count=1 -timeout 10m -tags "browser etcd zookeeper consul" -run 'TestBrowser' -v ./dashboard/ >"$log" 2>&1 || status=$?
grep -E '^(--- |PASS|FAIL|ok)|browser_test' "$log" || true
if [[ $status != 0 ]]; then
	tail -80 "$log"
fi
rm -f "$log"
exit "$status"
