//! `scan` output formats, rule selection, `--stats`, exit codes, and the
//! `filter` collector mode, on the project's sample events and rules.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{hypersigma, root};
use serde_json::Value;

const RULES: &str = "corpus/rules";
const EVENTS: &str = "corpus/events/sample.jsonl";

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hypersigma"))
        .current_dir(root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hypersigma");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait")
}

#[test]
fn jsonl_is_the_default_off_a_terminal_and_validates_line_by_line() {
    let out = hypersigma(&["scan", "-q", "-r", RULES, EVENTS]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    for line in lines {
        let v: Value = serde_json::from_str(line).expect("each line is JSON");
        for key in [
            "rule",
            "source",
            "timestamp",
            "computer",
            "selections",
            "event",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
        for key in [
            "id",
            "title",
            "level",
            "status",
            "tags",
            "author",
            "references",
        ] {
            assert!(v["rule"].get(key).is_some(), "rule.{key} missing");
        }
    }
}

#[test]
fn csv_is_an_rfc_4180_timeline() {
    let out = hypersigma(&["scan", "-q", "-r", RULES, "-o", "csv", EVENTS]);
    assert_eq!(out.status.code(), Some(0));
    let mut reader = csv::ReaderBuilder::new().from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header[..8],
        [
            "Timestamp",
            "Computer",
            "Channel",
            "EventID",
            "Level",
            "RuleTitle",
            "RuleID",
            "Details"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("valid CSV")).collect();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let seed = rows
        .iter()
        .find(|r| r[5].starts_with("Remote Command Output"))
        .expect("the loopback admin share rule");
    assert_eq!(&seed[1], "SRV-DB01");
    assert_eq!(&seed[3], "1");
    assert!(
        seed[7].contains("CommandLine: cmd.exe /Q /c whoami"),
        "{}",
        &seed[7]
    );
    assert!(seed[8].ends_with("sample.jsonl:3"));
}

#[test]
fn table_fits_120_columns() {
    let out = hypersigma(&["scan", "-q", "-r", RULES, "-o", "table", EVENTS]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Timestamp"));
    assert_eq!(text.lines().count(), 9);
    for line in text.lines() {
        assert!(line.chars().count() <= 120, "{line}");
        assert!(!line.contains('\x1b'), "no colour off a terminal");
    }
}

#[test]
fn rule_selection_by_level_tag_id_and_status() {
    let count = |extra: &[&str]| {
        let mut args = vec!["scan", "-q", "-r", RULES];
        args.extend_from_slice(extra);
        args.push(EVENTS);
        let out = hypersigma(&args);
        assert_eq!(out.status.code(), Some(0), "{extra:?}");
        String::from_utf8(out.stdout).unwrap().lines().count()
    };
    assert_eq!(count(&[]), 8);
    assert_eq!(count(&["--min-level", "high"]), 5);
    assert_eq!(count(&["--min-level", "critical"]), 1);
    assert_eq!(count(&["--tags", "attack.t1047"]), 1);
    assert_eq!(count(&["--tags", "ATTACK.T1059"]), 1);
    assert_eq!(
        count(&[
            "--rule-id",
            "6f2d3c1e-0a51-4c8e-9b1f-3d2a7e5c9a04,6f2d3c1e-0a51-4c8e-9b1f-3d2a7e5c9a05"
        ]),
        2
    );
    // Selecting nothing is a usage error.
    let out = hypersigma(&["scan", "-q", "-r", RULES, "--rule-id", "nope", EVENTS]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rule to run"));
}

#[test]
fn repeated_contents_are_answered_from_remembered_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    // Five process creations alike but for their times and process ids.
    let mut input = String::new();
    for n in 1..=5 {
        input.push_str(&format!(
            r#"{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","UtcTime":"2026-11-29 08:00:0{n}.000","ProcessId":{n},"Image":"C:\\Windows\\System32\\rundll32.exe","CommandLine":"C:\\Windows\\System32\\rundll32.exe","ParentImage":"C:\\Windows\\explorer.exe"}}"#
        ));
        input.push('\n');
    }
    let out = run_with_stdin(
        &[
            "scan",
            "-q",
            "-o",
            "jsonl",
            "--threads",
            "1",
            "--stats",
            stats.to_str().unwrap(),
            "-r",
            RULES,
        ],
        input.as_bytes(),
    );
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["events_reaching_stage_2"], 5);
    // Evaluated once and remembered, answered for the other four.
    assert_eq!(s["stage_2_verdicts_remembered"], 4);
    // Answered events are reported like evaluated ones.
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(s["detections"], 5);
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(line["event"]["ProcessId"], n as u64 + 1, "{line}");
    }
}

/// A large rule set (the scope gate on) over generated events, whose
/// processes repeat their images and command lines: stage 1's candidate
/// lists are remembered too, and the detections are those of a scan
/// without the prefilter.
#[test]
fn repeated_contents_are_answered_from_remembered_candidate_lists() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    common::generate(&events, 5000, 9);
    let rules = "../shared/sigma/rules/windows/process_creation";
    let scan = |extra: &[&str]| {
        let stats = dir.path().join("stats.json");
        let mut args = vec!["scan", "-q", "-o", "jsonl", "--threads", "1", "-r", rules];
        args.extend_from_slice(&["--stats", stats.to_str().unwrap()]);
        args.extend_from_slice(extra);
        args.push(events.to_str().unwrap());
        let out = hypersigma(&args);
        assert_eq!(out.status.code(), Some(0));
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
        (s, out.stdout)
    };
    let (s, detections) = scan(&[]);
    let remembered = s["stage_1_candidates_remembered"].as_u64().unwrap();
    assert!(remembered > 500, "{s}");
    // Scanned events answered by their hits: process creations whose
    // command lines or users are new.
    let by_hits = s["stage_1_candidates_by_hits"].as_u64().unwrap();
    assert!(by_hits > 100, "{s}");
    assert!(
        remembered + by_hits <= s["events_read"].as_u64().unwrap(),
        "{s}"
    );
    // Of the remembered lists, those answered once the fresh ids of their
    // command lines were folded; of the remembered verdicts, those linked
    // to the keys stage 1 answered by.
    let folded = s["stage_1_candidates_by_folded_keys"].as_u64().unwrap();
    assert!(folded > 50 && folded < remembered, "{s}");
    let linked = s["stage_2_verdicts_linked"].as_u64().unwrap();
    let verdicts = s["stage_2_verdicts_remembered"].as_u64().unwrap();
    assert!(linked > 100 && linked <= verdicts, "{s}");
    let (_, unfiltered) = scan(&["--no-prefilter"]);
    assert_eq!(detections, unfiltered);
}

