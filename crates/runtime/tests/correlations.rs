//! The correlation and filter conformance suite: data files under
//! `tests/correlations/`, one runner.
//!
//! Each file is a YAML list of cases: `name`; `rules` (one multi-document
//! YAML text of detection rules, correlations and filters); `events` (JSON
//! objects, read with the flat `sysmon` profile, time from `UtcTime` and the
//! other timestamp members); then any of
//! - `hits`: the correlation detections expected, in order, each
//!   `{correlation: title, group: {field: value}, events: [1-based indices]}`
//!   (optionally `value:` the aggregate, `level:`, `start:`/`end:` in ms);
//! - `matches`: per event, the titles of the detection rules it matches
//!   (after filters);
//! - `reported`: titles of the rules whose own detections are reported;
//! - `error`: a text the loading error must contain.
//!
//! Every case runs with the events matched on one thread and on three
//! (chunks of the input split between threads), sightings fed in input
//! order: the hits must be the same.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use serde_norway::Value as Yaml;

use hypersigma_compiler::filter::apply_filters;
use hypersigma_compiler::{parse_documents, CompileOptions, Document, Profile};
use hypersigma_runtime::correlate::{CorrelationHit, CorrelationSet, Correlator, EventRef, Limits};
use hypersigma_runtime::engine::{Engine, EngineOptions, Verdict};
use hypersigma_runtime::input::Position;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

