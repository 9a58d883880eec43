#!/usr/bin/env bash
# Builds sockit's release artifacts for every target in scripts/targets.sh:
#
#   scripts/release.sh [OUT]          (default OUT: dist)
#
# OUT gets sockit_VERSION_OS_ARCH.tar.gz (.zip for Windows), each holding
# the binary, LICENSE, both READMEs, shell completions and man pages; a
# .deb and an .rpm for each Linux architecture; and SHA256SUMS.
#
# The version is the tag vX.Y.Z at HEAD, or X.Y.Z-snapshot.COMMIT after the
# last tag (0.0.0 without one); VERSION overrides it, TARGETS narrows the
# list, RELEASE_BUILDFLAGS adds flags to the go build (-a in
# release-check.sh). Builds are reproducible: -trimpath, no VCS stamping, the commit's
# time (SOURCE_DATE_EPOCH) as build date and for every timestamp in the
# archives and packages, so the same commit gives the same bytes.
#
# It needs Go, git and the Go module proxy (nfpm, the packager, runs with
# 'go run' at a pinned version), nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/targets.sh
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0

out=${1:-dist}
commit=$(git rev-parse HEAD)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
if [ -z "${VERSION:-}" ]; then
	if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
		VERSION=${tag#v}
	else
		last=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo v0.0.0)
		VERSION=${last#v}-snapshot.${commit:0:12}
	fi
fi

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "release: sockit $VERSION ($commit, $date) into $out"
go run ./scripts/gendocs -out "$work/docs" -date "$date"
gzip -n -9 -k "$work"/docs/man/*.1

pkg=github.com/sockit/sockit/internal/cli
ldflags="-s -w -buildid= -X $pkg.Version=$VERSION -X $pkg.Commit=$commit -X $pkg.Date=$date"

for target in $TARGETS; do
	os=${target%/*} arch=${target#*/}
	ext="" kind=tar.gz
	if [ "$os" = windows ]; then ext=.exe kind=zip; fi
	name=sockit_${VERSION}_${os}_${arch}
	dir=$work/$name
	mkdir -p "$dir/completions" "$dir/man"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build ${RELEASE_BUILDFLAGS:-} -trimpath -buildvcs=false -ldflags "$ldflags" -o "$dir/sockit$ext" ./cmd/sockit
	cp LICENSE README.md README.zh-CN.md "$dir/"
	cp "$work"/docs/completions/* "$dir/completions/"
	cp "$work"/docs/man/*.1 "$dir/man/"
	go run ./scripts/pack -mtime "$SOURCE_DATE_EPOCH" -o "$out/$name.$kind" "$dir"

	if [ "$os" = linux ]; then
		narch=$arch
		if [ "$arch" = arm ]; then narch=arm$GOARM; fi
		cat >"$work/nfpm-$arch.yaml" <<YAML
name: sockit
arch: $narch
platform: linux
version: $VERSION
version_schema: semver
section: net
priority: optional
maintainer: sockit developers
description: |-
  Talk TCP, UDP, TLS and Unix sockets: client, server, relay, bench, web UI.
  One tool for the client and server of every socket tutorial, a netcat and
  socat replacement, a network debugging assistant in the browser and a
  benchmark.
homepage: https://github.com/sockit/sockit
license: MIT
contents:
  - src: $dir/sockit
    dst: /usr/bin/sockit
    file_info: {mode: 0755}
  - src: $work/docs/man/*.1.gz
    dst: /usr/share/man/man1/
    file_info: {mode: 0644}
  - src: $work/docs/completions/sockit.bash
    dst: /usr/share/bash-completion/completions/sockit
    file_info: {mode: 0644}
  - src: $work/docs/completions/sockit.zsh
    dst: /usr/share/zsh/vendor-completions/_sockit
    file_info: {mode: 0644}
  - src: $work/docs/completions/sockit.fish
    dst: /usr/share/fish/vendor_completions.d/sockit.fish
    file_info: {mode: 0644}
  - src: LICENSE
    dst: /usr/share/doc/sockit/copyright
    file_info: {mode: 0644}
  - src: README.md
    dst: /usr/share/doc/sockit/README.md
    file_info: {mode: 0644}
YAML
		for packager in deb rpm; do
			go run "$NFPM" package --config "$work/nfpm-$arch.yaml" --packager "$packager" --target "$out/" >/dev/null
		done
	fi
done

(cd "$out" && sha256sum -- * >SHA256SUMS)
echo "release: $(ls "$out" | wc -l) files in $out"
