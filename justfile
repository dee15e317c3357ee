# The same commands as the README; `just` is a convenience, never a requirement.

# Scan the project's sample events with the project's rule set.
demo:
    cargo run --release -p hypersigma -- scan -r corpus/rules corpus/events/sample.jsonl

# The test suite (what .ci/run runs).
test:
    cargo test --workspace

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
