//! The `hypersigma` binary end to end: compile reports and scan output.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hypersigma(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hypersigma"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run hypersigma")
}

#[test]
fn compile_json_report_over_sigmahq() {
    assert!(
        root().join("../shared/sigma/rules").is_dir(),
        "../shared/sigma must sit beside the project"
    );
    let out = hypersigma(&[
        "compile",
        "-r",
        "../shared/sigma/rules",
        "-r",
        "../shared/sigma/rules-emerging-threats",
        "-r",
        "../shared/sigma/rules-threat-hunting",
        "-r",
        "../shared/sigma/rules-compliance",
        "--report",
        "json",
    ]);
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
        stderr.contains("16 events read, 1 inputs or lines rejected, 8 detections"),
        "{stderr}"
    );
}