/// Matches every event (on `threads` threads, in chunks); returns per event
/// the matched rule indices, in input order.
fn match_all(engine: &Engine, events: &[Vec<u8>], threads: usize) -> Vec<Vec<u32>> {
    let profile = Profile::sysmon();
    let chunk = events.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = events
            .chunks(chunk)
            .map(|part| {
                let profile = &profile;
                s.spawn(move || {
                    let mut scanner = engine.scanner().unwrap();
                    part.iter()
                        .map(|raw| match scanner.match_event(raw, profile) {
                            Verdict::Matched(r) => r,
                            Verdict::Rejected(e) => panic!("event rejected: {e}"),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn run_case(case: &Yaml) -> Result<usize, String> {
    let text = case.get("rules").and_then(Yaml::as_str).ok_or("no rules")?;
    let mut rules = Vec::new();
    let mut correlations = Vec::new();
    let mut filters = Vec::new();
    let mut error: Option<String> = None;
    for d in parse_documents(text, None, &CompileOptions::default()) {
        match d {
            Ok(Document::Rule(r)) => rules.push(r),
            Ok(Document::Correlation(c)) => correlations.push(c),
            Ok(Document::Filter(f)) => filters.push(f),
            Err(e) => error = Some(e.to_string()),
        }
    }
    apply_filters(&mut rules, &filters);
    let titles: Vec<String> = rules.iter().map(|r| r.meta.title.clone()).collect();
    let set = CorrelationSet::new(correlations, &rules).map_err(|e| e.to_string());
    let expected_error = case.get("error").and_then(Yaml::as_str);
    let set = match (set, error, expected_error) {
        (Err(e), _, Some(want)) | (_, Some(e), Some(want)) => {
            return if e.contains(want) {
                Ok(1)
            } else {
                Err(format!("error '{e}' does not contain '{want}'"))
            };
        }
        (Ok(_), None, Some(want)) => return Err(format!("loaded, expected error '{want}'")),
        (_, Some(e), None) => return Err(format!("load error: {e}")),
        (Err(e), None, None) => return Err(format!("correlation error: {e}")),
        (Ok(set), None, None) => set,
    };
    let engine = Engine::new(
        rules,
        EngineOptions {
            unscoped: true,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let events: Vec<Value> = case
        .get("events")
        .map(|e| serde_norway::from_value(e.clone()).map_err(|e| e.to_string()))
        .transpose()?
        .unwrap_or_default();
    let raw: Vec<Vec<u8>> = events
        .iter()
        .map(|e| serde_json::to_vec(e).unwrap())
        .collect();
    let profile = Profile::sysmon();
    let mut checks = 0;
    let mut first: Option<Vec<CorrelationHit>> = None;
    for threads in [1, 3] {
        let matched = match_all(&engine, &raw, threads);
        if let Some(want) = case.get("matches") {
            let want: Vec<Vec<String>> =
                serde_norway::from_value(want.clone()).map_err(|e| e.to_string())?;
            let got: Vec<Vec<String>> = matched
                .iter()
                .map(|m| m.iter().map(|&r| titles[r as usize].clone()).collect())
                .collect();
            if got != want {
                return Err(format!("matches: got {got:?}, want {want:?}"));
            }
            checks += 1;
        }
        let mut correlator = Correlator::new(&set, Limits::default());
        let mut hits = Vec::new();
        let mut sightings = Vec::new();
        for (i, rules) in matched.iter().enumerate() {
            let at = || EventRef {
                path: "case".into(),
                position: Position::Line(i as u64 + 1),
            };
            set.sightings(&events[i], &profile, at, rules, &mut sightings);
            for sighting in sightings.drain(..) {
                hits.extend(correlator.observe(sighting));
            }
        }
        match &first {
            None => first = Some(hits.clone()),
            Some(f) if *f != hits => return Err(format!("{threads} threads: {hits:?} != {f:?}")),
            Some(_) => {}
        }
        if let Some(want) = case.get("hits").and_then(Yaml::as_sequence) {
            let got: Vec<Value> = hits
                .iter()
                .map(|h| {
                    let group: BTreeMap<String, Value> = h.group.iter().cloned().collect();
                    json!({
                        "correlation": set.correlations()[h.correlation].meta.title,
                        "level": set.correlations()[h.correlation].meta.level.map(|l| l.as_str()),
                        "start": h.start_ms,
                        "end": h.end_ms,
                        "group": group,
                        "events": h.events.iter().map(|e| match e.position {
                            Position::Line(l) => l,
                            Position::Record(r) => r,
                        }).collect::<Vec<_>>(),
                        "value": h.value,
                    })
                })
                .collect();
            if got.len() != want.len() {
                return Err(format!("hits: got {got:#?}, want {} hits", want.len()));
            }
            for (g, w) in got.iter().zip(want) {
                let w: Value = serde_norway::from_value(w.clone()).map_err(|e| e.to_string())?;
                for (k, v) in w.as_object().ok_or("a hit must be a mapping")? {
                    let same = match (&g[k], v) {
                        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                        (a, b) => a == b,
                    };
                    if !same {
                        return Err(format!("hit {k}: got {}, want {v} (all: {got:?})", g[k]));
                    }
                }
                checks += 1;
            }
            checks += 1;
        }
        if let Some(want) = case.get("reported") {
            let want: Vec<String> =
                serde_norway::from_value(want.clone()).map_err(|e| e.to_string())?;
            let got: Vec<String> = (0..titles.len() as u32)
                .filter(|&r| set.reports(r))
                .map(|r| titles[r as usize].clone())
                .collect();
            if got != want {
                return Err(format!("reported: got {got:?}, want {want:?}"));
            }
            checks += 1;
        }
    }
    Ok(checks)
}

#[test]
fn correlation_and_filter_suite() {
    let dir = root().join("tests/correlations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let (mut cases, mut checks, mut failures) = (0, 0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let list: Vec<Yaml> = serde_norway::from_str(&text).unwrap();
        for case in &list {
            cases += 1;
            let name = case.get("name").and_then(Yaml::as_str).unwrap_or("?");
            match run_case(case) {
                Ok(n) if n > 0 => checks += n,
                Ok(_) => failures.push(format!("{}: {name}: checks nothing", file.display())),
                Err(e) => failures.push(format!("{}: {name}: {e}", file.display())),
            }
        }
    }
    eprintln!(
        "correlations: {cases} cases, {checks} checks, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
