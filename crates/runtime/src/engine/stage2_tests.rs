//! Unit tests of stage 2 through the engine: its text predicates (literals
//! one by one, by the automaton pass, from the hit cache; regexes and globs
//! behind their literal prefilters), all against the reference evaluator,
//! and the whole event it hands on with a match.

use super::evaluate::ARENA_KEPT;
use super::tests::{agrees_with_reference, engine, reference_matches};
use super::*;
use hypersigma_compiler::{evaluate_detailed, EvalOptions};

/// Matches each command line (in a Sysmon process event) against the
/// detections, with and without the prefilter, requiring the reference's
/// verdicts; returns how many (event, rule) pairs matched per run.
fn agrees_on_command_lines(detections: &[&str], commands: &[&str]) -> usize {
    let p = Profile::sysmon();
    let mut matched = 0;
    for no_prefilter in [false, true] {
        let e = engine(detections, no_prefilter);
        let mut s = e.scanner().unwrap();
        matched = 0;
        for cmd in commands {
            let raw = serde_json::json!({
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "EventID": 1,
                "CommandLine": cmd,
            })
            .to_string();
            let context = format!("{cmd:?} (no prefilter: {no_prefilter})");
            matched += agrees_with_reference(&mut s, &e, &raw, &p, &context).len();
        }
    }
    matched
}

#[test]
fn regexes_run_only_where_a_required_literal_is_and_agree_with_the_reference() {
    let detections = [
        "    s: {CommandLine|re: '\\w+`(?:\\w+|-|.)`[\\w+|\\s]'}\n    condition: s",
        "    s: {CommandLine|re: '(?i)\\$\\{`?e`?n`?v`?:`?p`?a`?t`?h`?\\}'}\n    condition: s",
        "    s: {CommandLine|re|i: 'x+(?:Invoke|IEX)\\s'}\n    condition: s",
        "    s: {CommandLine|re: 'K[A-Z]{2}[0-9]'}\n    condition: s",
    ];
    let commands = [
        "IN`V`o`Ke-eXp`ResSIOn x",
        "plain command line",
        "echo ${E`Nv:pATh}",
        "echo ${env:path}",
        "xxINVOKE x",
        "xiex\\tx",
        "KAB1",
        "\u{212A}AB1",
        "kab1",
    ];
    // Each expression matches somewhere, the Kelvin sign included.
    let matched = agrees_on_command_lines(&detections, &commands);
    assert!(matched >= 5, "{matched}");
}

#[test]
fn literals_of_new_texts_decided_one_by_one_agree_with_the_full_pass() {
    // A text seen once has the atoms its candidates ask for decided on
    // their own, up to a budget; past it (a list of 100 literals), and for
    // a text seen again, one automaton pass decides them all.
    let many: Vec<String> = (0..100).map(|i| format!("'tool{i:03}.exe'")).collect();
    let long_list = format!(
        "    s: {{CommandLine|contains: [{}]}}\n    condition: s",
        many.join(", ")
    );
    let detections = [
        "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
        "    s: {CommandLine|startswith: 'cmd'}\n    condition: s",
        "    s: {CommandLine|endswith: '/all'}\n    condition: s",
        "    s: {CommandLine: 'cmd /c whoami /all'}\n    condition: s",
        "    s: {CommandLine|contains|cased: 'WhoAmI'}\n    condition: s",
        "    s: {CommandLine|contains|all: ['who', 'ami', ' /']}\n    condition: s",
        "    s: {CommandLine|contains: 'σ'}\n    condition: s",
        long_list.as_str(),
    ];
    let once = [
        "cmd /c whoami /all",
        "CMD /C WhoAmI /ALL",
        "x whoami",
        "run tool099.exe now",
        "run TOOL000.EXE",
        "ΣΑΣ whoami",
        "nothing here",
    ];
    // Texts too long for the hit cache (a script block) are decided one by
    // one every time they are seen, within the budget, and by the full
    // pass past it (the list of 100 literals).
    let padding = "x ".repeat(1500);
    let long: Vec<String> = [
        format!("cmd /c {padding} whoami /all"),
        format!("{padding} WhoAmI"),
        format!("run {padding} tool042.exe"),
        format!("ΣΑΣ {padding}"),
        padding.clone(),
    ]
    .into_iter()
    .collect();
    // First sight, second sight (the full pass), then the hit cache.
    let commands: Vec<&str> = once
        .iter()
        .copied()
        .chain(long.iter().map(String::as_str))
        .chain(once.iter().copied())
        .chain(long.iter().map(String::as_str))
        .chain(once.iter().copied())
        .collect();
    let matched = agrees_on_command_lines(&detections, &commands);
    assert!(matched >= 3 * 12 + 2 * 5, "{matched}");
}

