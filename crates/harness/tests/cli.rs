//! The `hypersigma` binary end to end: compile reports and scan output.

mod common;

use std::process::Command;

use common::{args, hypersigma, root, SIGMAHQ};

#[test]
fn compile_json_report_over_sigmahq() {
    assert!(
        root().join("../shared/sigma/rules").is_dir(),
        "../shared/sigma must sit beside the project"
    );
    let out = hypersigma(&args(&[&["compile"], &SIGMAHQ, &["--report", "json"]]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let found = report["found"].as_u64().unwrap();
    let compiled = report["compiled"].as_u64().unwrap();
    let rejected = report["rejected"].as_array().unwrap();
    assert!(found >= 3700);
    assert_eq!(found, compiled + rejected.len() as u64);
    assert!(compiled * 1000 >= found * 995, "{compiled} of {found}");
    for r in rejected {
        assert!(
            r["path"].is_string() && r["reason"].is_string() && r["id"].is_string(),
            "{r}"
        );
    }
}

#[test]
fn compile_lists_every_bad_rule_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let good = "title: good\nid: g1\nlogsource: {product: windows}\ndetection:\n    sel: {A: 1}\n    condition: sel\n";
    let typo = "title: typo\nid: b1\nlogsource: {product: windows}\ndetection:\n    sel:\n        A|contans: 1\n    condition: sel\n";
    let missing = "title: missing\nid: b2\nlogsource: {product: windows}\ndetection:\n    sel: {A: 1}\n    condition: sel and sel2\n";
    let broken = "title: broken\nid: b3\ndetection: [unclosed\n";
    std::fs::write(dir.path().join("good.yml"), good).unwrap();
    std::fs::write(dir.path().join("typo.yaml"), typo).unwrap();
    std::fs::write(
        dir.path().join("multi.yml"),
        format!("{good}---\n{missing}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.yml"), broken).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
    let path = dir.path().to_str().unwrap();
    let out = hypersigma(&["compile", "-r", path, "--report", "json"]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"], 4);
    assert_eq!(report["found"], 5);
    assert_eq!(report["compiled"], 2);
    let reasons: Vec<String> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{} {} {}",
                r["path"].as_str().unwrap().rsplit('/').next().unwrap(),
                r["line"],
                r["id"],
                r["reason"]
            )
        })
        .collect();
    assert!(
        reasons.iter().any(
            |r| r.starts_with("typo.yaml:6 \"b1\"") && r.contains("unknown modifier 'contans'")
        ),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.starts_with("multi.yml:13 \"b2\"") && r.contains("missing selection 'sel2'")), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("broken.yml:4 \"b3\"") && r.contains("invalid YAML")),
        "{reasons:?}"
    );

    let text = hypersigma(&["compile", "-r", path, "--strict"]);
    assert_eq!(text.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("5 rules found, 2 compiled (0 with an unmapped log source), 3 rejected"),
        "{stdout}"
    );
}

