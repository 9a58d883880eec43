#!/usr/bin/env bash
# Runs the engine packages' tests (everything under internal/ but the CLI
# and the web UI) once more with -tags sockit_portable: the code macOS,
# Windows and FreeBSD run instead of Linux's fast paths (a goroutine per
# connection instead of epoll loops, one datagram per system call instead
# of recvmmsg/sendmmsg, no splice, stdin pipes left as they are). The
# TestPlatform* tests check that the tag really selects those paths.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(go list ./internal/... | grep -v -e '/internal/cli$' -e '/internal/web$')
go test -race -count=1 -tags sockit_portable "$@" $pkgs