#[test]
fn substrings_of_a_match_searched_together_on_new_texts_agree_with_the_reference() {
    // A match listing several substrings (with other atoms: prefixes,
    // suffixes, values) decides them in one search over a text seen for
    // the first time; in the case mode of each, whatever their count (a
    // searcher holds a few dozen at most: past that, one by one).
    let sixty: Vec<String> = (0..60).map(|i| format!("'-opt{i:02}='")).collect();
    let mixed = "    s:\n        CommandLine|contains: [' -nop ', 'iex(', '.downloadstring(', 'σκ', ' /c ']\n        CommandLine|startswith: 'cmd'\n    condition: s";
    let any_of = "    s:\n        CommandLine|contains: [' -nop ', 'iex(', 'σκ', 'mimi', 'zz']\n        CommandLine|endswith: ['.ps1', '.vbs']\n        CommandLine: 'exact value'\n    condition: not s";
    let cased =
        "    s: {CommandLine|contains|cased: ['AbC', 'xYz', 'Q1', 'q2', 'ÉÈ']}\n    condition: s";
    let both = "    s:\n        - CommandLine|contains|cased: ['AbC', 'xYz', 'Q1', 'q2']\n        - CommandLine|contains: ['abc', 'xyz', 'q1', 'Q2']\n    condition: s";
    let long_list = format!(
        "    s: {{CommandLine|contains: [{}]}}\n    condition: s",
        sixty.join(", ")
    );
    let detections = [mixed, any_of, cased, both, long_list.as_str()];
    let commands = [
        "cmd /c echo",
        "powershell -NoP x",
        "powershell -nop iex(new-object net.webclient).DownloadString('x')",
        "zz",
        "z",
        "a.ps1",
        "run.vbs now",
        "exact value",
        "EXACT VALUE",
        "ΣΚ",
        "ςκ mimi",
        "AbC",
        "abc",
        "ab",
        "..xYz",
        "Q1",
        "ÉÈ",
        "éè",
        "tool -opt59=1",
        "tool -OPT00=1 and a much longer command line past the searcher's minimum length",
        "tool -opt60=1",
        "",
    ];
    // Every command line is new to the first scanner; the second time the
    // hit cache has them.
    let twice: Vec<&str> = commands.iter().chain(&commands).copied().collect();
    let matched = agrees_on_command_lines(&detections, &twice);
    assert!(matched >= 2 * 20, "{matched}");
}

#[test]
fn globs_run_only_where_their_literal_pieces_are_and_agree_with_the_reference() {
    let detections = [
        "    s: {CommandLine|contains: ' -e* JAB'}\n    condition: s",
        "    s: {CommandLine|contains|cased: 'Ab?cD*eF'}\n    condition: s",
        "    s: {CommandLine|windash|contains: ' -decode '}\n    condition: s",
        "    s: {CommandLine: ['*ſtart?x*', 'a*b*c']}\n    condition: s",
        "    s: {CommandLine|re: '\"(?:\\{\\d\\})+\"\\s*-f'}\n    condition: s",
    ];
    let commands = [
        "powershell -enc JABz",
        "powershell -EncodedCommand jab",
        "powershell -enc xJAB",
        "AbxcDyyeF",
        "abxcdyyef",
        "AbcDeF",
        "certutil /decode a b",
        "certutil \u{2013}decode a b",
        "go START1X now",
        "go \u{17F}tart1x now",
        "go start1 x",
        "axbxc",
        "cba",
        "\"{0}{1}\" -f 'a','b'",
        "\"{0}\" x -f",
    ];
    // Each pattern matches somewhere, the long s included.
    let matched = agrees_on_command_lines(&detections, &commands);
    assert!(matched >= 8, "{matched}");
}

