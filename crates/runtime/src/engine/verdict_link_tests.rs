//! Tests of the verdicts linked to the candidate memo's keys: against
//! fresh scanners, with read members outside the key, candidate lists the
//! required values cut, and profiles that change.

use crate::engine::tests::{engine_with, sysmon_process_event, IMAGES, PARENTS, USERS};
use crate::engine::{Engine, EngineOptions, Scanner, Verdict};
use hypersigma_compiler::Profile;

const RULES: [&str; 5] = [
    "    s: {CommandLine|contains: 'whoami'}\n    condition: s",
    "    s: {Image|endswith: '\\rundll32.exe', CommandLine|contains: 'javascript:'}\n    condition: s",
    // The user is read, but no witness counts in it: outside the key.
    "    s: {ParentImage|endswith: '\\winword.exe'}\n    f: {User|contains: 'SYSTEM'}\n    condition: s and not f",
    // No witness: every process creation is a candidate.
    "    s: {CommandLine|contains: 'x'}\n    condition: not s",
    // No witness, a required number: a candidate only for events of that
    // process id, whose lists then differ under one key.
    "    s: {ProcessId: 4242}\n    condition: s",
];

const COMMANDS: [&str; 4] = [
    "cmd /c whoami",
    "rundll32 javascript:x",
    "notepad",
    "WHOAMI /all",
];

/// An engine of [`RULES`] whose scope gate reads every event, so stage 1
/// remembers candidate lists.
fn gated_engine() -> Engine {
    let options = EngineOptions {
        scope_gate: Some(true),
        ..Default::default()
    };
    engine_with(&RULES, options)
}

/// The `n`th event: the command, image and parent repeat every 16 events,
/// the user and the process id (4242 or not) vary apart from them, the
/// time and GUID change with `n`.
fn nth_event(n: usize) -> String {
    let process_id = if (n / 3).is_multiple_of(2) {
        "4242"
    } else {
        "4243"
    };
    sysmon_process_event(
        n,
        "1",
        process_id,
        IMAGES[n % 2],
        COMMANDS[n / 2 % COMMANDS.len()],
        PARENTS[n / 8 % 2],
        USERS[n / 5 % 2],
    )
}

fn fresh(e: &Engine, raw: &str, p: &Profile) -> (Verdict, Option<serde_json::Value>, usize) {
    e.scanner().unwrap().match_event_full(raw.as_bytes(), p)
}

/// Matches `raw` with `warm`, asserting a fresh scanner's outcome.
fn agrees(e: &Engine, warm: &mut Scanner<'_>, raw: &str, p: &Profile) -> Verdict {
    let expected = fresh(e, raw, p);
    assert_eq!(
        warm.match_event_full(raw.as_bytes(), p),
        expected,
        "{raw} {}",
        p.name
    );
    expected.0
}

#[test]
fn linked_verdicts_are_those_of_a_fresh_scanner() {
    let e = gated_engine();
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    let mut matched = 0;
    for n in 0..240 {
        let verdict = agrees(&e, &mut warm, &nth_event(n), &p);
        matched += usize::from(matches!(verdict, Verdict::Matched(r) if !r.is_empty()));
    }
    assert!(matched > 0);
    // Events equal in their key but not in the user or the process id
    // were answered by links, not all of them.
    let linked = warm.verdict_links.answered;
    assert!(linked > 30, "{linked}");
    assert!(warm.remembered_verdicts() > linked);
}

#[test]
fn a_link_holds_only_for_the_user_it_was_decided_with() {
    let e = gated_engine();
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    // A Word child run by a user, then by SYSTEM (filtered), the same key.
    let event = |n: usize, user: &str| {
        sysmon_process_event(n, "1", "7", IMAGES[1], "notepad", PARENTS[0], user)
    };
    for n in 0..4 {
        let by_user = agrees(&e, &mut warm, &event(2 * n, USERS[1]), &p);
        assert!(matches!(&by_user, Verdict::Matched(r) if r.contains(&2)));
        let by_system = agrees(&e, &mut warm, &event(2 * n + 1, USERS[0]), &p);
        assert!(matches!(&by_system, Verdict::Matched(r) if !r.contains(&2)));
    }
}

