#!/usr/bin/env bash
# ab.sh: paired A/B comparison of two builds of courier on 127.0.0.1.
# A is the git revision REV_A (default: main), built from `git archive`; B
# is the working tree. For every scenario and repetition the two builds run
# back to back (server and client of the same build), the order
# alternating from one repetition to the next, and the report prints B ÷ A
# per repetition and its median. Every run is bounded (-d, timeout, the
# server's -maxlife) and every server is stopped by its PID.
#
# Environment (defaults in brackets):
#   REV_A [main]          revision to compare the working tree against
#   REPS [6]              repetitions
#   DUR [3s], WARMUP [1s] measured window and warm-up of each run
#   FRAMEWORKS ["courier-x"]  frameworks to run in both builds
#   SCENARIOS ["c100"]    scenarios (see run.sh), e.g. "c1 c100 dl100 c1000 idle10k";
#                         idlehttp needs FRAMEWORKS=courier and a REV_A with -http
#   IDLE [10000]          connections of idle10k and idlehttp
#   OUT [mktemp -d]       where binaries, results.jsonl and report.md go
set -euo pipefail
cd "$(dirname "$0")"

REV_A=${REV_A:-main}
REPS=${REPS:-6}
DUR=${DUR:-3s}
WARMUP=${WARMUP:-1s}
FRAMEWORKS=${FRAMEWORKS:-"courier-x"}
SCENARIOS=${SCENARIOS:-"c100"}
IDLE=${IDLE:-10000}
OUT=${OUT:-$(mktemp -d /tmp/courier-ab.XXXXXX)}
RESULTS="$OUT/results.jsonl"
mkdir -p "$OUT/A" "$OUT/B" "$OUT/src-a"
: >"$RESULTS"

echo "building A ($REV_A) and B (working tree) into $OUT" >&2
git -C .. archive "$REV_A" | tar -x -C "$OUT/src-a"
(cd "$OUT/src-a/benchmarks" && go build -o "$OUT/A/server" ./cmd/server && go build -o "$OUT/A/client" ./cmd/client)
go build -o "$OUT/B/server" ./cmd/server
go build -o "$OUT/B/client" ./cmd/client
go build -o "$OUT/report" ./cmd/report
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

SPID=""
stop_server() {
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
	SPID=""
}
trap stop_server EXIT INT TERM

flags_of() {
	case $1 in
	c1) echo "-c 1 -pool 1" ;;
	c100) echo "-c 100 -pool 10" ;;
	dl100) echo "-c 100 -pool 10 -deadline 5s" ;;
	c1000) echo "-c 1000 -pool 10" ;;
	c5000) echo "-c 5000 -pool 10" ;;
	payload1m) echo "-c 10 -pool 10 -payload 1048576" ;;
	idle10k) echo "-idle $IDLE" ;;
	idlehttp) echo "-idle $IDLE -http" ;;
	*)
		echo "unknown scenario $1" >&2
		return 1
		;;
	esac
}

# one VARIANT FRAMEWORK SCENARIO REP: one run, tried once more when it fails
# (e.g. a server that did not report its address in time on a loaded box).
one() {
	once "$@" || once "$@" || echo "run $* failed twice; see $OUT/client.log" >&2
}

once() {
	local v=$1 fw=$2 sc=$3 rep=$4 line addr st
	"$OUT/$v/server" -framework "$fw" -addr 127.0.0.1:0 -maxlife 10m >"$OUT/server.out" 2>>"$OUT/server.err" &
	SPID=$!
	for _ in $(seq 400); do
		grep -q '^addr=' "$OUT/server.out" && break
		sleep 0.05
	done
	line=$(head -n1 "$OUT/server.out")
	if [ -z "$line" ]; then
		stop_server
		return 1
	fi
	addr=$(sed -n 's/.*addr=\([^ ]*\).*/\1/p' <<<"$line")
	st=$(sed -n 's/.*stats=\([^ ]*\).*/\1/p' <<<"$line")
	# shellcheck disable=SC2046 # flags are words
	if timeout -k 5 300 "$OUT/$v/client" -framework "$fw" -addr "$addr" -stats "$st" -label "$sc" -rep "$rep" \
		-d "$DUR" -warmup "$WARMUP" -json $(flags_of "$sc") >"$OUT/one.json" 2>>"$OUT/client.log"; then
		sed "s/\"framework\":\"\([^\"]*\)\"/\"framework\":\"\1@$v\"/" "$OUT/one.json" >>"$RESULTS"
		stop_server
		return 0
	fi
	stop_server
	return 1
}

for sc in $SCENARIOS; do
	for rep in $(seq 1 "$REPS"); do
		for fw in $FRAMEWORKS; do
			if [ $((rep % 2)) -eq 1 ]; then order="A B"; else order="B A"; fi
			for v in $order; do
				echo "== $sc rep $rep $fw@$v" >&2
				one "$v" "$fw" "$sc" "$rep"
			done
		done
	done
done
{
	echo "## A/B $(date -u +%Y-%m-%dT%H:%MZ): A = $REV_A ($(git rev-parse --short "$REV_A")), B = working tree at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- .. 2>/dev/null || echo ' + changes')"
	echo
	echo "REPS=$REPS DUR=$DUR FRAMEWORKS=\"$FRAMEWORKS\" SCENARIOS=\"$SCENARIOS\"; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	"$OUT/report" "$RESULTS" | awk '/^A\/B( idle)?:|^Idle connections/ { p = 1 } p && /^$/ && last ~ /^\|/ { p = 0; print "" } p { print } { last = $0 }'
} >"$OUT/report.md"
cat "$OUT/report.md"
echo "results: $OUT" >&2
