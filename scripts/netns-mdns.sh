#!/usr/bin/env bash
# netns-mdns.sh - run a command inside a private network namespace where
# multicast DNS works on loopback only, so mDNS tests never send a packet
# out of the machine.
#
# Usage: scripts/netns-mdns.sh COMMAND [ARG...]
#
# It runs COMMAND under `unshare --net` (a new, anonymous namespace that
# disappears when the command exits, with no link to the root namespace),
# after `ip link set lo up`, `ip link set lo multicast on` and
# `ip route add 224.0.0.0/4 dev lo`, with COURIER_MDNS_NETNS=1 and
# COURIER_MDNS_IFACE=lo exported. The command has no network beyond lo: build
# test binaries before (go test -c), or let a test binary re-execute itself
# (courier's mDNS tests do). Exit status: the command's; 77 when a network
# namespace cannot be created here (not root, or unshare not permitted).
set -euo pipefail

if (($# == 0)); then
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
fi
if ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
	echo "netns-mdns: unshare and ip (util-linux, iproute2) are needed" >&2
	exit 77
fi
if ! unshare --net true 2>/dev/null; then
	echo "netns-mdns: cannot create a network namespace here (needs root or CAP_SYS_ADMIN)" >&2
	exit 77
fi
exec unshare --net -- bash -c '
	set -e
	ip link set lo up
	ip link set lo multicast on
	ip route add 224.0.0.0/4 dev lo
	export COURIER_MDNS_NETNS=1 COURIER_MDNS_IFACE=lo
	exec "$@"
' netns-mdns "$@"
