//! Unit tests of stage 1's filters past the scan: the values a detection
//! requires of a field (`raw_scope/required.rs`), and clauses of literals the scan
//! looks for anyway, however often they occur (`clauses.rs`).

use super::tests::{rule_of, without_prefilter};
use super::*;

#[test]
fn rules_requiring_values_of_other_fields_are_dropped_for_events_without_them() {
    let security = "{product: windows, service: security}";
    let network = "{product: windows, category: network_connection}";
    let rules = vec![
        rule_of(
            security,
            "s: {EventID: 4624, LogonType: 9}\n    condition: s",
        ),
        rule_of(
            network,
            "s: {Initiated: 'true', DestinationPort: [25, '587']}\n    condition: s",
        ),
    ];
    let e = Engine::new(rules, EngineOptions::default()).unwrap();
    assert_eq!(e.stats().always, 2);
    let mut s = e.scanner().unwrap();
    let every = without_prefilter(&e);
    let mut all = every.scanner().unwrap();
    let logon = |t: &str| format!(r#"{{"Channel":"Security","EventID":4624,"LogonType":{t}}}"#);
    let connection = |port: &str| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"Initiated":"true","DestinationPort":{port}}}"#
        )
    };
    let evtx = |t: &str| {
        format!(
            r#"{{"Event":{{"System":{{"EventID":4624,"Channel":"Security"}},"EventData":{{"LogonType":{t}}}}}}}"#
        )
    };
    const ALL: u32 = u32::MAX;
    let cases = [
        (logon("9"), Some(0)),
        (logon("\"9\""), Some(0)),
        (logon("9.0"), Some(0)),
        (logon("[3, 9]"), Some(0)),
        // A string of other digits passes (stage 2 then refuses it).
        (logon("\"09\""), Some(0)),
        (logon("3"), None),
        (logon("\"9 \""), None),
        (logon("\"nine\""), None),
        (logon("null"), None),
        (logon("true"), None),
        (logon("{\"a\": 9}"), None),
        (r#"{"Channel":"Security","EventID":4624}"#.to_string(), None),
        // Escapes that may hide a name or a value: stage 1 reads the line
        // with them decoded (`unescaped.rs`), so it is judged as its plain
        // writing is; one whose decoding needs a `\u` escape still (a
        // control character) goes to every rule, and none is dropped.
        (
            r#"{"Channel":"Security","EventID":4624,"LogonT\u0079pe":9}"#.to_string(),
            Some(0),
        ),
        (logon("\"\\u0039\""), Some(0)),
        (logon("\"\\u0038\""), None),
        (
            r#"{"Channel":"Security","EventID":4624,"LogonType":9,"x":"\u0001"}"#.to_string(),
            Some(ALL),
        ),
        (connection("587"), Some(1)),
        (connection("\"25\""), Some(1)),
        (connection("443"), None),
        (connection("\"https\""), None),
        (evtx("9"), Some(0)),
        (evtx("3"), None),
    ];
    for _ in 0..2 {
        for (raw, candidate) in &cases {
            let expected: Vec<u32> = match candidate {
                Some(ALL) => vec![0, 1],
                _ => candidate.iter().copied().collect(),
            };
            assert_eq!(s.candidates(raw.as_bytes()), expected, "{raw}");
            // The engine's verdict is the reference's, with or without the
            // prefilter.
            let profile = if raw.starts_with(r#"{"Event""#) {
                Profile::evtx()
            } else {
                Profile::sysmon()
            };
            let reference = all.match_event(raw.as_bytes(), &profile);
            assert_eq!(s.match_event(raw.as_bytes(), &profile), reference, "{raw}");
            if candidate.is_none() {
                assert_eq!(reference, Verdict::Matched(vec![]), "{raw}");
            }
        }
    }
}