#[test]
fn scan_reports_detections_with_their_lines() {
    let out = hypersigma(&["scan", "-r", "corpus/rules", "corpus/events/sample.jsonl"]);
    assert!(out.status.success());
    let lines: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let d: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(d["rule"]["id"].is_string() && d["event"].is_object());
            d["source"]["line"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(lines, vec![3, 4, 6, 8, 10, 12, 13, 14]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("corpus/events/sample.jsonl:17: invalid JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("17 events read, 16 evaluated, 1 rejected (invalid_json 1); 8 detections"),
        "{stderr}"
    );
}

const SEED_RULE: &str =
    "../shared/sigma/rules/windows/process_creation/proc_creation_win_hktl_impacket_lateral_movement.yml";

/// (file name, line or record) of each detection.
fn detections(stdout: &[u8], position: &str) -> Vec<(String, u64)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let d: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(d["rule"]["id"].is_string() && d["rule"]["title"].is_string());
            assert_eq!(d["rule"]["level"], "high");
            let path = d["source"]["path"].as_str().unwrap();
            let name = path
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".jsonl")
                .to_string();
            (name, d["source"][position].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn seed_rule_finds_the_nine_impacket_events_in_jsonl_and_evtx() {
    let jsonl = hypersigma(&[
        "scan",
        "-q",
        "-o",
        "jsonl",
        "-r",
        SEED_RULE,
        "../shared/events/evtx-attack-samples/jsonl",
    ]);
    assert!(jsonl.status.success());
    assert!(
        jsonl.stderr.is_empty(),
        "-q must silence: {}",
        String::from_utf8_lossy(&jsonl.stderr)
    );
    let from_jsonl = detections(&jsonl.stdout, "line");
    let evtx = hypersigma(&[
        "scan",
        "-q",
        "-r",
        SEED_RULE,
        "../shared/events/evtx-attack-samples/evtx",
    ]);
    assert!(evtx.status.success());
    let from_evtx = detections(&evtx.stdout, "record");
    let expected: Vec<(String, u64)> = [
        ("LM_impacket_docmexec_mmc_sysmon_01.evtx", [2, 7, 8]),
        ("LM_wmiexec_impacket_sysmon_whoami.evtx", [2, 3, 4]),
        ("smbmap_upload_exec_sysmon.evtx", [14, 21, 23]),
    ]
    .iter()
    .flat_map(|(f, ps)| ps.iter().map(move |p| (f.to_string(), *p)))
    .collect();
    assert_eq!(from_jsonl, expected);
    assert_eq!(from_evtx, expected);
}

#[test]
fn scan_reads_stdin_and_forced_profiles() {
    use std::io::Write;
    let event = r#"{"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1", "event_data": {"ParentImage": "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "CommandLine": "cmd.exe /Q /c whoami 1> \\\\127.0.0.1\\ADMIN$\\__1 2>&1"}}}"#;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hypersigma"))
        .current_dir(root())
        .args([
            "scan",
            "-q",
            "-r",
            SEED_RULE,
            "--profile",
            "winlogbeat",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{event}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["source"]["path"], "-");
    assert_eq!(d["source"]["line"], 1);
    assert_eq!(d["profile"], "winlogbeat");
    assert_eq!(d["logsource"], "Sysmon Event ID 1: Process creation");
    let bad = hypersigma(&[
        "scan",
        "-r",
        SEED_RULE,
        "--profile",
        "nonesuch",
        "corpus/events/sample.jsonl",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a built-in profile"));
}

#[test]
fn output_does_not_depend_on_threads_the_prefilter_or_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let gen = hypersigma(&[
        "gen",
        "-q",
        "--events",
        "5000",
        "--seed",
        "4",
        "--attacks",
        "--attack-rate",
        "5000",
        "-o",
        events.to_str().unwrap(),
    ]);
    assert!(gen.status.success());
    let rules = "../shared/sigma/rules/windows/process_creation";
    let path = events.to_str().unwrap();
    let one = hypersigma(&["scan", "-q", "-r", rules, "--threads", "1", path]);
    let four = hypersigma(&["scan", "-q", "-r", rules, "--threads", "4", path]);
    let unfiltered = hypersigma(&[
        "scan",
        "-q",
        "-r",
        rules,
        "--threads",
        "3",
        "--no-prefilter",
        path,
    ]);
    // Read through copies instead of a mapped file: the same detections.
    let copied = hypersigma(&["scan", "-q", "-r", rules, "--no-mmap", path]);
    assert!(one.status.success() && four.status.success() && unfiltered.status.success());
    assert!(copied.status.success());
    let detections = String::from_utf8_lossy(&one.stdout).lines().count();
    assert!(detections >= 25, "{detections} detections");
    assert_eq!(one.stdout, four.stdout);
    assert_eq!(one.stdout, unfiltered.stdout);
    assert_eq!(one.stdout, copied.stdout);
}
