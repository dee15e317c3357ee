//! Differential: the fast engine (prefilter on and off) agrees with the
//! reference evaluator on every (event, rule) pair, over the real event logs in
//! `../shared/events` (JSON lines and EVTX) and a generated corpus of 100,000
//! events, with every compilable SigmaHQ rule. A disagreement names the rule
//! and the event.
//!
//! Rules are grouped by log-source scope so that the reference is evaluated
//! only where a rule can apply; out of scope, both sides are false by the same
//! scope check, and the engine's verdict lists are compared whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hypersigma_compiler::{
    evaluate, evaluate_detailed, in_scope, load_paths, CompileOptions, EvalOptions, Profile, Rule,
};
use hypersigma_runtime::engine::{Engine, EngineOptions, Verdict};
use hypersigma_runtime::input;

fn shared() -> PathBuf {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        shared.join("sigma").is_dir(),
        "{} not found",
        shared.display()
    );
    shared
}

fn sigmahq_rules() -> Vec<Rule> {
    let sigma = shared().join("sigma");
    let dirs: Vec<_> = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-compliance",
    ]
    .iter()
    .map(|d| sigma.join(d))
    .collect();
    let set = load_paths(&dirs, &CompileOptions::default());
    assert!(set.rules.len() > 3700);
    set.rules
}

struct Check {
    engines: Vec<(&'static str, Engine)>,
    /// Rule indices grouped by scope (the reference runs only where in scope).
    groups: Vec<Vec<usize>>,
    events: usize,
    pairs: usize,
    detections: usize,
    failures: Vec<String>,
    /// Events written with escapes ([`write_escaped`]) instead of as
    /// serde_json writes them.
    escaped: bool,
}

impl Check {
    fn new(rules: Vec<Rule>) -> Check {
        let mut by_scope: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in rules.iter().enumerate() {
            by_scope
                .entry(format!("{:?}", r.scope))
                .or_default()
                .push(i);
        }
        let engines = vec![
            (
                // Per-scope stage-1 databases from the second event of a
                // set of scopes on: both databases serve every kind of event.
                "prefilter",
                Engine::new(
                    rules.clone(),
                    EngineOptions {
                        subset_after: 2,
                        subset_bytes_per_literal: 0,
                        ..Default::default()
                    },
                )
                .unwrap(),
            ),
            (
                "no-prefilter",
                Engine::new(
                    rules,
                    EngineOptions {
                        no_prefilter: true,
                        ..Default::default()
                    },
                )
                .unwrap(),
            ),
        ];
        Check {
            engines,
            groups: by_scope.into_values().collect(),
            events: 0,
            pairs: 0,
            detections: 0,
            failures: Vec::new(),
            escaped: false,
        }
    }

