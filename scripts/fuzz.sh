#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for a bounded time each.
# Targets are discovered with 'go test -list ^Fuzz', so new ones join
# without editing this file. New failing inputs land in the package's
# testdata/fuzz/FuzzX directory, where 'go test' replays them from then on.
#
#   scripts/fuzz.sh                  # every target, FUZZTIME (default 30s) each
#   FUZZTIME=5m scripts/fuzz.sh      # longer
#   scripts/fuzz.sh ./internal/impair  # only these packages
#
# It prints one line per target (package, target, time, result) and exits
# non-zero if any target found a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-30s}"
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

failed=0
total=0
while read -r pkg; do
  targets=$(go test -list '^Fuzz' -run '^$' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for target in $targets; do
    total=$((total + 1))
    start=$(date +%s)
    if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel "${FUZZPARALLEL:-2}" "$pkg" 2>&1); then
      result=ok
    else
      result=FAIL
      failed=$((failed + 1))
      printf '%s\n' "$out" | tail -20 >&2
    fi
    execs=$(printf '%s\n' "$out" | grep -o 'execs: [0-9]*' | tail -1 | awk '{print $2}')
    printf '%-45s %-28s %4ss %12s execs  %s\n' "$pkg" "$target" "$(( $(date +%s) - start ))" "${execs:-?}" "$result"
  done
done < <(go list "${pkgs[@]}")

echo "fuzz: $total targets, $failed failed, $fuzztime each"
[ "$failed" -eq 0 ]
