#!/usr/bin/env bash
# Installs, if missing, the real programs sockit's tests talk to: ncat,
# OpenBSD nc, socat, iperf3, openssl, SOCKS5 servers, tmux, Chromium and
# the tools for network-namespace fault tests. Safe to run again.
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
want nft nftables
want tc iproute2
want hexdump bsdextrautils
want hyperfine hyperfine
want qemu-aarch64 qemu-user   # build-all.sh runs the arm64 event loops
want dpkg-deb dpkg            # release-check.sh lists the .deb
[ -d /usr/share/fonts/opentype/noto ] || pkgs+=(fonts-noto-cjk)

if [ ${#pkgs[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing: ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
