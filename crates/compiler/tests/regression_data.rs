//! SigmaHQ `regression_data`: every test's rule finds its expected detections.
//!
//! Each test names a rule id and an `.evtx` file; beside it lies the same
//! events as JSON (evtx_dump's shape). For this test only, `Event.System.*`
//! and `Event.EventData.*` are renamed to the flat field names the rules use
//! (log-source mapping and field profiles are the runtime's job). The rule must
//! find its expected detections: at least `match_count` events when the test
//! gives one, else at least one. Tests whose rule matches more events than
//! `match_count` are listed (each such extra event is a genuine match of the
//! rule's text: SigmaHQ's counts there are lower than what the rule says).

mod common;

use std::collections::HashMap;
use std::path::Path;

use hypersigma_compiler::{evaluate, load_paths, CompileOptions, Rule};
use serde_json::{Map, Value};

fn flatten(event: &Value) -> Value {
    let mut flat = Map::new();
    let root = event.get("Event").unwrap_or(event);
    if let Some(Value::Object(system)) = root.get("System") {
        for (k, v) in system {
            match v {
                Value::Object(o) => {
                    if let Some(Value::Object(attrs)) = o.get("#attributes") {
                        for (ak, av) in attrs {
                            flat.insert(format!("{k}_{ak}"), av.clone());
                        }
                    }
                    if let Some(text) = o.get("#text") {
                        flat.insert(k.clone(), text.clone());
                    }
                }
                other => {
                    flat.insert(k.clone(), other.clone());
                }
            }
        }
    }
    for section in ["EventData", "UserData"] {
        if let Some(Value::Object(data)) = root.get(section) {
            flatten_leaves(data, &mut flat);
        }
    }
    Value::Object(flat)
}

fn flatten_leaves(data: &Map<String, Value>, flat: &mut Map<String, Value>) {
    for (k, v) in data {
        match v {
            Value::Object(o) if k != "#attributes" => match o.get("#text") {
                Some(text) => {
                    flat.insert(k.clone(), text.clone());
                }
                None => flatten_leaves(o, flat),
            },
            Value::Object(_) => {}
            other => {
                // Windows Defender names fields with spaces ("Threat Name");
                // Sigma rules name them without ("ThreatName").
                if k.contains(' ') {
                    flat.insert(k.replace(' ', ""), other.clone());
                }
                flat.insert(k.clone(), other.clone());
            }
        }
    }
}

fn read_events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|v| v.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

#[test]
fn regression_data_detections() {
    let shared = common::shared();
    let sigma = shared.join("sigma");
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
    let mut more_than_expected = Vec::new();
    for info_path in &infos {
        let info: serde_norway::Value =
            serde_norway::from_str(&std::fs::read_to_string(info_path).expect("read info.yml"))
                .expect("parse info.yml");
        let rule_ids: Vec<&str> = info["rule_metadata"]
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
            let json = sigma.join(evtx).with_extension("json");
            let events: Vec<Value> = read_events(&json).iter().map(flatten).collect();
            for id in &rule_ids {
                let Some(rule) = by_id.get(id) else {
                    failures.push(format!("{id}: rule not compiled"));
                    continue;
                };
                let count = events.iter().filter(|e| evaluate(rule, e)).count();
                let expected = t["match_count"].as_u64();
                let ok = count as u64 >= expected.unwrap_or(1);
                if ok {
                    passed += 1;
                    match expected {
                        Some(n) if count as u64 > n => more_than_expected
                            .push(format!("{id}: {count} matches, match_count {n}")),
                        _ => exact += 1,
                    }
                } else {
                    failures.push(format!(
                        "{id} ({}): {count} matches, expected {:?}",
                        json.display(),
                        t["match_count"]
                            .as_u64()
                            .map_or("at least 1".to_string(), |n| n.to_string())
                    ));
                }
            }
        }
    }
    println!(
        "regression_data: {passed} of {tests} tests find their detections ({exact} with exactly match_count)"
    );
    for m in &more_than_expected {
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
