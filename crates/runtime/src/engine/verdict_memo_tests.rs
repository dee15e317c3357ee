//! Tests of the verdict memo: remembered verdicts against fresh scanners
//! (flat and nested events), keys, the switch, the bounds.

use super::*;
use crate::engine::tests::{hex_word, sysmon_process_event, IMAGES, PARENTS, USERS};
use crate::engine::Engine;
use crate::members::{MemberIndex, NestedTree};
use crate::partial::{LeafNames, MemberFilter};
use hypersigma_compiler::Profile;

const RULES: [&str; 4] = [
    "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
    "    s: {Image|endswith: '\\rundll32.exe', CommandLine|contains: 'javascript:'}\n    condition: s",
    "    s: {ParentImage|endswith: '\\winword.exe'}\n    f: {User|contains: 'SYSTEM'}\n    condition: s and not f",
    // No witness: every process creation is a candidate.
    "    s: {CommandLine|contains: 'x'}\n    condition: not s",
];

/// [`RULES`] and a test no key can hold the result of instead of the value
/// (`exists`) on the command line, in a rule that is a candidate of every
/// event: a fresh command line makes a fresh key, folded or not.
const RULES_KEYED_BY_VALUE: [&str; 5] = [
    RULES[0],
    RULES[1],
    RULES[2],
    RULES[3],
    "    s: {CommandLine|exists: true}\n    condition: not s",
];

/// A process creation whose time, GUID and process id change with `n`
/// (no rule reads them).
fn event(n: usize, image: &str, command: &str, parent: &str, user: &str) -> String {
    sysmon_process_event(n, "1", &n.to_string(), image, command, parent, user)
}

const COMMANDS: [&str; 5] = [
    "cmd /c whoami",
    "rundll32 javascript:x",
    "notepad",
    "WHOAMI /all",
    "résumé",
];

fn nth_event(n: usize) -> String {
    event(
        n,
        IMAGES[n % 2],
        COMMANDS[n / 2 % COMMANDS.len()],
        PARENTS[n / 10 % 2],
        USERS[n / 20 % 2],
    )
}

/// What a scanner that has seen nothing gives for `raw`.
fn fresh(
    e: &Engine,
    raw: &str,
    profile: &Profile,
) -> (crate::engine::Verdict, Option<serde_json::Value>, usize) {
    e.scanner()
        .unwrap()
        .match_event_full(raw.as_bytes(), profile)
}

/// An engine of these detections with the scope gate forced on or off.
/// On, its flat events get a stage-1 layout; off, stage 2's memo alone
/// answers (on, the candidate memo's links answer first).
fn engine_gated(detections: &[&str], gate: bool) -> Engine {
    let options = crate::engine::EngineOptions {
        scope_gate: Some(gate),
        ..Default::default()
    };
    crate::engine::tests::engine_with(detections, options)
}

#[test]
fn remembered_verdicts_are_those_of_a_fresh_scanner() {
    let e = engine_gated(&RULES, false);
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    let per_round = 40;
    let mut matched = 0;
    let mut answered_before_last_round = 0;
    for n in 0..3 * per_round {
        if n == 2 * per_round {
            answered_before_last_round = warm.verdict_memo.answered_total;
        }
        // The same contents each round, with other times and ids.
        let raw = event(
            n,
            IMAGES[n % 2],
            COMMANDS[n / 2 % COMMANDS.len()],
            PARENTS[n / 10 % 2],
            USERS[n % per_round / 20],
        );
        let expected = fresh(&e, &raw, &p);
        if matches!(&expected.0, crate::engine::Verdict::Matched(r) if !r.is_empty()) {
            matched += 1;
            assert!(expected.1.is_some());
        }
        assert_eq!(warm.match_event_full(raw.as_bytes(), &p), expected, "{raw}");
    }
    assert!(matched > 0);
    // Remembered the first time: every event of the third round (and of
    // the second) is answered.
    assert_eq!(
        warm.verdict_memo.answered_total - answered_before_last_round,
        per_round as u64
    );
    assert!(warm.verdict_memo.lists.held().0 <= per_round);
}

