//! Compiled rulesets: `compile -o` then `-r FILE` gives the same detections
//! as compiling the rules afresh, with and without rule filters; damaged or
//! mixed use is a clear error.

mod common;

use common::{hypersigma, SIGMAHQ};

const EVENTS: [&str; 2] = [
    "../shared/events/evtx-attack-samples/jsonl",
    "../shared/events/otrf",
];

fn scan(rules: &[&str], extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["scan", "-q", "-o", "jsonl"];
    args.extend_from_slice(rules);
    args.extend_from_slice(extra);
    args.extend_from_slice(&EVENTS);
    let out = hypersigma(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn compiled_sigmahq_gives_the_same_detections_as_a_fresh_compile() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sigmahq.hsr");
    let file_arg = file.to_str().unwrap();
    let mut args = vec!["compile"];
    args.extend_from_slice(&SIGMAHQ);
    args.extend_from_slice(&["-o", file_arg]);
    let out = hypersigma(&args);
    assert_eq!(out.status.code(), Some(0));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("wrote ") && report.contains("stage-1 witness patterns"),
        "{report}"
    );

    let fresh = scan(&SIGMAHQ, &[]);
    let loaded = scan(&["-r", file_arg], &[]);
    assert!(fresh.len() > 100_000, "detections expected");
    assert!(
        fresh == loaded,
        "compiled ruleset detections differ from a fresh compile"
    );

    // Rule filters apply to a compiled ruleset as to rule files.
    let filter = ["--min-level", "high", "--tags", "attack.credential-access"];
    assert!(scan(&SIGMAHQ, &filter) == scan(&["-r", file_arg], &filter));

    // A compiled ruleset is used alone; a damaged one is refused.
    let out = hypersigma(&[
        "scan",
        "-r",
        file_arg,
        "-r",
        "corpus/rules",
        "corpus/events/sample.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be combined"));
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 3);
    std::fs::write(&file, bytes).unwrap();
    let out = hypersigma(&["scan", "-r", file_arg, "corpus/events/sample.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a hypersigma compiled ruleset"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
