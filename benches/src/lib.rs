//! Fixed inputs for the criterion benchmarks in `benches/benches/`: the
//! project's rule set and hand-written sample events from `corpus/`.
#![deny(missing_docs)]

use std::path::PathBuf;

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The sample events (valid lines only), each as raw JSON bytes.
pub fn sample_events() -> Vec<Vec<u8>> {
    let text =
        std::fs::read_to_string(root().join("corpus/events/sample.jsonl")).unwrap_or_default();
    text.lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

/// The project's rule set.
pub fn rules() -> Vec<hypersigma_compiler::Rule> {
    hypersigma_compiler::load_paths(&[root().join("corpus/rules")], &Default::default()).rules
}