#[test]
fn layouts_known_from_stage_one_give_the_verdicts_of_a_fresh_scanner() {
    let e = engine_gated(&RULES, true);
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    for n in 0..120 {
        let raw = match n % 3 {
            0 => nth_event(n),
            // Another layout: the same members in another order.
            1 => nth_event(n).replacen("\"Channel\"", "\"RuleName\":\"-\",\"Channel\"", 1),
            // Not flat: a container whose scalars' names are a flat
            // layout's, read through the memo's own comparison.
            _ => nth_event(n).replacen(
                "\"EventID\":1,",
                "\"Extra\":{\"EventID\":1},\"EventID\":1,",
                1,
            ),
        };
        assert_eq!(
            warm.match_event_full(raw.as_bytes(), &p),
            fresh(&e, &raw, &p),
            "{raw}"
        );
    }
    assert!(warm.verdict_memo.answered_total > 0);
    assert!(warm.verdict_memo.layouts.iter().any(|l| l.serial.is_some()));
    assert!(warm.verdict_memo.layouts.iter().any(|l| l.serial.is_none()));
}

/// The key `memo` builds for the flat event `raw` with these candidates
/// (of stage-1 layout `serial`, when given).
fn flat_key(
    memo: &mut VerdictMemo,
    filter: &MemberFilter,
    raw: &str,
    candidates: &[u32],
    serial: Option<u64>,
) -> Option<Vec<u8>> {
    let index = MemberIndex::built(raw.as_bytes());
    let top = index.top_members().unwrap();
    memo.key_of(raw.as_bytes(), top, filter, candidates, serial)
        .map(|_| memo.key.clone())
}

#[test]
fn the_key_holds_the_candidates_and_the_members_they_read_only() {
    let e = engine_gated(&RULES, false);
    let p = Profile::sysmon();
    let filter = MemberFilter::new(&p, &e.reads);
    let mut memo = VerdictMemo::default();
    let mut key =
        |raw: &str, candidates: &[u32]| flat_key(&mut memo, &filter, raw, candidates, None);
    let a = nth_event(0);
    let b = nth_event(COMMANDS.len() * 2 * 2 * 2 * 2);
    assert_ne!(a, b);
    assert_eq!(key(&a, &[0, 3]), key(&b, &[0, 3]));
    assert_ne!(key(&a, &[0, 3]), key(&a, &[0, 1, 3]));
    // Another command line, user or parent is another key when read.
    let other_command = event(0, IMAGES[0], "cmd /c whoami ", PARENTS[0], USERS[0]);
    assert_ne!(key(&a, &[0]), key(&other_command, &[0]));
    let other_user = event(0, IMAGES[0], COMMANDS[0], PARENTS[0], USERS[1]);
    assert_eq!(key(&a, &[0]), key(&other_user, &[0]));
    assert_ne!(key(&a, &[2]), key(&other_user, &[2]));
    // The key names what it holds: the command line, not the user.
    let k = key(&a, &[0]).unwrap();
    let holds = |s: &[u8]| k.windows(s.len()).any(|w| w == s);
    assert!(holds(b"CommandLine") && holds(b"cmd /c whoami") && holds(b"EventID"));
    assert!(!holds(b"User") && !holds(b"UtcTime") && !holds(b"ProcessGuid"));
    // Duplicate names stay in line order: the last one is read.
    let first = r#"{"EventID":1,"CommandLine":"whoami","CommandLine":"x"}"#;
    let last = r#"{"EventID":1,"CommandLine":"x","CommandLine":"whoami"}"#;
    assert_ne!(key(first, &[0]), key(last, &[0]));
    // Names are compared with the remembered layouts', not only counted.
    let renamed = r#"{"EventID":1,"CommandLinX":"whoami","CommandLine":"x"}"#;
    let k = key(renamed, &[0]).unwrap();
    assert!(!k.windows(6).any(|w| w == b"whoami"));
    let k = key(first, &[0]).unwrap();
    assert!(k.windows(6).any(|w| w == b"whoami"));
    // An escaped member name is not looked up.
    let escaped = r#"{"EventID":1,"Command\nLine":"whoami"}"#;
    assert_eq!(key(escaped, &[0]), None);
}

