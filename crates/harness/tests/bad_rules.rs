//! Bad rules and output faults: each bad rule is a clear per-rule error and
//! the rest of the set loads and runs; a closed stdout ends quietly, a full
//! disk is an error.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{hypersigma, root};

fn rule(title: &str, detection: &str) -> String {
    format!("title: {title}\nid: {title}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{detection}\n")
}

#[test]
fn bad_rules_are_rejected_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let huge: Vec<String> = (0..100_000)
        .map(|i| format!("            - 'value{i}'"))
        .collect();
    let files = [
        (
            "good.yml",
            rule(
                "good",
                "    sel: {CommandLine|contains: whoami}\n    condition: sel",
            ),
        ),
        (
            "huge.yml",
            rule(
                "huge",
                &format!(
                    "    sel:\n        CommandLine|contains:\n{}\n    condition: sel",
                    huge.join("\n")
                ),
            ),
        ),
        (
            "bad_regex.yml",
            rule(
                "bad_regex",
                "    sel: {CommandLine|re: '(unclosed[a-'}\n    condition: sel",
            ),
        ),
        (
            "blowup_regex.yml",
            rule(
                "blowup_regex",
                "    sel: {CommandLine|re: '((a{1000}){1000}){1000}'}\n    condition: sel",
            ),
        ),
        (
            "deep.yml",
            rule(
                "deep",
                &format!(
                    "    sel: {{A: 1}}\n    condition: {}sel{}",
                    "(".repeat(500),
                    ")".repeat(500)
                ),
            ),
        ),
        ("bad_yaml.yml", "title: x\ndetection: {sel: [\n".to_string()),
        (
            "unknown_modifier.yml",
            rule(
                "unknown_modifier",
                "    sel: {CommandLine|containz: x}\n    condition: sel",
            ),
        ),
        (
            "missing.yml",
            rule("missing", "    sel: {A: 1}\n    condition: sel and other"),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = hypersigma(&[
        "compile",
        "--report",
        "json",
        "-r",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["compiled"], 1, "{report}");
    let reasons: Vec<String> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["path"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or(""),
                r["reason"]
            )
        })
        .collect();
    for (file, reason) in [
        ("huge.yml", "rule too large: 100000 values"),
        ("bad_regex.yml", "invalid regular expression"),
        ("blowup_regex.yml", "invalid regular expression"),
        ("deep.yml", "nesting deeper than 64"),
        ("bad_yaml.yml", "invalid YAML"),
        ("unknown_modifier.yml", "unknown modifier 'containz'"),
        ("missing.yml", "missing selection 'other'"),
    ] {
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with(file) && r.contains(reason)),
            "{file}: {reason} not in {reasons:#?}"
        );
    }
    // The set still runs with the good rule.
    let event =
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami"}"#;
    let events = dir.path().join("e.jsonl");
    std::fs::write(&events, format!("{event}\n")).unwrap();
    let out = hypersigma(&[
        "scan",
        "-o",
        "jsonl",
        "-r",
        dir.path().to_str().unwrap(),
        events.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rule rejected"));
}

/// Starts `hypersigma` with `args` from the project root, its stdout and
/// stderr piped.
fn spawn_piped<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_hypersigma"))
        .current_dir(root())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `hypersigma` with `args`, reads the first 64 bytes of its output
/// and closes it (`| head -c 64`); the child is left running.
fn read_then_close(args: &[String]) -> std::process::Child {
    let mut child = spawn_piped(args);
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    child
}

/// Scan the sample events with the project rules, detections as JSON lines.
const SCAN_SAMPLE: [&str; 7] = [
    "scan",
    "-q",
    "-o",
    "jsonl",
    "-r",
    "corpus/rules",
    "corpus/events/sample.jsonl",
];

#[test]
fn closed_stdout_ends_quietly_and_a_full_disk_is_an_error() {
    // `| head -1`: the reader goes away after one line.
    let gen = ["gen", "-q", "--events", "200000", "--seed", "1"].map(String::from);
    let out = read_then_close(&gen).wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut child = spawn_piped(&SCAN_SAMPLE);
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // /dev/full: the write error is reported with exit status 2.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hypersigma"))
        .current_dir(root())
        .args(SCAN_SAMPLE)
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No space left on device"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_reader_going_away_mid_run_ends_the_run() {
    // Enough detections for the workers to fill the bounded channels
    // before the writer finds stdout closed: the run must end all the same
    // (it waited for room that never came, before the channels were
    // dropped with the writer's loop).
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("every_process.yml");
    std::fs::write(
        &rules,
        rule(
            "every_process",
            "    sel: {Image|contains: '.exe'}\n    condition: sel",
        ),
    )
    .unwrap();
    let events = dir.path().join("events.jsonl");
    common::generate(&events, 30000, 3);
    for threads in ["1", "2"] {
        let scan = ["scan", "-q", "-o", "jsonl", "--threads", threads, "-r"]
            .map(String::from)
            .into_iter()
            .chain([rules.display().to_string(), events.display().to_string()])
            .collect::<Vec<_>>();
        let mut child = read_then_close(&scan);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("scan with {threads} threads did not end after its reader went away");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(0), "{threads} threads");
    }
}
