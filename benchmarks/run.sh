#!/usr/bin/env bash
# run.sh: the floor vs courier vs rpcx vs grpc-go, interleaved, several repetitions, on
# 127.0.0.1 only. Each run starts a fresh server process, runs the load
# generator against it (bounded in time) and stops the server by its PID.
# Prints a markdown report (medians, ratios to rpcx paired by repetition).
#
# Environment (defaults in brackets):
#   REPS [3]            repetitions of every scenario and framework
#   DUR [5s]            measured window of each load run
#   WARMUP [1s]         warm-up before each window
#   FRAMEWORKS ["floor courier-x courier-typed courier rpcx grpc"]
#   SCENARIOS ["c1 c100 c1000 c5000 idle10k payload1m"]; also "open100",
#                       "dl100" (c100 with a 5 s deadline on every call) and
#                       "idlehttp" (courier and rpcx only: the HTTP gateway)
#   IDLE [10000]        connections held by idle10k
#   IDLEHTTP [10000]    HTTP keep-alive connections held by idlehttp
#   RATE [20000]        total calls/s of open100 (open loop)
#   PROFILE [""]        frameworks to profile at c=100 pool=10 after the runs
#   OUT [mktemp -d]     where binaries, results.jsonl, report.md and profiles go
set -euo pipefail
cd "$(dirname "$0")"

REPS=${REPS:-3}
DUR=${DUR:-5s}
WARMUP=${WARMUP:-1s}
FRAMEWORKS=${FRAMEWORKS:-"floor courier-x courier-typed courier rpcx grpc"}
SCENARIOS=${SCENARIOS:-"c1 c100 c1000 c5000 idle10k payload1m"}
IDLE=${IDLE:-10000}
IDLEHTTP=${IDLEHTTP:-10000}
RATE=${RATE:-20000}
PROFILE=${PROFILE:-}
OUT=${OUT:-$(mktemp -d /tmp/courier-bench.XXXXXX)}
mkdir -p "$OUT/bin"
BIN="$OUT/bin"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"

echo "building into $BIN" >&2
go build -o "$BIN/server" ./cmd/server
go build -o "$BIN/client" ./cmd/client
go build -o "$BIN/report" ./cmd/report
# What was built, recorded now: the tree may move on while the runs go.
VERSIONS="$(go version -m "$BIN/server" | awk '$1 == "dep" && $2 ~ /(smallnest\/rpcx|google.golang.org\/grpc|google.golang.org\/protobuf)$/ { printf "%s %s; ", $2, $3 }')courier at $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- ../server ../client ../protocol ../share ../codec 2>/dev/null || echo ' + uncommitted changes in server/client/protocol/share/codec') (built $(date -u +%H:%MZ))"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

SPID=""
LPID=""
ADDR=""
STATS=""

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

cleanup() {
	stop_server
	if [ -n "$LPID" ]; then
		kill "$LPID" 2>/dev/null || true
		wait "$LPID" 2>/dev/null || true
	fi
}
trap cleanup EXIT INT TERM

# start_server FRAMEWORK [server flags...]: sets SPID, ADDR, STATS.
start_server() {
	local fw=$1
	shift
	: >"$OUT/server.out"
	"$BIN/server" -framework "$fw" -addr 127.0.0.1:0 -maxlife 15m "$@" >"$OUT/server.out" 2>>"$OUT/server.err" &
	SPID=$!
	for _ in $(seq 200); do
		grep -q '^addr=' "$OUT/server.out" && break
		if ! kill -0 "$SPID" 2>/dev/null; then
			echo "server $fw died; see $OUT/server.err" >&2
			SPID=""
			return 1
		fi
		sleep 0.05
	done
	local line
	line=$(head -n1 "$OUT/server.out")
	ADDR=$(sed -n 's/.*addr=\([^ ]*\).*/\1/p' <<<"$line")
	STATS=$(sed -n 's/.*stats=\([^ ]*\).*/\1/p' <<<"$line")
	if [ -z "$ADDR" ] || [ -z "$STATS" ]; then
		echo "server $fw did not report its addresses" >&2
		return 1
	fi
}

# scenario_flags NAME: client flags of a scenario.
scenario_flags() {
	case $1 in
	c1) echo "-c 1 -pool 1" ;;
	c100) echo "-c 100 -pool 10" ;;
	dl100) echo "-c 100 -pool 10 -deadline 5s" ;;
	c1000) echo "-c 1000 -pool 10" ;;
	c5000) echo "-c 5000 -pool 10" ;;
	payload1m) echo "-c 10 -pool 10 -payload 1048576" ;;
	open100) echo "-c 100 -pool 10 -rate $RATE" ;;
	idle10k) echo "-idle $IDLE" ;;
	idlehttp) echo "-idle $IDLEHTTP -http" ;;
	*)
		echo "unknown scenario $1" >&2
		return 1
		;;
	esac
}