#[test]
fn a_flat_events_layout_serial_stands_for_its_names() {
    let e = engine_gated(&RULES, false);
    let p = Profile::sysmon();
    let filter = MemberFilter::new(&p, &e.reads);
    let mut memo = VerdictMemo::default();
    let mut key = |raw: &str, candidates: &[u32], serial: Option<u64>| {
        flat_key(&mut memo, &filter, raw, candidates, serial)
    };
    let a = nth_event(0);
    let other_user = event(0, IMAGES[0], COMMANDS[0], PARENTS[0], USERS[1]);
    let by_serial = key(&a, &[0], Some(7)).unwrap();
    // The values read, not the names.
    let holds = |k: &[u8], s: &[u8]| k.windows(s.len()).any(|w| w == s);
    assert!(holds(&by_serial, b"cmd /c whoami") && !holds(&by_serial, b"CommandLine"));
    // Members not read change nothing; the serial, the candidates and a
    // value read do.
    assert_eq!(key(&other_user, &[0], Some(7)).unwrap(), by_serial);
    assert_ne!(key(&a, &[0], Some(8)).unwrap(), by_serial);
    assert_ne!(key(&a, &[0, 3], Some(7)).unwrap(), by_serial);
    let other_command = event(0, IMAGES[0], "cmd /c whoami ", PARENTS[0], USERS[0]);
    assert_ne!(key(&other_command, &[0], Some(7)).unwrap(), by_serial);
    // Keyed by names, the same event has another key, and the two kinds
    // never meet: the byte after the candidates tells them apart.
    let by_names = key(&a, &[0], None).unwrap();
    assert_ne!(by_names, by_serial);
    let after_candidates = 4 + 4;
    assert_eq!(by_serial[after_candidates], FLAT_BY_SERIAL);
    assert_eq!(by_names[after_candidates], FLAT_BY_NAMES);
}

#[test]
fn keys_of_remembered_candidate_lists_are_those_worked_out_afresh() {
    // More lists than a layout has slots (so lists share one and replace
    // each other), cycling over one layout: each key, and the members it
    // holds, as a memo that has seen nothing builds them.
    let e = engine_gated(&RULES, false);
    let p = Profile::sysmon();
    let filter = MemberFilter::new(&p, &e.reads);
    let key = |memo: &mut VerdictMemo, raw: &str, candidates: &[u32]| {
        flat_key(memo, &filter, raw, candidates, None)
            .map(|k| (k, memo.read_members().unwrap().to_vec()))
    };
    let lists: [&[u32]; 6] = [&[0], &[2], &[0, 3], &[1, 3], &[2, 3], &[0, 1, 2, 3]];
    assert!(lists.len() > READS_PER_LAYOUT);
    let slots: std::collections::HashSet<usize> = lists.iter().map(|l| list_slot(l)).collect();
    assert!(slots.len() < lists.len() && slots.len() > 1, "{slots:?}");
    let mut warm = VerdictMemo::default();
    for round in 0..3 {
        for (k, list) in lists.iter().enumerate() {
            let raw = nth_event(round * 7 + k);
            let afresh = key(&mut VerdictMemo::default(), &raw, list);
            assert!(afresh.is_some());
            assert_eq!(key(&mut warm, &raw, list), afresh, "{list:?} {raw}");
            // The list just worked out or found again.
            assert_eq!(key(&mut warm, &raw, list), afresh, "{list:?} {raw}");
        }
    }
    assert_eq!(warm.layouts.len(), 1);
    assert_eq!(warm.layouts[0].reads.len(), READS_PER_LAYOUT);
}

#[test]
fn duplicate_and_spaced_names_get_the_verdicts_of_a_fresh_scanner() {
    let e = engine_gated(&RULES, false);
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    let lines = [
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"whoami","CommandLine":"x"}"#,
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"x","CommandLine":"whoami"}"#,
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Command Line":"whoami"}"#,
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Command Line":"notepad"}"#,
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"who\"ami"}"#,
    ];
    for _ in 0..4 {
        for raw in lines {
            assert_eq!(
                warm.match_event_full(raw.as_bytes(), &p),
                fresh(&e, raw, &p),
                "{raw}"
            );
        }
    }
    assert!(warm.verdict_memo.answered_total > 0);
}

#[test]
fn verdicts_are_forgotten_when_the_profile_changes() {
    let e = engine_gated(&RULES, false);
    let profiles = [Profile::sysmon(), Profile::ecs()];
    let mut warm = e.scanner().unwrap();
    for n in 0..120 {
        let p = &profiles[n / 7 % 2];
        let raw = nth_event(n % 30);
        assert_eq!(
            warm.match_event_full(raw.as_bytes(), p),
            fresh(&e, &raw, p),
            "{raw} {}",
            p.name
        );
    }
}

#[test]
fn verdicts_are_kept_across_equal_profiles_read_for_each_input() {
    // Each input file's events come with their own copy of the profile
    // detected for it: an equal copy keeps the remembered verdicts.
    let e = engine_gated(&RULES, false);
    let mut warm = e.scanner().unwrap();
    let mut copies: Vec<Box<Profile>> = Vec::new();
    for n in 0..120 {
        if n % 10 == 0 {
            copies.push(Box::new(Profile::sysmon()));
        }
        let p = copies.last().unwrap();
        let raw = nth_event(n % 20);
        assert_eq!(warm.match_event_full(raw.as_bytes(), p), fresh(&e, &raw, p));
    }
    // Seen by the 20th event, answered from then on.
    assert!(
        warm.verdict_memo.answered_total >= 70,
        "{}",
        warm.verdict_memo.answered_total
    );
    // Another profile forgets them: only the event read under it is held,
    // under its key and under that of its tests' results.
    let raw = nth_event(0);
    warm.match_event_full(raw.as_bytes(), &Profile::ecs());
    assert_eq!(warm.verdict_memo.lists.held().0, 2);
}

