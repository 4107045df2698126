#!/usr/bin/env bash
# testenv.sh - real etcd, ZooKeeper and Consul servers for courier's engine tests.
#
# Usage: scripts/testenv.sh COMMAND [ARG]
#
#   up                   install what is missing, start a 3-member etcd cluster, one
#                        ZooKeeper and one Consul dev agent on free 127.0.0.1 ports, wait
#                        until each answers, and print `export` lines for the tests:
#                            eval "$(scripts/testenv.sh up)"
#                        Idempotent: servers of a running env are reused, dead ones restarted.
#   env                  print the export lines of the running env (exit 1 if none)
#   status               show every server with its PID, port and whether it answers
#   down                 stop only the processes this script started (by recorded PID,
#                        SIGTERM then SIGKILL after 5 s) and delete their data dirs
#   install              only install the Debian packages (etcd-server, etcd-client, zookeeper,
#                        prometheus, protobuf-compiler, chromium)
#   build-consul         build Consul $CONSUL_VERSION into the cache now (blocking, bounded)
#   kill-etcd-member N   SIGKILL etcd member N (1..3); its data dir is kept
#   start-etcd-member N  start etcd member N again on its old ports and data, wait until healthy
#   stop-etcd [--kill]   stop every etcd member (SIGTERM, or SIGKILL with --kill); data is kept
#   start-etcd           start every stopped etcd member, then wait until all are healthy
#   stop-zk [--kill]     stop ZooKeeper (SIGTERM, or SIGKILL with --kill); data is kept
#   start-zk             start ZooKeeper again on its old port, wait until it serves
#   restart-zk           stop-zk + start-zk
#   stop-consul          stop the Consul agent (SIGINT: graceful leave)
#   start-consul         start Consul again on its old ports (dev mode: state starts empty)
#   restart-consul       stop-consul + start-consul
#
# Environment:
#   COURIER_TESTENV_DIR  state dir with PIDs, ports, logs and data (default /tmp/courier-testenv;
#                        COURIER_TESTENV is accepted as an older name)
#   COURIER_CACHE        cache for the Consul binary (default $HOME/.cache/courier)
#   COURIER_TESTENV_WAIT_CONSUL=1
#                        make `up` wait for a first Consul build instead of starting it in
#                        the background and leaving Consul out (CI sets this)
#   COURIER_TESTENV_NO_CONSUL=1   never start or build Consul
#
# Exported to the tests (printed by up/env):
#   COURIER_TESTENV_DIR, COURIER_TESTENV_SCRIPT,
#   COURIER_ETCD_ENDPOINTS (host:port,host:port,host:port), COURIER_ZK_SERVERS (host:port),
#   COURIER_CONSUL_ADDR (host:port of the HTTP API; unset when Consul is not available).
#
# All progress and errors go to stderr; stdout carries only the export lines.
# Every wait is bounded. Processes are stopped only by the PIDs recorded here, after
# checking that the PID still runs the program that was started (guards PID reuse).
set -euo pipefail

CONSUL_VERSION=1.20.1
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT_PATH="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
STATE=${COURIER_TESTENV_DIR:-${COURIER_TESTENV:-/tmp/courier-testenv}}
CACHE=${COURIER_CACHE:-$HOME/.cache/courier}
CONSUL_DIR="$CACHE/consul-$CONSUL_VERSION"
CONSUL_BIN="$CONSUL_DIR/consul"
CONSUL_TOOLS="$SCRIPT_DIR/tools/consul"
HOST=127.0.0.1
ETCD_MEMBERS=3
ZK_CLASSPATH_JARS="/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-simple.jar"

say() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: error: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- processes

# alive PID: the process exists and is not a zombie.
alive() {
	local pid=$1 st
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ $st != Z ]]
}

# ours NAME: PID recorded in $STATE/NAME.pid is alive and still runs the recorded program.
ours() {
	local name=$1 pid exe want
	[[ -f $STATE/$name.pid ]] || return 1
	pid=$(<"$STATE/$name.pid")
	alive "$pid" || return 1
	want=$(cat "$STATE/$name.exe" 2>/dev/null) || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ $exe == "$want" || $exe == "$want (deleted)" ]]
}

