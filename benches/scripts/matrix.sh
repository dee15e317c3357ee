#!/usr/bin/env bash
# The streamed throughput matrix of BENCHMARKS.md: three rule sets by two corpora,
# one and two threads, each read from disk through `scan`'s pipeline.
#
#   benches/scripts/matrix.sh BIN WORKDIR TAG
#
# WORKDIR receives the rulesets and corpora on the first run (kept for the next):
#   seed.hsr  the seed rule (Impacket lateral movement, 10c14723-...)
#   pc.hsr    rules/windows/process_creation
#   all.hsr   rules, rules-emerging-threats, rules-threat-hunting, rules-compliance
#   generated.jsonl  `gen --events 1000000` (~950 MB)
#   real.jsonl       ../shared/events JSON lines, replicated 14 times (~1.1 GB)
# Each cell runs `bench -r RULES CORPUS --stream --threads 1,2 --repeat 3` (three rounds,
# each replaying both floors and both thread counts; medians of the rounds, each ratio
# the median of the rounds' own) and writes benches/results/TAG-stream-RULES-CORPUS.json
# (events/s, MB/s, the split floor and the ratio to it, peak RSS, every replay's seconds). Run from the project root; BIN should be a `dist` build.
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: $0 BIN WORKDIR TAG" >&2
    exit 2
fi
bin=$1 work=$2 tag=$3
sigma=../shared/sigma
mkdir -p "$work"
[ -e "$work/seed.hsr" ] || "$bin" compile -r "$sigma/rules/windows/process_creation/proc_creation_win_hktl_impacket_lateral_movement.yml" -o "$work/seed.hsr"
[ -e "$work/pc.hsr" ] || "$bin" compile -r "$sigma/rules/windows/process_creation" -o "$work/pc.hsr"
[ -e "$work/all.hsr" ] || "$bin" compile -r "$sigma/rules" -r "$sigma/rules-emerging-threats" \
    -r "$sigma/rules-threat-hunting" -r "$sigma/rules-compliance" -o "$work/all.hsr"
[ -e "$work/generated.jsonl" ] || "$bin" gen --events 1000000 -q -o "$work/generated.jsonl"
if [ ! -e "$work/real.jsonl" ]; then
    find ../shared/events -name '*.jsonl' -print0 | sort -z | xargs -0 cat > "$work/real.once"
    for _ in $(seq 14); do cat "$work/real.once"; done > "$work/real.jsonl"
    rm "$work/real.once"
fi
for corpus in generated real; do
    cat "$work/$corpus.jsonl" > /dev/null   # into the page cache before the first cell
    for rules in seed pc all; do
        echo "== $rules / $corpus"
        "$bin" bench -r "$work/$rules.hsr" "$work/$corpus.jsonl" --stream --threads 1,2 --repeat 3 \
            --json "benches/results/$tag-stream-$rules-$corpus.json"
    done
done