#[test]
fn contents_that_do_not_repeat_stop_the_lookups_until_they_repeat_again() {
    let e = engine_gated(&RULES_KEYED_BY_VALUE, false);
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    for n in 0..3 * WINDOW_EVENTS as usize {
        let command = format!("cmd /c whoami {n}");
        let raw = event(n, IMAGES[0], &command, PARENTS[0], USERS[0]);
        assert_eq!(
            warm.match_event_full(raw.as_bytes(), &p),
            fresh(&e, &raw, &p),
            "{raw}"
        );
    }
    assert!(!warm.verdict_memo.flat.is_on());
    assert_eq!(warm.verdict_memo.answered_total, 0);
    for n in 0..(super::super::remembered::OFF_EVENTS + 2 * WINDOW_EVENTS) as usize {
        let raw = nth_event(n);
        let expected = if n % 97 == 0 {
            Some(fresh(&e, &raw, &p))
        } else {
            None
        };
        let got = warm.match_event_full(raw.as_bytes(), &p);
        if let Some(expected) = expected {
            assert_eq!(got, expected, "{raw}");
        }
    }
    assert!(warm.verdict_memo.flat.is_on());
    assert!(warm.verdict_memo.answered_total > 0);
}

#[test]
fn while_lookups_are_off_a_flat_event_of_a_layout_still_gets_the_members_its_candidates_read() {
    let e = engine_gated(&RULES, false);
    let p = Profile::sysmon();
    let filter = MemberFilter::new(&p, &e.reads);
    let read = |memo: &mut VerdictMemo, raw: &str, candidates: &[u32], serial: Option<u64>| {
        let key = flat_key(memo, &filter, raw, candidates, serial);
        (key.is_some(), memo.read_members().map(<[bool]>::to_vec))
    };
    let mut off = VerdictMemo::default();
    // Keys that never repeat turn the lookups off.
    for n in 0..WINDOW_EVENTS as usize {
        let raw = nth_event(n);
        let index = MemberIndex::built(raw.as_bytes());
        let top = index.top_members().unwrap();
        let hash = off.key_of(raw.as_bytes(), top, &filter, &[0, 1], Some(7));
        let candidates = [0, 1];
        assert!(hash.is_some_and(|h| off
            .get(h, raw.as_bytes(), Some(top), &filter, &candidates)
            .is_none()));
    }
    assert!(!off.flat.is_on());
    for (k, list) in [&[0u32][..], &[2], &[0, 3], &[0, 1, 2, 3]]
        .iter()
        .enumerate()
    {
        let raw = nth_event(1000 + k);
        let (keyed, members) = read(&mut off, &raw, list, Some(7));
        assert!(!keyed);
        // The members a memo with lookups on holds in the key.
        let (fresh_keyed, expected) = read(&mut VerdictMemo::default(), &raw, list, Some(7));
        assert!(fresh_keyed);
        assert_eq!(members, expected, "{list:?}");
        assert!(members.is_some_and(|m| m.contains(&true) && m.contains(&false)));
        // Without a stage-1 layout the names are not compared: none known.
        assert_eq!(read(&mut off, &raw, list, None), (false, None));
    }
    // The verdicts stay those of a fresh scanner meanwhile.
    let e = engine_gated(&RULES_KEYED_BY_VALUE, false);
    let mut warm = e.scanner().unwrap();
    for n in 0..3 * WINDOW_EVENTS as usize {
        let command = format!("cmd /c whoami {n}");
        let raw = event(n, IMAGES[n % 2], &command, PARENTS[0], USERS[0]);
        assert_eq!(
            warm.match_event_full(raw.as_bytes(), &p),
            fresh(&e, &raw, &p),
            "{raw}"
        );
    }
    assert!(!warm.verdict_memo.flat.is_on());
}

