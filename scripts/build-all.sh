#!/usr/bin/env bash
# Builds and vets sockit for every target in scripts/targets.sh, with
# CGO_ENABLED=0, plus linux/amd64 with the sockit_portable tag (the code
# macOS, Windows and FreeBSD run, forced on Linux). 'go vet' covers the
# test files too, so the tests compile for every target as well. Builds
# use -trimpath, as release.sh does, so that the two share compiled
# packages in the build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/targets.sh

configs="$TARGETS linux/amd64/sockit_portable"
failed=0
for cfg in $configs; do
	IFS=/ read -r os arch tags <<<"$cfg"
	start=$SECONDS
	if CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -tags "$tags" -o /dev/null ./cmd/sockit &&
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch go vet -tags "$tags" ./...; then
		echo "build-all: ok   $cfg ($((SECONDS - start))s)"
	else
		echo "build-all: FAIL $cfg"
		failed=$((failed + 1))
	fi
done
n=$(wc -w <<<"$configs")
echo "build-all: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
