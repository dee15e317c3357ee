//! Tests of the candidate memo: remembered lists against fresh scanners,
//! what the key holds, the switch.

use super::super::tests::{
    hex_word, reference_matches, rule_of, sysmon_process_event, IMAGES, PARENTS, USERS,
};
use super::super::{Engine, EngineOptions};

/// An engine of `rules` (log source, detection) with the scope gate on.
fn gated_engine(rules: &[(&str, &str)]) -> Engine {
    engine_with_gate(rules, true)
}

/// An engine of `rules` with the scope gate on or off (then every event is
/// scanned whole, no value left out).
fn engine_with_gate(rules: &[(&str, &str)], gate: bool) -> Engine {
    let rules = rules.iter().map(|(l, d)| rule_of(l, d)).collect();
    let options = EngineOptions {
        scope_gate: Some(gate),
        ..Default::default()
    };
    Engine::new(rules, options).unwrap()
}

/// The candidates a scanner that has seen nothing gives for `raw`.
fn fresh_candidates(engine: &Engine, raw: &str) -> Vec<u32> {
    engine
        .scanner()
        .unwrap()
        .candidates(raw.as_bytes())
        .to_vec()
}

const PROCESS: &str = "{product: windows, category: process_creation}";
const SYSMON: &str = "{product: windows, service: sysmon}";

fn rules() -> Vec<(&'static str, &'static str)> {
    vec![
        (PROCESS, "s: {CommandLine|contains: 'whoami'}\n    condition: s"),
        (PROCESS, "s: {Image|endswith: '\\\\rundll32.exe', CommandLine|contains: 'javascript:'}\n    condition: s"),
        (PROCESS, "s: {ParentImage|endswith: '\\\\winword.exe'}\n    f: {User|contains: 'SYSTEM'}\n    condition: s and not f"),
        // No witness: every process creation is a candidate.
        (PROCESS, "s: {CommandLine|contains: 'x'}\n    condition: not s"),
        // A number-like witness: a candidate wherever a number is rewritten.
        (PROCESS, "s: {CommandLine|contains: '123456'}\n    condition: s"),
        // Event ids only: dropped for events with other ids.
        (SYSMON, "s: {EventID: 7}\n    condition: s"),
    ]
}

/// A keyword: the scan reads every value, times and GUIDs included.
const KEYWORD: (&str, &str) = (SYSMON, "keywords: ['mimikatz']\n    condition: keywords");

const COMMANDS: [&str; 6] = [
    "cmd /c whoami",
    "rundll32 javascript:x",
    "notepad",
    "WHOAMI /all",
    "mimikatz 123456",
    "résumé",
];
const IDS: [&str; 4] = ["1", "7", "\"1\"", "8"];
const PROCESS_IDS: [&str; 3] = ["4242", "1.23456e5", "-0"];

/// The candidates of a fresh scanner for `raw`, which `warm` must give too.
fn warm_agrees_with_fresh(
    engine: &Engine,
    warm: &mut crate::engine::Scanner<'_>,
    raw: &str,
    round: usize,
) -> Vec<u32> {
    let fresh = fresh_candidates(engine, raw);
    assert_eq!(
        warm.candidates(raw.as_bytes()),
        fresh,
        "round {round}: {raw}"
    );
    fresh
}

/// The candidates of a warm scanner against a fresh one's over three
/// rounds of the same contents (other times, GUIDs and process ids); the
/// events the memo answered.
fn warm_against_fresh(engine: &Engine) -> u64 {
    let mut warm = engine.scanner().unwrap();
    let mut n = 0;
    for round in 0..3 {
        for id in IDS {
            for process_id in PROCESS_IDS {
                for (k, command) in COMMANDS.iter().enumerate() {
                    n += 1;
                    let raw = sysmon_process_event(
                        n,
                        id,
                        process_id,
                        IMAGES[k % 2],
                        command,
                        PARENTS[(k / 2) % 2],
                        USERS[round % 2],
                    );
                    warm_agrees_with_fresh(engine, &mut warm, &raw, round);
                }
            }
        }
    }
    warm.candidate_memo.answered_total
}