#[test]
fn verdicts_by_the_members_read_are_those_of_a_fresh_scanner() {
    // Command lines and process ids never repeat, and a candidate can read
    // them, so no key of the members the candidates can read repeats; but
    // an evaluation reads them only past a selection on the image, the
    // parent or the user.
    let rules = [
        // No witness: a candidate for every event.
        "    a: {Image|endswith: '\\cmd.exe'}\n    b: {CommandLine|contains: 'javascript'}\n    condition: not a and not b",
        "    a: {User|contains: 'SYSTEM'}\n    b: {ProcessId|gt: 500}\n    condition: a and b",
        "    a: {ParentImage|endswith: '\\explorer.exe'}\n    r: {Image|fieldref: ParentImage}\n    condition: not a or r",
    ];
    let e = engine_gated(&rules, true);
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    let mut matched = 0;
    for n in 0..400 {
        let command = match n % 7 {
            0 => format!("rundll32 javascript:{n}"),
            _ => format!("cmd /c echo {n}"),
        };
        // Mostly `cmd.exe` run by `eve`, whose evaluations stop before
        // the command line and the process id.
        let image = match n % 11 {
            0 => PARENTS[1],
            k => IMAGES[usize::from(k % 4 != 0)],
        };
        let user = USERS[usize::from(n % 5 != 0)];
        let raw = event(n, image, &command, PARENTS[n / 3 % 2], user);
        let expected = fresh(&e, &raw, &p);
        if matches!(&expected.0, crate::engine::Verdict::Matched(r) if !r.is_empty()) {
            matched += 1;
        }
        assert_eq!(warm.match_event_full(raw.as_bytes(), &p), expected, "{raw}");
    }
    assert!(matched > 50, "{matched}");
    // No key of the members the candidates can read repeated: every event
    // answered was answered by the members its evaluation would read.
    assert_eq!(warm.verdict_memo.answered_by_key, 0);
    assert!(warm.verdict_memo.read_lists.held().0 > 0);
    assert!(
        warm.verdict_memo.answered_total > 100,
        "{}",
        warm.verdict_memo.answered_total
    );
}

/// An `evtx_dump` record of a process creation: the record id, times,
/// GUIDs and process ids change with `n` (no rule reads them); the
/// event id is written plainly or as `#text`, the hashes as one string
/// or as a list, and one in seven records carries a `\u` escape.
fn nested_event(n: usize, image: &str, command: &str, parent: &str, user: &str) -> String {
    let event_id = if n.is_multiple_of(3) {
        r##"{"#attributes":{"Qualifiers":0},"#text":1}"##
    } else {
        "1"
    };
    let hashes = match n / 4 % 3 {
        0 => r#""MD5=AB12,SHA1=77""#,
        1 => r#"["SHA1=77","MD5=AB12"]"#,
        _ => r#"["SHA1=77","MD5=CD34"]"#,
    };
    let note = if n.is_multiple_of(7) { "\\u0041" } else { "A" };
    format!(
        r##"{{"Event":{{"#attributes":{{"xmlns":"x"}},"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon","Guid":"{{{n:08x}}}"}}}},"EventID":{event_id},"EventRecordID":{n},"TimeCreated":{{"#attributes":{{"SystemTime":"2026-11-29T06:{:02}:{:02}.{n:03}Z"}}}},"Execution":{{"#attributes":{{"ProcessID":{n},"ThreadID":{}}}}},"Channel":"Microsoft-Windows-Sysmon/Operational"}},"EventData":{{"UtcTime":"{n}","ProcessGuid":"{{{n:08x}-0000}}","ProcessId":{n},"Image":"{image}","CommandLine":"{command}","ParentImage":"{parent}","User":"{user}","Hashes":{hashes},"Note":"{note}"}}}}}}"##,
        n / 60 % 60,
        n % 60,
        n * 7
    )
}

#[test]
fn remembered_verdicts_of_nested_events_are_those_of_a_fresh_scanner() {
    let mut rules = RULES.to_vec();
    // Reads a member that holds a list in some records.
    rules.push("    s: {Hashes|contains: 'MD5=AB'}\n    condition: s");
    let e = engine_gated(&rules, false);
    let p = Profile::evtx();
    let mut warm = e.scanner().unwrap();
    let per_round = 60;
    let mut matched = 0;
    for n in 0..4 * per_round {
        let k = n % per_round;
        let raw = nested_event(
            n,
            IMAGES[k % 2],
            COMMANDS[k / 2 % COMMANDS.len()],
            PARENTS[k / 10 % 2],
            USERS[k / 30 % 2],
        );
        assert!(
            MemberIndex::built(raw.as_bytes()).nested_tree().is_some(),
            "{raw}"
        );
        let expected = fresh(&e, &raw, &p);
        if matches!(&expected.0, crate::engine::Verdict::Matched(r) if !r.is_empty()) {
            matched += 1;
        }
        assert_eq!(warm.match_event_full(raw.as_bytes(), &p), expected, "{raw}");
    }
    assert!(matched > 0);
    // The same contents each round (the event id's and hashes' forms
    // follow `n`, so they come back every twelfth round at the latest):
    // many records are answered.
    assert!(
        warm.verdict_memo.answered_total > per_round as u64,
        "{}",
        warm.verdict_memo.answered_total
    );
}

