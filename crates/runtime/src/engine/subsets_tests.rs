//! Tests of the per-scope stage-1 databases: the candidates they give, when
//! a set gets one, the sets that keep the whole database.

use super::*;
use crate::engine::tests::{engine, rule_of, without_prefilter};
use crate::engine::{Engine, EngineOptions, Verdict};
use crate::test_rng::TestRng;
use hypersigma_compiler::{Profile, Rule};

/// Rules of three log sources, with the scope gate on and subset databases
/// built after `subset_after` events of a set of scopes.
fn three_sources(subset_after: u32) -> Engine {
    three_sources_paid(subset_after, 0)
}

/// [`three_sources`], a set's database built only once `bytes_per_literal`
/// bytes of its events per literal were scanned with the whole one.
fn three_sources_paid(subset_after: u32, bytes_per_literal: u32) -> Engine {
    let rules: Vec<Rule> = [
        (
            "{product: windows, category: process_creation}",
            "s: {CommandLine|contains: ['whoami', 'mimikatz', 'résumé']}\n    condition: s",
        ),
        (
            "{product: windows, category: process_creation}",
            "s: {Image|endswith: '\\rundll32.exe', CommandLine|contains: 'javascript:'}\n    condition: s",
        ),
        (
            "{product: windows, category: registry_set}",
            "s: {TargetObject|contains: '\\CurrentVersion\\Run'}\n    condition: s",
        ),
        (
            "{product: windows, service: security}",
            "s: {CommandLine|contains: 'whoami'}\n    condition: s",
        ),
        (
            "{product: windows, service: security}",
            "s: {CommandLine|contains: 'x'}\n    condition: not s",
        ),
    ]
    .iter()
    .map(|(logsource, detection)| rule_of(logsource, detection))
    .collect();
    let options = EngineOptions {
        subset_after,
        subset_bytes_per_literal: bytes_per_literal,
        ..Default::default()
    };
    let mut e = Engine::new(rules, options).unwrap();
    e.raw.gate = true;
    e
}