pid_of() { cat "$STATE/$1.pid" 2>/dev/null || true; }

# record NAME PID PROGRAM: remember the PID and the resolved path of the program it runs
# (read from PROGRAM, not from /proc, which may still show the forking shell).
record() {
	local name=$1 pid=$2 prog=$3
	echo "$pid" >"$STATE/$name.pid"
	readlink -f "$(command -v "$prog")" >"$STATE/$name.exe"
}

# stop_proc NAME SIGNAL: signal the recorded process, SIGKILL after 5 s, wait until gone.
stop_proc() {
	local name=$1 sig=${2:-TERM} pid i
	if ! ours "$name"; then
		rm -f "$STATE/$name.pid" "$STATE/$name.exe"
		return 0
	fi
	pid=$(pid_of "$name")
	kill -s "$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		say "$name (pid $pid) still running 5 s after SIG$sig; sending SIGKILL"
		kill -s KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
	fi
	alive "$pid" && say "warning: $name (pid $pid) did not exit"
	rm -f "$STATE/$name.pid" "$STATE/$name.exe"
	return 0
}

# ---------------------------------------------------------------- ports and probes

# answers PORT: something accepts TCP connections on $HOST:PORT.
answers() { timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# free_port: a port in 20000-30999 (below the ephemeral range) that nobody answers on
# and that is not in the list of ports already taken by this run ($TAKEN).
TAKEN=" "
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 11000))
		[[ $TAKEN == *" $p "* ]] && continue
		answers "$p" && continue
		TAKEN+="$p "
		echo "$p"
		return 0
	done
	die "no free port found in 20000-30999 after 200 tries"
}

# need_free PORT WHAT: refuse a port that already answers (a stale server is a known pitfall:
# it would answer the readiness probe while the new process died on "address in use").
need_free() {
	if answers "$1"; then
		die "port $1 for $2 already answers: a stale server from an earlier run? stop it (by PID) or run '$0 down'"
	fi
}

# http_get PORT PATH: body of a plain HTTP/1.0 GET (no curl needed), bounded to 2 s.
http_get() {
	timeout 2 bash -c '
		exec 3<>/dev/tcp/'"$HOST"'/'"$1"' || exit 1
		printf "GET %s HTTP/1.0\r\nHost: '"$HOST"'\r\n\r\n" "'"$2"'" >&3
		cat <&3' 2>/dev/null | sed '1,/^\r\{0,1\}$/d'
}

# four_lw PORT WORD: answer of a ZooKeeper four-letter word.
four_lw() {
	timeout 2 bash -c 'exec 3<>/dev/tcp/'"$HOST"'/'"$1"' || exit 1; printf "%s" "'"$2"'" >&3; cat <&3' 2>/dev/null
}

etcd_healthy() { http_get "$1" /health | grep -q '"health":"true"'; }
zk_serving() { four_lw "$1" srvr | grep -q '^Mode:'; }
consul_ready() { http_get "$1" /v1/status/leader | grep -q '"[^"]\{1,\}"'; }

# wait_for WHAT SECONDS PROCNAME PROBE ARGS...: poll PROBE every 100 ms while the process lives.
wait_for() {
	local what=$1 secs=$2 name=$3 start pid
	shift 3
	start=$(now_ms)
	pid=$(pid_of "$name")
	while true; do
		if ! alive "$pid"; then
			say "$what (pid $pid) exited during start-up; last log lines:"
			tail -n 15 "$STATE/$name.log" >&2 || true
			return 1
		fi
		if "$@"; then
			# the probe answered: check that it was our process that answered
			alive "$pid" || continue
			say "$what ready in $(($(now_ms) - start)) ms (pid $pid)"
			return 0
		fi
		if (($(now_ms) - start > secs * 1000)); then
			say "$what not ready after ${secs} s; last log lines:"
			tail -n 15 "$STATE/$name.log" >&2 || true
			return 1
		fi
		sleep 0.1
	done
}

# ---------------------------------------------------------------- installation

