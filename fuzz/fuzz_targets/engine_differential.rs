//! Fuzz target: one raw event line against a fixed rule set covering every
//! predicate kind. The fast engine (prefilter on and off, with the scope
//! gate forced off, and with the gate on and per-scope databases from the
//! first event) must give the reference evaluator's verdict for every rule,
//! or reject what does not parse.
#![no_main]

use std::cell::RefCell;
use std::sync::OnceLock;

use hypersigma_compiler::{
    evaluate, evaluate_detailed, parse_rules, CompileOptions, EvalOptions, Profile, Rule,
};
use hypersigma_runtime::engine::{Engine, EngineOptions, Scanner, Verdict};
use libfuzzer_sys::fuzz_target;

const RULES: &str = include_str!("../rules.yml");

struct Fixture {
    rules: Vec<Rule>,
    fast: Engine,
    /// With the scope gate on and per-scope databases from the first event.
    gated: Engine,
    /// With the scope gate off (the default turns it on for these rules).
    ungated: Engine,
    full: Engine,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rules: Vec<Rule> = parse_rules(RULES, None, &CompileOptions::default())
            .into_iter()
            .map(|r| r.expect("fixture rules compile"))
            .collect();
        let fast = Engine::new(rules.clone(), EngineOptions::default()).expect("engine");
        let gated = Engine::new(
            rules.clone(),
            EngineOptions {
                scope_gate: Some(true),
                subset_after: 1,
                subset_bytes_per_literal: 0,
                ..Default::default()
            },
        )
        .expect("engine");
        let ungated = Engine::new(
            rules.clone(),
            EngineOptions {
                scope_gate: Some(false),
                ..Default::default()
            },
        )
        .expect("engine");
        let full = Engine::new(
            rules.clone(),
            EngineOptions {
                no_prefilter: true,
                ..Default::default()
            },
        )
        .expect("engine");
        Fixture {
            rules,
            fast,
            gated,
            ungated,
            full,
        }
    })
}

/// `data` with each run of five digits or more written with other digits
/// (each digit moved by `shift`): the same event as stage 1's copy and the
/// memos' folded keys fold it, another as written. A remembered verdict or
/// a linked one must still be the reference's.
fn other_long_runs(data: &[u8], shift: u8) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut at = 0;
    while at < out.len() {
        let end = at + out[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if end - at >= 5 {
            for b in &mut out[at..end] {
                *b = b'0' + (*b - b'0' + shift) % 10;
            }
        }
        at = end + 1;
    }
    out
}

/// A string made longer than this, past the value memo's whole values (4
/// KiB), is looked up and scanned by pieces (`value_pieces.rs`).
const LENGTHENED: usize = 4200;

/// Where a line without line ends is cut (every kilobyte from its start):
/// the fifth cut, past [`LENGTHENED`].
const FIFTH_CUT: usize = 5 * 1024;

/// `event` (the line `data` parsed, a JSON object) with one of its
/// non-empty strings (nested ones included; which one, by the bytes of
/// `data`: the others, such as the log source's, stay as they are) made
/// longer than [`LENGTHENED`] bytes:
/// - by copies of itself, each followed by a line feed (many short lines,
///   which the pieces merge into cores; the same pieces repeat within the
///   value, and in the next lines);
/// - or by spaces before it, so that the string, held once, lies across a
///   cut of the long line (it ends 1 to its length bytes after the cut,
///   by the bytes of `data`): only the pieces' overlap finds a literal
///   that lies across it.
fn lengthened(event: &serde_json::Value, data: &[u8], line_ends: bool) -> Option<Vec<u8>> {
    /// Visits the non-empty strings of `value` in order; `pick` is the
    /// number of strings to pass before the one lengthened.
    fn lengthen(value: &mut serde_json::Value, line_ends: bool, pick: &mut usize, salt: usize) {
        match value {
            serde_json::Value::String(s) if !s.is_empty() => {
                if *pick == 0 {
                    *s = if line_ends {
                        let unit = format!("{s}\n");
                        unit.repeat(LENGTHENED / unit.len() + 1)
                    } else {
                        let after_cut = 1 + salt % s.len();
                        let before = (FIFTH_CUT + after_cut).saturating_sub(s.len());
                        format!("{}{s}", " ".repeat(before))
                    };
                }
                *pick = pick.wrapping_sub(1);
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    lengthen(item, line_ends, pick, salt);
                }
            }
            serde_json::Value::Object(members) => {
                for member in members.values_mut() {
                    lengthen(member, line_ends, pick, salt);
                }
            }
            _ => {}
        }
    }
    fn strings(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::String(s) => usize::from(!s.is_empty()),
            serde_json::Value::Array(items) => items.iter().map(strings).sum(),
            serde_json::Value::Object(members) => members.values().map(strings).sum(),
            _ => 0,
        }
    }
    let count = strings(event);
    if count == 0 {
        return None;
    }
    let mut event = event.clone();
    let salt: usize = data.iter().map(|&b| usize::from(b)).sum();
    let mut pick = salt % count;
    lengthen(&mut event, line_ends, &mut pick, salt / count);
    serde_json::to_vec(&event).ok()
}

