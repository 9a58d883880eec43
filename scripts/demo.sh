#!/usr/bin/env bash
# Builds sockit into ./bin and shows its main job on loopback: a TCP echo
# server, a UDP echo server, and clients talking to them in UTF-8, GBK and
# hex. Everything stays on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
go build -o bin/sockit ./cmd/sockit
S=bin/sockit
log=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$log"' EXIT

port_of() { # waits (up to a minute, for a busy machine) for the "listening on ADDR" line and prints the port
  for _ in $(seq 1200); do
    if grep -qo 'listening on [^ ]*' "$1" 2>/dev/null; then
      grep -o 'listening on [^ ]*' "$1" | head -1 | sed 's/.*://'
      return
    fi
    sleep 0.05
  done
  echo "server did not start: $(cat "$1")" >&2; exit 1
}

$S listen -k --echo 127.0.0.1:0 2>"$log/tcp" & 
$S listen -u --echo 127.0.0.1:0 2>"$log/udp" &
tcp=$(port_of "$log/tcp"); udp=$(port_of "$log/udp")

quote() { # prints its arguments as a shell would need them typed
  local out="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      out+=" $a"
    else
      out+=" '${a//\'/\'\\\'\'}'"
    fi
  done
  printf '%s' "${out# }"
}

show() { # prints the command, quoted so that it can be pasted, runs it, ends its output with a newline
  printf '\n$ %s\n' "$(quote "$@")"
  "$@"
  echo
}
show $S send tcp://127.0.0.1:$tcp 'hello over TCP'
show $S send udp://127.0.0.1:$udp 'hello over UDP'
show $S send --encoding gbk udp://127.0.0.1:$udp '你好 (sent as GBK, shown decoded)'
show $S send --send-hex --hex udp://127.0.0.1:$udp '01 03 00 00 00 0a c5 cd'
printf '\n$ printf '"'"'line one\\nline two\\n'"'"' | %s\n' "$(quote $S connect tcp://127.0.0.1:$tcp)"
printf 'line one\nline two\n' | $S connect tcp://127.0.0.1:$tcp
echo
echo "Next: $S --help, $S listen 8888 and $S connect 127.0.0.1:8888 in two terminals, or $S ui."
