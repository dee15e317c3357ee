//! Bad events: every kind of broken input is counted (read = evaluated +
//! rejected, by reason), reported with its file and line, and never stops
//! the run or loses the good events around it.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::hypersigma;
use serde_json::Value;

const GOOD: &str = r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd.exe /Q /c whoami 1> \\\\127.0.0.1\\ADMIN$\\__1 2>&1","ParentImage":"C:\\Windows\\System32\\wbem\\WmiPrvSE.exe","Image":"C:\\Windows\\System32\\cmd.exe"}"#;

/// Scans `file` with the project rules; returns (exit code, stats, stderr, stdout lines).
fn scan(file: &Path, extra: &[&str]) -> (Option<i32>, Value, String, usize) {
    let stats = file.with_extension("stats.json");
    let mut args = vec![
        "scan",
        "-o",
        "jsonl",
        "-r",
        "corpus/rules",
        "--stats",
        stats.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    let out = hypersigma(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let s: Value = std::fs::read_to_string(&stats)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    if s.is_object() {
        assert_eq!(
            s["events_read"].as_u64().unwrap(),
            s["events_evaluated"].as_u64().unwrap() + s["lines_rejected"].as_u64().unwrap(),
            "read = evaluated + rejected: {s}"
        );
    }
    let detections = String::from_utf8_lossy(&out.stdout).lines().count();
    (out.status.code(), s, stderr, detections)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn lines(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(p);
        out.push(b'\n');
    }
    out
}

#[test]
fn broken_lines_are_rejected_with_a_reason_and_the_rest_is_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let input = lines(&[
        GOOD.as_bytes(),
        b"{\"EventID\": 1, \"CommandLine\": }",          // malformed
        b"{\"CommandLine\": \"caf\xc3\x28\"}",          // invalid UTF-8
        b"{\"CommandLine\": \"a\0b\"}",                 // raw NUL in a string
        b"\0\0\0",                                        // NUL bytes
        deep.as_bytes(),                                  // 10,000 deep
        b"[1, 2, 3]",                                     // not an object
        b"\"just a string\"",
        b"42",
        b"{\"CommandLine\": [\"cmd.exe\", 1, null, {\"x\": true}], \"Image\": 12345678901234567890123}", // odd types
        b"{\"EventID\": 1e400}",                          // number out of range
        b"{\"CommandLine\": \"first\", \"CommandLine\": \"cmd.exe /Q /c x\"}", // duplicate keys
        GOOD.as_bytes(),
        b"{\"EventID\": 1, \"CommandLine\": \"trunc", // truncated last line
    ]);
    let mut input = input;
    input.pop(); // no final newline
    let file = write(dir.path(), "broken.jsonl", &input);
    let (code, s, stderr, detections) = scan(&file, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(s["events_read"], 14, "{s}");
    assert_eq!(detections, 2, "the two good events still match: {stderr}");
    let reasons = &s["lines_rejected_by_reason"];
    assert_eq!(reasons["not_an_object"], 3, "{s}");
    assert!(reasons["invalid_json"].as_u64().unwrap() >= 6, "{s}");
    // Each rejected line is named by file and line.
    for line in [2, 3, 4, 5, 6, 7, 14] {
        assert!(
            stderr.contains(&format!("broken.jsonl:{line}: ")),
            "line {line}: {stderr}"
        );
    }
}

#[test]
fn bom_crlf_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(GOOD.as_bytes());
    bom.extend(b"\r\n");
    bom.extend(GOOD.as_bytes());
    bom.extend(b"\r\n");
    let file = write(dir.path(), "bom.jsonl", &bom);
    let (code, s, stderr, detections) = scan(&file, &[]);
    assert_eq!((code, detections), (Some(0), 2), "{stderr}");
    assert_eq!(s["lines_rejected"], 0, "{s}");
    let file = write(dir.path(), "empty.jsonl", b"");
    let (code, s, _, detections) = scan(&file, &[]);
    assert_eq!((code, detections), (Some(0), 0));
    assert_eq!(s["events_read"], 0);
    let file = write(dir.path(), "blank.jsonl", b"\n\n  \n");
    let (code, s, _, _) = scan(&file, &[]);
    assert_eq!((code, &s["events_read"]), (Some(0), &Value::from(0)));
}

#[test]
fn long_lines_are_skipped_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let mut long = b"{\"CommandLine\": \"".to_vec();
    long.extend(std::iter::repeat_n(b'x', 100 << 20));
    long.extend(b"\"}");
    let input = lines(&[GOOD.as_bytes(), &long, GOOD.as_bytes()]);
    let file = write(dir.path(), "long.jsonl", &input);
    // Default maximum: 16 MiB.
    let (code, s, stderr, detections) = scan(&file, &[]);
    assert_eq!((code, detections), (Some(0), 2), "{stderr}");
    assert_eq!(s["lines_rejected_by_reason"]["line_too_long"], 1, "{s}");
    assert!(
        stderr.contains(&format!("long.jsonl:2: line of {} bytes", (100 << 20) + 20)),
        "{stderr}"
    );
    // A smaller maximum rejects the good lines too.
    let (_, s, _, detections) = scan(&file, &["--max-line-bytes", "100"]);
    assert_eq!((detections, &s["lines_rejected"]), (0, &Value::from(3)));
}

#[test]
fn strict_stops_at_the_first_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.jsonl",
        &lines(&[GOOD.as_bytes(), b"{oops", GOOD.as_bytes()]),
    );
    let (code, _, stderr, _) = scan(&file, &["--strict"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--strict: stopped at the first bad input: ")
            && stderr.contains("bad.jsonl:2"),
        "{stderr}"
    );
}