#[test]
fn remembered_candidates_are_those_of_a_fresh_scanner() {
    // Each content is seen three times (the user alternates by round):
    // remembered from the first sight, answered from the second.
    let answered = warm_against_fresh(&gated_engine(&rules()));
    assert!(answered >= 36, "{answered}");
    // With a keyword every value is scanned, yet the times, GUIDs and
    // process ids hold none of its literals: keyed by the patterns they
    // hold, the keys repeat.
    let mut with_keyword = rules();
    with_keyword.push(KEYWORD);
    let answered = warm_against_fresh(&gated_engine(&with_keyword));
    assert!(answered >= 24, "{answered}");
    // A keyword literal that could lie in a time or an id: the lines that
    // hold it are keyed by the patterns remembered for those values, which
    // never repeat; the others skip the keyword path (`keyword_check.rs`)
    // and are answered, yet fewer than without the keyword.
    let mut narrow_keyword = rules();
    narrow_keyword.push((SYSMON, "keywords: ['0:1']\n    condition: keywords"));
    let with_narrow = warm_against_fresh(&gated_engine(&narrow_keyword));
    let without = warm_against_fresh(&gated_engine(&rules()));
    assert!(
        with_narrow > 0 && with_narrow < without,
        "{with_narrow} {without}"
    );
    // Unless it is another log source's: found there, it makes only
    // candidates the scope filter drops.
    let mut other_source = rules();
    other_source.push(KEYWORD);
    other_source.push((
        "{product: linux, service: auditd}",
        "keywords: ['0:1']\n    condition: keywords",
    ));
    let answered = warm_against_fresh(&gated_engine(&other_source));
    assert!(answered >= 24, "{answered}");
}

/// A Sysmon event with a member no field-scoped witness counts in (`Host`).
fn hosted_event(n: usize, host: &str, command: &str) -> String {
    format!(
        r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Host":"{host}","UtcTime":"2026-11-29 06:00:{:02}.{n:03}","ProcessGuid":"{{{n:08x}-0000}}","ProcessId":{n},"CommandLine":"{command}"}}"#,
        n % 60
    )
}

#[test]
fn keyword_scans_are_keyed_by_the_patterns_of_values_not_by_their_bytes() {
    // Hosts hold a keyword literal or not, in either case, ASCII or not; a
    // second keyword rule (with a non-ASCII literal) and a clause of both
    // kinds.
    let mut rules = rules();
    rules.push(KEYWORD);
    rules.push((
        SYSMON,
        "keywords: ['kiwi', 'sekurlsa::', 'kïwi']\n    condition: keywords",
    ));
    rules.push((
        PROCESS,
        "s: {CommandLine|contains: 'whoami'}\n    k: ['kiwi']\n    condition: s and k",
    ));
    let engine = gated_engine(&rules);
    let ungated = engine_with_gate(&rules, false);
    let hosts = [
        "SRV-A",
        "mimikatz-box",
        "SRV-B",
        "MIMIKATZ",
        "kiwi sekurlsa::x",
        "SRV-A ",
        "kïwi-01",
        "hôte",
    ];
    let commands = ["whoami", "notepad", "cmd /c whoami kiwi"];
    let mut warm = engine.scanner().unwrap();
    let mut with_keyword = 0;
    let mut n = 0;
    for round in 0..4 {
        for host in hosts {
            for command in commands {
                n += 1;
                let raw = hosted_event(n, host, command);
                let fresh = warm_agrees_with_fresh(&engine, &mut warm, &raw, round);
                assert_eq!(fresh, fresh_candidates(&ungated, &raw), "{raw}");
                // The keyword rules are candidates exactly where a host
                // or the command line holds one of their literals.
                let holds = |w: &str| raw.to_ascii_lowercase().contains(w);
                assert_eq!(fresh.contains(&6), holds("mimikatz"), "{raw}");
                with_keyword += usize::from(fresh.contains(&7));
            }
        }
    }
    assert!(with_keyword > 0);
    // Remembered from the second sight of each value, answered from the
    // third round on.
    let answered = warm.candidate_memo.answered_total;
    assert!(
        answered >= (hosts.len() * commands.len()) as u64,
        "{answered}"
    );
}