#[test]
fn a_matched_event_comes_back_whole_however_much_stage_2_parsed() {
    let e = engine(
        &["    s: {Image|endswith: '\\cmd.exe'}\n    condition: s"],
        false,
    );
    let mut s = e.scanner().unwrap();
    // The rule reads one member of the flat line (stage 2 parses a few,
    // then the whole line for output); the nested line has one top-level
    // member, which stage 2 parses whole and hands on as it is.
    let lines = [
        (
            Profile::sysmon(),
            r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\x\\cmd.exe","Other":{"a":[1,"b"]},"Last":null}"#,
        ),
        (
            Profile::evtx(),
            r#"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\x\\cmd.exe","User":"u"}}}"#,
        ),
    ];
    for (profile, raw) in &lines {
        let full: Value = serde_json::from_str(raw).unwrap();
        for _ in 0..3 {
            let (verdict, event, _) = s.match_event_full(raw.as_bytes(), profile);
            assert_eq!(verdict, Verdict::Matched(vec![0]), "{raw}");
            assert_eq!(event.as_ref(), Some(&full), "{raw}");
        }
    }
}

#[test]
fn a_matched_event_written_into_a_given_back_one_is_the_event() {
    // Events of one layout (the values differ: texts longer and shorter,
    // numbers and strings, escapes) and of others, interleaved, each
    // matched event's value given back once read: the next one of its
    // layout is written into it, and comes back as the whole event.
    let e = engine(
        &["    s: {Image|endswith: '\\cmd.exe'}\n    condition: s"],
        false,
    );
    let mut s = e.scanner().unwrap();
    let evtx = |id: &str, user: &str, data: &str| {
        format!(
            r#"{{"Event":{{"System":{{"EventID":{id},"Channel":"Microsoft-Windows-Sysmon/Operational"}},"EventData":{{"Image":"C:\\x\\cmd.exe","User":{user},"Data":{data}}}}}}}"#
        )
    };
    let flat = |user: &str| {
        format!(
            r#"{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\y\\cmd.exe","User":{user}}}"#
        )
    };
    let lines = [
        (Profile::evtx(), evtx("1", r#""u""#, r#"[1,{"a":"b"}]"#)),
        (
            Profile::evtx(),
            evtx("1", r#""a much longer user name""#, r#"[2,{"a":"c\"d"}]"#),
        ),
        (Profile::sysmon(), flat(r#""v""#)),
        (Profile::evtx(), evtx("1", "7", r#"[3,{"a":null}]"#)),
        (Profile::evtx(), evtx("1", r#""\u00e9""#, r#"[3,{"b":1}]"#)),
        (Profile::evtx(), evtx("1", r#""w""#, r#"[3,{"a":1},4]"#)),
        (Profile::sysmon(), flat("null")),
        (Profile::evtx(), evtx("1", r#""x""#, r#"{"a":[1]}"#)),
        (Profile::evtx(), evtx("1", r#""y""#, r#"[1,{"a":"b"}]"#)),
    ];
    for _ in 0..2 {
        for (profile, raw) in &lines {
            let full: Value = serde_json::from_str(raw).unwrap();
            let (verdict, event, _) = s.match_event_full(raw.as_bytes(), profile);
            assert_eq!(verdict, Verdict::Matched(vec![0]), "{raw}");
            let event = event.expect("the matched event");
            assert_eq!(event, full, "{raw}");
            s.give_back(event);
        }
    }
}

#[test]
fn nested_events_built_pruned_get_the_references_verdicts() {
    // Stage 2 builds an `evtx_dump` record's `Event` with only what the
    // candidates read (`partial/pruned.rs`); events of one layout share
    // its names' leaves. Repeated names (the last wins), escaped and spaced
    // names, arrays and containers read whole, one scanner across events.
    let detections = [
        "    s: {X.CommandLine|contains: 'evil'}\n    condition: s",
        "    s: {CommandLine|contains: 'evil'}\n    f: {User: null}\n    condition: s and f",
        "    s: {ImagePath|endswith: '.exe'}\n    condition: s",
        "    s: {Data|contains: 'evil'}\n    condition: s",
    ];
    let record = |data: &str| {
        format!(
            r#"{{"Event":{{"System":{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","TimeCreated":{{"SystemTime":"t"}}}},"EventData":{data}}}}}"#
        )
    };
    let events = [
        record(r#"{"X":{"CommandLine":"evil"},"X":1}"#),
        record(r#"{"X":1,"X":{"CommandLine":"evil"}}"#),
        record(r#"{"X":{"CommandLine":"good"},"X":{"CommandLine":"evil"}}"#),
        record(r#"{"X":{"CommandLine":"evil"},"\u0058":1}"#),
        record(r#"{"CommandLine":"evil","User":"u"}"#),
        record(r#"{"CommandLine":"evil","Us\u0065r":null,"Other":[1,{"User":"u"}]}"#),
        record(r##"{"Image Path":"C:\\a.exe","CommandLine":{"#text":"evil"}}"##),
        record(r##"{"Data":[{"#text":"evil"},"x"],"More":{"Data":{"#text":"fine"}}}"##),
        record(r#"{"A":[{"B":{"CommandLine":"evil"}}],"CommandLine":["good","evil"]}"#),
    ];
    let p = Profile::evtx();
    for no_prefilter in [false, true] {
        let e = engine(&detections, no_prefilter);
        let mut s = e.scanner().unwrap();
        for _ in 0..2 {
            for raw in &events {
                agrees_with_reference(&mut s, &e, raw, &p, raw);
            }
        }
    }
}

#[test]
fn a_match_is_explained_as_the_reference_explains_it() {
    let detections = [
        "    s: {Image|endswith: '\\cmd.exe'}\n    f: {User|contains: 'SYSTEM'}\n    condition: s and not f",
        "    a: {CommandLine|contains|all: [' /c ', 'echo']}\n    b: {CommandLine|re: 'e.ho'}\n    condition: 1 of them",
        "    k: [whoami]\n    condition: k",
    ];
    let e = engine(&detections, false);
    let s = e.scanner().unwrap();
    let p = Profile::sysmon();
    let events = [
        r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\x\\cmd.exe","CommandLine":"cmd /c echo whoami","User":"NT AUTHORITY\\SYSTEM"}"#,
        r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\x\\CMD.EXE","CommandLine":"x /c echo","User":"bob"}"#,
        // Outside the rules' log source: no source, no selection.
        r#"{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\x\\cmd.exe"}"#,
    ];
    for raw in events {
        let event: Value = serde_json::from_str(raw).unwrap();
        for (r, rule) in e.rules().iter().enumerate() {
            let reference = evaluate_detailed(rule, &event, &p, EvalOptions::default());
            assert_eq!(
                s.explain(r as u32, &event, &p),
                reference,
                "rule {r} on {raw}"
            );
        }
    }
    let event: Value = serde_json::from_str(events[0]).unwrap();
    let explained = s.explain(0, &event, &p);
    assert_eq!((explained.matched, explained.selections.len()), (false, 2));
    assert!(!s.explain(99, &event, &p).matched);
}

/// The reference's predicates (numbers, ranges, addresses, existence,
/// field references), decided once per event and field for all of its
/// matches, agree with the reference on every event of one scanner: values
/// present, absent, null, in arrays, as numbers and as strings.
#[test]
fn reference_predicates_decided_per_field_agree_with_the_reference_event_after_event() {
    let detections = [
        "    s: {ProcessId|gt: 100}\n    t: {ProcessId|lte: 4000}\n    condition: s and t",
        "    s: {ProcessId: [5, 7, 4096]}\n    condition: s",
        "    s: {SourceIp|cidr: ['10.0.0.0/8', '192.168.0.0/16']}\n    condition: s",
        "    s: {ParentImage|exists: true}\n    t: {ParentImage: null}\n    condition: s or t",
        "    s: {Image|fieldref: ParentImage}\n    t: {ProcessId|lt: 50}\n    condition: s or t",
        "    s: {ProcessId|gte: 4096}\n    f: {SourceIp|cidr: '10.1.0.0/16'}\n    condition: s and not f",
    ];
    let p = Profile::sysmon();
    let values = [
        r#""ProcessId":4096,"SourceIp":"10.1.2.3","ParentImage":"a","Image":"a""#,
        r#""ProcessId":"99","SourceIp":"192.168.9.9","Image":"b""#,
        r#""ProcessId":[5,200],"SourceIp":["8.8.8.8","10.0.0.1"],"ParentImage":null"#,
        r#""ProcessId":7,"SourceIp":"fe80::1","ParentImage":"c","Image":"C""#,
        r#""ProcessId":null,"SourceIp":"not an address","ParentImage":["c","d"],"Image":"d""#,
        r#""ProcessId":"0x10","Image":"e""#,
        r#""ProcessId":4001.5,"SourceIp":"10.255.255.255","ParentImage":"e","Image":"e""#,
    ];
    for no_prefilter in [false, true] {
        let e = engine(&detections, no_prefilter);
        let mut s = e.scanner().unwrap();
        for round in 0..3 {
            for v in values {
                let raw = format!(
                    r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"UtcTime":"{round}",{v}}}"#
                );
                let context = format!("{raw} (no prefilter: {no_prefilter})");
                agrees_with_reference(&mut s, &e, &raw, &p, &context);
            }
        }
    }
}

/// Stage 2's arena: evaluations of events of one shape reuse its block
/// (what the fields' lists, numbers' texts, folded texts and characters
/// take), verdicts agreeing with the reference; a huge event's arena is
/// given back after it.
#[test]
fn the_arena_keeps_one_block_from_evaluation_to_evaluation() {
    let detections = [
        // No witnesses: every event is evaluated, its fields read.
        "    s: {CommandLine|contains: 'x'}\n    condition: not s",
        "    s: {Image|endswith: '.exe'}\n    t: {ProcessId|gt: 100}\n    condition: not s or t",
        "    s: {ParentImage: 'C:\\w?\\*.exe'}\n    condition: not s",
        "    k: ['Zebra']\n    condition: not k",
        "    s: {CommandLine: 'ru? *'}\n    condition: not s",
    ];
    let e = engine(&detections, false);
    let p = Profile::sysmon();
    let mut s = e.scanner().unwrap();
    let event = |n: usize, padding: usize| {
        serde_json::json!({
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "EventID": 1,
            "ProcessId": n,
            "Image": format!("C:\\W\\Tool{n}.EXE"),
            "ParentImage": format!("C:\\wÉ\\p{}.exe", n % 7),
            "CommandLine": format!("run {n} {}", "y".repeat(padding)),
        })
        .to_string()
    };
    let mut used = None;
    for n in 0..300 {
        // Event 200 is huge: its command line's characters outgrow the
        // kept size.
        let padding = if n == 200 { 2 * ARENA_KEPT } else { n % 50 };
        let raw = event(n, padding);
        let value: Value = serde_json::from_str(&raw).unwrap();
        let expected = reference_matches(&e, &value, &p);
        assert_eq!(
            s.match_event(raw.as_bytes(), &p),
            Verdict::Matched(expected)
        );
        let now = s.arena.allocated_bytes();
        match n {
            100 => used = Some(now),
            101..200 => assert_eq!(Some(now), used, "event {n}: the arena grew"),
            200 => assert!(now > ARENA_KEPT),
            _ => {}
        }
    }
    assert!(s.arena.allocated_bytes() <= ARENA_KEPT);
    assert!(s.remembered_verdicts() == 0);
}
