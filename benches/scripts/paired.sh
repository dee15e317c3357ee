#!/usr/bin/env bash
# Paired wall-clock comparison of two binaries on one corpus.
#
#   benches/scripts/paired.sh A B RULES CORPUS [PAIRS] [THREADS]
#
# Runs `scan -r RULES CORPUS --threads THREADS -q -o jsonl` with A then B, PAIRS times
# (default 15, threads default 1), and prints the median of the per-pair ratios B/A
# with their quartiles, and each binary's median seconds. Pairs taken back to back
# see the same phase of a shared host, which the ratio cancels; the quartiles say how
# far to trust it (on the development host they spanned ±5-10 %, BENCHMARKS.md v64).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 A B RULES CORPUS [PAIRS] [THREADS]" >&2
    exit 2
fi
a=$1 b=$2 rules=$3 corpus=$4 pairs=${5:-15} threads=${6:-1}
seconds() {
    local start end
    start=$(date +%s.%N)
    "$1" scan -r "$rules" "$corpus" --threads "$threads" -q -o jsonl > /dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
for _ in $(seq "$pairs"); do
    echo "$(seconds "$a") $(seconds "$b")"
done | python3 -c '
import statistics, sys
pairs = [tuple(map(float, line.split())) for line in sys.stdin]
ratios = sorted(b / a for a, b in pairs)
n = len(ratios)
print("median B/A %.4f (quartiles %.4f-%.4f), median seconds A %.3f B %.3f"
      % (statistics.median(ratios), ratios[n // 4], ratios[(3 * n) // 4],
         statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs)))
'