#[test]
fn truncated_gzip_and_evtx_and_unreadable_inputs() {
    let dir = tempfile::tempdir().unwrap();
    // A .gz that ends early: the events before the cut are evaluated, the input is reported.
    let mut plain = Vec::new();
    for _ in 0..2000 {
        plain.extend(GOOD.as_bytes());
        plain.push(b'\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let file = write(dir.path(), "cut.jsonl.gz", &gz[..gz.len() / 2]);
    let (code, s, stderr, detections) = scan(&file, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(detections > 0 && detections < 2000, "{detections}");
    assert_eq!(s["inputs_failed"], 1, "{s} {stderr}");
    assert!(stderr.contains("cut.jsonl.gz"), "{stderr}");

    // A truncated and a corrupted .evtx: what can be read is, the rest is reported.
    let evtx = std::fs::read(common::root().join(
        "../shared/events/evtx-attack-samples/evtx/Lateral Movement/LM_4624_mimikatz_sekurlsa_pth_source_machine.evtx",
    ))
    .unwrap();
    let file = write(dir.path(), "cut.evtx", &evtx[..evtx.len() * 2 / 3]);
    let (code, s, stderr, _) = scan(&file, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(s["inputs_failed"], 1, "{s}");
    assert!(stderr.contains("truncated EVTX"), "{stderr}");
    let mut corrupt = evtx.clone();
    for (i, b) in corrupt.iter_mut().enumerate().skip(4096) {
        if i % 97 == 0 {
            *b ^= 0x5a;
        }
    }
    let file = write(dir.path(), "corrupt.evtx", &corrupt);
    let (code, _, stderr, _) = scan(&file, &[]);
    assert_eq!(code, Some(0), "{stderr}");

    // A directory holding a dangling link: that input fails, the others are read.
    let sub = dir.path().join("mixed");
    std::fs::create_dir(&sub).unwrap();
    write(&sub, "good.jsonl", &lines(&[GOOD.as_bytes()]));
    std::os::unix::fs::symlink(sub.join("missing.jsonl"), sub.join("dangling.jsonl")).unwrap();
    let (code, s, stderr, detections) = scan(&sub, &[]);
    assert_eq!((code, detections), (Some(0), 1), "{stderr}");
    assert_eq!(s["inputs_failed"], 1, "{s} {stderr}");
}

/// A generated corpus with 1 % of its lines corrupted (cut, garbled, turned
/// into arrays, given invalid UTF-8): exactly those lines are rejected, and
/// every other line gives the same detections as in the clean corpus.
#[test]
fn one_percent_corrupted_lines_lose_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.jsonl");
    common::generate_attacks(&clean, 20000, 4);
    let text = std::fs::read(&clean).unwrap();
    let mut corrupted = Vec::new();
    let mut bad_lines = std::collections::BTreeSet::new();
    for (i, line) in text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let n = i + 1;
        if n % 100 == 37 {
            bad_lines.insert(n as u64);
            match n % 4 {
                0 => corrupted.extend_from_slice(&line[..line.len() / 2]),
                1 => corrupted.extend(line.iter().map(|&b| if b == b':' { b'=' } else { b })),
                2 => {
                    corrupted.push(b'[');
                    corrupted.extend_from_slice(line);
                    corrupted.push(b']');
                }
                _ => {
                    corrupted.extend_from_slice(&line[..10]);
                    corrupted.extend_from_slice(b"\xff\xfe");
                    corrupted.extend_from_slice(&line[10..]);
                }
            }
        } else {
            corrupted.extend_from_slice(line);
        }
        corrupted.push(b'\n');
    }
    let bad = dir.path().join("corrupted.jsonl");
    std::fs::write(&bad, &corrupted).unwrap();
    let rules = "../shared/sigma/rules/windows/process_creation";
    let detections = |file: &Path| -> (Value, std::collections::BTreeSet<(u64, String)>) {
        let (code, s, stderr, _) = scan_with(file, rules);
        assert_eq!(code, Some(0), "{stderr}");
        let pairs = std::fs::read_to_string(file.with_extension("out"))
            .unwrap()
            .lines()
            .map(|l| {
                let d: Value = serde_json::from_str(l).unwrap();
                (
                    d["source"]["line"].as_u64().unwrap(),
                    d["rule"]["id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        (s, pairs)
    };
    let (clean_stats, clean_pairs) = detections(&clean);
    let (bad_stats, bad_pairs) = detections(&bad);
    assert_eq!(clean_stats["lines_rejected"], 0);
    assert_eq!(
        bad_stats["lines_rejected"].as_u64().unwrap(),
        bad_lines.len() as u64,
        "{bad_stats}"
    );
    assert_eq!(bad_stats["events_read"], clean_stats["events_read"]);
    let expected: std::collections::BTreeSet<_> = clean_pairs
        .iter()
        .filter(|(l, _)| !bad_lines.contains(l))
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(bad_pairs, expected);
}

/// Scans with `rules`, detections to `file` with extension `out`.
fn scan_with(file: &Path, rules: &str) -> (Option<i32>, Value, String, usize) {
    let stats = file.with_extension("stats.json");
    let out = hypersigma(&[
        "scan",
        "-q",
        "-o",
        "jsonl",
        "-r",
        rules,
        "--stats",
        stats.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    std::fs::write(file.with_extension("out"), &out.stdout).unwrap();
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    (
        out.status.code(),
        s,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        0,
    )
}
