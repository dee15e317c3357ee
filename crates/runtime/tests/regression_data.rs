//! SigmaHQ `regression_data`: every test's rule finds its expected detections,
//! read both from the `.evtx` file and from its `.json` twin (concatenated,
//! pretty-printed evtx_dump output), through the runtime's readers, the
//! detected field profile and the rule's log-source scope.
//!
//! The rule must reach `match_count` when the test gives one, else match at
//! least once. Tests whose rule matches more events than `match_count` are
//! listed: each such extra event is a genuine match of the rule's text
//! (SigmaHQ's counts there are lower than what the rule says).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hypersigma_compiler::{evaluate, load_paths, CompileOptions, Profile, Rule};
use hypersigma_runtime::input;

fn sigma() -> PathBuf {
    let sigma = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sigma");
    assert!(
        sigma.is_dir(),
        "{} not found: the shared corpora must sit beside the project",
        sigma.display()
    );
    sigma
}

/// Events and matches of a rule over one input, the profile detected from its first event.
fn count_matches(rule: &Rule, path: &Path) -> (usize, usize) {
    let mut profile: Option<Profile> = None;
    let (mut events, mut matches) = (0, 0);
    for item in input::open(path).unwrap_or_else(|e| panic!("{e}")) {
        let event = item.unwrap_or_else(|r| panic!("{}: {r:?}", path.display()));
        events += 1;
        let profile = profile.get_or_insert_with(|| Profile::detect(&event.value));
        if evaluate(rule, &event.value, profile) {
            matches += 1;
        }
    }
    (events, matches)
}

#[test]
fn regression_data_from_evtx_and_json() {
    let sigma = sigma();
    let dirs: Vec<_> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| sigma.join(d))
        .collect();
    let set = load_paths(&dirs, &CompileOptions::default());
    let by_id: HashMap<&str, &Rule> = set
        .rules
        .iter()
        .filter_map(|r| r.meta.id.as_deref().map(|id| (id, r)))
        .collect();
    let mut infos = Vec::new();
    for entry in walkdir::WalkDir::new(sigma.join("regression_data")).sort_by_file_name() {
        let entry = entry.expect("walk regression_data");
        if entry.file_name() == "info.yml" {
            infos.push(entry.into_path());
        }
    }
    let (mut tests, mut passed, mut exact) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut more = Vec::new();
    for info_path in &infos {
        let text = std::fs::read_to_string(info_path).expect("read info.yml");
        let info: serde_norway::Value = serde_norway::from_str(&text).expect("parse info.yml");
        let ids: Vec<&str> = info["rule_metadata"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str())
            .collect();
        for t in info["regression_tests_info"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let Some(evtx) = t["path"].as_str() else {
                continue;
            };
            tests += 1;
            let evtx = sigma.join(evtx);
            let json = evtx.with_extension("json");
            let expected = t["match_count"].as_u64().map(|n| n as usize);
            for id in &ids {
                let Some(rule) = by_id.get(id) else {
                    failures.push(format!("{id}: rule not compiled"));
                    continue;
                };
                let (evtx_events, from_evtx) = count_matches(rule, &evtx);
                let (json_events, from_json) = count_matches(rule, &json);
                let wanted = expected.unwrap_or(1);
                if evtx_events != json_events || from_evtx != from_json {
                    failures.push(format!(
                        "{id}: evtx {from_evtx}/{evtx_events} vs json {from_json}/{json_events} matches/events"
                    ));
                } else if from_evtx < wanted {
                    failures.push(format!("{id}: {from_evtx} matches, expected {expected:?}"));
                } else {
                    passed += 1;
                    match expected {
                        Some(n) if from_evtx > n => {
                            more.push(format!("{id}: {from_evtx} matches, match_count {n}"))
                        }
                        _ => exact += 1,
                    }
                }
            }
        }
    }
    println!(
        "regression_data: {passed} of {tests} tests find their detections in .evtx and .json \
         ({exact} with exactly match_count)"
    );
    for m in &more {
        println!("  more matches than match_count: {m}");
    }
    assert!(tests >= 200, "only {tests} regression tests found");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
