//! Property tests of the partial parse: whatever the line, the partial,
//! fast and full parses accept and reject alike.

use super::*;
use hypersigma_compiler::Profile;
use proptest::prelude::*;

/// JSON-like text: mostly valid, with the cases a skipping parser could
/// let through (big exponents, long digit runs, escapes, raw bytes, depth).
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        // Exponents and runs of digits past float range too.
        "-?[0-9]{1,4}(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
        "[0-9]{200,320}",
        "\"([a-zA-Z0-9 :,.{}\\[\\]]|\\\\[\"\\\\/bfnrtu]|\\\\u[dD][89abAB][0-9a-f]{2}|\\\\u00[0-9a-f]{2}|é)*\"",
        Just("true".to_string()),
        Just("null".to_string()),
        (1usize..140).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
    ]
}

proptest! {
    #[test]
    fn validation_agrees_with_a_full_parse(
        members in proptest::collection::vec(("[a-z]{1,6}", token()), 0..6),
        bytes in proptest::collection::vec(any::<u8>(), 0..3),
        at in 0usize..200,
    ) {
        let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        let mut line = format!("{{{}}}", body.join(", ")).into_bytes();
        // Sometimes splice raw bytes in (invalid UTF-8, control characters).
        if !bytes.is_empty() && at < line.len() {
            line.splice(at..at, bytes.iter().copied());
        }
        // The same verdict and reason (the column in a message may differ).
        let kind = |r: Result<(), Rejection>| r.map_err(|e| e.kind);
        let full = kind(parse_event(&line, None).map(|_| ()));
        let text = String::from_utf8_lossy(&line).into_owned();
        prop_assert_eq!(kind(validate_event(&line)), full, "{}", text);
        let filter = MemberFilter::new(&Profile::sysmon(), &ReadSet::default());
        let partial = kind(parse_event(&line, Some(filter.select(&[]))).map(|_| ()));
        prop_assert_eq!(partial, full, "{}", text);
        let fast = tests::fast_parse(&line, filter.select(&[])).map(|_| ());
        prop_assert_eq!(kind(fast), full, "{}", text);
        prop_assert_eq!(kind(tests::fast_validate(&line)), full, "{}", text);
        // The whole line from its members' bytes: the same value or rejection.
        prop_assert_eq!(tests::fast_whole(&line), parse_event(&line, None), "{}", text);
    }
}
