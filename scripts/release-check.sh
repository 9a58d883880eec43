#!/usr/bin/env bash
# Makes a snapshot release (nothing is published) and checks it:
#  - every target has its archive, holding the binary, LICENSE, both
#    READMEs, the four shell completions and the man pages;
#  - every Linux architecture has a .deb and an .rpm, and the .deb installs
#    /usr/bin/sockit, the man page and the completions;
#  - SHA256SUMS matches the files;
#  - the linux/amd64 binary from its archive runs 'sockit version' and
#    names the commit;
#  - the build is reproducible: a second clone of the same commit, at
#    another path, built again from scratch (go build -a) for linux/amd64,
#    gives the same bytes for its archive, .deb and .rpm.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/targets.sh

root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
commit=$(git rev-parse HEAD)
fail() { echo "release-check: FAIL: $*"; exit 1; }

bash scripts/release.sh "$tmp/dist" | tail -1
cd "$tmp/dist"
sha256sum --quiet -c SHA256SUMS || fail "SHA256SUMS does not match"

checked=0
for target in $TARGETS; do
	os=${target%/*} arch=${target#*/}
	base=$(ls | grep -E "^sockit_.*_${os}_${arch}\.(tar\.gz|zip)$") || fail "no archive for $target"
	top=${base%.tar.gz}
	top=${top%.zip}
	exe=sockit
	if [ "$os" = windows ]; then
		exe=sockit.exe
		list=$(/usr/bin/python3 -m zipfile -l "$base" | awk 'NR>1 {print $1}')
	else
		list=$(tar tzf "$base")
	fi
	for f in "$exe" LICENSE README.md README.zh-CN.md completions/sockit.bash completions/sockit.zsh \
		completions/sockit.fish completions/sockit.ps1 man/sockit.1 man/sockit-listen.1; do
		grep -qx "$top/$f" <<<"$list" || fail "$base lacks $f"
	done
	checked=$((checked + 1))
done
echo "release-check: $checked archives hold binary, LICENSE, READMEs, completions, man pages"

for arch in amd64 arm64 armhf i386 riscv64; do
	ls sockit_*_"$arch".deb >/dev/null 2>&1 || fail "no .deb for $arch"
done
for arch in x86_64 aarch64 armv6hl i386 riscv64; do
	ls sockit-*."$arch".rpm >/dev/null 2>&1 || fail "no .rpm for $arch"
done
deb=$(ls sockit_*_amd64.deb)
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/sockit ./usr/share/man/man1/sockit.1.gz ./usr/share/bash-completion/completions/sockit ./usr/share/doc/sockit/copyright; do
	grep -q " $f\$" <<<"$contents" || fail "$deb lacks $f"
done
echo "release-check: 5 .deb and 5 .rpm; $deb installs the binary, man pages, completions"

tar xzf sockit_*_linux_amd64.tar.gz -C "$tmp"
ver=$("$tmp"/sockit_*_linux_amd64/sockit version)
echo "$ver" | sed 's/^/release-check:   /'
grep -q "^commit:   $commit\$" <<<"$ver" || fail "sockit version does not name commit $commit"
grep -q "^platform: linux/amd64, " <<<"$ver" || fail "sockit version does not name linux/amd64"

# Reproducible: the same commit, another path, every package recompiled.
git clone -q --no-hardlinks "$root" "$tmp/again"
git -C "$tmp/again" checkout -q "$commit"
(cd "$tmp/again" && RELEASE_BUILDFLAGS=-a TARGETS=linux/amd64 bash scripts/release.sh "$tmp/dist2" >/dev/null)
for f in $(cd "$tmp/dist2" && ls sockit[-_]*); do
	a=$(sha256sum <"$f" | cut -d' ' -f1)
	b=$(sha256sum <"$tmp/dist2/$f" | cut -d' ' -f1)
	[ "$a" = "$b" ] || fail "$f differs between two builds of $commit"
	echo "release-check: reproducible $f ${a:0:16}…"
done
echo "release-check: ok"
