#!/usr/bin/env bash
# cli-tools.sh - install the programs the command-line tests drive for real when
# they are missing: protoc (Debian's protobuf-compiler, for protoc-gen-courier's
# test) and tmux (the pseudo-terminal of courier bench's live-line test).
# Idempotent and quick when both exist; apt waits at most 5 min for the dpkg lock.
set -euo pipefail
pkgs=()
command -v protoc >/dev/null || pkgs+=(protobuf-compiler)
command -v tmux >/dev/null || pkgs+=(tmux)
((${#pkgs[@]})) || exit 0
sudo=
if [[ $(id -u) != 0 ]]; then
	command -v sudo >/dev/null || { echo "cli-tools: need root or sudo to install ${pkgs[*]}" >&2; exit 1; }
	sudo=sudo
fi
command -v apt-get >/dev/null || { echo "cli-tools: apt-get not found: install ${pkgs[*]} by hand" >&2; exit 1; }
log=$(mktemp -t cli-tools.XXXXXX.log)
echo "cli-tools: apt-get install ${pkgs[*]}" >&2
{ $sudo apt-get -o DPkg::Lock::Timeout=300 update -q &&
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
		--no-install-recommends "${pkgs[@]}"; } >"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; echo "cli-tools: install failed (log $log)" >&2; exit 1; }
rm -f "$log"
for tool in protoc tmux; do
	command -v "$tool" >/dev/null || { echo "cli-tools: $tool still missing after install" >&2; exit 1; }
done
