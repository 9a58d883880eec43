#!/usr/bin/env bash
# Installs the test peers if they are missing, then runs every test with
# the race detector: unit tests, fuzz seed corpora, interop tests against
# ncat, nc, socat, Python, openssl and iperf3, and the browser tests; then
# the cross-platform checks (build-all.sh, test-portable.sh,
# release-check.sh).
# Needs apt and root (or sudo): peers are installed with apt-get, and the
# network-namespace tests create namespaces. About 10 minutes on a busy
# 2-core machine (see README.md, Tests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-peers.sh

# In CI a missing peer (a program, the browser, root) is a failure, never
# a skip (sockittest.Missing).
export SOCKIT_REQUIRE_PEERS=1

# Every platform builds and vets (a few seconds each once cached);
# linux/amd64 vets every package, the browser tests' included.
bash scripts/build-all.sh
go test -race -count=1 -timeout 40m "$@" ./...
# The portable code paths (macOS, Windows, FreeBSD) under the engine's tests.
bash scripts/test-portable.sh
# A snapshot release: archives, packages, checksums, reproducibility.
bash scripts/release-check.sh
