//! Unit tests of the engine: stage 1's candidates and scope filter, stage 2's
//! verdicts and the validation of lines without candidates.

use super::scopes::{has_ascii_folding, has_hiding_escape};
use super::*;
use crate::special_bytes::utf8_has_ascii_folding;
use hypersigma_compiler::witness::folds_to_ascii;
use hypersigma_compiler::{evaluate, parse_rule, CompileOptions};

/// A rule of `logsource` with one detection (its lines indented by four).
pub(super) fn rule_of(logsource: &str, detection: &str) -> Rule {
    let text = format!("title: t\nlogsource: {logsource}\ndetection:\n    {detection}");
    parse_rule(&text, &CompileOptions::default()).unwrap()
}

pub(super) fn engine(detections: &[&str], no_prefilter: bool) -> Engine {
    engine_with(
        detections,
        EngineOptions {
            no_prefilter,
            ..Default::default()
        },
    )
}

/// An engine of `e`'s rules that passes every event to stage 2 (the
/// reference a prefiltered engine's verdicts are compared with).
pub(super) fn without_prefilter(e: &Engine) -> Engine {
    let options = EngineOptions {
        no_prefilter: true,
        ..Default::default()
    };
    Engine::new(e.rules().to_vec(), options).unwrap()
}

/// An engine of process-creation rules with these detections.
pub(super) fn engine_with(detections: &[&str], options: EngineOptions) -> Engine {
    let rules = detections
        .iter()
        .map(|d| {
            let text = format!("title: t\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{d}");
            parse_rule(&text, &CompileOptions::default()).unwrap()
        })
        .collect();
    Engine::new(rules, options).unwrap()
}

/// A Sysmon process creation of event id `id` whose time and GUID change
/// with `n` (the memos' tests vary the contents rules read and keep these
/// unread).
pub(super) fn sysmon_process_event(
    n: usize,
    id: &str,
    process_id: &str,
    image: &str,
    command: &str,
    parent: &str,
    user: &str,
) -> String {
    format!(
        r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":{id},"UtcTime":"2026-11-29 06:{:02}:{:02}.{n:03}","ProcessGuid":"{{{n:08x}-0000}}","ProcessId":{process_id},"Image":"{image}","CommandLine":"{command}","ParentImage":"{parent}","User":"{user}"}}"#,
        n / 60 % 60,
        n % 60
    )
}

/// The engine's rules the reference evaluator matches on `event`
/// (ascending): the verdict a scanner must give.
pub(super) fn reference_matches(e: &Engine, event: &Value, p: &Profile) -> Vec<u32> {
    (0..e.rules().len() as u32)
        .filter(|&r| evaluate(&e.rules()[r as usize], event, p))
        .collect()
}

/// Matches `raw` with `s` and requires the reference's verdict (the rules
/// of `e` that match it under `p`), which it returns; `context` names the
/// case in a failure.
pub(super) fn agrees_with_reference(
    s: &mut Scanner<'_>,
    e: &Engine,
    raw: &str,
    p: &Profile,
    context: &str,
) -> Vec<u32> {
    let event: Value = serde_json::from_str(raw).unwrap();
    let expected = reference_matches(e, &event, p);
    assert_eq!(
        s.match_event(raw.as_bytes(), p),
        Verdict::Matched(expected.clone()),
        "{context}"
    );
    expected
}

/// Values of [`sysmon_process_event`] the memos' tests pick from (JSON-escaped).
pub(super) const IMAGES: [&str; 2] = ["C:\\\\w\\\\rundll32.exe", "C:\\\\w\\\\cmd.exe"];
pub(super) const PARENTS: [&str; 2] = ["C:\\\\o\\\\WINWORD.EXE", "C:\\\\w\\\\explorer.exe"];
pub(super) const USERS: [&str; 2] = ["NT AUTHORITY\\\\SYSTEM", "CONTOSO\\\\eve"];

/// A fresh hexadecimal word for `n` (a letter, hexadecimal digits and a
/// digit: a word the fold with words folds unless a reader keeps it);
/// every fifth one starts with `a1b2`, for tests that read those.
pub(super) fn hex_word(n: usize) -> String {
    match n % 5 {
        0 => format!("a1b2{n:05x}9"),
        _ => format!("a{:07x}1", n.wrapping_mul(2_654_435_761) % (1 << 28)),
    }
}

