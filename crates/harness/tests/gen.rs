//! `hypersigma gen`: deterministic, valid, shaped as asked, and its planted
//! attacks are found exactly where the ground truth says (and nowhere else).

mod common;

use std::collections::BTreeSet;

use common::hypersigma_ok as hypersigma;

const SEED_RULE_ID: &str = "10c14723-61c7-4c75-92ca-9af245723ad2";
const SEED_RULE: &str =
    "../shared/sigma/rules/windows/process_creation/proc_creation_win_hktl_impacket_lateral_movement.yml";

#[test]
fn same_seed_same_bytes() {
    let a = hypersigma(&["gen", "-q", "--events", "3000", "--seed", "42", "--attacks"]);
    let b = hypersigma(&["gen", "-q", "--events", "3000", "--seed", "42", "--attacks"]);
    let c = hypersigma(&["gen", "-q", "--events", "3000", "--seed", "43", "--attacks"]);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    assert_eq!(a.stdout.iter().filter(|&&b| b == b'\n').count(), 3000);
}

#[test]
fn every_profile_is_valid_json_of_its_shape() {
    for profile in ["sysmon", "evtx", "winlogbeat", "ecs"] {
        let out = hypersigma(&[
            "gen",
            "-q",
            "--events",
            "2000",
            "--seed",
            "5",
            "--profile",
            profile,
        ]);
        let mut kinds = BTreeSet::new();
        let mut sizes = Vec::new();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let event: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
            let detected = hypersigma_compiler::Profile::detect(&event);
            assert_eq!(detected.name, profile, "{line}");
            let id = detected.event_id(&event).expect("event id");
            if id == 1 {
                sizes.push(line.len());
            }
            kinds.insert(id);
        }
        let expected: BTreeSet<i64> = [1, 3, 7, 11, 13, 22, 4688, 4624, 4625, 5145, 4663, 4104]
            .into_iter()
            .collect();
        assert_eq!(kinds, expected, "{profile}");
        let mean = sizes.iter().sum::<usize>() / sizes.len();
        assert!(
            (700..=2500).contains(&mean),
            "{profile}: Sysmon 1 mean size {mean}"
        );
    }
}

#[test]
fn planted_attacks_are_found_exactly_at_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    for profile in ["sysmon", "evtx", "winlogbeat", "ecs"] {
        let events = dir.path().join(format!("{profile}.jsonl"));
        let truth = dir.path().join(format!("{profile}.truth"));
        hypersigma(&[
            "gen",
            "-q",
            "--events",
            "20000",
            "--seed",
            "9",
            "--attacks",
            "--attack-rate",
            "2000",
            "--profile",
            profile,
            "-o",
            events.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
        ]);
        let truth_text = std::fs::read_to_string(&truth).unwrap();
        let mut expected: Vec<(String, u64)> = Vec::new();
        for line in truth_text.lines() {
            let t: serde_json::Value = serde_json::from_str(line).unwrap();
            for rule in t["rules"].as_array().unwrap() {
                expected.push((
                    rule.as_str().unwrap().to_string(),
                    t["line"].as_u64().unwrap(),
                ));
            }
        }
        assert!(expected.iter().filter(|(r, _)| r == SEED_RULE_ID).count() >= 40);
        let scan = hypersigma(&[
            "scan",
            "-q",
            "-r",
            SEED_RULE,
            "-r",
            "corpus/rules/remote_exec_impacket_style.yml",
            events.to_str().unwrap(),
        ]);
        let mut found: Vec<(String, u64)> = String::from_utf8(scan.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let d: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    d["rule"]["id"].as_str().unwrap().to_string(),
                    d["source"]["line"].as_u64().unwrap(),
                )
            })
            .collect();
        found.sort();
        expected.sort();
        assert_eq!(found, expected, "{profile}");
    }
}

/// The benign mix is benign: with every SigmaHQ rule, under 1 % of its events
/// draw a detection, none of level high or critical (only the low and medium
/// rules that flag everyday administration, as in real telemetry).
#[test]
fn benign_events_draw_few_and_only_low_detections_from_sigmahq() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("benign.jsonl");
    let stats = dir.path().join("stats.json");
    hypersigma(&[
        "gen",
        "-q",
        "--events",
        "30000",
        "--seed",
        "5",
        "-o",
        corpus.to_str().unwrap(),
    ]);
    let out = common::hypersigma(&common::args(&[
        &["scan", "-q", "-o", "jsonl"],
        &common::SIGMAHQ,
        &["--stats", stats.to_str().unwrap(), corpus.to_str().unwrap()],
    ]));
    assert_eq!(out.status.code(), Some(0));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let by_level = &s["detections_by_level"];
    assert!(
        by_level.get("high").is_none() && by_level.get("critical").is_none(),
        "{s}"
    );
    let events_with_detections: std::collections::BTreeSet<u64> =
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|d| d["source"]["line"].as_u64())
            .collect();
    let rate = events_with_detections.len() as f64 / 30000.0;
    assert!(rate > 0.0 && rate < 0.01, "benign detection rate {rate}");
}