# run_one SCENARIO REP FRAMEWORK [server flags...]
run_one() {
	local sc=$1 rep=$2 fw=$3
	shift 3
	local flags
	flags=$(scenario_flags "$sc")
	local attempt
	# A run whose client fails before producing a result (e.g. a refused
	# dial) is tried once more with a fresh server.
	for attempt in 1 2; do
		start_server "$fw" "$@" || return 0
		# shellcheck disable=SC2086 # flags are words
		if timeout -k 5 300 "$BIN/client" -framework "$fw" -addr "$ADDR" -stats "$STATS" \
			-label "$sc" -rep "$rep" -d "$DUR" -warmup "$WARMUP" -json $flags \
			>"$OUT/one.json" 2> >(tee -a "$OUT/client.log" >&2) || [ -s "$OUT/one.json" ]; then
			cat "$OUT/one.json" >>"$RESULTS"
			stop_server
			return 0
		fi
		echo "client $fw $sc rep $rep failed (attempt $attempt)" >&2
		stop_server
	done
}

# Sample the load average while the runs go on.
(
	for _ in $(seq 3600); do
		echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)"
		sleep 5
	done
) >"$OUT/loadavg.txt" &
LPID=$!

# scenario_frameworks SCENARIO: the frameworks of FRAMEWORKS that run it
# (idlehttp needs rpcx's HTTP gateway: courier and rpcx; courier-x and
# courier-typed would only repeat courier's server).
scenario_frameworks() {
	local fw
	for fw in $FRAMEWORKS; do
		if [ "$1" != idlehttp ] || [ "$fw" = courier ] || [ "$fw" = rpcx ]; then
			echo "$fw"
		fi
	done
}

started=$(date +%s)
for sc in $SCENARIOS; do
	read -r -a fws <<<"$(scenario_frameworks "$sc" | tr '\n' ' ')"
	[ ${#fws[@]} -gt 0 ] || continue
	for rep in $(seq 1 "$REPS"); do
		# rotate the order each repetition so no framework always goes first
		n=${#fws[@]}
		for i in $(seq 0 $((n - 1))); do
			fw=${fws[$(((i + rep - 1) % n))]}
			echo "== $sc rep $rep $fw" >&2
			run_one "$sc" "$rep" "$fw"
		done
	done
done
elapsed=$(($(date +%s) - started))

for fw in $PROFILE; do
	echo "== profile $fw c=100" >&2
	start_server "$fw" -cpuprofile "$OUT/$fw.c100.cpu.pprof" -memprofile "$OUT/$fw.c100.allocs.pprof" || continue
	timeout -k 5 300 "$BIN/client" -framework "$fw" -addr "$ADDR" -stats "$STATS" -label profile -c 100 -pool 10 \
		-d "$DUR" -warmup "$WARMUP" >/dev/null 2> >(tee -a "$OUT/client.log" >&2) || true
	stop_server
	go tool pprof -top -nodecount=15 "$BIN/server" "$OUT/$fw.c100.cpu.pprof" >"$OUT/$fw.c100.cpu.top.txt" 2>/dev/null || true
	go tool pprof -top -cum -nodecount=30 "$BIN/server" "$OUT/$fw.c100.cpu.pprof" >"$OUT/$fw.c100.cpu.cum.txt" 2>/dev/null || true
	go tool pprof -top -sample_index=alloc_objects -nodecount=15 "$BIN/server" "$OUT/$fw.c100.allocs.pprof" >"$OUT/$fw.c100.allocs.top.txt" 2>/dev/null || true
done

kill "$LPID" 2>/dev/null || true
wait "$LPID" 2>/dev/null || true
LPID=""

{
	echo "## Run $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB; $(go version | cut -d' ' -f3-4)"
	echo "- versions: $VERSIONS"
	echo "- command: REPS=$REPS DUR=$DUR WARMUP=$WARMUP FRAMEWORKS=\"$FRAMEWORKS\" SCENARIOS=\"$SCENARIOS\" IDLE=$IDLE IDLEHTTP=$IDLEHTTP benchmarks/run.sh ($elapsed s)"
	awk '{ if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; s += $2; n++ }
		END { if (n) printf "- load average (1 min) during the run: min %.2f, mean %.2f, max %.2f (%d samples)\n", min, s / n, max, n }' "$OUT/loadavg.txt"
	echo
	"$BIN/report" "$RESULTS"
} >"$OUT/report.md"
cat "$OUT/report.md"
for fw in $PROFILE; do
	echo
	echo "### $fw server CPU profile at c=100 (top 15)"
	echo
	echo '```'
	cat "$OUT/$fw.c100.cpu.top.txt"
	echo '```'
done
echo >&2
echo "results: $OUT" >&2
