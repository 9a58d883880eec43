#!/usr/bin/env bash
# Installs the test peers if they are missing, then runs every test with
# the race detector: unit tests, fuzz seed corpora, interop tests against
# ncat, nc, socat, Python, openssl and iperf3, and the browser tests.
# Needs apt and root (or sudo): peers are installed with apt-get, and the
# network-namespace tests create namespaces. About 10 minutes on a busy
# 2-core machine (see README.md, Tests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-peers.sh

# In CI a missing peer or browser is a failure, never a skip.
export SOCKIT_REQUIRE_PEERS=1
export SOCKIT_REQUIRE_BROWSER=1

go vet ./...
go test -race -count=1 -timeout 40m "$@" ./...