#[test]
fn per_scope_databases_give_the_candidates_of_the_whole_one() {
    let sysmon = r#""Channel":"Microsoft-Windows-Sysmon/Operational""#;
    let events: Vec<String> = vec![
        format!(r#"{{{sysmon},"EventID":1,"CommandLine":"cmd /c whoami","TargetObject":"\\CurrentVersion\\Run"}}"#),
        format!(r#"{{{sysmon},"EventID":1,"Image":"C:\\w\\RUNDLL32.exe","CommandLine":"javascript:x"}}"#),
        format!(r#"{{{sysmon},"EventID":1,"Image":"C:\\w\\rundll32.exe","CommandLine":"y"}}"#),
        format!(r#"{{{sysmon},"EventID":1,"Product":"Microsoft® Windows®","CommandLine":"RÉSUMÉ résumé"}}"#),
        format!("{{{sysmon},\"EventID\":1,\"CommandLine\":\"mimi\u{212A}atz\"}}"),
        format!(r#"{{{sysmon},"EventID":1,"CommandLine":"\u0077hoami"}}"#),
        format!(r#"{{{sysmon},"EventID":13,"TargetObject":"HKLM\\CurrentVersion\\Run\\x","CommandLine":"whoami"}}"#),
        format!(r#"{{{sysmon},"EventID":13,"TargetObject":"HKLM\\x"}}"#),
        r#"{"Channel":"Security","EventID":4688,"CommandLine":"whoami","TargetObject":"\\CurrentVersion\\Run"}"#.to_string(),
        r#"{"Channel":"Security","EventID":4624,"CommandLine":"x"}"#.to_string(),
        r#"{"EventID":1,"CommandLine":"whoami"}"#.to_string(),
        r#"{"Channel":"Application","CommandLine":"whoami"}"#.to_string(),
    ];
    let whole = three_sources(0);
    let mut reference = whole.scanner().unwrap();
    for after in [1, 3] {
        let e = three_sources(after);
        let mut s = e.scanner().unwrap();
        for round in 0..4 {
            for event in &events {
                assert_eq!(
                    s.candidates(event.as_bytes()),
                    reference.candidates(event.as_bytes()),
                    "after {after}, round {round}: {event}"
                );
            }
        }
        // Process creation, registry and security events got their own.
        let built = e.subsets.lock().len();
        assert!(built >= 3, "{built}");
    }
    let e = three_sources(1);
    let mut s = e.scanner().unwrap();
    let p = Profile::sysmon();
    for event in &events {
        assert_eq!(
            s.match_event(event.as_bytes(), &p),
            reference.match_event(event.as_bytes(), &p),
            "{event}"
        );
    }
}

#[test]
fn each_scanner_adopts_a_set_database_through_a_handle_of_its_own() {
    let event = r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c whoami"}"#;
    let e = three_sources(1);
    let (mut first, mut second) = (e.scanner().unwrap(), e.scanner().unwrap());
    for _ in 0..3 {
        first.candidates(event.as_bytes());
        second.candidates(event.as_bytes());
    }
    let (a, b) = (first.subset_for().unwrap(), second.subset_for().unwrap());
    // Each event clones and drops the handle: two workers must not write
    // one count.
    assert!(!Arc::ptr_eq(&a, &b));
    assert!(Arc::ptr_eq(&a, &first.subset_for().unwrap()));
    // One database, built once.
    match (&*a, &*b) {
        (Subset::Db { db: x, .. }, Subset::Db { db: y, .. }) => assert!(Arc::ptr_eq(x, y)),
        _ => panic!("the process-creation set has a database of its own"),
    }
}

#[test]
fn a_set_gets_its_database_once_its_scans_would_have_paid_for_it() {
    let event = |n: usize| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c whoami {n}","Image":"C:\w\x{n}.exe"}}"#
        )
    };
    let built = |e: &Engine| e.subsets.lock().values().filter(|s| s.is_some()).count();
    // A few hundred bytes per literal: built within a few hundred events.
    let cheap = three_sources_paid(1, 300);
    let mut s = cheap.scanner().unwrap();
    for n in 0..10 {
        s.candidates(event(n).as_bytes());
    }
    assert_eq!(built(&cheap), 0, "built before its scans paid");
    for n in 10..1000 {
        s.candidates(event(n).as_bytes());
    }
    assert_eq!(built(&cheap), 1);
    // Never paid for: the whole database throughout.
    let dear = three_sources_paid(1, u32::MAX);
    let mut s = dear.scanner().unwrap();
    for n in 0..1000 {
        s.candidates(event(n).as_bytes());
    }
    assert_eq!(built(&dear), 0);
}

#[test]
fn a_set_of_scopes_holding_nearly_every_literal_keeps_the_whole_database() {
    let mut e = engine(
        &[
            "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
            "    s: {CommandLine|contains: 'mimikatz'}\n    condition: s",
        ],
        false,
    );
    e.options.subset_after = 1;
    e.options.subset_bytes_per_literal = 0;
    e.raw.gate = true;
    let mut s = e.scanner().unwrap();
    let raw =
        br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami"}"#;
    for _ in 0..3 {
        assert_eq!(s.candidates(raw), &[0]);
    }
    let built = e.subsets.lock();
    assert_eq!(built.len(), 1);
    assert!(built
        .values()
        .all(|s| matches!(s.as_deref(), Some(Subset::Whole))));
}

#[test]
fn a_scope_set_without_ascii_literals_still_scans_for_non_ascii_ones() {
    // The set's per-scope database is empty (its rule's one witness is
    // non-ASCII), and the non-ASCII database must still be scanned.
    for value in ["ß", "é", "whoami"] {
        let rule = rule_of(
            "{product: windows, category: process_creation}",
            &format!("s: {{CommandLine|contains: '{value}'}}\n    condition: s"),
        );
        let options = EngineOptions {
            scope_gate: Some(true),
            subset_after: 1,
            subset_bytes_per_literal: 0,
            ..Default::default()
        };
        let e = Engine::new(vec![rule], options).unwrap();
        let mut s = e.scanner().unwrap();
        let p = Profile::sysmon();
        let sysmon = r#""Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1"#;
        for round in 0..3 {
            for event in [
                format!(r##"{{{sysmon},"CommandLine":{{"#text":"aaaaa{value}"}}}}"##),
                format!(r#"{{{sysmon},"CommandLine":"aaaaa{value}"}}"#),
            ] {
                assert_eq!(s.candidates(event.as_bytes()), &[0], "{round}: {event}");
                assert_eq!(
                    s.match_event(event.as_bytes(), &p),
                    Verdict::Matched(vec![0]),
                    "{round}: {event}"
                );
            }
            let other = format!(r#"{{{sysmon},"CommandLine":"aaaaa"}}"#);
            assert_eq!(
                s.match_event(other.as_bytes(), &p),
                Verdict::Matched(vec![])
            );
        }
    }
}

#[test]
fn only_scope_sets_with_keyword_rules_scan_every_value_for_keywords() {
    let rules: Vec<Rule> = [
        (
            "{product: windows, category: process_creation}",
            "s: {CommandLine|contains: 'whoami'}\n    condition: s",
        ),
        (
            "{product: windows, service: security}",
            "keywords: ['mimikatz', 'résumé']\n    condition: keywords",
        ),
    ]
    .iter()
    .map(|(logsource, detection)| rule_of(logsource, detection))
    .collect();
    let every = Engine::new(
        rules.clone(),
        EngineOptions {
            no_prefilter: true,
            ..Default::default()
        },
    )
    .unwrap();
    let mut reference = every.scanner().unwrap();
    for subset_after in [0, 1] {
        let options = EngineOptions {
            subset_after,
            subset_bytes_per_literal: 0,
            ..Default::default()
        };
        let mut e = Engine::new(rules.clone(), options).unwrap();
        e.raw.gate = true;
        let mut s = e.scanner().unwrap();
        let sysmon = r#""Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1"#;
        let security = r#""Channel":"Security","EventID":4688"#;
        let cases = [
            (
                format!(r#"{{{sysmon},"Description":"mimikatz","CommandLine":"whoami"}}"#),
                false,
            ),
            (
                format!(r#"{{{sysmon},"Description":"résumé","CommandLine":"x"}}"#),
                false,
            ),
            (
                format!(r#"{{{security},"Description":"MIMIKATZ","CommandLine":"x"}}"#),
                true,
            ),
            (
                format!(r#"{{{security},"Description":"résumé","CommandLine":"x"}}"#),
                true,
            ),
            // A line without the set's ASCII keywords skips the keyword path.
            (
                format!(r#"{{{security},"Description":"x","CommandLine":"whoami"}}"#),
                false,
            ),
            // In a value a field-scoped witness counts in (the command line
            // of process creations, which 4688 is too), the scan of those
            // values finds the keyword: no keyword path needed.
            (
                format!(r#"{{{security},"Description":"x","CommandLine":"whoami mimikatz"}}"#),
                false,
            ),
            (
                format!(r#"{{{security},"Description":"my mimikatz","CommandLine":"whoami"}}"#),
                true,
            ),
        ];
        for round in 0..3 {
            for (raw, keywords) in &cases {
                let candidates = s.candidates(raw.as_bytes()).to_vec();
                // Another scope's keywords are not looked for in every value
                // of a process creation; the security events' are, when
                // their line may hold one.
                let ascii = raw.is_ascii();
                let scans = s.scans_keywords(None, ascii, raw.as_bytes());
                assert_eq!(scans, *keywords, "{round}: {raw}");
                let p = Profile::sysmon();
                let verdict = reference.match_event(raw.as_bytes(), &p);
                if let Verdict::Matched(matched) = &verdict {
                    assert!(matched.iter().all(|r| candidates.contains(r)), "{raw}");
                }
                assert_eq!(s.match_event(raw.as_bytes(), &p), verdict, "{raw}");
            }
        }
    }
}

/// Per-scope databases of two or three literals (vectorscan 5.4.9 alone
/// misses ~0.4 % of such occurrences, by the text's place in memory; see
/// `lowering::pass_through_patterns`) give the verdicts of an engine
/// without prefilter for every event, the literals planted at every kind of
/// place: with the pass-through patterns added, 0 of 20,000 events each
/// disagree; without, 86 of 20,000 did for the two caseless literals.
#[test]
fn small_per_scope_databases_never_drop_a_match() {
    let security = "{product: windows, service: security}";
    let other = (
        "{product: windows, category: registry_set}",
        "s: {TargetObject|contains: ['\\CurrentVersion\\Run', 'abc', 'def', 'ghi']}\n    condition: s",
    );
    let sets: [&[&str]; 3] = [
        &["mimikatz", "sekurlsa::"],
        &["mimikatz", "sekurlsa::", "gentilkiwi"],
        &["mimikatz|cased", "sekurlsa::|cased"],
    ];
    for set in sets {
        let mut rules: Vec<Rule> = set
            .iter()
            .map(|literal| {
                let (literal, cased) = match literal.strip_suffix("|cased") {
                    Some(l) => (l, "|cased"),
                    None => (*literal, ""),
                };
                let detection =
                    format!("s: {{CommandLine|contains{cased}: '{literal}'}}\n    condition: s");
                rule_of(security, &detection)
            })
            .collect();
        rules.push(rule_of(other.0, other.1));
        let options = EngineOptions {
            subset_after: 1,
            subset_bytes_per_literal: 0,
            ..Default::default()
        };
        let mut fast = Engine::new(rules, options).unwrap();
        fast.raw.gate = true;
        let reference = without_prefilter(&fast);
        let (mut f, mut r) = (fast.scanner().unwrap(), reference.scanner().unwrap());
        let p = Profile::sysmon();
        let mut rng = TestRng::new(0x9e37_79b9_7f4a_7c15);
        let mut matched = 0;
        for round in 0..20_000 {
            let len = rng.below(150);
            let mut text = rng.text(b"abcdefghijklmnopqrstuvwxyz:. ", len);
            let literal = set[rng.below(set.len())].trim_end_matches("|cased");
            let at = rng.below(text.len() + 1);
            text.splice(at..at, literal.bytes());
            let text = String::from_utf8(text).unwrap();
            // A member before it of any length: the copy the scan reads
            // starts the command line at every place of a block.
            let pad = "x".repeat(rng.below(64));
            let event = format!(
                r#"{{"Channel":"Security","EventID":4688,"Pad":"{pad}","CommandLine":"{text}","Host":"h"}}"#
            );
            let verdict = f.match_event(event.as_bytes(), &p);
            assert_eq!(
                verdict,
                r.match_event(event.as_bytes(), &p),
                "{set:?}, round {round}: {event}"
            );
            matched += usize::from(matches!(verdict, Verdict::Matched(ref m) if !m.is_empty()));
        }
        assert_eq!(matched, 20_000, "{set:?}");
        // The set's own database answered.
        assert!(
            matches!(f.subset_for().as_deref(), Some(Subset::Db { .. })),
            "{set:?}"
        );
    }
}