/// The nested key of `raw` worked out afresh, then through the leaves kept
/// for its stage-1 layout `serial` (twice: kept, then reused): the same
/// each time, left in `memo.key`.
fn nested_key_both_ways(
    memo: &mut VerdictMemo,
    raw: &[u8],
    tree: &NestedTree<'_>,
    leaves: &LeafNames,
    candidates: &[u32],
    serial: u64,
) {
    memo.nested_key_of(raw, tree, leaves, candidates, None)
        .unwrap();
    let fresh = memo.key.clone();
    for _ in 0..2 {
        memo.nested_key_of(raw, tree, leaves, candidates, Some(serial))
            .unwrap();
        assert_eq!(memo.key, fresh);
    }
}

#[test]
fn a_nested_key_cuts_out_exactly_the_values_no_candidate_reads() {
    let e = engine_gated(&RULES, false);
    let p = Profile::evtx();
    let filter = MemberFilter::new(&p, &e.reads);
    let raw = nested_event(1, IMAGES[0], COMMANDS[0], PARENTS[0], USERS[0]);
    let index = MemberIndex::built(raw.as_bytes());
    let tree = index.nested_tree().unwrap();
    let mut memo = VerdictMemo::default();
    // Rule 0 reads the command line only (and the log-source members).
    let key = |memo: &mut VerdictMemo, raw: &str, tree, leaves, candidates, serial| {
        nested_key_both_ways(memo, raw.as_bytes(), tree, leaves, candidates, serial)
    };
    key(&mut memo, &raw, &tree, filter.leaves(), &[0], 1);
    let kept = String::from_utf8_lossy(&memo.key[8..]).replace('\0', "~");
    assert_eq!(
        kept,
        r##"{"Event":{"#attributes":{"xmlns":~},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":~}},"EventID":1,"EventRecordID":~,"TimeCreated":{"#attributes":{"SystemTime":~}},"Execution":{"#attributes":{"ProcessID":~,"ThreadID":~}},"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"UtcTime":~,"ProcessGuid":~,"ProcessId":~,"Image":~,"CommandLine":"cmd /c whoami","ParentImage":~,"User":~,"Hashes":~,"Note":~}}}"##
    );
    // Rule 2 reads the parent image and the user.
    key(&mut memo, &raw, &tree, filter.leaves(), &[2], 1);
    let kept = String::from_utf8_lossy(&memo.key[8..]).replace('\0', "~");
    assert!(
        kept.contains(r#""ParentImage":"C:\\o\\WINWORD.EXE","User":"NT AUTHORITY\\SYSTEM""#),
        "{kept}"
    );
    assert!(kept.contains(r#""CommandLine":~"#), "{kept}");
    // Under a member that is read, every value stays.
    let listed = nested_event(4, IMAGES[0], COMMANDS[0], PARENTS[0], USERS[0]);
    let rule = "    s: {Hashes|contains: 'MD5=AB'}\n    condition: s";
    let e = engine_gated(&[rule], false);
    let filter = MemberFilter::new(&p, &e.reads);
    let index = MemberIndex::built(listed.as_bytes());
    // (Another profile's filter: what was kept per layout is forgotten.)
    memo.clear();
    let tree = index.nested_tree().unwrap();
    key(&mut memo, &listed, &tree, filter.leaves(), &[0], 2);
    let kept = String::from_utf8_lossy(&memo.key[8..]).replace('\0', "~");
    assert!(
        kept.contains(r#""Hashes":["SHA1=77","MD5=AB12"]"#),
        "{kept}"
    );
}

#[test]
fn the_memo_stays_bounded() {
    fn put(memo: &mut VerdictMemo, key: Vec<u8>) {
        memo.key = key;
        let hash = memo.lists.hash(&memo.key);
        memo.remember(hash, &[]);
        memo.remember(hash, &[1]);
    }
    let mut memo = VerdictMemo::default();
    for i in 0..MAX_VERDICTS + 5 {
        put(&mut memo, i.to_le_bytes().to_vec());
    }
    assert!(memo.lists.held().0 <= MAX_VERDICTS);
    for i in 0..3 * MAX_KEY_BYTES / MAX_KEY_LEN {
        let mut key = vec![b'x'; MAX_KEY_LEN];
        key[..8].copy_from_slice(&(i as u64).to_le_bytes());
        put(&mut memo, key);
        assert!(memo.lists.held().1 <= MAX_KEY_BYTES);
    }
    let (_, key_bytes, held) = memo.lists.held();
    assert_eq!(held, key_bytes);
    assert!(memo.lists.all_are(&[1]));
}

/// Nested records whose scalars and containers have the same names in the
/// same order but another structure are of other stage-1 layouts (the
/// memo keeps what it works out of a layout's containers, by position:
/// [`VerdictMemo::nested_key_of`]).
#[test]
fn nested_layouts_tell_their_structure() {
    let e = engine_gated(&RULES, true);
    let mut scanner = e.scanner().unwrap();
    let system = r#""System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1}"#;
    let lines = [
        format!(r#"{{"Event":{{{system},"a":[{{}}],"b":{{}}}}}}"#),
        format!(r#"{{"Event":{{{system},"a":[],"b":[{{}}]}}}}"#),
        format!(r#"{{"Event":{{{system},"a":{{"b":{{}}}}}}}}"#),
    ];
    let mut serials = Vec::new();
    for line in lines.iter().chain(&lines) {
        scanner.candidates(line.as_bytes());
        serials.push(scanner.compact.current_serial());
    }
    assert!(serials.iter().all(Option::is_some), "{serials:?}");
    // Each line its own layout, found again the second time.
    assert_eq!(serials[..3], serials[3..], "{serials:?}");
    let mut distinct = serials[..3].to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{serials:?}");
}

#[test]
fn members_read_through_a_value_map_are_not_folded() {
    // Security's 5156 has `Initiated` as `Direction`, `%%14593` read as
    // `true` and `%%14592` as `false`: the rule's test of `true` folds
    // nothing of its own, but the members' runs of digits are what the map
    // reads. Lines that differ in the direction alone (and in fresh ids
    // the keys leave out) must not share a verdict.
    let text = "title: t\nlogsource: {product: windows, category: network_connection}\ndetection:\n    s: {DestinationPort: 88, Initiated: 'true'}\n    f: {Image|endswith: '\\\\tomcat8.exe'}\n    condition: s and not f\n";
    let rule =
        hypersigma_compiler::parse_rule(text, &hypersigma_compiler::CompileOptions::default())
            .unwrap();
    for scope_gate in [Some(false), Some(true)] {
        let options = crate::engine::EngineOptions {
            scope_gate,
            ..Default::default()
        };
        let e = Engine::new(vec![rule.clone()], options).unwrap();
        let p = Profile::sysmon();
        let mut warm = e.scanner().unwrap();
        let mut matched = 0;
        for n in 0..24 {
            let direction = ["%%14593", "%%14592"][n % 2];
            let raw = format!(
                r#"{{"EventID":5156,"Channel":"Security","RecordNumber":{},"Application":"\\device\\harddiskvolume2\\windows\\system32\\lsass.exe","Direction":"{direction}","DestPort":"88","SourcePort":"{}"}}"#,
                444_800 + n,
                57_900 + n
            );
            let expected = fresh(&e, &raw, &p);
            if matches!(&expected.0, crate::engine::Verdict::Matched(r) if !r.is_empty()) {
                matched += 1;
            }
            assert_eq!(warm.match_event_full(raw.as_bytes(), &p), expected, "{raw}");
        }
        assert_eq!(matched, 12);
        assert!(warm.verdict_memo.answered_total > 0);
    }
}

#[test]
fn tests_that_read_long_runs_are_decided_beside_the_folded_values() {
    // `_9` reads the first digit of the run after `_`: the run cannot be
    // folded for it, so its result on each value goes into the folded key.
    // Command lines that differ only in that run share a verdict when the
    // test gives both the same result, and only then.
    let rules = [
        "    s: {CommandLine|re: '_9'}\n    condition: s",
        "    s: {CommandLine|contains: 'svc'}\n    f: {CommandLine|contains: 'z'}\n    condition: s and not f",
    ];
    for e in [engine_gated(&rules, false), engine_gated(&rules, true)] {
        let p = Profile::sysmon();
        let mut warm = e.scanner().unwrap();
        let (mut matched, mut first_rule) = (0, 0);
        let total = 60;
        for n in 0..total {
            // A fresh run each event; its first digit alternates.
            let run = [9_100_000, 8_100_000][n % 2] + 7919 * n;
            let command = format!("svc -k Group -s Wpn_{run}");
            let raw = event(n, IMAGES[0], &command, PARENTS[1], USERS[0]);
            let expected = fresh(&e, &raw, &p);
            if let crate::engine::Verdict::Matched(r) = &expected.0 {
                matched += usize::from(!r.is_empty());
                first_rule += usize::from(r.contains(&0));
            }
            assert_eq!(warm.match_event_full(raw.as_bytes(), &p), expected, "{raw}");
        }
        assert_eq!((matched, first_rule), (total, total / 2));
        // Each kind of run evaluated once: every later event is answered.
        assert_eq!(warm.verdict_memo.answered_total, total as u64 - 2);
    }
}

/// Matches `total` process creations, the `n`th with the command line
/// `command(n)` and one of four tails (two rules' literals), its image
/// one of two, with a warm scanner of `e`, each against a fresh scanner;
/// requires half of them to match; the events the verdict memo answered.
fn answered_over_tails(e: &Engine, total: usize, command: impl Fn(usize) -> String) -> u64 {
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    let mut matched = 0;
    for n in 0..total {
        let tail = ["", " whoami", " run.ps1", " whoami run.ps1"][n % 4];
        let command = format!("{}{tail}", command(n));
        let raw = event(n, IMAGES[n / 4 % 2], &command, PARENTS[0], USERS[0]);
        let expected = fresh(e, &raw, &p);
        if let crate::engine::Verdict::Matched(r) = &expected.0 {
            matched += usize::from(!r.is_empty());
        }
        assert_eq!(warm.match_event_full(raw.as_bytes(), &p), expected, "{raw}");
    }
    assert!(matched >= total / 2, "{matched}");
    warm.verdict_memo.answered_total
}

/// A word of letters only (no run of digits to fold) for `n`.
fn letters(mut n: usize) -> String {
    let mut word = String::new();
    for _ in 0..8 {
        word.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    word
}

#[test]
fn members_read_by_few_tests_are_keyed_by_their_results() {
    // Each command line is new (an id of letters, which no fold touches),
    // and the rules' tests of it are few: events whose command lines give
    // every test the same results share a verdict.
    let few = [
        "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
        "    s: {CommandLine|endswith: '.ps1', Image|endswith: '\\cmd.exe'}\n    condition: s",
        "    s: {CommandLine|contains: 'x'}\n    condition: not s",
    ];
    // The same, with a test no key holds the result of (`exists`).
    let mut with_exists = few.to_vec();
    with_exists.push("    s: {CommandLine|exists: true}\n    condition: not s");
    // The same, with more tests of the command line than a key holds (a
    // candidate of every event: each command line holds `never0`).
    let many = format!(
        "    s: {{CommandLine|contains: [{}]}}\n    condition: s",
        (0..=crate::partial::MAX_TESTED)
            .map(|k| format!("'never{k}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut with_many = few.to_vec();
    with_many.push(&many);
    let total = 80;
    for (rules, by_results) in [(&few[..], true), (&with_exists, false), (&with_many, false)] {
        for e in [engine_gated(rules, false), engine_gated(rules, true)] {
            let answered = answered_over_tails(&e, total, |n| {
                format!("tool -id {} never0", letters(n * 7919))
            });
            if by_results {
                // Eight kinds (four tails, two images), each evaluated once
                // per candidate list.
                assert!(answered >= total as u64 - 16, "{answered}");
            } else {
                assert_eq!(answered, 0, "{rules:?}");
            }
        }
    }
}

#[test]
fn values_that_differ_in_hexadecimal_words_no_test_reads_share_a_verdict() {
    // A test no key holds the result of (`exists`) keeps the key by
    // results out, and the fold of runs leaves the words: only the key
    // with words folded can answer. A test that reads a word's digits
    // (`a1b2`) keeps the words it could overlap, and its result follows.
    let plain = [
        "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
        "    s: {CommandLine|endswith: '.ps1', Image|endswith: '\\cmd.exe'}\n    condition: s",
        "    s: {CommandLine|exists: true}\n    condition: not s",
    ];
    let mut reading = plain.to_vec();
    reading.push("    s: {CommandLine|contains: '-a1b2'}\n    condition: s");
    let total = 80;
    for (rules, answers) in [(&plain[..], true), (&reading, false)] {
        for e in [engine_gated(rules, false), engine_gated(rules, true)] {
            // Every fifth word is one the fourth rule reads.
            let answered = answered_over_tails(&e, total, |n| format!("tool -{} x", hex_word(n)));
            if answers {
                // Eight kinds (four tails, two images), each evaluated
                // once per candidate list.
                assert!(answered >= total as u64 - 16, "{answered}");
            } else {
                // The words the fourth rule could read are kept: only the
                // others fold, and fewer events are answered.
                assert!(answered < total as u64 - 16, "{answered}");
            }
        }
    }
}
