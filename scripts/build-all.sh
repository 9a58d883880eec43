#!/usr/bin/env bash
# Builds and vets sockit for every target in scripts/targets.sh, with
# CGO_ENABLED=0, plus linux/amd64 with the sockit_portable tag (the code
# macOS, Windows and FreeBSD run, forced on Linux). 'go vet' covers the
# test files too, so the tests compile for every target as well. Builds
# and vets use -trimpath, as release.sh does, so that all three share
# compiled packages in the build cache (a vet without it compiles every
# package of the target a second time: 70 s instead of 39 s a target on
# a cold cache). The event-loop tests also run for
# linux/arm64 and linux/riscv64 under qemu-user (install-peers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/targets.sh

# Every package is vetted, tests and all, on linux/amd64; for the other
# targets, packages whose tests drive Chromium (chromedp) are left out of
# the vet and only their code is built into the binary: those tests run
# on linux/amd64 alone, and compiling chromedp's protocol package for ten
# more targets would take longer than everything else. (This is the one
# vet of linux/amd64: test.sh does not run another.)
all=$(go list ./...)
pkgs=$(go list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
	grep -v ' github.com/chromedp/chromedp\b' | cut -d' ' -f1)

configs="$TARGETS linux/amd64/sockit_portable"
failed=0
for cfg in $configs; do
	IFS=/ read -r os arch tags <<<"$cfg"
	vet=$pkgs
	[ "$cfg" = linux/amd64 ] && vet=$all
	start=$SECONDS
	if CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -tags "$tags" -o /dev/null ./cmd/sockit &&
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch go vet -trimpath -tags "$tags" $vet; then
		echo "build-all: ok   $cfg ($((SECONDS - start))s)"
	else
		echo "build-all: FAIL $cfg"
		failed=$((failed + 1))
	fi
done
# linux/arm64 (the Raspberry Pi) and riscv64 have no epoll_wait, only
# epoll_pwait: run the event loops' tests there under qemu-user.
for arch in arm64 riscv64; do
	cfg=linux/$arch/qemu
	configs="$configs $cfg"
	qemu=qemu-aarch64
	[ "$arch" = riscv64 ] && qemu=qemu-riscv64
	if GOARCH=$arch go test -exec "$qemu" -count=1 -run 'TestPlatform' ./internal/server ./internal/bench >/dev/null; then
		echo "build-all: ok   $cfg (event loop tests)"
	else
		echo "build-all: FAIL $cfg (event loop tests)"
		failed=$((failed + 1))
	fi
done
n=$(wc -w <<<"$configs")
echo "build-all: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