/// The rule of [`whoami_engine`].
const WHOAMI: &str = "    s: {CommandLine|contains: 'whoami'}\n    condition: s";

/// An engine of one rule: `CommandLine|contains: 'whoami'`.
fn whoami_engine() -> Engine {
    engine(&[WHOAMI], false)
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
    let wrapped = br##"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":{"#text":"whoami"}}"##;
    assert_eq!(s.candidates(wrapped), &[0, 2]);
    // A \u escape hides "whoami" from raw bytes: the line is read decoded
    // (`unescaped.rs`).
    let escaped = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c \u0077hoami"}"#;
    assert_eq!(s.candidates(escaped), &[0, 2]);
    assert_eq!(s.match_event(escaped, &p), Verdict::Matched(vec![0, 2]));
    // Unless the decoding needs a \u escape again: every rule is a candidate.
    let control = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c \u0077hoami\u0007"}"#;
    assert_eq!(s.candidates(control), &[0, 1, 2]);
    assert_eq!(s.match_event(control, &p), Verdict::Matched(vec![0, 2]));
    // An escaped backslash before 'u' is not an escape.
    let not_escape = br#"{"Channel":"Security","CommandLine":"C:\\users"}"#;
    assert_eq!(s.candidates(not_escape), &[2]);
    // Another channel is not the rules' log source.
    let other = br#"{"Channel":"x","CommandLine":"C:\\users"}"#;
    assert_eq!(s.candidates(other), &[] as &[u32]);
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
    // Sysmon's channel with Security's event id is neither source.
    assert_eq!(s.candidates(sysmon("\"4688\"").as_bytes()), &[] as &[u32]);
    let security = br#"{"Channel":"Security","EventID":"4688","CommandLine":"a"}"#;
    assert_eq!(s.candidates(security), &[0]);
    assert_eq!(s.candidates(sysmon("\" 3 \"").as_bytes()), &[] as &[u32]);
    assert_eq!(s.candidates(sysmon("\" 1\\t\"").as_bytes()), &[0]);
    // Escaped ids are read unescaped; unknown ids filter nothing; the evtx
    // shape reads through #text.
    assert_eq!(s.candidates(sysmon("\"\\t3\"").as_bytes()), &[] as &[u32]);
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
fn event_ids_are_read_once_per_event_for_every_rule_that_asks() {
    let security = "{product: windows, service: security}";
    let rules = vec![
        rule_of(
            security,
            "s: {EventID: 4624}\n    f: {TargetUserName: 'x'}\n    condition: s and not f",
        ),
        rule_of(
            security,
            "s: {EventID: [4625, 4634]}\n    f: {TargetUserName: 'x'}\n    condition: s and not f",
        ),
        rule_of(
            security,
            "s: {EventID: 4634}\n    f: {TargetUserName: 'y'}\n    condition: s and not f",
        ),
    ];
    let e = Engine::new(rules, EngineOptions::default()).unwrap();
    let mut s = e.scanner().unwrap();
    let event =
        |id: &str| format!(r#"{{"Channel":"Security","EventID":{id},"TargetUserName":"a"}}"#);
    // Each event's ids, not the last one's, whatever order the rules ask in.
    for _ in 0..2 {
        assert_eq!(s.candidates(event("4624").as_bytes()), &[0]);
        assert_eq!(s.candidates(event("4634").as_bytes()), &[1, 2]);
        assert_eq!(s.candidates(event("4625").as_bytes()), &[1]);
        assert_eq!(s.candidates(event("\"4634\"").as_bytes()), &[1, 2]);
        assert_eq!(s.candidates(event("4").as_bytes()), &[] as &[u32]);
        assert_eq!(s.candidates(event("4634.0").as_bytes()), &[1, 2]);
    }
}

#[test]
fn rules_without_witnesses_are_candidates_of_their_scopes_only() {
    let of = |category: &str| format!("{{product: windows, category: {category}}}");
    let not_x = "s: {CommandLine|contains: 'x'}\n    condition: not s";
    let rules = vec![
        rule_of(&of("process_creation"), not_x),
        rule_of(&of("network_connection"), not_x),
        rule_of(&of("process_creation"), not_x),
        rule_of("{product: windows, service: security}", not_x),
    ];
    let e = Engine::new(rules, EngineOptions::default()).unwrap();
    let mut s = e.scanner().unwrap();
    let sysmon = |id: u32| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":{id},"CommandLine":"a"}}"#
        )
    };
    let security = br#"{"Channel":"Security","EventID":4688,"CommandLine":"a"}"#;
    // Each event's scopes; their sets are remembered from the first events.
    for _ in 0..3 {
        assert_eq!(s.candidates(sysmon(1).as_bytes()), &[0, 2]);
        assert_eq!(s.candidates(sysmon(3).as_bytes()), &[1]);
        assert_eq!(s.candidates(sysmon(11).as_bytes()), &[] as &[u32]);
        assert_eq!(s.candidates(security), &[0, 2, 3]);
    }
    // A line whose escapes may hide a name is read decoded; one whose
    // decoding needs a `\u` escape still goes to every rule.
    let escaped =
        br#"{"Channel":"Microsoft-Windows-Sysmon\/Operational","EventID":3,"CommandLine":"a"}"#;
    assert_eq!(s.candidates(escaped), &[1]);
    let escaped =
        br#"{"Channel":"Microsoft-Windows-Sysmon\/Operational","EventID":3,"CommandLine":"\u0001"}"#;
    assert_eq!(s.candidates(escaped), &[0, 1, 2, 3]);
    assert_eq!(s.candidates(sysmon(3).as_bytes()), &[1]);
}

