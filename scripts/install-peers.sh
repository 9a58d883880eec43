#!/usr/bin/env bash
# Installs, if missing, the real programs sockit's tests talk to: ncat,
# OpenBSD nc, socat, iperf3, haproxy, openssl, Python 3, SOCKS5 servers,
# tmux, redis-server and redis-cli, Chromium, and what the network-namespace
# fault tests in test/reliability use (ip netns and veth from iproute2,
# tc's tbf qdisc, nftables), and
# Node with the ws package (the WebSocket peer of test/endpoints, installed
# into test/endpoints/node/node_modules, which git ignores). Safe to run
# again: it installs only what is missing, and does nothing when
# everything is there.
#
# On a busy machine another apt may hold the dpkg lock (unattended
# upgrades, another job): apt waits for it (up to 5 minutes) instead of
# failing, and a failed download is tried again.
set -euo pipefail

pkgs=()
want() { # want COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1 || pkgs+=("$2")
}
want ncat ncat
want nc.openbsd netcat-openbsd
want socat socat
want iperf3 iperf3
want openssl openssl
want microsocks microsocks
want danted dante-server
want tmux tmux
want chromium chromium
want ip iproute2
want ss iproute2
want tc iproute2
want nft nftables
want hexdump bsdextrautils
want hyperfine hyperfine
want redis-server redis-server   # test/servers records it for replay --match
want redis-cli redis-tools       # the clients of that test
want haproxy haproxy          # bench/run.sh: the relay to beat (mode tcp, splice)
want node nodejs
want npm npm
want qemu-aarch64 qemu-user   # build-all.sh runs the arm64 event loops
want dpkg-deb dpkg            # release-check.sh lists the .deb
[ -d /usr/share/fonts/opentype/noto ] || pkgs+=(fonts-noto-cjk)
# The tests run /usr/bin/python3 where PATH's python3 may be a slow shim.
[ -x /usr/bin/python3 ] || pkgs+=(python3)

# npm peers, after apt has brought node and npm.
npm_peers() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/test/endpoints/node"
  [ -f "$dir/node_modules/ws/package.json" ] && return 0
  echo "installing: ws (npm) into $dir" >&2
  try npm install --prefix "$dir" --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null
}

try() { # try CMD...: up to 3 times, for locks and mirrors that come back
  local n
  for n in 1 2 3; do
    "$@" && return 0
    [ "$n" = 3 ] && break
    echo "install-peers: '$*' failed; trying again in $((n * 10))s" >&2
    sleep $((n * 10))
  done
  return 1
}

if [ ${#pkgs[@]} -gt 0 ]; then
  # One package may be wanted for several commands.
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)

  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing: ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt=($sudo apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -qq)
  try "${apt[@]}" update
  try "${apt[@]}" install -y --no-install-recommends "${pkgs[@]}" >/dev/null
fi
npm_peers