APT_UPDATED=
APT_LOG=${TMPDIR:-/tmp}/courier-testenv-apt.log
apt_install() {
	local sudo=
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || die "need root or sudo to apt-get install $*"
		sudo=sudo
	fi
	command -v apt-get >/dev/null || die "apt-get not found: install $* by hand (this script supports Debian)"
	if [[ -z $APT_UPDATED ]]; then
		say "apt-get update"
		$sudo apt-get -o DPkg::Lock::Timeout=300 update -q >"$APT_LOG" 2>&1 ||
			{ tail -n 20 "$APT_LOG" >&2; die "apt-get update failed (log $APT_LOG)"; }
		APT_UPDATED=1
	fi
	say "apt-get install $*"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
		--no-install-recommends "$@" >>"$APT_LOG" 2>&1 ||
		{ tail -n 20 "$APT_LOG" >&2; die "apt-get install $* failed (log $APT_LOG)"; }
}

install_engines() {
	local pkgs=()
	command -v etcd >/dev/null || pkgs+=(etcd-server)
	command -v etcdctl >/dev/null || pkgs+=(etcd-client)
	[[ -f /usr/share/java/zookeeper.jar ]] || pkgs+=(zookeeper)
	[[ -f /usr/share/java/slf4j-simple.jar ]] || pkgs+=(libslf4j-java)
	command -v java >/dev/null || pkgs+=(default-jre-headless)
	# Tools the tests drive for real: Prometheus (scrapes a test server), protoc
	# (runs protoc-gen-courier) and headless Chromium (the dashboard's browser test).
	command -v prometheus >/dev/null || pkgs+=(prometheus)
	command -v protoc >/dev/null || pkgs+=(protobuf-compiler)
	command -v chromium >/dev/null || pkgs+=(chromium)
	if ((${#pkgs[@]})); then
		local t0
		t0=$(now_ms)
		apt_install "${pkgs[@]}"
		say "installed ${pkgs[*]} in $(($(now_ms) - t0)) ms"
	fi
	command -v etcd >/dev/null || die "etcd still missing after install"
	[[ -f /usr/share/java/zookeeper.jar ]] || die "zookeeper.jar still missing after install"
	local tool
	for tool in prometheus protoc chromium; do
		command -v "$tool" >/dev/null || die "$tool still missing after install"
	done
}

# ---------------------------------------------------------------- state file

# The state file holds the chosen ports; it is sourced by every command.
load_state() {
	ETCD_CLIENT_PORTS=() ETCD_PEER_PORTS=() ZK_PORT='' CONSUL_PORTS=()
	# shellcheck disable=SC1091
	[[ -f $STATE/ports.sh ]] && source "$STATE/ports.sh"
	return 0
}

save_state() {
	{
		echo "ETCD_CLIENT_PORTS=(${ETCD_CLIENT_PORTS[*]})"
		echo "ETCD_PEER_PORTS=(${ETCD_PEER_PORTS[*]})"
		echo "ZK_PORT=$ZK_PORT"
		echo "CONSUL_PORTS=(${CONSUL_PORTS[*]})"
	} >"$STATE/ports.sh"
}

# ---------------------------------------------------------------- etcd

etcd_cluster_flag() {
	local i out=
	for ((i = 1; i <= ETCD_MEMBERS; i++)); do
		out+="${out:+,}m$i=http://$HOST:${ETCD_PEER_PORTS[i - 1]}"
	done
	echo "$out"
}

# etcd_launch I STATE: start member I (new or existing cluster state), record its PID.
etcd_launch() {
	local i=$1 cstate=$2 cp pp pid
	cp=${ETCD_CLIENT_PORTS[i - 1]} pp=${ETCD_PEER_PORTS[i - 1]}
	need_free "$cp" "etcd member $i (client)"
	need_free "$pp" "etcd member $i (peer)"
	mkdir -p "$STATE/etcd"
	etcd --name "m$i" --data-dir "$STATE/etcd/m$i" \
		--listen-client-urls "http://$HOST:$cp" --advertise-client-urls "http://$HOST:$cp" \
		--listen-peer-urls "http://$HOST:$pp" --initial-advertise-peer-urls "http://$HOST:$pp" \
		--initial-cluster "$(etcd_cluster_flag)" --initial-cluster-state "$cstate" \
		--initial-cluster-token courier-testenv \
		--heartbeat-interval 50 --election-timeout 500 \
		--logger zap --log-outputs stderr \
		</dev/null >>"$STATE/etcd$i.log" 2>&1 8>&- 9>&- &
	pid=$!
	record "etcd$i" "$pid" etcd
}

# etcd_wait_member I: wait up to 30 s until member I answers its health check.
etcd_wait_member() {
	wait_for "etcd member $1 on port ${ETCD_CLIENT_PORTS[$1 - 1]}" 30 "etcd$1" etcd_healthy "${ETCD_CLIENT_PORTS[$1 - 1]}"
}

# etcd_wait_all: wait for every member in turn; fails with the first that
# does not become healthy.
etcd_wait_all() {
	local i
	for ((i = 1; i <= ETCD_MEMBERS; i++)); do
		etcd_wait_member "$i" || return 1
	done
}

# etcd_need_cluster: die unless `up` recorded a cluster in the state dir.
etcd_need_cluster() {
	((${#ETCD_CLIENT_PORTS[@]} == ETCD_MEMBERS)) || die "no etcd cluster recorded in $STATE; run '$0 up' first"
}

# etcd_relaunch I: launch stopped member I on its kept data dir.
etcd_relaunch() {
	[[ -d $STATE/etcd/m$1 ]] || die "etcd member $1 has no data dir; run '$0 down' and '$0 up'"
	etcd_launch "$1" existing
}

etcd_start_cluster() {
	local i t0
	ETCD_CLIENT_PORTS=() ETCD_PEER_PORTS=()
	for ((i = 1; i <= ETCD_MEMBERS; i++)); do
		ETCD_CLIENT_PORTS+=("$(free_port)")
		ETCD_PEER_PORTS+=("$(free_port)")
	done
	save_state
	rm -rf "$STATE/etcd"
	t0=$(now_ms)
	for ((i = 1; i <= ETCD_MEMBERS; i++)); do
		etcd_launch "$i" new
	done
	etcd_wait_all || return 1
	say "etcd cluster of $ETCD_MEMBERS members ready in $(($(now_ms) - t0)) ms"
}

etcd_start_member() {
	local i=$1
	((i >= 1 && i <= ETCD_MEMBERS)) || die "etcd member must be 1..$ETCD_MEMBERS, got '$i'"
	etcd_need_cluster
	if ours "etcd$i"; then
		say "etcd member $i already running (pid $(pid_of "etcd$i"))"
		return 0
	fi
	etcd_relaunch "$i"
	etcd_wait_member "$i"
}

# etcd_start_all: launch every stopped member at once (a lone member cannot
# become healthy without quorum), then wait for all.
etcd_start_all() {
	local i t0
	etcd_need_cluster
	t0=$(now_ms)
	for ((i = 1; i <= ETCD_MEMBERS; i++)); do
		ours "etcd$i" && continue
		etcd_relaunch "$i"
	done
	etcd_wait_all || return 1
	say "etcd cluster healthy again in $(($(now_ms) - t0)) ms"
}

etcd_up() {
	local i running=0
	if ((${#ETCD_CLIENT_PORTS[@]} == ETCD_MEMBERS)); then
		for ((i = 1; i <= ETCD_MEMBERS; i++)); do
			ours "etcd$i" && running=$((running + 1))
		done
	fi
	if ((running == 0)); then
		etcd_start_cluster
		return
	fi
	for ((i = 1; i <= ETCD_MEMBERS; i++)); do
		if ours "etcd$i"; then
			etcd_wait_member "$i" || return 1
		else
			etcd_start_member "$i"
		fi
	done
}

# ---------------------------------------------------------------- ZooKeeper

zk_launch() {
	local pid
	need_free "$ZK_PORT" "ZooKeeper"
	mkdir -p "$STATE/zk/conf" "$STATE/zk/data"
	cat >"$STATE/zk/conf/zoo.cfg" <<EOF
tickTime=500
initLimit=10
syncLimit=5
dataDir=$STATE/zk/data
clientPort=$ZK_PORT
clientPortAddress=$HOST
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr,cons
minSessionTimeout=1000
maxSessionTimeout=60000
maxClientCnxns=0
EOF
	java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
		-Dzookeeper.admin.enableServer=false \
		-Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		-cp "$STATE/zk/conf:$ZK_CLASSPATH_JARS" \
		org.apache.zookeeper.server.quorum.QuorumPeerMain "$STATE/zk/conf/zoo.cfg" \
		</dev/null >>"$STATE/zk.log" 2>&1 8>&- 9>&- &
	pid=$!
	record zk "$pid" java
	wait_for "ZooKeeper on port $ZK_PORT" 30 zk zk_serving "$ZK_PORT"
}

zk_up() {
	if [[ -n $ZK_PORT ]] && ours zk; then
		wait_for "ZooKeeper on port $ZK_PORT" 30 zk zk_serving "$ZK_PORT"
		return
	fi
	if [[ -z $ZK_PORT ]] || answers "$ZK_PORT"; then
		ZK_PORT=$(free_port)
		save_state
		rm -rf "$STATE/zk/data"
	fi
	zk_launch
}

zk_start() {
	[[ -n $ZK_PORT ]] || die "no ZooKeeper recorded in $STATE; run '$0 up' first"
	if ours zk; then
		say "ZooKeeper already running (pid $(pid_of zk))"
		return 0
	fi
	zk_launch
}

# ---------------------------------------------------------------- Consul

consul_building() { [[ -f $CONSUL_DIR/build.pid ]] && alive "$(<"$CONSUL_DIR/build.pid")"; }

# consul_build_now: build the tools module (scripts/tools/consul) into the cache; holds a
# lock so that only one build runs on the machine. Bounded to 30 min.
consul_build_now() {
	local t0
	[[ -x $CONSUL_BIN ]] && return 0
	command -v go >/dev/null || die "go not found: needed to build Consul"
	[[ -f $CONSUL_TOOLS/go.mod ]] || die "missing $CONSUL_TOOLS/go.mod"
	mkdir -p "$CONSUL_DIR"
	exec 8>"$CONSUL_DIR/build.lock"
	flock -w 2700 8 || die "another Consul build holds $CONSUL_DIR/build.lock for 45 min"
	if [[ -x $CONSUL_BIN ]]; then
		exec 8>&-
		return 0
	fi
	echo $$ >"$CONSUL_DIR/build.pid"
	t0=$(date +%s)
	say "building Consul v$CONSUL_VERSION into $CONSUL_BIN (one time; 6-14 min cold)"
	if (cd "$CONSUL_TOOLS" && GOFLAGS=-mod=readonly timeout 2700 nice -n 10 \
		go build -trimpath -ldflags='-s -w' -o "$CONSUL_BIN.tmp" github.com/hashicorp/consul); then
		mv -f "$CONSUL_BIN.tmp" "$CONSUL_BIN"
		say "Consul built in $(($(date +%s) - t0)) s"
	else
		rm -f "$CONSUL_BIN.tmp" "$CONSUL_DIR/build.pid"
		exec 8>&-
		die "Consul build failed after $(($(date +%s) - t0)) s"
	fi
	rm -f "$CONSUL_DIR/build.pid"
	exec 8>&-
}

# consul_build_background: start consul_build_now detached, output to build.log.
consul_build_background() {
	mkdir -p "$CONSUL_DIR"
	if consul_building; then
		say "Consul v$CONSUL_VERSION is being built (pid $(<"$CONSUL_DIR/build.pid"), log $CONSUL_DIR/build.log)"
		return 0
	fi
	COURIER_CACHE=$CACHE nohup "$SCRIPT_PATH" build-consul </dev/null >>"$CONSUL_DIR/build.log" 2>&1 9>&- &
	echo $! >"$CONSUL_DIR/build.pid"
	say "started the one-time Consul v$CONSUL_VERSION build in the background (pid $!, log $CONSUL_DIR/build.log)"
}

# consul_launch: start the dev agent. Every test client is 127.0.0.1, which
# Consul counts as one client: lift its 200-connection limit per client IP
# so the scale harness (hundreds of plugins and discoveries) is not refused.
consul_launch() {
	local pid http=${CONSUL_PORTS[0]} server=${CONSUL_PORTS[1]} lan=${CONSUL_PORTS[2]} wan=${CONSUL_PORTS[3]} p
	for p in "${CONSUL_PORTS[@]}"; do need_free "$p" Consul; done
	"$CONSUL_BIN" agent -dev -node courier-testenv -bind "$HOST" -client "$HOST" -advertise "$HOST" \
		-http-port "$http" -server-port "$server" -serf-lan-port "$lan" -serf-wan-port "$wan" \
		-dns-port -1 -grpc-port -1 -grpc-tls-port -1 -log-level warn \
		-hcl 'limits { http_max_conns_per_client = 4096 }' \
		</dev/null >>"$STATE/consul.log" 2>&1 8>&- 9>&- &
	pid=$!
	record consul "$pid" "$CONSUL_BIN"
	wait_for "Consul on port $http" 60 consul consul_ready "$http"
}

# consul_up: start Consul if its binary is there; otherwise build it (waiting only when
# COURIER_TESTENV_WAIT_CONSUL=1). Returns 1 when Consul is left out of this env.
consul_up() {
	[[ ${COURIER_TESTENV_NO_CONSUL:-} == 1 ]] && return 1
	if [[ ! -x $CONSUL_BIN ]]; then
		if [[ ${COURIER_TESTENV_WAIT_CONSUL:-} == 1 ]]; then
			if consul_building; then
				say "waiting for the running Consul build (log $CONSUL_DIR/build.log)"
			fi
			consul_build_now
		else
			consul_build_background
			say "Consul is left out of this env until its build finishes: COURIER_CONSUL_ADDR stays unset;"
			say "run '$0 up' again later, or set COURIER_TESTENV_WAIT_CONSUL=1 to wait for the build"
			return 1
		fi
	fi
	if ((${#CONSUL_PORTS[@]} == 4)) && ours consul; then
		wait_for "Consul on port ${CONSUL_PORTS[0]}" 60 consul consul_ready "${CONSUL_PORTS[0]}"
		return
	fi
	local p stale=0
	for p in "${CONSUL_PORTS[@]}"; do answers "$p" && stale=1; done
	if ((${#CONSUL_PORTS[@]} != 4 || stale)); then
		CONSUL_PORTS=("$(free_port)" "$(free_port)" "$(free_port)" "$(free_port)")
		save_state
	fi
	consul_launch
}

consul_start() {
	((${#CONSUL_PORTS[@]} == 4)) || die "no Consul recorded in $STATE; run '$0 up' first"
	[[ -x $CONSUL_BIN ]] || die "no Consul binary at $CONSUL_BIN; run '$0 build-consul'"
	if ours consul; then
		say "Consul already running (pid $(pid_of consul))"
		return 0
	fi
	consul_launch
}

# ---------------------------------------------------------------- env output

print_env() {
	local i eps=
	echo "export COURIER_TESTENV_DIR=$STATE"
	echo "export COURIER_TESTENV_SCRIPT=$SCRIPT_PATH"
	for ((i = 1; i <= ${#ETCD_CLIENT_PORTS[@]}; i++)); do
		eps+="${eps:+,}$HOST:${ETCD_CLIENT_PORTS[i - 1]}"
	done
	if [[ -n $eps ]]; then echo "export COURIER_ETCD_ENDPOINTS=$eps"; else echo "unset COURIER_ETCD_ENDPOINTS"; fi
	if [[ -n $ZK_PORT ]]; then echo "export COURIER_ZK_SERVERS=$HOST:$ZK_PORT"; else echo "unset COURIER_ZK_SERVERS"; fi
	if ((${#CONSUL_PORTS[@]} == 4)) && ours consul; then
		echo "export COURIER_CONSUL_ADDR=$HOST:${CONSUL_PORTS[0]}"
	else
		echo "unset COURIER_CONSUL_ADDR"
	fi
}

status() {
	local i
	for ((i = 1; i <= ${#ETCD_CLIENT_PORTS[@]}; i++)); do
		if ours "etcd$i"; then
			etcd_healthy "${ETCD_CLIENT_PORTS[i - 1]}" && h=healthy || h=unhealthy
			echo "etcd$i pid $(pid_of "etcd$i") port ${ETCD_CLIENT_PORTS[i - 1]} $h"
		else
			echo "etcd$i stopped (port ${ETCD_CLIENT_PORTS[i - 1]})"
		fi
	done
	if [[ -n $ZK_PORT ]]; then
		if ours zk; then
			zk_serving "$ZK_PORT" && h=serving || h=not-serving
			echo "zk pid $(pid_of zk) port $ZK_PORT $h"
		else echo "zk stopped (port $ZK_PORT)"; fi
	fi
	if ((${#CONSUL_PORTS[@]} == 4)); then
		if ours consul; then
			consul_ready "${CONSUL_PORTS[0]}" && h=ready || h=no-leader
			echo "consul pid $(pid_of consul) port ${CONSUL_PORTS[0]} $h"
		else echo "consul stopped (port ${CONSUL_PORTS[0]})"; fi
	fi
	if [[ -x $CONSUL_BIN ]]; then echo "consul binary $CONSUL_BIN"
	elif consul_building; then echo "consul binary building (log $CONSUL_DIR/build.log)"
	else echo "consul binary missing (run '$0 build-consul')"; fi
}

down() {
	local i
	for ((i = 1; i <= ETCD_MEMBERS; i++)); do stop_proc "etcd$i" TERM || true; done
	stop_proc zk TERM || true
	stop_proc consul INT || true
	rm -rf "$STATE/etcd" "$STATE/zk" "$STATE/ports.sh" "$STATE"/*.log
	rmdir "$STATE" 2>/dev/null || true
	say "stopped; state dir $STATE removed"
}

# ---------------------------------------------------------------- main

main() {
	local cmd=${1:-}
	case $cmd in
	up | down | env | status | install | build-consul | kill-etcd-member | start-etcd-member | stop-etcd | start-etcd | \
		stop-zk | start-zk | restart-zk | stop-consul | start-consul | restart-consul) ;;
	*)
		sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//' >&2
		[[ -z $cmd || $cmd == help || $cmd == -h || $cmd == --help ]] && exit 0
		die "unknown command '$cmd'"
		;;
	esac
	if [[ $cmd == build-consul ]]; then
		consul_build_now
		return
	fi
	if [[ $cmd == install ]]; then
		install_engines
		return
	fi
	mkdir -p "$STATE"
	exec 9>"$STATE/.lock"
	flock -w 300 9 || die "another testenv.sh holds $STATE/.lock for 5 min"
	load_state
	case $cmd in
	up)
		local t0 consul_ok=1
		t0=$(now_ms)
		install_engines
		etcd_up || { down; die "etcd did not start (logs were in $STATE)"; }
		zk_up || { down; die "ZooKeeper did not start"; }
		consul_up || consul_ok=0
		if [[ $consul_ok == 0 && -x $CONSUL_BIN ]]; then
			down
			die "Consul did not start"
		fi
		say "env up in $(($(now_ms) - t0)) ms"
		print_env
		;;
	env)
		((${#ETCD_CLIENT_PORTS[@]} > 0)) || die "no env in $STATE; run '$0 up'"
		print_env
		;;
	status) status ;;
	down) down ;;
	kill-etcd-member)
		local n=${2:-}
		[[ $n =~ ^[1-9]$ ]] && ((n <= ETCD_MEMBERS)) || die "usage: $0 kill-etcd-member N (1..$ETCD_MEMBERS)"
		ours "etcd$n" || die "etcd member $n is not running"
		stop_proc "etcd$n" KILL
		say "etcd member $n killed"
		;;
	start-etcd-member) etcd_start_member "${2:-}" ;;
	stop-etcd)
		local sig=TERM i
		[[ ${2:-} == --kill ]] && sig=KILL
		for ((i = 1; i <= ETCD_MEMBERS; i++)); do stop_proc "etcd$i" "$sig"; done
		say "etcd cluster stopped (SIG$sig)"
		;;
	start-etcd) etcd_start_all ;;
	stop-zk)
		[[ ${2:-} == --kill ]] && stop_proc zk KILL || stop_proc zk TERM
		;;
	start-zk) zk_start ;;
	restart-zk)
		stop_proc zk TERM
		zk_start
		;;
	stop-consul) stop_proc consul INT ;;
	start-consul) consul_start ;;
	restart-consul)
		stop_proc consul INT
		consul_start
		;;
	esac
}

main "$@"
