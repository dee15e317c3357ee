//! The conformance suite: data files under `tests/conformance/`, one runner.
//!
//! Each file is a YAML list of cases. A case has a `name` and either a full
//! `rule` (YAML text), a `rule_file` (path from the project root), or a
//! `detection` mapping (wrapped into a minimal rule; the condition defaults to
//! `selection`). Then one of:
//! - `match:` / `nomatch:` lists of events (YAML mappings, read as JSON);
//! - `events:` a list of `{event, match, selections}` for finer checks;
//! - `error:` a text the compile error must contain (the rule must not compile),
//!   with optional `line:` the error must point at.
//!
//! `placeholders:` gives `expand` values for the case. Events are read with the
//! flat `sysmon` profile; rules with an unmapped log source (the minimal rule's
//! `product: test`) are evaluated unscoped, mapped ones within their log source.
//! Every case runs through the reference evaluator here; the fast engine will
//! run the same files.

mod common;

use hypersigma_compiler::{
    evaluate_detailed, parse_rule, CompileOptions, EvalOptions, Placeholders, Profile,
};
use serde_norway::Value as Yaml;

struct Outcome {
    cases: usize,
    checks: usize,
    failures: Vec<String>,
}

fn rule_text(case: &Yaml) -> Option<String> {
    if let Some(text) = case.get("rule").and_then(Yaml::as_str) {
        return Some(text.to_string());
    }
    if let Some(file) = case.get("rule_file").and_then(Yaml::as_str) {
        let path = common::project_root().join(file);
        return Some(
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
    }
    let mut detection = case.get("detection")?.clone();
    if let Some(map) = detection.as_mapping_mut() {
        if !map.contains_key("condition") {
            map.insert("condition".into(), "selection".into());
        }
    }
    let mut rule = serde_norway::Mapping::new();
    let name = case.get("name").and_then(Yaml::as_str).unwrap_or("case");
    rule.insert("title".into(), name.into());
    let mut logsource = serde_norway::Mapping::new();
    logsource.insert("product".into(), "test".into());
    rule.insert("logsource".into(), Yaml::Mapping(logsource));
    rule.insert("detection".into(), detection);
    serde_norway::to_string(&rule).ok()
}

fn to_json(v: &Yaml) -> serde_json::Value {
    serde_norway::from_value(v.clone()).expect("event converts to JSON")
}

fn run_case(case: &Yaml, file: &str, out: &mut Outcome) {
    let name = case
        .get("name")
        .and_then(Yaml::as_str)
        .unwrap_or("<unnamed>")
        .to_string();
    let label = format!("{file}: {name}");
    out.cases += 1;
    let Some(text) = rule_text(case) else {
        out.failures
            .push(format!("{label}: case has neither 'rule' nor 'detection'"));
        return;
    };
    let mut options = CompileOptions::default();
    if let Some(p) = case.get("placeholders") {
        let yaml = serde_norway::to_string(p).expect("placeholders serialise");
        options.placeholders = Some(Placeholders::from_yaml(&yaml).expect("placeholders parse"));
    }
    let compiled = parse_rule(&text, &options);
    if let Some(expected) = case.get("error").and_then(Yaml::as_str) {
        out.checks += 1;
        match compiled {
            Ok(_) => out
                .failures
                .push(format!("{label}: compiled, expected error '{expected}'")),
            Err(e) => {
                if !e.to_string().contains(expected) {
                    out.failures.push(format!(
                        "{label}: error '{e}' does not contain '{expected}'"
                    ));
                }
                if let Some(line) = case.get("line").and_then(Yaml::as_u64) {
                    if e.line != Some(line as usize) {
                        out.failures.push(format!(
                            "{label}: error at line {:?}, expected {line}",
                            e.line
                        ));
                    }
                }
            }
        }
        return;
    }
    let rule = match compiled {
        Ok(r) => r,
        Err(e) => {
            out.failures.push(format!("{label}: does not compile: {e}"));
            return;
        }
    };
    let mut expectations: Vec<(serde_json::Value, bool, Option<Vec<String>>)> = Vec::new();
    for (key, expected) in [("match", true), ("nomatch", false)] {
        for ev in case
            .get(key)
            .and_then(Yaml::as_sequence)
            .into_iter()
            .flatten()
        {
            expectations.push((to_json(ev), expected, None));
        }
    }
    for item in case
        .get("events")
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
    {
        let selections = item.get("selections").and_then(Yaml::as_sequence).map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        });
        let expected = item.get("match").and_then(Yaml::as_bool).unwrap_or(false);
        expectations.push((to_json(&item["event"]), expected, selections));
    }
    if expectations.is_empty() {
        out.failures.push(format!("{label}: no events to check"));
    }
    let profile = Profile::sysmon();
    for (i, (event, expected, selections)) in expectations.iter().enumerate() {
        out.checks += 1;
        let result = evaluate_detailed(&rule, event, &profile, EvalOptions { unscoped: true });
        if result.matched != *expected {
            out.failures.push(format!(
                "{label}: event #{i} {event}: matched {}, expected {expected}",
                result.matched
            ));
        }
        if let Some(sel) = selections {
            if &result.selections != sel {
                out.failures.push(format!(
                    "{label}: event #{i}: selections {:?}, expected {sel:?}",
                    result.selections
                ));
            }
        }
    }
}

#[test]
fn conformance_suite() {
    let dir = common::project_root().join("tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/conformance exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let mut out = Outcome {
        cases: 0,
        checks: 0,
        failures: Vec::new(),
    };
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read case file");
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let cases: Yaml =
            serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in cases.as_sequence().expect("a case file is a list") {
            run_case(case, &file, &mut out);
        }
    }
    println!(
        "conformance: {} cases, {} checks in {} files, {} failures",
        out.cases,
        out.checks,
        files.len(),
        out.failures.len()
    );
    assert!(out.failures.is_empty(), "{}", out.failures.join("\n"));
    assert!(out.cases >= 300, "only {} conformance cases", out.cases);
}
