# The platforms sockit is built and released for, GOOS/GOARCH, all with
# CGO_ENABLED=0 (TARGETS set beforehand narrows it). Sourced by
# build-all.sh and release.sh.
TARGETS=${TARGETS:-"linux/amd64 linux/arm64 linux/arm linux/386 linux/riscv64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64 freebsd/amd64"}
# 32-bit ARM builds for ARMv6 and later: every Raspberry Pi, Pi Zero and 1
# included (an ARMv6 binary runs on ARMv7 too).
export GOARM=6