#[test]
fn exit_codes_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let stats_arg = stats.to_str().unwrap();
    let out = hypersigma(&[
        "scan",
        "-q",
        "-r",
        RULES,
        "--stats",
        stats_arg,
        "--fail-on-detection",
        EVENTS,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["events_read"], 17);
    assert_eq!(s["events_evaluated"], 16);
    assert_eq!(s["lines_rejected"], 1);
    assert_eq!(s["detections"], 8);
    assert_eq!(s["detections_by_level"]["high"], 4);
    assert_eq!(s["top_rules"].as_array().map(Vec::len), Some(8));
    assert!(s["bytes_read"].as_u64().unwrap() > 5000);
    assert_eq!(s["events_by_profile"]["sysmon"], 17);
    assert!(s["candidate_rules_per_event"].as_f64().unwrap() > 0.0);
    // No detection: 0 even with --fail-on-detection.
    let out = hypersigma(&[
        "scan",
        "-q",
        "-r",
        RULES,
        "--min-level",
        "critical",
        "--tags",
        "attack.t1105",
        "--fail-on-detection",
        EVENTS,
    ]);
    assert_eq!(out.status.code(), Some(2), "nothing selected");
    let quiet = run_with_stdin(
        &["scan", "-q", "-r", RULES, "--fail-on-detection"],
        b"{\"EventID\": 1}\n",
    );
    assert_eq!(quiet.status.code(), Some(0));
    // Usage errors and unreadable rules: 2.
    assert_eq!(hypersigma(&["scan", "--bogus"]).status.code(), Some(2));
    assert_eq!(
        hypersigma(&["scan", "-r", "no/such/dir", EVENTS])
            .status
            .code(),
        Some(2)
    );
    // The summary on stderr.
    let out = hypersigma(&["scan", "-r", RULES, EVENTS]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("17 events read, 16 evaluated, 1 rejected (invalid_json 1); 8 detections"),
        "{err}"
    );
    assert!(
        err.contains("detections by level: critical 1, high 4, medium 2, low 1"),
        "{err}"
    );
}

#[test]
fn filter_passes_matching_events_tagged() {
    let input = std::fs::read(root().join(EVENTS)).unwrap();
    let out = run_with_stdin(&["filter", "-q", "-r", RULES], &input);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 8);
    for e in &events {
        let tags = e["sigma"].as_array().expect("sigma member");
        assert!(
            !tags.is_empty()
                && tags
                    .iter()
                    .all(|t| t["id"].is_string() && t["title"].is_string())
        );
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stdin:17: invalid JSON"), "{err}");
    // --tag-only: every line out, in order, the bad one unchanged.
    let out = run_with_stdin(&["filter", "-q", "-r", RULES, "--tag-only"], &input);
    let text = String::from_utf8(out.stdout).unwrap();
    let input_lines: Vec<&str> = std::str::from_utf8(&input).unwrap().lines().collect();
    let output_lines: Vec<&str> = text.lines().collect();
    assert_eq!(output_lines.len(), input_lines.len());
    assert_eq!(output_lines[16], input_lines[16]);
    assert_eq!(
        output_lines
            .iter()
            .filter(|l| l.contains("\"sigma\":["))
            .count(),
        8
    );
    assert_eq!(
        output_lines[0], input_lines[0],
        "untagged events pass unchanged"
    );
}

#[test]
fn demo_runs_the_bundled_rules_on_a_generated_corpus() {
    let out = hypersigma(&["demo", "--events", "20000", "--show", "3"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("generated 20000 events"), "{text}");
    assert!(
        text.contains("running 10 rules and 3 correlations"),
        "{text}"
    );
    assert!(text.contains("Brute Force Followed By A Success"), "{text}");
    let impacket = text
        .lines()
        .find(|l| {
            l.ends_with("Remote Command Output Redirected To Loopback Admin Share")
                && !l.starts_with("20")
        })
        .expect("per-rule line");
    let n: u64 = impacket.split_whitespace().next().unwrap().parse().unwrap();
    assert!(n > 0, "{impacket}");
    assert!(text.contains("events/s"), "{text}");
    let (detections, correlations) = text
        .split_once("correlation detections")
        .expect("a correlation section");
    assert_eq!(
        detections
            .lines()
            .filter(|l| l.starts_with("2026-"))
            .count(),
        3,
        "{text}"
    );
    assert!(
        correlations.contains("Password Brute Force Against One"),
        "{text}"
    );
}

#[test]
fn every_command_has_help_with_examples() {
    for cmd in [
        "demo", "compile", "check", "explain", "scan", "filter", "gen", "bench",
    ] {
        let out = hypersigma(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Examples:\n  ") && text.contains("hypersigma"),
            "{cmd} --help has no examples"
        );
        assert!(
            text.contains("Exit status") || cmd == "demo",
            "{cmd} --help has no exit status"
        );
    }
}
