#!/usr/bin/env bash
# bench/agents.sh: run several `sockit bench` agents at once and add up
# their results with `sockit bench merge`, as an orchestrator would on
# several hosts (README.md, "Many hosts"). Here the agents are local
# processes; the arguments after -- go to each of them.
#
#   bench/agents.sh -n 4 -- --mode rr -c 8 -d 10 127.0.0.1:5201
#   bench/agents.sh -n 2 -o results -- --mode udp -b 100M udp://127.0.0.1:5201
#
#   -n N     agents (default 4)
#   -o DIR   keep each agent's NDJSON in DIR/agent-I.ndjson (default: a
#            temporary directory, removed at the end)
#   --json   print the merged summary as JSON instead of text
#
# SOCKIT names the sockit binary (default: sockit on PATH). Every agent
# must end with a summary; an agent that fails fails the script.
set -euo pipefail

n=4
out=""
json=()
while [ $# -gt 0 ]; do
	case "$1" in
	-n) n="$2"; shift ;;
	-o) out="$2"; shift ;;
	--json) json=(--json) ;;
	--) shift; break ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "agents.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ $# -eq 0 ]; then
	echo "agents.sh: give the bench arguments after --, such as -- -d 10 127.0.0.1:5201" >&2
	exit 2
fi
sockit=${SOCKIT:-sockit}
if [ -z "$out" ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"

# Start them together, as a Job's pods or parallel's jobs would start, and
# wait for all: the merged rates assume the agents ran at the same time.
pids=()
for i in $(seq 1 "$n"); do
	"$sockit" bench --json "$@" > "$out/agent-$i.ndjson" 2> "$out/agent-$i.log" &
	pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
	if ! wait "${pids[$i]}"; then
		echo "agents.sh: agent $((i + 1)) failed: $(tail -n 1 "$out/agent-$((i + 1)).log")" >&2
		failed=1
	fi
done
[ "$failed" = 0 ] || exit 1
"$sockit" bench merge "${json[@]}" "$out"/agent-*.ndjson