#[test]
fn clauses_of_literals_the_scan_looks_for_anyway_are_checked_however_common() {
    let file = "{product: windows, category: file_event}";
    let rules = vec![
        // `.exe` in the image makes candidates; `.exe` in the file's name is
        // then a clause, common as it is.
        rule_of(
            file,
            "s:\n        Image|endswith: '.exe'\n        TargetFilename|endswith: '.exe'\n    f: {Image|endswith: '\\explorer.exe'}\n    condition: s and not f",
        ),
        // `\AppData\` is no witness of this log source: not checked.
        rule_of(
            file,
            "s:\n        Image|contains: 'rare-marker-xyz'\n        TargetFilename|contains: '\\AppData\\'\n    condition: s",
        ),
    ];
    let e = Engine::new(rules, EngineOptions::default()).unwrap();
    assert_eq!(e.stats().clauses, 1, "{:?}", e.stats());
    let mut s = e.scanner().unwrap();
    let p = Profile::sysmon();
    let event = |image: &str, target: &str| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":11,"Image":"{image}","TargetFilename":"{target}"}}"#
        )
    };
    let cases = [
        (
            event("C:\\\\w\\\\cmd.exe", "C:\\\\u\\\\a.docx"),
            vec![],
            false,
        ),
        (
            event("C:\\\\w\\\\cmd.exe", "C:\\\\u\\\\a.EXE"),
            vec![0],
            true,
        ),
        // Inside the name, not at its end: a candidate stage 2 refuses.
        (
            event("C:\\\\w\\\\cmd.exe", "C:\\\\p\\\\CMD.EXE-0A1B.pf"),
            vec![0],
            false,
        ),
        // The other rule's clause is not checked.
        (
            event("C:\\\\rare-marker-xyz.exe", "C:\\\\u\\\\a.docx"),
            vec![1],
            false,
        ),
        (
            event("C:\\\\rare-marker-xyz.exe", "C:\\\\u\\\\AppData\\\\a.exe"),
            vec![0, 1],
            true,
        ),
    ];
    for (raw, candidates, matched) in &cases {
        assert_eq!(s.candidates(raw.as_bytes()), candidates.as_slice(), "{raw}");
        let verdict = s.match_event(raw.as_bytes(), &p);
        let expected: Vec<u32> = if *matched { candidates.clone() } else { vec![] };
        assert_eq!(verdict, Verdict::Matched(expected), "{raw}");
    }
}

#[test]
fn witness_free_rules_are_collected_by_the_event_id_they_require() {
    let security = "{product: windows, service: security}";
    let not_x = "f: {TargetUserName: 'x'}\n    condition: s and not f";
    let rules = vec![
        rule_of(security, &format!("s: {{EventID: 4624}}\n    {not_x}")),
        rule_of(
            security,
            &format!("s: {{EventID: [4625, 4634]}}\n    {not_x}"),
        ),
        // 64 apart from 4624: one bucket of the requirement's test.
        rule_of(security, &format!("s: {{EventID: 4688}}\n    {not_x}")),
        rule_of(security, "s: {TargetUserName: 'x'}\n    condition: not s"),
        rule_of(security, &format!("s: {{EventID: '4624'}}\n    {not_x}")),
    ];
    let mut e = Engine::new(rules, EngineOptions::default()).unwrap();
    e.raw.gate = true;
    let every = without_prefilter(&e);
    let mut all = every.scanner().unwrap();
    let mut s = e.scanner().unwrap();
    let event =
        |id: &str| format!(r#"{{"Channel":"Security","EventID":{id},"TargetUserName":"a"}}"#);
    let cases: [(&str, &[u32]); 8] = [
        ("4624", &[0, 3, 4]),
        ("\"4624\"", &[0, 3, 4]),
        ("4688", &[2, 3]),
        ("4634", &[1, 3]),
        ("4624.0", &[0, 3, 4]),
        // A string of other digits reads as the same integer: candidates
        // stage 2 refuses.
        ("\"04624\"", &[0, 3, 4]),
        // Two ids, or one that reads as no integer: every rule is asked.
        ("[4624, 4688]", &[0, 2, 3, 4]),
        ("\"x\"", &[3]),
    ];
    let p = Profile::sysmon();
    for round in 0..3 {
        for (id, expected) in &cases {
            let raw = event(id);
            let mut candidates = s.candidates(raw.as_bytes()).to_vec();
            candidates.sort_unstable();
            assert_eq!(candidates, *expected, "round {round}: {raw}");
            let verdict = all.match_event(raw.as_bytes(), &p);
            assert_eq!(s.match_event(raw.as_bytes(), &p), verdict, "{raw}");
        }
    }
}
