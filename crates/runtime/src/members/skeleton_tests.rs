//! Property and unit tests of nested lines read by their skeletons
//! (`skeletons.rs`): a warm index reads each line as a fresh general pass
//! does, and skeletons that do not repeat rest.

use super::tests::spans_of;
use super::*;
use proptest::prelude::*;

/// Everything the strict pass tells of a line: accepted, spans, the
/// containers of each scalar, the containers (holder, parent, start),
/// the names holding containers, the top-level members and what it saw.
type Snapshot = (
    bool,
    Vec<(u32, u32, (u32, u32))>,
    Vec<u32>,
    Vec<(Option<(u32, u32)>, u32, u32)>,
    Vec<(u32, u32)>,
    Vec<TopMember>,
    Option<Seen>,
);

fn snapshot(x: &MemberIndex) -> Snapshot {
    let strict = x.strict;
    (
        strict,
        spans_of(x),
        if strict {
            x.span_opens.clone()
        } else {
            Vec::new()
        },
        if strict {
            x.opens
                .iter()
                .map(|o| (o.holder, o.parent, o.start))
                .collect()
        } else {
            Vec::new()
        },
        x.containers.clone(),
        if strict { x.top.clone() } else { Vec::new() },
        x.seen(),
    )
}

/// A nested value with `\u{1}` where scalars go.
fn skeleton() -> impl Strategy<Value = String> {
    Just("\u{1}".to_string()).prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            proptest::collection::vec(("(A|B|Image|a b|é|B)", inner), 0..4).prop_map(|members| {
                let body: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

/// Scalars, some not scalars or not valid ones (the walk must give up);
/// integers past 18 digits among them (the reference reads them as another
/// text: `Seen::rewritten_number`).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,4}(\\.[0-9]{0,2})?([eE][+-]?[0-9]{0,2})?",
        "-?[1-9][0-9]{16,21}",
        "\"([a-z :,{}\\[\\]é]|\\\\[\"\\\\/nt]|\\\\u00e9)*\"",
        "(true|false|null|tru|nul)",
        "(01|-|\\[\\]|\\{\\}|\\[1\\]|\"x\" ,1|\"a\":1)",
    ]
}

fn filled(skeleton: &str, values: &[String]) -> String {
    let mut k = 0;
    let mut out = String::new();
    for c in skeleton.chars() {
        if c == '\u{1}' {
            out.push_str(
                values
                    .get(k % values.len().max(1))
                    .map_or("1", String::as_str),
            );
            k += 1;
        } else {
            out.push(c);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// A warm index (its skeletons learned from the lines before)
    /// reads each line of a skeleton, whatever its values, as a fresh
    /// general pass does.
    #[test]
    fn known_skeletons_read_as_the_general_pass(
        skeleton in skeleton(),
        lines in proptest::collection::vec(
            (proptest::collection::vec(value(), 1..6), "( |x|\\}|,| \\{\\}|||)"),
            1..8,
        ),
    ) {
        let mut warm = MemberIndex::default();
        for _ in 0..2 {
            for (values, tail) in &lines {
                let line = format!("{{\"Event\":{},\"X\":{}}}{tail}", filled(&skeleton, values), values[0]);
                warm.build(line.as_bytes());
                let fresh = MemberIndex::built(line.as_bytes());
                prop_assert_eq!(snapshot(&warm), snapshot(&fresh), "{}", line);
            }
        }
    }
}

#[test]
fn records_of_one_kind_are_read_by_their_skeleton() {
    let record = |id: u32, user: &str, data: &str| {
        format!(
            r##"{{"Event":{{"System":{{"EventID":{id},"Channel":"Security","TimeCreated":{{"#attributes":{{"SystemTime":"t{id}"}}}}}},"EventData":{{"User":{user},"Data":{data},"Empty":{{}}}}}}}}"##
        )
    };
    let lines = [
        record(1, r#""u""#, "[1,2]"),
        record(2, r#""a longer \"user\"""#, "[3,4]"),
        record(3, r#""""#, "[-5.5e1,null]"),
        record(4, r#""\u00e9\/""#, "[true,false]"),
        // Other skeletons: one more element, a container or a number
        // for a string.
        record(5, r#""u""#, "[1,2,3]"),
        record(5, "5", "[1,2]"),
        record(6, r#"{"n":1}"#, "[1,2]"),
        // Not valid: read by no skeleton, refused as a fresh pass does.
        record(7, r#""u""#, "[1,02]"),
        record(8, "nul", "[1,2]"),
    ];
    let mut warm = MemberIndex::default();
    for line in &lines {
        warm.build(line.as_bytes());
        let fresh = MemberIndex::built(line.as_bytes());
        assert_eq!(snapshot(&warm), snapshot(&fresh), "{line}");
    }
    // The first line taught its skeleton; the next three were read by it.
    assert_eq!(warm.skeletons.read, 3);
}

/// Lines whose skeletons do not repeat make the skeletons rest (neither
/// walked nor learned), and lines of one skeleton are read by it again
/// once the rest is over; every line reads as the general pass reads it.
#[test]
fn skeletons_that_do_not_repeat_rest() {
    let mut warm = MemberIndex::default();
    let unique = |n: usize| format!(r#"{{"a":{{"k{n}":1}},"b":[{n}]}}"#);
    let repeated = |n: usize| format!(r#"{{"a":{{"k":{n}}},"b":["x{n}"]}}"#);
    let mut check = |line: &str| {
        warm.build(line.as_bytes());
        let fresh = MemberIndex::built(line.as_bytes());
        assert_eq!(warm.len(), fresh.len(), "{line}");
        assert_eq!(warm.top, fresh.top, "{line}");
        warm.skeletons.read
    };
    for n in 0..=skeletons::WINDOW as usize + 1 {
        check(&unique(n));
    }
    // Resting: a repeated skeleton is neither learned nor read.
    for n in 0..100 {
        assert_eq!(check(&repeated(n)), 0);
    }
    for n in 0..skeletons::REST as usize {
        check(&unique(n));
    }
    // Awake again: learned once, then read.
    for n in 0..10 {
        check(&repeated(n));
    }
    assert_eq!(warm.skeletons.read, 9);
}

/// A line whose flat pass listed [`LATE_CONTAINER`] scalars or more before
/// its first container goes on from there (the general pass), neither
/// walked by a skeleton nor teaching one; a line with fewer is walked once
/// its skeleton is known. Both read as a fresh general pass reads them.
#[test]
fn lines_whose_container_comes_late_are_not_walked() {
    let line = |scalars: usize, n: usize| {
        let members: Vec<String> = (0..scalars).map(|k| format!(r#""m{k}":"v{n}""#)).collect();
        format!(
            r#"{{{},"tags":["t{n}",{n}],"after":{n}}}"#,
            members.join(",")
        )
    };
    let mut warm = MemberIndex::default();
    for scalars in [LATE_CONTAINER, LATE_CONTAINER + 5] {
        for n in 0..4 {
            let l = line(scalars, n);
            warm.build(l.as_bytes());
            let fresh = MemberIndex::built(l.as_bytes());
            assert_eq!(snapshot(&warm), snapshot(&fresh), "{l}");
            // No skeleton taught nor read: the line has no skeleton number.
            assert_eq!(warm.skeleton(), None, "{l}");
        }
    }
    assert_eq!(warm.skeletons.read, 0);
    // One scalar fewer: learned from the first line, the next three walked.
    let mut warm = MemberIndex::default();
    for n in 0..4 {
        let l = line(LATE_CONTAINER - 1, n);
        warm.build(l.as_bytes());
        let fresh = MemberIndex::built(l.as_bytes());
        assert_eq!(snapshot(&warm), snapshot(&fresh), "{l}");
        assert!(warm.skeleton().is_some(), "{l}");
    }
    assert_eq!(warm.skeletons.read, 3);
}
