//! Unit tests of the engine: stage 1's candidates and scope filter, stage 2's
//! verdicts and the validation of lines without candidates.

use super::*;
use hypersigma_compiler::{parse_rule, CompileOptions};

fn engine(detections: &[&str], no_prefilter: bool) -> Engine {
    let rules = detections
        .iter()
        .map(|d| {
            let text = format!("title: t\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{d}");
            parse_rule(&text, &CompileOptions::default()).unwrap()
        })
        .collect();
    Engine::new(
        rules,
        EngineOptions {
            no_prefilter,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn stage_one_selects_and_stage_two_decides() {
    let e = engine(
        &[
            "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
            "    s: {CommandLine|contains: 'mimikatz'}\n    condition: s",
            "    s: {CommandLine|contains: 'x'}\n    condition: not s",
        ],
        false,
    );
    assert_eq!(e.stats().witnesses, 2);
    assert_eq!(e.stats().always, 1);
    let mut s = e.scanner().unwrap();
    let p = Profile::sysmon();
    let raw = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c WHOAMI"}"#;
    assert_eq!(s.candidates(raw), &[0, 2]);
    assert_eq!(s.match_event(raw, &p), Verdict::Matched(vec![0, 2]));
    // A witness counts only in a member its field is read from.
    let elsewhere = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"ParentCommandLine":"whoami","CommandLine":"x"}"#;
    assert_eq!(s.candidates(elsewhere), &[2]);
    let wrapped = br##"{"EventID":1,"CommandLine":{"#text":"whoami"}}"##;
    assert_eq!(s.candidates(wrapped), &[0, 2]);
    // A \u escape hides "whoami" from raw bytes: every rule is a candidate.
    let escaped = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c \u0077hoami"}"#;
    assert_eq!(s.candidates(escaped), &[0, 1, 2]);
    assert_eq!(s.match_event(escaped, &p), Verdict::Matched(vec![0, 2]));
    // An escaped backslash before 'u' is not an escape.
    let not_escape = br#"{"Channel":"x","CommandLine":"C:\\users"}"#;
    assert_eq!(s.candidates(not_escape), &[2]);
    // The Kelvin sign folds to k.
    assert_eq!(
        s.candidates("{\"CommandLine\":\"mimi\u{212A}atz\"}".as_bytes()),
        &[0, 1, 2]
    );
    assert!(matches!(s.match_event(b"[1]", &p), Verdict::Rejected(_)));
    assert!(matches!(s.match_event(b"{bad", &p), Verdict::Rejected(_)));
}

#[test]
fn stage_one_drops_rules_whose_event_ids_the_raw_event_cannot_have() {
    // An always-candidate of process_creation (Sysmon 1, Security 4688).
    let e = engine(
        &["    s: {CommandLine|contains: 'x'}\n    condition: not s"],
        false,
    );
    let mut s = e.scanner().unwrap();
    let sysmon = |id: &str| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":{id},"CommandLine":"a"}}"#
        )
    };
    assert_eq!(s.candidates(sysmon("1").as_bytes()), &[0]);
    assert_eq!(s.candidates(sysmon("3").as_bytes()), &[] as &[u32]);
    assert_eq!(s.candidates(sysmon("\"4688\"").as_bytes()), &[0]);
    assert_eq!(s.candidates(sysmon("\" 3 \"").as_bytes()), &[] as &[u32]);
    // Unknown or escaped ids filter nothing; the evtx shape reads through #text.
    assert_eq!(s.candidates(sysmon("\"\\t3\"").as_bytes()), &[0]);
    assert_eq!(s.candidates(br#"{"CommandLine":"a"}"#), &[0]);
    let evtx = br##"{"Event":{"System":{"EventID":{"#text":"3"},"Channel":"Security"}}}"##;
    assert_eq!(s.candidates(evtx), &[] as &[u32]);
    let evtx = br##"{"Event":{"System":{"EventID":{"#text":"4688"},"Channel":"Security"}}}"##;
    assert_eq!(s.candidates(evtx), &[0]);
    let p = Profile::sysmon();
    assert_eq!(
        s.match_event(sysmon("1").as_bytes(), &p),
        Verdict::Matched(vec![0])
    );
}

#[test]
fn events_without_candidates_are_still_validated() {
    let e = engine(
        &["    s: {CommandLine|contains: 'whoami'}\n    condition: s"],
        false,
    );
    let mut s = e.scanner().unwrap();
    let p = Profile::sysmon();
    let reject =
        |v: &(Verdict, Option<serde_json::Value>, usize)| matches!(v.0, Verdict::Rejected(_));
    assert!(reject(&s.match_event_full(b"{\"a\": 1", &p)));
    assert!(reject(&s.match_event_full(b"[1, 2]", &p)));
    assert!(reject(&s.match_event_full(b"{\"a\": 1} trailing", &p)));
    assert_eq!(
        s.match_event_full(b" {\"a\": 1} ", &p).0,
        Verdict::Matched(vec![])
    );
    // The same lines without the prefilter give the same verdicts.
    let e2 = engine(
        &["    s: {CommandLine|contains: 'whoami'}\n    condition: s"],
        true,
    );
    let mut s2 = e2.scanner().unwrap();
    for line in [
        &b"{\"a\": 1"[..],
        b"[1, 2]",
        b"{\"a\": 1} trailing",
        b" {\"a\": 1} ",
    ] {
        assert_eq!(
            s.match_event_full(line, &p).0,
            s2.match_event_full(line, &p).0
        );
    }
}

#[test]
fn events_outside_every_scope_skip_the_scan_unless_escapes_could_hide_their_ids() {
    let mut e = engine(
        &["    s: {CommandLine|contains: 'whoami'}\n    condition: s"],
        false,
    );
    // One witness: scanning is cheaper than the gate, which is off.
    assert_eq!(e.event_id_gate, None);
    e.event_id_gate = event_id_gate(&e.scopes, &e.scope_event_ids, false);
    assert_eq!(e.event_id_gate.as_deref(), Some(&[1, 4688][..]));
    let mut s = e.scanner().unwrap();
    // Outside (EventID 3): no candidates, whatever the bytes hold.
    let outside =
        br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"CommandLine":"whoami"}"#;
    assert_eq!(s.candidates(outside), &[] as &[u32]);
    // A \u escape (here in the name of the event id member) may hide what the
    // event is: the scan runs, and it passes the event to every rule.
    let hidden = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","Event\u0049D":3,"EventID":1,"CommandLine":"whoami"}"#;
    assert_eq!(s.candidates(hidden), &[0]);
    let p = Profile::sysmon();
    assert_eq!(s.match_event(outside, &p), Verdict::Matched(vec![]));

    // Escapes that hide nothing, and those that can.
    assert!(!has_hiding_escape(br#"{"a":"C:\\users\\x\\\\u"}"#));
    assert!(!has_hiding_escape(br#"{"a":"\"u"}"#));
    assert!(has_hiding_escape(br#"{"a":"\u0041"}"#));
    assert!(has_hiding_escape(br#"{"a":"\\\u0041"}"#));
    assert!(has_hiding_escape(br#"{"a":"a\/b"}"#));
    assert!(!has_hiding_escape(br#"{"a":"trailing\\"}"#));

    // Rules that can be candidates outside event-id scopes turn the gate off.
    let unmapped = |unscoped| {
        let text =
            "title: t\nlogsource: {product: nowhere}\ndetection:\n    s: {a: b}\n    condition: s";
        let rule = parse_rule(text, &CompileOptions::default()).unwrap();
        let options = EngineOptions {
            unscoped,
            ..Default::default()
        };
        let e = Engine::new(vec![rule], options).unwrap();
        event_id_gate(&e.scopes, &e.scope_event_ids, unscoped)
    };
    assert_eq!(unmapped(false).as_deref(), Some(&[][..]));
    assert_eq!(unmapped(true), None);
    let any_windows =
        "title: t\nlogsource: {product: windows}\ndetection:\n    s: {a: b}\n    condition: s";
    let rule = parse_rule(any_windows, &CompileOptions::default()).unwrap();
    let e = Engine::new(vec![rule], EngineOptions::default()).unwrap();
    assert_eq!(event_id_gate(&e.scopes, &e.scope_event_ids, false), None);
}
