//! Tests of the remembered layouts of member names (`compact.rs`) for
//! nested lines keyed by the number of their flat prefix
//! ([`MemberIndex::flat_prefix`](crate::members::MemberIndex::flat_prefix)).

use super::tests::engine_with;
use super::EngineOptions;

/// A Sysmon line of `scalars` scalars (the channel, the event id, then
/// `m2`, `m3`, …, the last one named `last`), then `rest` (members after a
/// comma), its values varying with `n`.
fn line(scalars: usize, last: &str, rest: &str, n: usize) -> String {
    let mut members = vec![
        r#""Channel":"Microsoft-Windows-Sysmon/Operational""#.to_string(),
        r#""EventID":1"#.to_string(),
    ];
    members.extend((2..scalars).map(|k| {
        let name = if k + 1 == scalars {
            last.to_string()
        } else {
            format!("m{k}")
        };
        format!(r#""{name}":"v{n}-{k}""#)
    }));
    format!("{{{},{rest}}}", members.join(","))
}

/// Lines whose names up to their first container are a path of the trie
/// of shapes have a layout keyed by that path's number and the names after
/// it: lines of the same names (whatever their values) share one, and a
/// line differing in any name, before the container, of it, or after it,
/// or in its structure, has another. Keyed without the number, the lines
/// differing before the container would share one; keyed from one scalar
/// too far, those differing in the first name inside it.
#[test]
fn layouts_keyed_by_a_flat_prefix_tell_every_name() {
    let options = EngineOptions {
        scope_gate: Some(true),
        ..Default::default()
    };
    let e = engine_with(
        &["    s: {CommandLine|contains: 'whoami'}\n    condition: s"],
        options,
    );
    let mut scanner = e.scanner().unwrap();
    let kinds = |n: usize| {
        vec![
            line(12, "m11", r#""tags":["a{n}",1],"after":2"#, n),
            // One item more in the array.
            line(12, "m11", r#""tags":["a{n}",1,3],"after":2"#, n),
            // Another name before the container.
            line(12, "other", r#""tags":["a{n}",1],"after":2"#, n),
            // One scalar more before it.
            line(13, "m12", r#""tags":["a{n}",1],"after":2"#, n),
            // The container named otherwise, or an object.
            line(12, "m11", r#""labels":["a{n}",1],"after":2"#, n),
            line(12, "m11", r#""tags":{"a":"x","b":1},"after":2"#, n),
            // The first name inside the container alone differs.
            line(12, "m11", r#""tags":{"c":"x","b":1},"after":2"#, n),
            // Another name after it.
            line(12, "m11", r#""tags":["a{n}",1],"later":2"#, n),
            // An escaped name before the container: keyed by its names.
            line(12, "m\\n", r#""tags":["a{n}",1],"after":2"#, n),
        ]
        .into_iter()
        .map(|l| l.replace("{n}", &n.to_string()))
        .collect::<Vec<_>>()
    };
    let mut serials = Vec::new();
    for n in 0..3 {
        for l in kinds(n) {
            scanner.candidates(l.as_bytes());
            let prefixed = scanner.members.flat_prefix().is_some();
            assert_eq!(prefixed, !l.contains("\\n"), "{l}");
            serials.push(scanner.compact.current_serial());
        }
    }
    assert!(serials.iter().all(Option::is_some), "{serials:?}");
    let per_round = kinds(0).len();
    // The same names, other values: the same layouts.
    assert_eq!(serials[..per_round], serials[per_round..2 * per_round]);
    assert_eq!(serials[..per_round], serials[2 * per_round..]);
    let mut distinct = serials[..per_round].to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), per_round, "{serials:?}");
}
