#!/usr/bin/env bash
# The long versions of sockit's reliability tests (RELIABILITY.md lists
# them): 256 MiB of random data, byte-exact by SHA-256, through
# connect -> listen across 2% nftables loss and a tbf rate limit between two
# network namespaces, and through 'relay --impair'; 10,000 concurrent
# connections held by 'listen -k --echo'. CI runs the same tests with
# 16 MiB and 2,000 connections.
#
#   sudo scripts/soak.sh                     # everything (namespaces need root)
#   SOCKIT_SOAK_BYTES=1073741824 scripts/soak.sh  # 1 GiB instead
#   RACE=1 scripts/soak.sh                   # with the race detector (slower)
#   scripts/soak.sh -run TestNetnsLoss       # one test
set -euo pipefail
cd "$(dirname "$0")/.."

export SOCKIT_SOAK_BYTES="${SOCKIT_SOAK_BYTES:-268435456}"
export SOCKIT_LOAD_CONNS="${SOCKIT_LOAD_CONNS:-10000}"
export SOCKIT_REQUIRE_PEERS="${SOCKIT_REQUIRE_PEERS:-1}"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

race=()
[ "${RACE:-0}" = 1 ] && race=(-race)
run=(-run 'TestNetns|TestHoldConnections|TestRelayImpair|TestRelayUDP')
[ $# -gt 0 ] && run=("$@")

echo "soak: ${SOCKIT_SOAK_BYTES} bytes per transfer, ${SOCKIT_LOAD_CONNS} connections" >&2
go test "${race[@]}" -count=1 -timeout 60m -v "${run[@]}" ./test/reliability |
  grep -E '^(--- |ok|FAIL|PASS|panic)|_test\.go:[0-9]+:'
