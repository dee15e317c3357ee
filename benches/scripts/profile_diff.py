#!/usr/bin/env python3
"""Per-event instructions by function, from two callgrind runs.

    callgrind_annotate SMALL.out > small.txt
    callgrind_annotate LARGE.out > large.txt
    benches/scripts/profile_diff.py small.txt large.txt EVENTS [TOP]

SMALL.out and LARGE.out are callgrind runs of the same `scan` over corpora
that differ by EVENTS events (as `steady.sh` makes them). Each function's
self cost, summed over the source files its inlined code comes from, is
differenced and divided by EVENTS: the start-up both runs share drops out.
Prints the total per event and the TOP functions (40 by default).
"""
import collections
import re
import sys


LINE = re.compile(r"\s*([\d,]+) \([^)]*\)\s+(.*?):(.*?)( \[.*\])?$")


def load(path):
    """Self cost per function name in a callgrind_annotate listing."""
    costs = collections.Counter()
    with open(path) as listing:
        for line in listing:
            if "annotated source" in line.lower():
                break  # the per-line annotations that follow repeat the costs
            if "=>" in line or "PROGRAM TOTALS" in line:
                continue
            m = LINE.match(line)
            if m:
                costs[m.group(3)] += int(m.group(1).replace(",", ""))
    return costs


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    small, large = load(sys.argv[1]), load(sys.argv[2])
    events = float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    per_event = {f: (large[f] - small[f]) / events for f in set(small) | set(large)}
    total = sum(per_event.values())
    print("total per event %.0f" % total)
    for name, cost in sorted(per_event.items(), key=lambda x: -x[1])[:top]:
        print("%8.0f %5.1f%%  %s" % (cost, 100 * cost / total, name[:150]))


if __name__ == "__main__":
    main()