#[test]
fn events_without_candidates_are_still_validated() {
    let e = whoami_engine();
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
    let e2 = engine(&[WHOAMI], true);
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
    // A number beyond float range makes the line no event, as in the
    // reference's full parse, in a member no candidate reads too; each line
    // seen a few times, so that the memos and the trie know its layout.
    let process = r#""Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1"#;
    for (size, valid) in [("1e400", false), ("1e300", true), ("-2.5E+999", false)] {
        for line in [
            format!(r#"{{{process},"CommandLine":"whoami","Size":{size}}}"#),
            format!(r#"{{{process},"CommandLine":"other","Size":{size}}}"#),
            format!(r#"{{"EventID":3,"CommandLine":"whoami","Size":{size}}}"#),
            format!(r#"{{{process},"CommandLine":"whoami","S":[{{"a":{size}}}]}}"#),
            format!("{{{process},\"CommandLine\":\t\"whoami\",\"Size\":{size}}}"),
        ] {
            for _ in 0..3 {
                let fast = s.match_event_full(line.as_bytes(), &p);
                assert_eq!(!reject(&fast), valid, "{line}");
                let slow = s2.match_event_full(line.as_bytes(), &p);
                assert_eq!(fast.0, slow.0, "{line}");
            }
        }
    }
}

#[test]
fn stage_two_reindexes_an_event_stage_one_did_not_see() {
    let e = whoami_engine();
    let mut s = e.scanner().unwrap();
    let p = Profile::sysmon();
    let first =
        br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami"}"#;
    let other = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"x","CommandLine":"WHOAMI /all"}"#;
    assert_eq!(s.candidates(first), [0]);
    // Stage 2 on another line (the same candidates) builds its own index.
    assert_eq!(s.stage2(other, &p).0, Verdict::Matched(vec![0]));
    assert_eq!(
        s.stage2(b"{\"a\": 1", &p).0,
        Verdict::Rejected(crate::partial::invalid_json(
            &serde_json::from_slice::<Value>(b"{\"a\": 1").unwrap_err()
        ))
    );
    assert_eq!(s.evaluate_rules(other, &p, &[0]), Verdict::Matched(vec![0]));
}

#[test]
fn events_outside_every_scope_skip_the_scan_unless_escapes_could_hide_their_source() {
    let e = whoami_engine();
    // One witness: the gate is on, as for any rule set whose log sources
    // can refuse an event.
    assert!(e.raw.gate);
    let mut s = e.scanner().unwrap();
    // Outside (EventID 3, or another channel): no candidates, whatever the bytes hold.
    let outside =
        br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"CommandLine":"whoami"}"#;
    assert_eq!(s.candidates(outside), &[] as &[u32]);
    let elsewhere = br#"{"Channel":"Application","EventID":1,"CommandLine":"whoami"}"#;
    assert_eq!(s.candidates(elsewhere), &[] as &[u32]);
    let inside = br#"{"Channel":"microsoft-windows-sysmon/operational","EventID":"1","CommandLine":"whoami"}"#;
    assert_eq!(s.candidates(inside), &[0]);
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
}

#[test]
fn characters_folding_to_ascii_are_told_from_other_non_ascii_ones() {
    assert!(!has_ascii_folding(br#"{"a":"plain"}"#));
    let registered = "{\"Product\":\"Microsoft® Windows®\",\"b\":\"résumé 😀\"}";
    assert!(!has_ascii_folding(registered.as_bytes()));
    assert!(has_ascii_folding("{\"a\":\"mimi\u{212A}atz\"}".as_bytes()));
    assert!(has_ascii_folding("{\"a\":\"é and \u{17F}\"}".as_bytes()));
    // Not UTF-8: nothing is concluded.
    assert!(has_ascii_folding(b"{\"a\":\"\xff\"}"));
    assert!(has_ascii_folding(b"{\"a\":\"\xc3"));
    // On UTF-8 text, the search by first bytes finds exactly those
    // characters, also next to characters sharing their first bytes (ő, Ş:
    // 0xC5; €, –: 0xE2), in short texts (searched byte by byte) and long
    // ones (searched with `memchr`), at either end of a long one.
    let pieces = [
        "a", "®", "ő", "Ş", "€", "–", "😀", "\u{17F}", "\u{212A}", "K", "s",
    ];
    let long = "ő".repeat(40);
    for (before, after) in [("", ""), (long.as_str(), ""), ("", long.as_str())] {
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{before}{a}{b}x{c}{after}");
                    let folding = text.chars().any(|c| folds_to_ascii().contains(&c));
                    assert_eq!(utf8_has_ascii_folding(text.as_bytes()), folding, "{text}");
                    assert_eq!(has_ascii_folding(text.as_bytes()), folding, "{text}");
                }
            }
        }
    }
    assert!(utf8_has_ascii_folding("\u{212A}".as_bytes()));
    assert!(!utf8_has_ascii_folding(registered.as_bytes()));
}

/// An engine of one rule of `logsource`, with the scope gate on.
fn gated(logsource: &str, unscoped: bool) -> Engine {
    let text =
        format!("title: t\nlogsource: {logsource}\ndetection:\n    s: {{a: b}}\n    condition: s");
    let rule = parse_rule(&text, &CompileOptions::default()).unwrap();
    let options = EngineOptions {
        unscoped,
        ..Default::default()
    };
    let mut e = Engine::new(vec![rule], options).unwrap();
    e.raw.gate = true;
    e
}

#[test]
fn the_raw_scope_filter_reads_channels_conditions_and_requirements() {
    // Unmapped rules are candidates only when unscoped.
    let e = gated("{product: nowhere}", false);
    assert_eq!(
        e.scanner().unwrap().candidates(br#"{"a":"b"}"#),
        &[] as &[u32]
    );
    let e = gated("{product: nowhere}", true);
    assert_eq!(e.scanner().unwrap().candidates(br#"{"a":"b"}"#), &[0]);
    // A channel-based service: other channels are refused, a provider is
    // read when no channel is written, an escaped channel is unescaped.
    let e = gated("{product: windows, service: security}", false);
    let mut s = e.scanner().unwrap();
    assert_eq!(s.candidates(br#"{"Channel":"Security","a":"b"}"#), &[0]);
    assert_eq!(
        s.candidates(br#"{"Channel":"System","a":"b"}"#),
        &[] as &[u32]
    );
    assert_eq!(
        s.candidates(br#"{"Channel":"Sec\"urity","a":"b"}"#),
        &[] as &[u32]
    );
    assert_eq!(s.candidates(br#"{"a":"b"}"#), &[0]);
    let evtx = br##"{"Event":{"System":{"Channel":{"#text":"Security"}},"EventData":{"a":"b"}}}"##;
    assert_eq!(s.candidates(evtx), &[0]);
    // Conditions: the field must hold an allowed value (any case).
    let e = gated("{product: zeek, service: dns}", false);
    let mut s = e.scanner().unwrap();
    assert_eq!(s.candidates(br#"{"_path":"DNS","a":"b"}"#), &[0]);
    assert_eq!(s.candidates(br#"{"_path":["dns"],"a":"b"}"#), &[0]);
    assert_eq!(s.candidates(br#"{"_path":"conn","a":"b"}"#), &[] as &[u32]);
    assert_eq!(
        s.candidates(br#"{"Channel":"Security","a":"b"}"#),
        &[] as &[u32]
    );
    // Requirements: a member holding a non-null value (objects count).
    let e = gated("{product: aws, service: cloudtrail}", false);
    let mut s = e.scanner().unwrap();
    let record = br#"{"eventSource":"s3","eventName":"x","awsRegion":{"r":1},"a":"b"}"#;
    assert_eq!(s.candidates(record), &[0]);
    let partial = br#"{"eventSource":"s3","eventName":null,"awsRegion":"eu","a":"b"}"#;
    assert_eq!(s.candidates(partial), &[] as &[u32]);
    assert_eq!(
        s.candidates(br#"{"Channel":"Security","a":"b"}"#),
        &[] as &[u32]
    );
    // Any Windows event is never refused here.
    let e = gated("{product: windows}", false);
    assert!(!e.raw.scopes.can_refuse());
}

#[test]
fn rules_and_witness_groups_are_routed_by_scope_before_they_are_collected() {
    let rules: Vec<Rule> = [
        (
            "{product: windows, category: process_creation}",
            "s: {CommandLine|contains: 'whoami'}\n    condition: s",
        ),
        (
            "{product: windows, service: security}",
            "s: {CommandLine|contains: 'whoami'}\n    condition: s",
        ),
        (
            "{product: windows, service: security}",
            "s: {CommandLine|contains: 'x'}\n    condition: not s",
        ),
        (
            "{product: windows, category: process_creation}",
            "s: {Image|endswith: '.exe'}\n    condition: not s",
        ),
        (
            "{product: zeek, service: dns}",
            "s: {query|contains: 'whoami'}\n    condition: s",
        ),
    ]
    .iter()
    .map(|(logsource, detection)| rule_of(logsource, detection))
    .collect();
    let e = Engine::new(rules, EngineOptions::default()).unwrap();
    // Witness-free rules by scope; one group per (literal, members): the
    // two CommandLine rules share one across two scopes.
    let always: Vec<Vec<u32>> = e.routing.always.iter().map(|(_, r)| r.clone()).collect();
    assert_eq!(always, vec![vec![3], vec![2]]);
    let scopes: Vec<Option<u32>> = e.routing.group_scope.clone();
    assert_eq!(scopes.len(), e.groups.len());
    assert!(scopes.contains(&None), "{scopes:?}");
    assert!(scopes.contains(&Some(e.rule_scope[4])), "{scopes:?}");
    let mut s = e.scanner().unwrap();
    let sysmon = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami","Image":"a.exe","query":"whoami"}"#;
    assert_eq!(s.candidates(sysmon), &[0, 3]);
    let security =
        br#"{"Channel":"Security","EventID":4688,"CommandLine":"whoami","query":"whoami"}"#;
    assert_eq!(s.candidates(security), &[0, 1, 2, 3]);
    let dns = br#"{"Channel":"x","_path":"dns","query":"whoami","CommandLine":"whoami"}"#;
    assert_eq!(s.candidates(dns), &[4]);
    let p = Profile::sysmon();
    assert_eq!(s.match_event(sysmon, &p), Verdict::Matched(vec![0]));
}

#[test]
fn rules_requiring_event_ids_are_dropped_for_events_with_other_ids() {
    let text = "title: t\nlogsource: {product: windows, service: security}\ndetection:\n    s: {EventID: [4728, '4732']}\n    condition: s";
    let rule = parse_rule(text, &CompileOptions::default()).unwrap();
    let e = Engine::new(vec![rule], EngineOptions::default()).unwrap();
    assert_eq!(e.stats().always, 1);
    let mut s = e.scanner().unwrap();
    let every = without_prefilter(&e);
    let mut all = every.scanner().unwrap();
    let event = |id: &str| format!(r#"{{"Channel":"Security","EventID":{id}}}"#);
    for (id, candidate) in [
        ("4728", true),
        ("\"4728\"", true),
        ("4728.0", true),
        ("\"4732\"", true),
        ("4732", true),
        ("4729", false),
        ("\" 4728\"", false),
        ("\"4728.0\"", false),
        ("null", false),
        ("[1, 4728]", true),
    ] {
        let raw = event(id);
        let expected: &[u32] = if candidate { &[0] } else { &[] };
        assert_eq!(s.candidates(raw.as_bytes()), expected, "{raw}");
        // Without the prefilter, stage 2 agrees wherever the rule is dropped.
        let verdict = all.match_event(raw.as_bytes(), &Profile::sysmon());
        if !candidate {
            assert_eq!(verdict, Verdict::Matched(vec![]), "{raw}");
        }
    }
    // Without an event id the rule cannot match; the evtx shape is read through #text.
    assert_eq!(s.candidates(br#"{"Channel":"Security"}"#), &[] as &[u32]);
    let evtx = br##"{"Event":{"System":{"EventID":{"#text":"4728"},"Channel":"Security"}}}"##;
    assert_eq!(s.candidates(evtx), &[0]);
    // A \u escape may hide the id: the line is read decoded.
    assert_eq!(
        s.candidates(br#"{"Channel":"Security","EventID":"\u0034728"}"#),
        &[0]
    );
    assert_eq!(
        s.candidates(br#"{"Channel":"Security","EventID":"\u0034729"}"#),
        &[] as &[u32]
    );
}

#[test]
fn clauses_drop_candidates_missing_another_required_literal() {
    let e = engine(
        &[
            // The scan finds the long company name; the image is a clause.
            "    s:\n        Image|endswith: ['\\csi.exe', '\\rcsi.exe']\n        Company: 'Microsoft Corporation Limited'\n    condition: s",
            // (a ∧ b) ∨ c: the clauses are (a ∨ c) and (b ∨ c).
            "    s1:\n        Image|contains: '\\windowsapps\\'\n        CommandLine|contains: 'payload-xyz'\n    s2: {CommandLine|contains: 'other-marker'}\n    condition: 1 of s*",
        ],
        false,
    );
    assert!(e.stats().clauses >= 2, "{:?}", e.stats());
    let mut s = e.scanner().unwrap();
    let p = Profile::sysmon();
    let event = |image: &str, company: &str, cmd: &str| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"{image}","Company":"{company}","CommandLine":"{cmd}"}}"#
        )
    };
    let company = "Microsoft Corporation Limited";
    // The company alone: the image clause fails, no candidate.
    let raw = event("C:\\\\x\\\\cmd.exe", company, "x");
    assert_eq!(s.candidates(raw.as_bytes()), &[] as &[u32]);
    // The image literal in another member does not count.
    let raw = format!(
        r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\x\\cmd.exe","ParentImage":"C:\\x\\csi.exe","Company":"{company}","CommandLine":"x"}}"#
    );
    assert_eq!(s.candidates(raw.as_bytes()), &[] as &[u32]);
    // Both: a candidate, and a match.
    let raw = event("C:\\\\x\\\\CSI.EXE", company, "x");
    assert_eq!(s.candidates(raw.as_bytes()), &[0]);
    assert_eq!(s.match_event(raw.as_bytes(), &p), Verdict::Matched(vec![0]));
    // The image's pattern was hit in the event before, not in this one.
    let raw = event("C:\\\\x\\\\cmd.exe", company, "x");
    assert_eq!(s.candidates(raw.as_bytes()), &[] as &[u32]);
    // Rule 1: one side of the `and` alone is not enough; `c` alone is.
    let raw = event("C:\\\\windowsapps\\\\a.exe", "x", "payload");
    assert_eq!(s.candidates(raw.as_bytes()), &[] as &[u32]);
    let raw = event("C:\\\\windowsapps\\\\a.exe", "x", "run payload-xyz");
    assert_eq!(s.candidates(raw.as_bytes()), &[1]);
    assert_eq!(s.match_event(raw.as_bytes(), &p), Verdict::Matched(vec![1]));
    let raw = event("C:\\\\a.exe", "x", "other-marker");
    assert_eq!(s.candidates(raw.as_bytes()), &[1]);
    assert_eq!(s.match_event(raw.as_bytes(), &p), Verdict::Matched(vec![1]));
    // An escape that can hide a literal: the line is read decoded, its
    // candidates those of its plain writing.
    let raw = event("C:\\\\x\\\\\\u0063si.exe", company, "x");
    let plain = event("C:\\\\x\\\\csi.exe", company, "x");
    let expected = s.candidates(plain.as_bytes()).to_vec();
    assert_eq!(s.candidates(raw.as_bytes()), expected);
    assert_eq!(s.match_event(raw.as_bytes(), &p), Verdict::Matched(vec![0]));
    // One whose decoding would need another `\u` escape passes every rule on.
    let raw = event("C:\\\\x\\\\\\u0063si.exe\\u0001", company, "x");
    assert_eq!(s.candidates(raw.as_bytes()), &[0, 1]);
    assert_eq!(s.match_event(raw.as_bytes(), &p), Verdict::Matched(vec![]));
    // The clauses survive a compiled-ruleset round trip.
    let loaded =
        Engine::from_ruleset_bytes(&e.to_ruleset_bytes().unwrap(), EngineOptions::default())
            .unwrap();
    assert_eq!(loaded.stats().clauses, e.stats().clauses);
    let mut l = loaded.scanner().unwrap();
    let raw = event("C:\\\\x\\\\cmd.exe", company, "x");
    assert_eq!(l.candidates(raw.as_bytes()), &[] as &[u32]);
    let raw = event("C:\\\\x\\\\rcsi.exe", company, "x");
    assert_eq!(l.candidates(raw.as_bytes()), &[0]);
}

#[test]
fn number_like_witnesses_count_wherever_a_number_is_rewritten() {
    let detections = [
        "    s: {CommandLine|contains: ['123456789', 'password123']}\n    condition: s",
        "    s: {Count|contains: '4242'}\n    condition: s",
        // A quote and a brace are three bytes as JSON writes them.
        "    s: {CommandLine|contains: '\"{'}\n    condition: s",
    ];
    let e = engine(&detections, false);
    assert_eq!(e.stats().always, 0);
    let mut s = e.scanner().unwrap();
    let p = Profile::sysmon();
    let event = |cmd: &str, pid: &str| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":{cmd},"Count":{pid}}}"#
        )
    };
    let cases: [(String, &[u32]); 10] = [
        // Written as text, or as an integer the reference reads back as written.
        (event(r#""net user x 123456789""#, "7"), &[0]),
        (event("123456789", "42420"), &[0, 1]),
        (event(r#""x""#, "7"), &[]),
        (event(r#""echo \"{0}\" -f""#, "7"), &[2]),
        // Read as 123456789 and 4242.0 (written "4242.0"): the raw tokens
        // lack the literals, so every number-like witness counts.
        (event("1.23456789e8", "7"), &[0, 1]),
        (event(r#""x""#, "4242.0"), &[0, 1]),
        // Any rewritten number does, wherever it is; so does a long integer.
        (event(r#""x""#, "7.5"), &[0, 1]),
        (event(r#""x""#, "1234567890123456789012"), &[0, 1]),
        (event(r#""x""#, "-12"), &[]),
        // `-0` reads as the float -0.0.
        (event(r#""x""#, "-0"), &[0, 1]),
    ];
    for (raw, candidates) in &cases {
        assert_eq!(s.candidates(raw.as_bytes()), *candidates, "{raw}");
        let value: Value = serde_json::from_str(raw).unwrap();
        let expected = reference_matches(&e, &value, &p);
        assert!(expected.iter().all(|r| candidates.contains(r)), "{raw}");
        assert_eq!(
            s.match_event(raw.as_bytes(), &p),
            Verdict::Matched(expected)
        );
    }
    // The reference matches the number read from an exponent.
    let raw = event("1.23456789e8", "7");
    assert_eq!(s.match_event(raw.as_bytes(), &p), Verdict::Matched(vec![0]));
}

#[test]
fn stage_one_over_an_events_values_gives_the_candidates_of_the_whole_line() {
    let field_rules = [
        "    s: {CommandLine|contains: ['whoami', 'résumé']}\n    condition: s",
        "    s: {Image|endswith: '\\rundll32.exe', CommandLine|contains: 'javascript:'}\n    condition: s",
        "    s: {ParentImage|endswith: '\\winword.exe'}\n    condition: s",
    ];
    let keyword_rule = "    keywords: ['mimikatz']\n    condition: keywords";
    let sysmon = r#""Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1"#;
    let events: Vec<String> = vec![
        format!(r#"{{{sysmon},"CommandLine":"cmd /c whoami","Guid":"{{x}}"}}"#),
        // In a member no witness counts in, or in a name: no candidate but
        // the keyword's.
        format!(r#"{{{sysmon},"Guid":"whoami mimikatz","CommandLine":"x"}}"#),
        format!(r#"{{{sysmon},"whoami":"mimikatz","CommandLine":"x"}}"#),
        format!(r#"{{{sysmon},"Image":"C:\\w\\RUNDLL32.exe","CommandLine":"javascript:x"}}"#),
        format!(r#"{{{sysmon},"Image":"C:\\w\\rundll32.exe","CommandLine":["y","javascript:"]}}"#),
        format!(r##"{{{sysmon},"ParentImage":{{"#text":"C:\\x\\WINWORD.EXE"}},"n":[1,2]}}"##),
        format!(r#"{{{sysmon},"Command\\Line":"whoami","Product":"Microsoft® Windows®"}}"#),
        format!(r#"{{{sysmon},"Product":"Microsoft® Windows®","CommandLine":"RÉSUMÉ"}}"#),
        format!(r#"{{{sysmon},"Data":{{"CommandLine":"whoami"}},"Other":{{"x":"mimikatz"}}}}"#),
        format!(r#"{{{sysmon},"CommandLine":"\u0077hoami"}}"#),
        format!("{{{sysmon},\"CommandLine\":\"mimi\u{212A}atz whoami\"}}"),
    ];
    for with_keyword in [false, true] {
        let mut detections: Vec<&str> = field_rules.to_vec();
        if with_keyword {
            detections.push(keyword_rule);
        }
        let whole = engine(&detections, false);
        let mut values = engine(&detections, false);
        values.raw.gate = true;
        let (mut w, mut v) = (whole.scanner().unwrap(), values.scanner().unwrap());
        let p = Profile::sysmon();
        for round in 0..3 {
            for event in &events {
                let raw = event.as_bytes();
                assert_eq!(
                    v.candidates(raw),
                    w.candidates(raw),
                    "keyword {with_keyword}, round {round}: {event}"
                );
                assert_eq!(v.match_event(raw, &p), w.match_event(raw, &p), "{event}");
            }
        }
        // The values alone were scanned for the plain events. (The
        // candidate memo, which would answer the event without a scan,
        // starts over.)
        v.candidate_memo = Default::default();
        v.candidates(events[0].as_bytes());
        assert!(v.compact.active);
        assert!(!v.compact.bytes.windows(5).any(|b| b == b"Guid\""));
        // An escape that can hide a literal: the values of the decoded
        // line (`unescaped.rs`).
        v.candidates(events[9].as_bytes());
        assert!(v.compact.active);
        assert!(v.compact.bytes.windows(6).any(|b| b == b"whoami"));
        v.candidates(events[10].as_bytes());
        assert!(
            !v.compact.active,
            "a character folding to ASCII: the whole line"
        );
    }
}

#[test]
fn serde_jsons_private_raw_value_key_is_an_ordinary_member() {
    // With serde_json's `raw_value` feature, a full parse read this object
    // as the number it holds, while the member index read an object; the
    // feature is off, and every path reads a member (found by fuzzing).
    let e = whoami_engine();
    let mut s = e.scanner().unwrap();
    let p = Profile::sysmon();
    for raw in [
        &br#"{"$serde_json::private::RawValue":999999999999999}"#[..],
        br#"{"$serde_json::private::RawValue":"x","CommandLine":"whoami"}"#,
        // A \u escape: the serde_json path.
        br#"{"$serde_json::private::RawValue":1,"CommandLine":"\u0077hoami"}"#,
    ] {
        let event: Value = serde_json::from_slice(raw).unwrap();
        assert!(event.is_object());
        let expected = evaluate(&e.rules()[0], &event, &p);
        assert_eq!(
            s.match_event(raw, &p),
            Verdict::Matched(if expected { vec![0] } else { vec![] }),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn a_map_handed_on_for_output_never_comes_back_as_another_events() {
    // Found by fuzzing: a matched event whose parse built every member is
    // handed on for output; the next line, which the strict pass does not
    // judge (a line feed before it, as a carriage return after a line of
    // a Windows file), is parsed by serde_json; a line with the first
    // one's names and image then read the second one's image.
    let e = engine(
        &[
            "    sel: {Image|endswith: '.exe'}\n    no_parent: {ParentImage: null}\n    condition: not sel and no_parent",
            // A candidate reading the command line: the parse builds every member.
            "    s: {CommandLine|contains: 'zzz'}\n    condition: not s",
        ],
        false,
    );
    let p = Profile::sysmon();
    let line = |image: &str, command: &str| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\{image}","CommandLine":"{command}"}}"#
        )
    };
    let events = [
        line("w.exk", "a"),
        format!("\n{}", line("w.exe", "b")),
        format!("{}\r", line("w.exe", "b")),
        line("w.exk", "c"),
        line("w.exk", "d"),
    ];
    let mut warm = e.scanner().unwrap();
    for raw in &events {
        agrees_with_reference(&mut warm, &e, raw, &p, raw);
    }
}
