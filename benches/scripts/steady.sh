#!/usr/bin/env bash
# Instructions per event in the steady state, measured with callgrind.
#
#   benches/scripts/steady.sh BIN RULES SMALL LARGE [TAG]
#
# Runs `BIN scan -r RULES F --threads 1 -q -o jsonl` under callgrind for F = SMALL
# and F = LARGE and prints (instructions(LARGE) - instructions(SMALL)) divided by
# (lines(LARGE) - lines(SMALL)): the cost of one more event, free of the start-up
# (rule loading, database deserialisation) that both runs share. RULES should be a
# ruleset compiled under valgrind (`valgrind BIN compile -r ... -o RULES.hsr`) so the
# Hyperscan database matches the instruction set valgrind emulates. Counts are
# deterministic to ~0.1 %, unlike wall time on a shared host. Needs valgrind.
#
# Also printed: the same figure without `memset`. A scanner's verdict-link tables
# (~5 MB) are allocated zeroed at its first link, and whether the allocator clears
# them with `memset` (memory it had used) or hands over fresh pages depends on its
# state, which differs between runs: on windows of 12,000-20,000 events that moved
# the figure by 250-420 instructions either way (BENCHMARKS.md, v64). Per-event
# work makes no large `memset`, so the second figure is the one to compare there.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 BIN RULES SMALL LARGE [TAG]" >&2
    exit 2
fi
bin=$1 rules=$2 small=$3 large=$4 tag=${5:-run}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() {
    valgrind --tool=callgrind --callgrind-out-file="$out/$2" \
        "$bin" scan -r "$rules" "$1" --threads 1 -q -o jsonl > /dev/null 2> "$out/$2.log"
    awk '/^summary:/ { print $2 }' "$out/$2"
}
# Instructions in `memset` of the run in file $1.
in_memset() {
    callgrind_annotate --threshold=100 --auto=no --inclusive=no "$out/$1" 2> /dev/null |
        awk '/__memset/ { gsub(",", "", $1); total += $1 } END { print total + 0 }'
}
small_ir=$(count "$small" small)
large_ir=$(count "$large" large)
small_set=$(in_memset small)
large_set=$(in_memset large)
small_n=$(wc -l < "$small")
large_n=$(wc -l < "$large")
awk -v t="$tag" -v a="$small_ir" -v b="$large_ir" -v m="$small_n" -v n="$large_n" \
    -v sa="$small_set" -v sb="$large_set" \
    'BEGIN { printf "%s: %.0f instructions per event, %.0f without memset (%d -> %d events)\n", t, (b - a) / (n - m), ((b - sb) - (a - sa)) / (n - m), m, n }'