#[test]
fn the_key_holds_the_event_ids_and_whether_a_number_is_rewritten() {
    let engine = gated_engine(&rules());
    let of = |n: usize, id: &str, process_id: &str| {
        sysmon_process_event(
            n,
            id,
            process_id,
            IMAGES[1],
            COMMANDS[2],
            PARENTS[1],
            USERS[1],
        )
    };
    // Remembered under one event id and a plain process id, then a variant
    // that differs in what stage 1 reads beyond the scanned values.
    for (id, variant) in [("7", of(11, "8", "4")), ("1", of(12, "1", "1e3"))] {
        let mut warm = engine.scanner().unwrap();
        for n in 0..3 {
            warm.candidates(of(n, id, "4").as_bytes());
        }
        // Remembered at the first sight, answered at the next two.
        let answered = warm.candidate_memo.answered_total;
        assert_eq!(answered, 2);
        // Another time and process id: the same key, answered.
        let same = warm.candidates(of(10, id, "5").as_bytes()).to_vec();
        assert_eq!(warm.candidate_memo.answered_total, answered + 1);
        assert_eq!(same, fresh_candidates(&engine, &of(10, id, "5")));
        let fresh = fresh_candidates(&engine, &variant);
        assert_ne!(fresh, same, "{variant}");
        assert_eq!(warm.candidates(variant.as_bytes()), fresh, "{variant}");
    }
}

#[test]
fn lookups_stop_while_keys_do_not_repeat() {
    // Command lines that never repeat (their runs of digits too short to
    // fold) and hold no witness: no own key repeats, and every event has
    // the hits of the one before.
    let engine = gated_engine(&rules());
    for by_hits in [true, false] {
        let mut warm = engine.scanner().unwrap();
        if !by_hits {
            warm.hits_key.turn_off();
        }
        for n in 0..1000 {
            let command = format!("notepad {n}");
            let raw = sysmon_process_event(n, "1", "4", IMAGES[1], &command, PARENTS[1], USERS[1]);
            let candidates = warm.candidates(raw.as_bytes()).to_vec();
            assert_eq!(candidates, fresh_candidates(&engine, &raw), "{raw}");
        }
        assert_eq!(warm.candidate_memo.answered_total, 0);
        if by_hits {
            // All but the first answered by their hits: lookups go on.
            assert_eq!(warm.hits_key.answered, 999);
            assert!(warm.candidate_memo.looks_up());
        } else {
            assert_eq!(warm.hits_key.answered, 0);
            assert!(
                !warm.candidate_memo.looks_up(),
                "switched off after a window"
            );
        }
    }
}

