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

/// Runs `hypersigma` and asserts that it succeeded (stderr in the message).
#[allow(dead_code)] // not every test binary uses it
pub fn hypersigma_ok(args: &[&str]) -> Output {
    let out = hypersigma(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Generates `events` events (seed `seed`, planted attacks and sequences)
/// into `path`.
#[allow(dead_code)]
pub fn generate_attacks(path: &std::path::Path, events: u64, seed: u64) {
    generate_with(path, events, seed, &["--attacks"]);
}

/// Generates `events` events (seed `seed`) into `path`.
#[allow(dead_code)]
pub fn generate(path: &std::path::Path, events: u64, seed: u64) {
    generate_with(path, events, seed, &[]);
}

/// `hypersigma gen` of `events` events (seed `seed`, options `extra`) into
/// `path`, asserting that it succeeded.
fn generate_with(path: &std::path::Path, events: u64, seed: u64, extra: &[&str]) {
    let (events, seed) = (events.to_string(), seed.to_string());
    let mut args = vec!["gen", "-q", "--events", &events, "--seed", &seed];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", path.to_str().expect("a UTF-8 path")]);
    hypersigma_ok(&args);
}

/// `-r` for every SigmaHQ rule directory of `../shared/sigma`.
#[allow(dead_code)] // not every test binary uses it
pub const SIGMAHQ: [&str; 8] = [
    "-r",
    "../shared/sigma/rules",
    "-r",
    "../shared/sigma/rules-emerging-threats",
    "-r",
    "../shared/sigma/rules-threat-hunting",
    "-r",
    "../shared/sigma/rules-compliance",
];

/// The argument lists joined.
#[allow(dead_code)]
pub fn args<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}