    /// Checks every event of one input, on all cores (events split into
    /// contiguous parts, one scanner per engine and thread).
    fn run(&mut self, path: &Path) {
        let events: Vec<input::Event> = input::open(path).unwrap().flatten().collect();
        let Some(first) = events.first() else { return };
        let profile = Profile::detect(&first.value);
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let part = events.len().div_ceil(threads).max(1);
        let results: Vec<(usize, usize, Vec<String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = events
                .chunks(part)
                .map(|chunk| {
                    let (this, profile) = (&*self, &profile);
                    s.spawn(move || this.check(chunk, profile, path))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        self.events += events.len();
        for (pairs, detections, failures) in results {
            self.pairs += pairs;
            self.detections += detections;
            self.failures.extend(failures);
        }
    }

    /// (in-scope pairs, detections, disagreements) over some events.
    fn check(
        &self,
        events: &[input::Event],
        profile: &Profile,
        path: &Path,
    ) -> (usize, usize, Vec<String>) {
        let mut scanners: Vec<_> = self
            .engines
            .iter()
            .map(|(n, e)| (*n, e.scanner().unwrap()))
            .collect();
        let rules = self.engines[0].1.rules();
        let (mut pairs, mut detections, mut failures) = (0, 0, Vec::new());
        let mut raw = Vec::new();
        for event in events {
            raw.clear();
            serde_json::to_writer(&mut raw, &event.value).unwrap();
            if self.escaped {
                raw = write_escaped(&raw);
            }
            let mut expected = Vec::new();
            for group in &self.groups {
                if !in_scope(
                    &rules[group[0]],
                    &event.value,
                    profile,
                    EvalOptions::default(),
                ) {
                    continue;
                }
                for &i in group {
                    pairs += 1;
                    if evaluate(&rules[i], &event.value, profile) {
                        expected.push(i as u32);
                    }
                }
            }
            expected.sort_unstable();
            detections += expected.len();
            for (name, scanner) in &mut scanners {
                let Verdict::Matched(got) = scanner.match_event(&raw, profile) else {
                    failures.push(format!(
                        "{name}: {} {:?}: rejected",
                        path.display(),
                        event.position
                    ));
                    continue;
                };
                // What a detection's output reports of each match (its log
                // source, the selections that hold) is the reference's.
                for &r in &got {
                    let reference = evaluate_detailed(
                        &rules[r as usize],
                        &event.value,
                        profile,
                        EvalOptions::default(),
                    );
                    let explained = scanner.explain(r, &event.value, profile);
                    if explained != reference {
                        failures.push(format!(
                            "{name}: {} {:?}: {} explained as {explained:?}, the reference {reference:?}",
                            path.display(),
                            event.position,
                            rules[r as usize].key()
                        ));
                    }
                }
                if got != expected {
                    let missing: Vec<&str> = expected
                        .iter()
                        .filter(|r| !got.contains(r))
                        .map(|&r| rules[r as usize].key())
                        .collect();
                    let extra: Vec<&str> = got
                        .iter()
                        .filter(|r| !expected.contains(r))
                        .map(|&r| rules[r as usize].key())
                        .collect();
                    failures.push(format!(
                        "{name}: {} {:?}: missing {missing:?}, extra {extra:?}",
                        path.display(),
                        event.position
                    ));
                }
            }
        }
        (pairs, detections, failures)
    }

    fn finish(self, what: &str) {
        println!(
            "{what}: {} events, {} in-scope (event, rule) pairs, {} detections, {} disagreements",
            self.events,
            self.pairs,
            self.detections,
            self.failures.len()
        );
        assert!(
            self.failures.is_empty(),
            "{}",
            self.failures[..self.failures.len().min(20)].join("\n")
        );
    }
}

#[test]
fn real_event_logs() {
    check_real_event_logs(false, "real event logs");
}

/// The real logs written as Python's `json` module (every non-ASCII
/// character as `\u`) and PHP (`\/`) write them, every `e` and `E` escaped
/// too, in names and values: every line then holds escapes that hide
/// witnesses and names from its raw bytes.
#[test]
fn real_event_logs_written_with_escapes() {
    check_real_event_logs(true, "real event logs, written with escapes");
}

/// Every event of `../shared/events` (written with escapes when `escaped`).
fn check_real_event_logs(escaped: bool, what: &str) {
    let mut check = Check::new(sigmahq_rules());
    check.escaped = escaped;
    let events = shared().join("events");
    for path in
        input::expand_inputs(&[events.join("evtx-attack-samples"), events.join("otrf")]).unwrap()
    {
        check.run(&path);
    }
    assert!(check.events > 16_000);
    check.finish(what);
}

/// `json`, a JSON text as serde_json writes it, with each string's non-ASCII
/// characters, slashes, `e` and `E` escaped (`\u00e9`, `\/`, `\u0065`).
fn write_escaped(json: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(json).unwrap();
    let mut out = String::with_capacity(text.len() * 2);
    let (mut in_string, mut escape) = (false, false);
    for c in text.chars() {
        if escape {
            escape = false;
            out.push(c);
            continue;
        }
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => escape = true,
            '/' if in_string => {
                out.push_str("\\/");
                continue;
            }
            c if in_string && (!c.is_ascii() || c == 'e' || c == 'E') => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::from_slice::<serde_json::Value>(json).unwrap()
    );
    out.into_bytes()
}

/// 100,000 generated events (planted attacks and logon sequences included)
/// against every SigmaHQ Windows rule: about 78 million in-scope pairs, under
/// four minutes in release mode on two cores.
#[test]
fn generated_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generated.jsonl");
    // The harness binary is not built for this crate's tests; generate with it when present.
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target")
        .join(if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        })
        .join("hypersigma");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "hypersigma"])
            .args(if cfg!(debug_assertions) {
                vec![]
            } else {
                vec!["--release"]
            })
            .status()
            .unwrap();
        assert!(status.success());
    }
    let status = Command::new(&bin)
        .args([
            "gen",
            "-q",
            "--events",
            "100000",
            "--seed",
            "17",
            "--attacks",
            "--attack-rate",
            "1000",
            "-o",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let rules: Vec<Rule> = sigmahq_rules()
        .into_iter()
        .filter(|r| r.meta.logsource.product.as_deref() == Some("windows"))
        .collect();
    let mut check = Check::new(rules);
    check.run(&path);
    assert_eq!(check.events, 100_000);
    check.finish("generated corpus");
}