#[test]
fn a_place_keeps_a_link_for_each_of_a_few_users() {
    let e = gated_engine();
    let p = Profile::sysmon();
    let mut warm = e.scanner().unwrap();
    // A Word child (one key) run in turn by six users, SYSTEM among them
    // (filtered): each user's verdict is linked in a slot of its own.
    let users = [
        USERS[0],
        USERS[1],
        "CONTOSO\\\\ann",
        "CONTOSO\\\\bob",
        "NT AUTHORITY\\\\SYSTEM ",
        "CONTOSO\\\\carl",
    ];
    let rounds = 20;
    for n in 0..rounds * users.len() {
        let user = users[n % users.len()];
        let raw = sysmon_process_event(n, "1", "7", IMAGES[1], "notepad", PARENTS[0], user);
        let verdict = agrees(&e, &mut warm, &raw, &p);
        let system = user.contains("SYSTEM");
        assert_eq!(
            matches!(&verdict, Verdict::Matched(r) if r.contains(&2)),
            !system,
            "{raw}"
        );
    }
    // All but the first round's events (and a few whose slots collide).
    let linked = warm.verdict_links.answered as usize;
    assert!(linked > (rounds - 3) * users.len(), "{linked}");
}

#[test]
fn links_are_forgotten_when_the_profile_changes() {
    let e = gated_engine();
    let profiles = [Profile::sysmon(), Profile::ecs()];
    let mut warm = e.scanner().unwrap();
    for n in 0..240 {
        // Long enough under each profile for keys to repeat.
        agrees(&e, &mut warm, &nth_event(n % 48), &profiles[n / 60 % 2]);
    }
    assert!(warm.verdict_links.answered > 0);
}

/// Rules whose witnesses let stage 1 fold the command line's long runs of
/// digits, while a test stage 2 runs reads some of them: an equality's
/// digits (`--id=777777`), a regular expression's digit class.
const DIGIT_RULES: [&str; 3] = [
    "    s: {CommandLine|contains: 'renderer'}\n    d: {CommandLine|contains: '--id=777777'}\n    condition: s and not d",
    "    s: {CommandLine|contains: 'renderer'}\n    d: {CommandLine|re: 'ticks=9\\d{5} '}\n    condition: s and d",
    // Reads no digit: events folded alike share its verdict.
    "    s: {CommandLine|contains: 'renderer'}\n    d: {CommandLine|contains: 'gpu'}\n    condition: s and not d",
];

/// Process creations of one command line with fresh ids and ticks (now
/// and then the ones [`DIGIT_RULES`] read) and a `--gpu` flag now and
/// then, matched with `warm` and a fresh scanner of `e`; how many each
/// rule matched.
fn match_fresh_ids(e: &Engine, warm: &mut Scanner<'_>) -> Vec<usize> {
    let p = Profile::sysmon();
    let mut matched = vec![0; e.rules().len()];
    for n in 0..600 {
        let id = if n % 7 == 3 {
            777_777
        } else {
            100_000 + n * 13
        };
        let ticks = if n % 5 == 1 {
            900_000 + n
        } else {
            300_000 + n * 7
        };
        let gpu = if n % 11 == 4 { " --gpu" } else { "" };
        let command = format!("chrome.exe --type=renderer --id={id} --ticks={ticks} x{gpu}");
        let raw = sysmon_process_event(n, "1", "7", IMAGES[n % 2], &command, PARENTS[0], USERS[1]);
        if let Verdict::Matched(rules) = agrees(e, warm, &raw, &p) {
            rules.iter().for_each(|&r| matched[r as usize] += 1);
        }
    }
    matched
}

#[test]
fn links_by_folded_values_answer_only_events_the_tests_cannot_tell_apart() {
    let options = EngineOptions {
        scope_gate: Some(true),
        ..Default::default()
    };
    // Tests that read digits stage 1 folds: no link by the folded key.
    let e = engine_with(&DIGIT_RULES, options);
    let mut warm = e.scanner().unwrap();
    let matched = match_fresh_ids(&e, &mut warm);
    assert!(matched.iter().all(|&m| m > 0 && m < 600), "{matched:?}");
    assert_eq!(warm.verdict_links.answered, 0);
    // A regular expression reading digits is decided on the value as
    // written: linked, with its results, which each event must share.
    let e = engine_with(&DIGIT_RULES[1..], options);
    let mut warm = e.scanner().unwrap();
    let matched = match_fresh_ids(&e, &mut warm);
    assert!(matched.iter().all(|&m| m > 0 && m < 600), "{matched:?}");
    assert!(
        warm.verdict_links.answered > 200,
        "{}",
        warm.verdict_links.answered
    );
    // Tests that read none: linked, events folded alike sharing a verdict.
    let e = engine_with(&DIGIT_RULES[2..], options);
    let mut warm = e.scanner().unwrap();
    let matched = match_fresh_ids(&e, &mut warm);
    assert!(matched[0] > 0 && matched[0] < 600, "{matched:?}");
    assert!(
        warm.verdict_links.answered > 400,
        "{}",
        warm.verdict_links.answered
    );
}
