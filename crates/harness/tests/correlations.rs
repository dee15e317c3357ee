//! Correlations end to end: on generated corpora with planted brute-force
//! and lateral-movement logon sequences, the bundled correlation rules
//! (`corpus/rules/logon_brute_force.yml`, `lateral_movement_logons.yml`) find
//! exactly the planted sequences, with the same output on one thread and on
//! several (the sequences span thousands of lines, so their windows straddle
//! reader chunks and workers).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use common::hypersigma_ok as hypersigma;

/// `hypersigma scan -q -o FORMAT -r RULES [extra…] INPUT`, its standard output.
fn scan(rules: &str, format: &str, extra: &[&str], input: &Path) -> String {
    let mut args = vec!["scan", "-q", "-o", format, "-r", rules];
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    String::from_utf8(hypersigma(&args).stdout).unwrap()
}

/// (correlation title, contributing lines) expected from the ground truth.
fn expected(truth: &str) -> Vec<(String, Vec<u64>)> {
    let mut sequences: BTreeMap<(String, u64), Vec<u64>> = BTreeMap::new();
    for line in truth.lines() {
        let t: Value = serde_json::from_str(line).unwrap();
        if let Some(kind) = t["sequence"].as_str() {
            sequences
                .entry((kind.to_string(), t["instance"].as_u64().unwrap()))
                .or_default()
                .push(t["line"].as_u64().unwrap());
        }
    }
    let mut out = Vec::new();
    for ((kind, _), lines) in sequences {
        match kind.as_str() {
            "brute_force" => {
                // 12 failures then a success: the count fires at the tenth
                // failure; the chain adds the success.
                assert_eq!(lines.len(), 13);
                let mut first_ten = lines[..10].to_vec();
                out.push((
                    "Password Brute Force Against One Account".to_string(),
                    first_ten.clone(),
                ));
                first_ten.push(lines[12]);
                out.push((
                    "Brute Force Followed By A Successful Logon".to_string(),
                    first_ten,
                ));
            }
            "lateral_movement" => {
                assert_eq!(lines.len(), 4);
                out.push((
                    "One Account Logging On To Many Hosts From One Address".to_string(),
                    lines,
                ));
            }
            other => panic!("unknown sequence {other}"),
        }
    }
    out.sort();
    out
}

#[test]
fn planted_sequences_are_found_exactly_with_one_and_all_threads() {
    let dir = tempfile::tempdir().unwrap();
    for (profile, seed, events) in [("sysmon", "5", "200000"), ("evtx", "6", "60000")] {
        let corpus = dir.path().join(format!("{profile}.jsonl"));
        let truth = dir.path().join(format!("{profile}.truth"));
        hypersigma(&[
            "gen",
            "-q",
            "--events",
            events,
            "--seed",
            seed,
            "--attacks",
            "--profile",
            profile,
            "-o",
            corpus.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
        ]);
        let want = expected(&std::fs::read_to_string(&truth).unwrap());
        assert!(want.len() >= 3, "{profile}: {want:?}");
        let mut outputs = Vec::new();
        for threads in ["1", "2", "4"] {
            let text = scan("corpus/rules", "jsonl", &["--threads", threads], &corpus);
            let mut got: Vec<(String, Vec<u64>)> = text
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .filter(|d| d.get("correlation").is_some())
                .map(|d| {
                    let lines = d["events"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["line"].as_u64().unwrap())
                        .collect();
                    (
                        d["correlation"]["title"].as_str().unwrap().to_string(),
                        lines,
                    )
                })
                .collect();
            got.sort();
            assert_eq!(got, want, "{profile}, {threads} threads");
            outputs.push(text);
        }
        assert!(
            outputs.windows(2).all(|w| w[0] == w[1]),
            "{profile}: output depends on threads"
        );
    }
}

#[test]
fn correlation_records_name_the_group_window_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    common::generate_attacks(&corpus, 30_000, 8);
    let stats = dir.path().join("stats.json");
    let text = scan(
        "corpus/rules",
        "jsonl",
        &["--stats", stats.to_str().unwrap()],
        &corpus,
    );
    let record: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|d| d["correlation"]["type"] == "value_count")
        .expect("a lateral-movement detection");
    assert_eq!(record["correlation"]["level"], "high");
    assert!(record["group"]["IpAddress"]
        .as_str()
        .unwrap()
        .starts_with("10.66.6."));
    assert!(record["group"]["TargetUserName"].is_string());
    assert_eq!(record["value"], 4.0);
    assert!(
        record["window"]["start"].as_str().unwrap() <= record["window"]["end"].as_str().unwrap()
    );
    assert_eq!(record["window"]["timespan_ms"], 600_000);
    assert_eq!(record["events"].as_array().unwrap().len(), 4);
    // The rules the correlations read are not reported on their own.
    assert!(!text.contains("\"title\":\"Successful Network Logon\""));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["correlations"]["detections"], 3, "{s}");
    assert_eq!(s["correlations"]["state_evictions"], 0);
    // The table and CSV formats carry them too.
    for format in ["table", "csv"] {
        let text = scan("corpus/rules", format, &[], &corpus);
        assert!(
            text.contains("One Account Logging On To"),
            "{format}: {text}"
        );
        assert!(text.contains("IpAddress=10.66.6."), "{format}: {text}");
    }
}

#[test]
fn a_compiled_ruleset_keeps_its_correlations() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    let hsr = dir.path().join("rules.hsr");
    common::generate_attacks(&corpus, 30_000, 8);
    let report = hypersigma(&["compile", "-r", "corpus/rules", "-o", hsr.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&report.stdout).contains("3 correlation rules"));
    let a = scan("corpus/rules", "jsonl", &[], &corpus);
    let b = scan(hsr.to_str().unwrap(), "jsonl", &[], &corpus);
    assert_eq!(a, b);
    assert!(a.contains("\"correlation\""));
}

#[test]
fn bad_correlations_are_reported_with_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("c.yml");
    std::fs::write(
        &rules,
        "title: dangling\ncorrelation:\n  type: event_count\n  rules: [no_such_rule]\n  timespan: 5m\n  condition: {gte: 2}\n",
    )
    .unwrap();
    let out = common::hypersigma(&[
        "scan",
        "-q",
        "-r",
        "corpus/rules",
        "-r",
        rules.to_str().unwrap(),
        "/dev/null",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_rule"), "{stderr}");
    std::fs::write(&rules, "title: bad\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 5 minutes\n  condition: {gte: 2}\n").unwrap();
    let out = common::hypersigma(&["compile", "-r", rules.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("c.yml") && stdout.contains("invalid timespan"),
        "{stdout}"
    );
}