/// A line as the reference reads it: the event, its profile and the rules
/// that match it (`None` when it is not a JSON object).
type Reference = (Option<serde_json::Value>, Profile, Option<Vec<u32>>);

fn reference(f: &Fixture, data: &[u8]) -> Reference {
    let parsed = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .filter(|v| v.is_object());
    let profile = parsed
        .as_ref()
        .map_or_else(Profile::sysmon, Profile::detect);
    let expected = parsed.as_ref().map(|event| {
        (0..f.rules.len() as u32)
            .filter(|&i| evaluate(&f.rules[i as usize], event, &profile))
            .collect::<Vec<u32>>()
    });
    (parsed, profile, expected)
}

thread_local! {
    /// One scanner per engine kept across inputs: its caches and remembered
    /// verdicts, filled by earlier inputs, answer later ones (a remembered
    /// verdict must hold for every event with the same key, whatever the
    /// values its candidates cannot read).
    static WARM: RefCell<Vec<Scanner<'static>>> = const { RefCell::new(Vec::new()) };
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (parsed, profile, expected) = reference(f, data);
    for engine in [&f.fast, &f.gated, &f.ungated, &f.full] {
        let Ok(mut scanner) = engine.scanner() else {
            return;
        };
        // Three times with one scanner: the third reads the values stage 1
        // remembered (from their second scan) instead of scanning them, and
        // the verdict stage 2 remembered instead of evaluating it.
        for _ in 0..3 {
            match (scanner.match_event(data, &profile), &expected) {
                (Verdict::Matched(got), Some(want)) => {
                    assert_eq!(&got, want, "{}", String::from_utf8_lossy(data));
                    // What the output reports of each match is the reference's.
                    if let Some(event) = &parsed {
                        for &r in &got {
                            let reference = evaluate_detailed(
                                &f.rules[r as usize],
                                event,
                                &profile,
                                EvalOptions::default(),
                            );
                            assert_eq!(scanner.explain(r, event, &profile), reference);
                        }
                    }
                }
                (Verdict::Rejected(_), None) => {}
                (got, want) => panic!(
                    "engine {got:?} vs reference {want:?} on {}",
                    String::from_utf8_lossy(data)
                ),
            }
        }
    }
    WARM.with(|warm| {
        let mut warm = warm.borrow_mut();
        if warm.is_empty() {
            for engine in [&f.fast, &f.gated, &f.ungated, &f.full] {
                match engine.scanner() {
                    Ok(scanner) => warm.push(scanner),
                    Err(_) => return,
                }
            }
        }
        // The line, then twice with its long runs of digits written
        // otherwise: the later ones may be answered by what the memos
        // remembered (or linked) for the line under its folded keys. Then
        // with a string lengthened, twice each way: the second time its
        // pieces are remembered.
        let long_lines = parsed.as_ref().and_then(|e| lengthened(e, data, true));
        let long_glued = parsed.as_ref().and_then(|e| lengthened(e, data, false));
        let variants = [
            Some(data.to_vec()),
            Some(other_long_runs(data, 1)),
            Some(other_long_runs(data, 7)),
            long_lines.clone(),
            long_lines,
            long_glued.clone(),
            long_glued,
        ];
        for (n, line) in variants.iter().enumerate() {
            let Some(line) = line else {
                continue;
            };
            let (profile, expected) = match n {
                0 => (profile.clone(), expected.clone()),
                _ => {
                    let (_, profile, expected) = reference(f, line);
                    (profile, expected)
                }
            };
            for scanner in warm.iter_mut() {
                match (scanner.match_event(line, &profile), &expected) {
                    (Verdict::Matched(got), Some(want)) => {
                        assert_eq!(&got, want, "warm: {}", String::from_utf8_lossy(line))
                    }
                    (Verdict::Rejected(_), None) => {}
                    (got, want) => panic!(
                        "warm engine {got:?} vs reference {want:?} on {}",
                        String::from_utf8_lossy(line)
                    ),
                }
            }
        }
    });
});
