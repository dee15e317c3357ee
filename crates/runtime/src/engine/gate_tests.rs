//! Tests of the member index's gates as the engine uses them
//! (`members/gates.rs`): a line that passes a gate gets the verdict a
//! scanner without gates gives, whatever its members past the gate hold.

use proptest::prelude::*;

use super::tests::{engine, without_prefilter};
use super::*;

/// The process-creation rule of these tests.
const WHOAMI: &str = "    s: {CommandLine|contains: 'whoami'}\n    condition: s";

/// An engine of [`WHOAMI`] with the scope gate on (one witness alone would
/// leave it off), and one without prefilter (the verdicts to give).
fn engines() -> (Engine, Engine) {
    let mut gated = engine(&[WHOAMI], false);
    gated.raw.gate = true;
    let reference = without_prefilter(&gated);
    (gated, reference)
}

/// What the rest of a line may hold past its first members.
#[derive(Debug, Clone)]
enum Tail {
    /// Scalars only, as the lines before.
    Plain,
    /// A member named as a log-source key again (the last one counts).
    KeyAgain(&'static str),
    /// A `\u` escape (it could hide text).
    Escape,
    /// A member holding an object.
    Container,
    /// Not JSON.
    Broken(&'static str),
    /// Text outside ASCII (none of it folding to ASCII).
    NonAscii,
    /// A character that folds to an ASCII one (the Kelvin sign).
    Folding,
    /// A member the lines before did not have.
    NewName,
    /// Spaces around the colon.
    Spaced,
    /// Spaces before commas, after strings and numbers.
    SpacedCommas,
    /// Members that end the line (no members after them).
    Ending(&'static str),
    /// Numbers of every form (one of more than 18 digits, which the
    /// reference reads as another text).
    Numbers,
    /// Strings holding escapes: of a quote or backslash only, and others.
    Escaped,
}

/// A Sysmon line of event id `id` (1: a process creation) whose command
/// line holds `command`, the members the gate reads first, `n` varying
/// the others, with `tail` past them.
fn line(id: u32, command: &str, n: u32, tail: &Tail) -> String {
    let mut text = format!(
        r#"{{"EventID":{id},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws-{n}","EventRecordID":{n},"UtcTime":"2026-11-29 06:00:{:02}.000","ProcessId":{n},"Image":"C:\\w\\cmd.exe","CommandLine":"{command}""#,
        n % 60
    );
    text.push_str(match tail {
        Tail::Plain => "",
        Tail::KeyAgain(member) => member,
        Tail::Escape => r#","User":"\u0041dmin""#,
        Tail::Container => r#","Details":{"a":1}"#,
        Tail::Broken(bytes) => bytes,
        Tail::NonAscii => r#","User":"Jürgen®""#,
        Tail::Folding => ",\"User\":\"Mimi\u{212A}atz\"",
        Tail::NewName => r#","Extra":"x""#,
        Tail::Spaced => r#","User" : "x""#,
        Tail::SpacedCommas => r#","User":"x"  ,"Count":5 ,"Real":1.5 ,"Flag":true"#,
        Tail::Numbers => r#","Count":12345678901234567890,"Zero":0,"Neg":-5,"Real":1.5,"Exp":2e3"#,
        Tail::Escaped => r#","Path":"C:\\a\"b\\","Text":"a\nb\t""#,
        Tail::Ending(members) => {
            text.push_str(members);
            text.push('}');
            return text;
        }
    });
    text.push_str(r#","ParentImage":"C:\\w\\explorer.exe","User2":"SYSTEM"}"#);
    text
}

/// Matches `raw` with both scanners and requires the same verdict;
/// whether the gated one passed a gate.
fn same_verdict(gated: &mut Scanner<'_>, reference: &mut Scanner<'_>, raw: &str) -> bool {
    let p = Profile::sysmon();
    let expected = reference.match_event(raw.as_bytes(), &p);
    assert_eq!(gated.match_event(raw.as_bytes(), &p), expected, "{raw}");
    gated.gate_passed.is_some()
}

#[test]
fn lines_of_no_log_source_pass_a_gate_and_others_read_on() {
    let (gated, reference) = engines();
    let (mut s, mut r) = (gated.scanner().unwrap(), reference.scanner().unwrap());
    // The first line of no source makes the gate; the next ones pass it.
    assert!(!same_verdict(
        &mut s,
        &mut r,
        &line(3, "whoami", 0, &Tail::Plain)
    ));
    let mut passed = 0;
    for n in 1..50 {
        passed += usize::from(same_verdict(
            &mut s,
            &mut r,
            &line(3, "whoami", n, &Tail::Plain),
        ));
        // A process creation stops at the gate and reads on: it matches.
        assert!(!same_verdict(
            &mut s,
            &mut r,
            &line(1, "whoami", n, &Tail::Plain)
        ));
    }
    assert_eq!(passed, 49);
    // Past the gate, a key member again makes the line a process
    // creation: it does not pass, and it matches.
    let again = line(3, "whoami", 7, &Tail::KeyAgain(r#","EventID":1"#));
    assert!(!same_verdict(&mut s, &mut r, &again));
    assert_eq!(
        s.match_event(again.as_bytes(), &Profile::sysmon()),
        Verdict::Matched(vec![0])
    );
    // Neither do lines whose rest could hide text, holds a container, is
    // broken, holds a character folding to ASCII or has names the trie
    // does not know.
    for tail in [
        Tail::Escape,
        Tail::Container,
        Tail::Broken(r#","User":"x"#),
        Tail::Broken(r#","User":"\q""#),
        Tail::Broken(r#","User":tru"#),
        Tail::Folding,
        Tail::NewName,
        Tail::Spaced,
    ] {
        let raw = line(3, "whoami", 9, &tail);
        assert!(!same_verdict(&mut s, &mut r, &raw), "{tail:?}");
    }
    // A broken line is rejected as without gates.
    let broken = line(3, "whoami", 9, &Tail::Broken(r#","User":"x"#));
    assert!(matches!(
        s.match_event(broken.as_bytes(), &Profile::sysmon()),
        Verdict::Rejected(_)
    ));
    // Lines of a shape learnt since pass too.
    let new_shape = line(3, "whoami", 11, &Tail::NewName);
    assert!(same_verdict(&mut s, &mut r, &new_shape));
    // Text outside ASCII that folds to none passes once its shape is
    // known; a character folding to ASCII in the same shape does not.
    same_verdict(&mut s, &mut r, &line(3, "whoami", 12, &Tail::NonAscii));
    let non_ascii = line(3, "whoami", 13, &Tail::NonAscii);
    assert!(same_verdict(&mut s, &mut r, &non_ascii));
    let folding = line(3, "whoami", 14, &Tail::Folding);
    assert!(!same_verdict(&mut s, &mut r, &folding));
    // A process creation whose key value holds it (its channel with a
    // long s) is one, gate or not.
    let channel = line(1, "whoami", 15, &Tail::NonAscii).replacen(
        "Microsoft-Windows-Sysmon",
        "Micro\u{17F}oft-Windows-Sysmon",
        1,
    );
    assert!(!same_verdict(&mut s, &mut r, &channel));
}

#[test]
fn a_gate_that_seldom_passes_is_retired() {
    let (gated, reference) = engines();
    let (mut s, mut r) = (gated.scanner().unwrap(), reference.scanner().unwrap());
    same_verdict(&mut s, &mut r, &line(3, "x", 0, &Tail::Plain));
    assert!(s.members.gates_active());
    for n in 0..1100 {
        same_verdict(&mut s, &mut r, &line(1, "x", n, &Tail::Plain));
    }
    assert!(!s.members.gates_active());
    // Retired, it is not made again.
    same_verdict(&mut s, &mut r, &line(3, "x", 1, &Tail::Plain));
    assert!(!s.members.gates_active());
}

/// A line of a new shape whose bytes before the gate the gate knows as of
/// no log source is read again, and what the engine decides of it is
/// taught by its own tokens, not by those of the line whose tokens were
/// copied last (a process creation's, which would then pass the gate).
#[test]
fn a_line_known_by_its_bytes_teaches_the_gate_its_own_tokens() {
    let (gated, reference) = engines();
    let (mut s, mut r) = (gated.scanner().unwrap(), reference.scanner().unwrap());
    // Process creations whose channels are written in other cases (the
    // `variant`-th letter of `Microsoft` in upper case): each its own
    // tokens at the gate, more than the gate compares first (`read_on`).
    let creation = |variant: usize, n: u32| {
        let mut raw = line(1, "whoami", n, &Tail::Plain);
        let at = raw.find("Microsoft").unwrap_or(0) + variant;
        let upper = raw[at..at + 1].to_ascii_uppercase();
        raw.replace_range(at..at + 1, &upper);
        raw
    };
    for variant in 0..8 {
        let raw = creation(variant, 0);
        let verdict = r.match_event(raw.as_bytes(), &Profile::sysmon());
        assert_eq!(verdict, Verdict::Matched(vec![0]), "{raw}");
    }
    let mut n = 0;
    let mut check = |s: &mut Scanner<'_>, r: &mut Scanner<'_>, raw: &dyn Fn(u32) -> String| {
        n += 1;
        same_verdict(s, r, &raw(n));
    };
    let other = |n| line(3, "x", n, &Tail::Plain);
    check(&mut s, &mut r, &other);
    check(&mut s, &mut r, &other);
    // Each variant learnt, then met again (the last four read on).
    for _ in 0..2 {
        for variant in 0..6 {
            check(&mut s, &mut r, &|n| creation(variant, n));
        }
    }
    // A new variant (the gate learns, and forgets the bytes it knew); a
    // line of no source, known by its bytes from then on; the first
    // variant, its tokens copied last; a line of no source of a new shape.
    check(&mut s, &mut r, &|n| creation(7, n));
    check(&mut s, &mut r, &other);
    check(&mut s, &mut r, &|n| creation(0, n));
    check(&mut s, &mut r, &|n| line(3, "x", n, &Tail::NewName));
    // The variants again: each still a process creation.
    for _ in 0..2 {
        for variant in 0..8 {
            check(&mut s, &mut r, &|n| creation(variant, n));
        }
    }
}

/// The tails of [`Tail`], with the members named as keys again.
fn tails() -> impl proptest::strategy::Strategy<Value = Tail> {
    prop_oneof![
        8 => Just(Tail::Plain),
        1 => Just(Tail::KeyAgain(r#","EventID":1"#)),
        1 => Just(Tail::KeyAgain(r#","EventID":3"#)),
        1 => Just(Tail::KeyAgain(r#","Channel":"Security""#)),
        1 => Just(Tail::Escape),
        1 => Just(Tail::Container),
        1 => Just(Tail::Broken(r#","User":"x"#)),
        1 => Just(Tail::NonAscii),
        1 => Just(Tail::Folding),
        1 => Just(Tail::NewName),
        1 => Just(Tail::Spaced),
        1 => Just(Tail::Numbers),
        1 => Just(Tail::Escaped),
        1 => Just(Tail::Broken(r#","N":01"#)),
        1 => Just(Tail::Broken(r#","N":1,2"#)),
        1 => Just(Tail::Broken(r#","N":"a\""#)),
        // What follows a value past the gate: read by the next name's
        // compare, or else as spaces, a comma or the line's end.
        1 => Just(Tail::Broken(r#","User":"x"y"#)),
        1 => Just(Tail::Broken(r#","User":"x"}"#)),
        1 => Just(Tail::Broken(r#","N":12a"#)),
        1 => Just(Tail::Broken(r#","N":1."#)),
        1 => Just(Tail::Broken(r#","N":1 2"#)),
        1 => Just(Tail::SpacedCommas),
        // A line ending where another holds more after a brace.
        1 => Just(Tail::Ending(r#","User":"x""#)),
        1 => Just(Tail::Ending(r#","User":"x" "#)),
        1 => Just(Tail::Ending(r#","N":12 "#)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any run of lines, of either source, with any tail: the gated
    /// scanner gives every line the verdict a scanner without prefilter
    /// gives. Event ids of no source vary, more of them than a gate keeps
    /// lines' bytes for (`KnownPrefixes`), so that those share slots.
    #[test]
    fn gated_lines_get_the_verdicts_of_every_line(
        lines in prop::collection::vec(
            (prop_oneof![3 => Just(1u32), 3 => Just(3u32), 2 => 2u32..100], any::<bool>(), tails()),
            1..160)
    ) {
        let (gated, reference) = engines();
        let (mut s, mut r) = (gated.scanner().unwrap(), reference.scanner().unwrap());
        for (n, (id, whoami, tail)) in lines.iter().enumerate() {
            let command = if *whoami { "whoami /all" } else { "dir" };
            same_verdict(&mut s, &mut r, &line(*id, command, n as u32, tail));
        }
    }
}
