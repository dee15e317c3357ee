//! Helpers shared by the CLI tests: the project root and running the binary.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The project root (where `corpus/` is and `../shared` sits beside).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `hypersigma` with `args` from the project root.
pub fn hypersigma(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hypersigma"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run hypersigma")
}
