# The same commands as the README; `just` is a convenience, never a requirement.

# The README's main job: generate a corpus with planted attacks and scan it with the project's rules.
demo:
    cargo build --release
    target/release/hypersigma demo

# Scan the hand-written sample events (one deliberately broken line).
sample:
    cargo run --release -p hypersigma -- scan -r corpus/rules corpus/events/sample.jsonl

# Generate 1 GB in each shape and report the generation speed.
gen-speed:
    cargo build --release
    for p in sysmon evtx winlogbeat ecs; do target/release/hypersigma gen --events 1000000 --profile $p -o /dev/null; done

# The test suite (what .ci/run runs).
test:
    cargo test --workspace --release

# The differential tests (real logs, and 100,000 generated events; about five minutes).
differential:
    cargo test --release -p hypersigma-runtime --test differential -- --nocapture

# Compile every SigmaHQ rule set and print the summary.
compile-sigmahq:
    cargo run --release -p hypersigma -- compile -r ../shared/sigma/rules -r ../shared/sigma/rules-emerging-threats -r ../shared/sigma/rules-threat-hunting -r ../shared/sigma/rules-compliance

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI does.
ci:
    bash .ci/run

# The benchmark of BENCHMARKS.md on the seed rule; compare with the stored result.
bench:
    cargo build --profile dist
    target/dist/hypersigma gen -q --events 100000 --seed 1 --attacks -o /tmp/bench100k.jsonl
    target/dist/hypersigma bench -r ../shared/sigma/rules/windows/process_creation/proc_creation_win_hktl_impacket_lateral_movement.yml /tmp/bench100k.jsonl --threads 1,2 --repeat 3 --baseline benches/results/2026-11-28-seed-rule.json

# Criterion benchmarks of each stage on fixed inputs.
criterion:
    cargo bench -p hypersigma-benches

# The seed rule as an analyst reads it, with indicator counts over all SigmaHQ rules.
explain-seed:
    cargo run --release -p hypersigma -- explain 10c14723-61c7-4c75-92ca-9af245723ad2 -r ../shared/sigma/rules -r ../shared/sigma/rules-emerging-threats -r ../shared/sigma/rules-threat-hunting -r ../shared/sigma/rules-compliance

# SigmaHQ's regression data through the engine, PASS/FAIL per rule.
check-sigmahq:
    cargo run --release -p hypersigma -- check -q -r ../shared/sigma/rules -r ../shared/sigma/rules-emerging-threats -r ../shared/sigma/rules-threat-hunting

# All SigmaHQ rules compiled to one ruleset file (target/sigmahq.hsr).
ruleset:
    cargo run --release -p hypersigma -- compile -r ../shared/sigma/rules -r ../shared/sigma/rules-emerging-threats -r ../shared/sigma/rules-threat-hunting -r ../shared/sigma/rules-compliance -o target/sigmahq.hsr

# Fuzz one target for SECONDS (targets: rule_parser, event_reader, engine_differential).
# cargo-fuzz runs on the stable toolchain with RUSTC_BOOTSTRAP=1 (cargo install cargo-fuzz).
# No leak checks: engine_differential keeps warm scanners whose caches grow
# across inputs, which would make libFuzzer rerun most inputs under LeakSanitizer.
fuzz target="engine_differential" seconds="60":
    cd fuzz && mkdir -p corpus/{{target}} && RUSTC_BOOTSTRAP=1 cargo fuzz run -O {{target}} corpus/{{target}} seeds/{{target}} -- -max_total_time={{seconds}} -max_len=65536 -detect_leaks=0 -print_final_stats=1

# Correlations: a corpus with planted brute-force and lateral-movement logon
# sequences, scanned with and without the bundled correlation rules (events/s in the summaries).
correlations:
    cargo build --release
    target/release/hypersigma gen -q --events 1000000 --seed 11 --attacks --truth /tmp/corr1m.truth -o /tmp/corr1m.jsonl
    rm -rf /tmp/nocorr && mkdir /tmp/nocorr && cp corpus/rules/*.yml /tmp/nocorr/ && rm /tmp/nocorr/logon_brute_force.yml /tmp/nocorr/lateral_movement_logons.yml
    target/release/hypersigma scan -o jsonl --threads 2 -r corpus/rules /tmp/corr1m.jsonl > /tmp/corr1m.out
    target/release/hypersigma scan -o jsonl --threads 2 -r /tmp/nocorr /tmp/corr1m.jsonl > /dev/null
