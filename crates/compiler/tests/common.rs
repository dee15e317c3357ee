//! Paths and strategies shared by the integration tests.

use std::path::PathBuf;

/// `../shared` beside the project root; the tests that read it fail loudly
/// when it is missing rather than pass on nothing.
#[allow(dead_code)]
pub fn shared() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = root.join("../shared");
    assert!(
        shared.join("sigma").is_dir(),
        "{} not found: the shared corpora must sit beside the project",
        shared.display()
    );
    shared
}

/// The project root.
#[allow(dead_code)]
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every combination of a `re` value's flags (property tests).
#[allow(dead_code)]
pub fn regex_flags(
) -> impl proptest::strategy::Strategy<Value = hypersigma_compiler::modifiers::RegexFlags> {
    use proptest::prelude::*;
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(i, m, s)| {
        hypersigma_compiler::modifiers::RegexFlags {
            ignore_case: i,
            multi_line: m,
            dot_all: s,
        }
    })
}
