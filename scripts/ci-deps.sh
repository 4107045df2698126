#!/usr/bin/env bash
# ci-deps.sh - install and build everything the engine tests need, blocking,
# so that a following `scripts/testenv.sh up` starts all engines at once.
#
#   scripts/ci-deps.sh        apt packages (etcd-server, etcd-client, zookeeper)
#                             + the cached Consul binary (one cold build: 6-30 min,
#                             then reused from ${COURIER_CACHE:-$HOME/.cache/courier})
#
# Bounded: apt waits at most 5 min for the dpkg lock; the Consul build at most 45 min.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
t0=$(date +%s)
"$here/testenv.sh" install
"$here/testenv.sh" build-consul
echo "ci-deps: ready in $(($(date +%s) - t0)) s" >&2