/// More layouts of member names than a scanner keeps (its list starts
/// over): flat lines of many shapes and nested records whose names, and
/// the names holding containers, differ, each seen twice, give a warm
/// scanner a fresh one's candidates.
/// 700 flat shapes and 300 nested layouts, twice: more layouts than are
/// kept (`LAYOUTS`), and more shapes than their slots (`SHAPE_SLOTS`), so
/// shapes replace each other's slots.
#[test]
fn more_layouts_than_are_kept_give_the_candidates_of_a_fresh_scanner() {
    let engine = gated_engine(&rules());
    let mut warm = engine.scanner().unwrap();
    let events: Vec<String> = (0..700)
        .flat_map(|n| {
            let command = COMMANDS[n % COMMANDS.len()];
            let image = IMAGES[n % IMAGES.len()];
            let id = IDS[n % IDS.len()];
            [
                format!(
                    r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":{id},"Image":"{image}","CommandLine":"{command}","Extra{n}":"v"}}"#
                ),
                // A container named `Image` (the field a rule reads) in
                // some layouts only.
                format!(
                    r#"{{"Event":{{"System":{{"EventID":{id},"Channel":"Microsoft-Windows-Sysmon/Operational"}},"EventData":{{"Image":"{image}","CommandLine":"{command}","Box{}":{}}}}}}}"#,
                    n % 300,
                    if n % 2 == 0 { r#"{"Image":[]}"# } else { "{}" }
                ),
            ]
        })
        .collect();
    for round in 0..2 {
        for raw in &events {
            warm_agrees_with_fresh(&engine, &mut warm, raw, round);
        }
    }
}

#[test]
fn values_that_differ_in_hexadecimal_words_no_witness_reads_share_candidates() {
    // Command lines with a fresh hexadecimal word each (`-a1c2e3f45`):
    // neither key nor the folded one (of runs of digits) repeats, the key
    // with words folded does. A witness that reads a word's digits
    // (`-a1b2`) keeps the words it could overlap: those events are
    // scanned, and their candidates follow.
    let mut reading = rules();
    reading.push((
        PROCESS,
        "s: {CommandLine|contains: '-a1b2'}\n    condition: s",
    ));
    let total: usize = 120;
    for (rules, all_answered) in [(rules(), true), (reading, false)] {
        let engine = gated_engine(&rules);
        let mut warm = engine.scanner().unwrap();
        for n in 0..total {
            let word = hex_word(n);
            let command = [format!("tool -{word} x"), format!("whoami -{word}")][n % 2].clone();
            let raw = sysmon_process_event(n, "1", "4", IMAGES[1], &command, PARENTS[1], USERS[1]);
            let candidates = warm_agrees_with_fresh(&engine, &mut warm, &raw, n);
            // A fresh scanner folds its copy alike: the rules that match
            // (by the reference) must be among the candidates.
            let event: serde_json::Value = serde_json::from_str(&raw).unwrap();
            let profile = hypersigma_compiler::Profile::sysmon();
            for rule in reference_matches(&engine, &event, &profile) {
                assert!(candidates.contains(&rule), "{rule} {raw}");
            }
        }
        let answered = warm.candidate_memo.answered_total;
        if all_answered {
            // Two kinds of command line, each scanned once.
            assert_eq!(answered, total as u64 - 2);
        } else {
            // The words starting with `a1b2` are kept (every fifth event).
            assert!(answered < total as u64 - total as u64 / 5, "{answered}");
            assert!(answered > total as u64 / 2, "{answered}");
        }
    }
}

/// A word for `n` of letters no witness of [`rules`] holds (no digit:
/// nothing folds it).
fn letters(n: usize) -> String {
    const ALPHABET: &[u8] = b"ghjklnpqrtuvyz";
    let mut n = n;
    let mut word = String::from("q");
    loop {
        word.push(char::from(ALPHABET[n % ALPHABET.len()]));
        n /= ALPHABET.len();
        if n == 0 {
            return word;
        }
    }
}

#[test]
fn events_with_the_hits_of_an_earlier_one_share_its_candidates() {
    // Command lines with a fresh word each: no own key repeats, but an
    // event whose hits (the literal and the member it lies in) are an
    // earlier one's gets that one's candidates. `WINWORD.EXE` as the image
    // and as the parent image are hits of one literal in two places: only
    // the parent makes a candidate of the rule reading it.
    let images = [IMAGES[0], IMAGES[1], "C:\\\\o\\\\WINWORD.EXE"];
    let total: usize = 600;
    for with_keyword in [false, true] {
        let mut rules = rules();
        rules.extend(with_keyword.then_some(KEYWORD));
        let engine = gated_engine(&rules);
        let mut warm = engine.scanner().unwrap();
        for n in 0..total {
            let command = [
                format!("cmd /c whoami {}", letters(n)),
                format!("rundll32 javascript:{}", letters(n)),
                format!("notepad {}", letters(n)),
            ][n % 3]
                .clone();
            let raw = sysmon_process_event(
                n,
                ["1", "7"][n / 3 % 2],
                "4",
                images[n / 6 % 3],
                &command,
                PARENTS[n / 18 % 2],
                USERS[n / 36 % 2],
            );
            let candidates = warm_agrees_with_fresh(&engine, &mut warm, &raw, n);
            let event: serde_json::Value = serde_json::from_str(&raw).unwrap();
            let profile = hypersigma_compiler::Profile::sysmon();
            for rule in reference_matches(&engine, &event, &profile) {
                assert!(candidates.contains(&rule), "{rule} {raw}");
            }
        }
        assert_eq!(warm.candidate_memo.answered_total, 0);
        // 72 combinations of hits at most (3 commands, 2 ids, 3 images, 2
        // parents, 2 users): the rest answered by their hits.
        let answered = warm.hits_key.answered;
        assert!(answered >= (total - 72) as u64, "{answered}");
    }
}
