#!/usr/bin/env bash
# bench/run.sh: measure sockit against its peers on loopback and write
# bench/RESULTS.md and bench/results.json.
#
#   bench/run.sh            full run: 3 runs of 5s per figure, 4 GiB pipes, 10,000 idle connections
#   bench/run.sh --quick    short run: 3 runs of 1s, 1 GiB pipes, 1,000 idle connections
#   bench/run.sh --only 4,5 only those targets (numbers as in bench/RESULTS.md)
#   bench/run.sh --runs 5   more runs per figure (the median is reported; default 3)
#
# Installs its peers (iperf3, netcat-openbsd, ncat, socat, haproxy) with apt
# when they are missing (waiting for another apt's dpkg lock), builds sockit and the Go peers in bench/peers (their own
# module, so gnet never enters sockit's go.mod), and runs every figure on
# 127.0.0.1 only. Every run is bounded in time; the script stops by itself.
# Compare ratios from one run: the machine is shared and absolute figures move.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin" # haproxy

quick=0
only=""
runs=3
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--only) only="$2"; shift ;;
	--runs) runs="$2"; shift ;;
	-h|--help) sed -n '2,15p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done

need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v nc.openbsd >/dev/null || need+=(netcat-openbsd)
command -v ncat >/dev/null || need+=(ncat)
command -v socat >/dev/null || need+=(socat)
PATH="$PATH:/usr/sbin:/sbin" command -v haproxy >/dev/null || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
	echo "run.sh: installing ${need[*]}" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	apt=($SUDO apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -qq)
	"${apt[@]}" update
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "run.sh: building sockit and the peers" >&2
go build -o "$tmp/sockit" ./cmd/sockit
(cd bench/peers && go build -o "$tmp/" ./...)

# 10,000 idle connections need as many descriptors on each side.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

args=(-sockit "$tmp/sockit" -peers "$tmp" -out bench -runs "$runs")
if [ "$quick" = 1 ]; then
	args+=(-d 1s -pipe-gib 1 -idle-conns 1000)
else
	args+=(-d 5s -pipe-gib 4 -idle-conns 10000)
fi
[ -n "$only" ] && args+=(-only "$only")
echo "run.sh: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
timeout 3600 "$tmp/harness" "${args[@]}"
echo "run.sh: wrote bench/RESULTS.md and bench/results.json" >&2
