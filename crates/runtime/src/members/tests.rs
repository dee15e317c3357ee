//! Unit and property tests of the member index: places, the strict pass
//! against serde_json, the flat path against the general one.

use super::*;

/// The scalar spans of the last line `index` read: start, end, name range.
pub(super) fn spans_of(index: &MemberIndex) -> Vec<(u32, u32, (u32, u32))> {
    (0..index.len())
        .filter_map(|k| index.span(k))
        .map(|s| (s.start, s.end, s.key))
        .collect()
}

fn place_of<'r>(index: &mut MemberIndex, raw: &'r str, needle: &str) -> Place<'r> {
    assert!(index.build(raw.as_bytes()), "{raw}");
    let start = raw.find(needle).expect("needle");
    let (bytes, end) = (raw.as_bytes(), start + needle.len());
    let place = index.place(bytes, start, end);
    // The span lookup agrees: the same span's member, none outside.
    let span = index.span_of(start, end);
    match place {
        Place::Outside => assert_eq!(span, None),
        Place::Unnamed => assert_eq!(span.map(|k| index.span_name(bytes, k)), Some(None)),
        Place::Member(name) => {
            assert_eq!(span.and_then(|k| index.span_name(bytes, k)), Some(name))
        }
    }
    place
}

#[test]
fn scalars_know_their_member() {
    let mut x = MemberIndex::default();
    let raw =
        r#"{"A": "alpha", "B": {"C": ["gamma", 7, {"D": true}], "E": "x\"eps\\"}, "F": null}"#;
    assert_eq!(place_of(&mut x, raw, "alpha"), Place::Member(b"A"));
    assert_eq!(place_of(&mut x, raw, "gamma"), Place::Member(b"C"));
    assert_eq!(place_of(&mut x, raw, "7"), Place::Member(b"C"));
    assert_eq!(place_of(&mut x, raw, "true"), Place::Member(b"D"));
    assert_eq!(place_of(&mut x, raw, "eps"), Place::Member(b"E"));
    assert_eq!(place_of(&mut x, raw, "null"), Place::Member(b"F"));
    // A member name is not a value; a literal running past a value is outside.
    assert_eq!(place_of(&mut x, raw, "\"B\""), Place::Outside);
    assert_eq!(place_of(&mut x, raw, "alpha\", \"B"), Place::Outside);
    assert_eq!(place_of(&mut x, r#"["top"]"#, "top"), Place::Unnamed);
    // Every named scalar, and the members holding containers.
    assert!(x.build(raw.as_bytes()));
    let bytes = raw.as_bytes();
    let named: Vec<(&[u8], &[u8])> = (0..x.len())
        .filter_map(|k| {
            let (start, end) = x.span_range(k)?;
            Some((x.span_name(bytes, k)?, &bytes[start..end]))
        })
        .collect();
    assert_eq!(named.len(), 6);
    assert_eq!(named[0], (&b"A"[..], &b"\"alpha\""[..]));
    assert_eq!(named[5], (&b"F"[..], &b"null"[..]));
    let containers: Vec<&[u8]> = x.container_names(raw.as_bytes()).collect();
    assert_eq!(containers, [&b"B"[..], b"C"]);
}

#[test]
fn malformed_input_is_refused() {
    let mut x = MemberIndex::default();
    for bad in [r#"{"a": "b"#, r#"{"a": [1}"#, r#"{"a": 1]"#, r#"{"a": 1"#] {
        assert!(!x.build(bad.as_bytes()), "{bad}");
    }
}

/// Whether the strict pass accepts `raw`.
fn strict(raw: &[u8]) -> bool {
    MemberIndex::built(raw).top_members().is_some()
}

fn serde_accepts(raw: &[u8]) -> bool {
    raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && serde_json::from_slice::<serde_json::Value>(raw).is_ok()
}

#[test]
fn unicode_escapes_are_judged_and_seen() {
    for raw in [
        &br#"{"a":"\u0041\u00e9\u20ac\ud83d\ude00\uDBFF\uDFFF","b":1}"#[..],
        br#"{"\u0043ommandLine":["x\u0000y",{"c":"\uffff"}]}"#,
    ] {
        let index = MemberIndex::built(raw);
        assert!(
            index.top_members().is_some(),
            "{}",
            String::from_utf8_lossy(raw)
        );
        assert!(serde_accepts(raw));
        // A literal may hide behind a `\u` escape.
        assert!(index.seen().unwrap().hiding_escape);
    }
    // A `\/` hides one too; other escapes do not.
    assert!(
        MemberIndex::built(br#"{"a":"x\/y"}"#)
            .seen()
            .unwrap()
            .hiding_escape
    );
    assert!(
        !MemberIndex::built(br#"{"a":"x\ny\\"}"#)
            .seen()
            .unwrap()
            .hiding_escape
    );
}

#[test]
fn the_strict_pass_lists_top_level_members() {
    let raw =
        br#" {"A": "x", "B\"c": [1, -0.5e+3, {"d": null}], "E": "a\\b", "F": true, "G": {}} "#;
    let mut x = MemberIndex::default();
    assert!(x.build(raw));
    let text = |(a, b): (u32, u32)| &raw[a as usize..b as usize];
    let seen: Vec<(&[u8], bool, &[u8], bool)> = x
        .top_members()
        .expect("strict")
        .iter()
        .map(|m| (text(m.name), m.name_escaped, text(m.value), m.plain_string))
        .collect();
    assert_eq!(
        seen,
        [
            (&b"A"[..], false, &b"\"x\""[..], true),
            (b"B\\\"c", true, b"[1, -0.5e+3, {\"d\": null}]", false),
            (b"E", false, b"\"a\\\\b\"", false),
            (b"F", false, b"true", false),
            (b"G", false, b"{}", false),
        ]
    );
    assert!(strict(b"{}") && strict(b"{\"a\":{}}") && strict(b"{\"a\":[[],[1]]}"));
}

#[test]
fn numbers_read_as_other_texts_are_noted_on_the_way() {
    let cases: [(&str, bool); 12] = [
        (r#"{"a":1,"b":"1.5","c":-12}"#, false),
        (r#"{"a":1.5}"#, true),
        (r#"{"a":"x","b":-0}"#, true),
        (r#"{"a":0}"#, false),
        (r#"{"a":1e3}"#, true),
        (r#"{"a":123456789012345678}"#, false),
        (r#"{"a":1234567890123456789}"#, true),
        (r#"{"a":{"b":[1,-1,"2.5"]}}"#, false),
        (r#"{"a":{"b":[1,2E-3]}}"#, true),
        (r#"{"a": [0.10] , "b":true}"#, true),
        // The lenient pass (a tab the strict pass leaves to serde_json).
        ("{\"a\":\t1.5}", true),
        ("{\"a\":\t15}", false),
    ];
    let mut x = MemberIndex::default();
    for (line, rewritten) in cases {
        assert!(x.build(line.as_bytes()), "{line}");
        assert_eq!(x.has_rewritten_number(line.as_bytes()), rewritten, "{line}");
        if let Some(seen) = x.seen() {
            assert_eq!(seen.rewritten_number, rewritten, "{line}");
        }
    }
    assert!(x.seen().is_none(), "the last lines took the lenient pass");
}

#[test]
fn numbers_beyond_float_range_stop_the_strict_pass_on_every_path() {
    // A layout's lines, warm (the trie knows the shape, the common member
    // comes first) and cold, flat and nested.
    let mut warm = MemberIndex::default();
    for digits in [1, 3, 199, 200, 201, 250, 308, 309, 310, 400, 2] {
        let number = format!("1{}", "0".repeat(digits - 1));
        for exponent in ["", "e2", "e99", "E+308", "e-999"] {
            for line in [
                format!(r#"{{"EventID":{number}{exponent},"Image":"C:\\a.exe","N":1}}"#),
                format!(r#"{{"Image":"a","EventID":{number}{exponent}}}"#),
                format!(r#"{{"Image":"a","E":[{{"b":{number}{exponent}}}]}}"#),
            ] {
                let serde = serde_json::from_str::<serde_json::Value>(&line).is_ok();
                for _ in 0..3 {
                    warm.build(line.as_bytes());
                    assert_eq!(warm.top_members().is_some(), serde, "{line}");
                }
                let cold = MemberIndex::built(line.as_bytes());
                assert_eq!(cold.top_members().is_some(), serde, "{line}");
            }
        }
    }
}

#[test]
fn the_strict_pass_refuses_what_serde_rejects_and_what_it_does_not_judge() {
    let deep = format!("{{\"x\":{}1{}}}", "[".repeat(120), "]".repeat(120));
    for bad in [
        &b""[..],
        b"[1]",
        b"\"s\"",
        b"{",
        b"{\"a\"}",
        b"{\"a\":}",
        b"{\"a\":1,}",
        b"{,}",
        b"{\"a\":[1,]}",
        b"{\"a\":[,1]}",
        b"{\"a\":01}",
        b"{\"a\":-}",
        b"{\"a\":1.}",
        b"{\"a\":.5}",
        b"{\"a\":+1}",
        b"{\"a\":1e}",
        b"{\"a\":1e+}",
        b"{\"a\":tru}",
        b"{\"a\":truex}",
        b"{\"a\":nul}",
        b"{\"a\":\"x\\q\"}",
        b"{\"a\":\"x}",
        b"{\"a\":1} x",
        b"{\"a\":1}{}",
        b"{1:2}",
        b"{\"a\":[1 2]}",
        b"{\"a\":{\"b\" 1}}",
        b"{\"a\":[1}",
        b"{\"a\":{]}",
        b"{\"a\":\"caf\xc3\x28\"}",
        // `\u` escapes as serde_json reads them into strings: four hex
        // digits, surrogates paired.
        b"{\"a\":\"\\u004\"}",
        b"{\"a\":\"\\u00g1\"}",
        b"{\"a\":\"\\udc00\"}",
        b"{\"a\":\"\\ud800\"}",
        b"{\"a\":\"\\ud800x\"}",
        b"{\"a\":\"\\ud800\\n\"}",
        b"{\"a\":\"\\ud800\\u0041\"}",
        b"{\"a\":\"\\ud800\\ud800\"}",
        // Valid, but left to serde_json.
        b"{\"a\":\t1}",
        deep.as_bytes(),
    ] {
        assert!(!strict(bad), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn utf8_is_checked_wherever_the_bytes_outside_ascii_lie() {
    // Valid characters and one malformed sequence (a lone continuation
    // byte, a cut sequence, a byte never in UTF-8, an encoded surrogate)
    // in either order, far apart or near, across 64-byte blocks.
    let malformed: [&[u8]; 5] = [b"\x80", b"\xc3", b"\xe2\x82", b"\xff", b"\xed\xa0\x80"];
    for pad in [0, 1, 50, 63, 64, 65, 130] {
        let fill = vec![b'x'; pad];
        let line = |a: &[u8], b: &[u8]| -> Vec<u8> {
            let mut line = b"{\"a\":\"".to_vec();
            line.extend_from_slice(&fill);
            line.extend_from_slice(a);
            line.extend_from_slice(b"\",\"b\":\"");
            line.extend_from_slice(&fill);
            line.extend_from_slice(b);
            line.extend_from_slice(&fill);
            line.extend_from_slice(b"\"}");
            line
        };
        let good = "\u{ae}\u{e9}\u{212a}".as_bytes();
        assert!(strict(&line(good, b"")) && strict(&line(b"", good)) && strict(&line(good, good)));
        for bad in malformed {
            for raw in [
                line(good, bad),
                line(bad, good),
                line(bad, b""),
                line(b"", bad),
            ] {
                assert!(!strict(&raw), "{}", String::from_utf8_lossy(&raw));
                assert!(!serde_accepts(&raw));
            }
        }
    }
}

#[test]
fn the_utf8_window_judges_as_the_whole_line() {
    // ASCII lines of 0-150 bytes with a few bytes outside ASCII (valid
    // characters or not) somewhere: the window holds their range and
    // checks as the whole line does.
    let mut rng = crate::test_rng::TestRng::new(7);
    let odd: &[u8] = &[
        0x80, 0xae, 0xc2, 0xc3, 0xa9, 0xe2, 0x84, 0xaa, 0xed, 0xa0, 0xff,
    ];
    for _ in 0..20_000 {
        let len = rng.below(151);
        let mut line = rng.text(b"ab {}\",\\:", len);
        let len = 1 + rng.below(6);
        let hole = rng.text(odd, len);
        let at = rng.below(line.len() + 1);
        line.splice(at..at, hole.iter().copied());
        let first = line.iter().position(|&b| b >= 0x80).unwrap_or(0);
        let last = line.iter().rposition(|&b| b >= 0x80).map_or(0, |k| k + 1);
        let window = utf8_window(&line, (first, last));
        let start = window.as_ptr() as usize - line.as_ptr() as usize;
        assert!(start <= first && start + window.len() >= last);
        assert!(window.len() >= 64.min(line.len()) || window.len() >= last - first);
        assert_eq!(
            simdutf8::basic::from_utf8(window).is_ok(),
            std::str::from_utf8(&line).is_ok(),
            "{line:?}"
        );
    }
}

#[test]
fn the_strict_pass_never_accepts_what_serde_rejects() {
    // Every prefix and every one-byte deletion of a valid line.
    let line: &[u8] =
        br#"{"a": "x\"y", "b": [1, 20, -3.5e-7, true, false, null, {"c": {}}], "d": 0}"#;
    assert!(strict(line));
    for k in 0..line.len() {
        assert!(!strict(&line[..k]), "{:?}", &line[..k]);
        let mut cut = line.to_vec();
        cut.remove(k);
        if strict(&cut) {
            assert!(serde_accepts(&cut), "{}", String::from_utf8_lossy(&cut));
        }
    }
}

mod properties {
    use super::super::*;
    use super::spans_of;
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            "-?[0-9]{1,4}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{0,3})?",
            "-?[1-9][0-9]{16,20}",
            "-0[0-9]{0,2}",
            "-?[1-9][0-9]{195,320}(\\.5)?",
            "0[0-9]{1,3}",
            "\"([a-zA-Z0-9 :,.{}\\[\\]é]|\\\\[\"\\\\/bfnrtqx]|\\\\u[0-9a-fA-F]{3,4}|\\\\u[dD][89abAB][0-9a-f]{2}|\\\\u[dD][c-fC-F][0-9a-f]{2})*\"",
            "(true|false|null|tru|nul|fals)",
            "\\[ ?(1|\"a\"|\\{\\}) ?(, ?(2|\\[\\]|\"b\"|\\{\"k\":\\[3\\]\\}))? ?,? ?\\]",
            "\\{ ?(\"k\" ?: ?(1|\"v\"|\\[\\]|\\{\\}))? ?,? ?\\}",
        ]
    }

    /// Scalar spans (start, end, member name range) and container names.
    type Spans = (Vec<(u32, u32, (u32, u32))>, Vec<(u32, u32)>);

    /// The lenient pass's spans, to compare the strict pass's with.
    fn lenient_spans(raw: &[u8]) -> Option<Spans> {
        let mut x = MemberIndex::default();
        x.build_lenient(raw).then(|| {
            let spans = spans_of(&x);
            (spans, x.containers.clone())
        })
    }

    /// The containers of a line serde_json accepts, as a recursive walk
    /// lists them (the name holding each, the index of the one it is in),
    /// and the index of the container holding each scalar: what
    /// [`MemberIndex::nested_tree`] tells of a nested line.
    type Tree = (Vec<(Option<(u32, u32)>, u32)>, Vec<u32>);

    /// What the index's nested tree tells, as [`tree_of`] lists it.
    fn tree_read(index: &MemberIndex) -> Option<Tree> {
        index.nested_tree().map(|t| {
            let opens = t.opens.iter().map(|o| (o.holder, o.parent)).collect();
            (opens, t.scalars().map(|(_, _, open)| open).collect())
        })
    }

    fn tree_of(raw: &[u8]) -> Option<Tree> {
        fn skip(raw: &[u8], mut i: usize) -> usize {
            while raw.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            i
        }
        /// The value at `i` (held by `holder`, in container `parent`):
        /// its end.
        fn value(
            raw: &[u8],
            i: usize,
            holder: Option<(u32, u32)>,
            parent: u32,
            tree: &mut Tree,
        ) -> Option<usize> {
            let mut i = skip(raw, i);
            let open = *raw.get(i)?;
            if open != b'{' && open != b'[' {
                tree.1.push(parent);
                if open == b'"' {
                    return Some(lenient_string_end(raw, i + 1)? + 1);
                }
                while raw.get(i).is_some_and(|b| !b",]} ".contains(b)) {
                    i += 1;
                }
                return Some(i);
            }
            let me = tree.0.len() as u32;
            tree.0.push((holder, parent));
            i = skip(raw, i + 1);
            let close = if open == b'{' { b'}' } else { b']' };
            if raw.get(i) == Some(&close) {
                return Some(i + 1);
            }
            loop {
                let element_holder = if open == b'{' {
                    let end = lenient_string_end(raw, i + 1)?;
                    let name = (i as u32 + 1, end as u32);
                    i = skip(raw, end + 1) + 1;
                    Some(name)
                } else {
                    holder
                };
                i = skip(raw, value(raw, i, element_holder, me, tree)?);
                match raw.get(i)? {
                    b',' => i = skip(raw, i + 1),
                    _ => return Some(i + 1),
                }
            }
        }
        let mut tree = (Vec::new(), Vec::new());
        value(raw, 0, None, NO_PARENT, &mut tree)?;
        Some(tree)
    }

    /// The spans, top-level members, `\/` flag and rewritten-number flag
    /// of one strict path (`flat` or the general one) alone, when it
    /// accepts the line.
    type StrictView = (Vec<(u32, u32, (u32, u32))>, Vec<TopMember>, bool, bool);

    fn strict_path(raw: &[u8], flat: bool) -> Option<StrictView> {
        let mut x = MemberIndex::default();
        let mut specials = SpecialBytes::default();
        // As `build_marked`: a control byte anywhere is never accepted.
        if specials.mark(raw).control {
            return None;
        }
        if flat {
            if !matches!(x.build_flat(raw, &specials), FlatEnd::Read) {
                return None;
            }
        } else {
            x.build_nested(raw, &specials)?;
        }
        let spans = spans_of(&x);
        Some((
            spans,
            x.top.clone(),
            x.seen.hiding_escape,
            x.seen.rewritten_number,
        ))
    }

    #[test]
    fn flat_events_take_the_flat_path() {
        let line = br#"{"EventID":1, "Image":"C:\\x\/y.exe","N":-1.5e3,"T":true,"U":null}"#;
        let flat = strict_path(line, true);
        assert!(flat.is_some());
        assert_eq!(flat, strict_path(line, false));
        for other in [
            &br#"{"A":{"B":1}}"#[..],
            br#"{"A":[1]}"#,
            br#"{}"#,
            br#"{"A":1,}"#,
            br#"{"A":01}"#,
            br#"{"A":1} x"#,
        ] {
            assert_eq!(
                strict_path(other, true),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn nested_records_list_their_containers() {
        for line in [
            &br##"{"Event":{"System":{"EventID":1,"Provider":{"#attributes":{"Name":"x"}}},"EventData":{"Data":[{"@Name":"a","#text":"b"},[],{},[1,[2,{"k":3}]]]}},"n":null}"##[..],
            br#" { "Event" : { "A" : [ ] , "B" : { } , "C" : [ { "D" : "e" } , 7 ] } , "f" : true } "#,
            br#"{"a":[[[]]],"b":{"c":{"d":{}}}}"#,
            // Scalars first (the flat pass reads them), then containers.
            br#"{"A":1,"B":"x\\y\/z","C":{"D":[1,{"E":2}]},"F":true,"G":[]}"#,
            br#"{"A" : -0, "B":"b" , "C": [ ] }"#,
        ] {
            let index = MemberIndex::built(line);
            let text = String::from_utf8_lossy(line);
            assert!(index.top_members().is_some() && !index.is_flat(), "{text}");
            assert_eq!(tree_read(&index), tree_of(line), "{text}");
            let spans = spans_of(&index);
            let seen = (index.seen.hiding_escape, index.seen.rewritten_number);
            let read = (spans, index.top.clone(), seen.0, seen.1);
            assert_eq!(Some(read), strict_path(line, false), "{text}");
        }
    }

    /// `line` with one byte inserted or overwritten at `at` (`true`:
    /// inserted), when `at` lies inside it.
    fn edited(mut line: Vec<u8>, edit: Option<(u8, usize, bool)>) -> Vec<u8> {
        if let Some((byte, at, insert)) = edit {
            if at < line.len() {
                if insert {
                    line.insert(at, byte)
                } else {
                    line[at] = byte
                }
            }
        }
        line
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whatever the flat path accepts, the general pass accepts with
        /// the same spans, members and escapes seen.
        #[test]
        fn the_flat_path_agrees_with_the_general_pass(
            members in proptest::collection::vec(("[a-z\"\\\\]{1,4}", token()), 1..6),
            sep in "(, ?| ?, |,,| |)",
            colon in "( ?: ?|:|::)",
            edit in proptest::option::of((any::<u8>(), 0usize..120, any::<bool>())),
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\"{colon}{v}")).collect();
            let line = edited(format!("{{{}}}", body.join(&sep)).into_bytes(), edit);
            if let Some(flat) = strict_path(&line, true) {
                let text = String::from_utf8_lossy(&line).into_owned();
                prop_assert_eq!(Some(flat), strict_path(&line, false), "{}", text);
            }
        }

        /// The names' encoding (16-byte blocks for short names) is each
        /// scalar's name, length first, whatever the lengths and wherever
        /// the names end in the line.
        #[test]
        fn names_encode_as_they_read(
            members in proptest::collection::vec(("[a-z\"\\\\]{0,24}", token()), 0..6),
            tail in "[ ]{0,20}",
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let line = format!("{{{}}}{tail}", body.join(","));
            let mut x = MemberIndex::default();
            x.build(line.as_bytes());
            let mut plain = Vec::new();
            for k in 0..x.len() {
                let name = x.span_name(line.as_bytes(), k);
                plain.extend_from_slice(&name.map_or(u32::MAX, |n| n.len() as u32).to_le_bytes());
                plain.extend_from_slice(name.unwrap_or_default());
            }
            let mut encoded = vec![7u8; 3];
            x.encode_names(line.as_bytes(), &mut encoded);
            prop_assert_eq!(encoded, plain, "{}", line);
        }

        /// A warm index (its trie of shapes filled by the lines before)
        /// reads each line as a fresh general pass does, and gives two
        /// flat lines one shape exactly when their member names, none
        /// escaped, are the same in the same order.
        #[test]
        fn known_shapes_read_as_the_general_pass(
            lines in proptest::collection::vec(
                (
                    proptest::collection::vec(
                        (prop_oneof!["(A|Image|CommandLine|ParentProcessGuid|AVeryLongMemberNameIndeed)", "[a-z\"\\\\]{1,3}"], token()),
                        1..5,
                    ),
                    "(,| ,|, )",
                    "(:| :|: )",
                    proptest::option::of((any::<u8>(), 0usize..60, any::<bool>())),
                ),
                1..12,
            ),
        ) {
            let mut warm = MemberIndex::default();
            let mut shapes: Vec<(Option<u64>, Vec<Vec<u8>>)> = Vec::new();
            for (members, sep, colon, edit) in lines {
                let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\"{colon}{v}")).collect();
                let line = edited(format!("{{{}}}", body.join(&sep)).into_bytes(), edit);
                let text = String::from_utf8_lossy(&line).into_owned();
                warm.build(&line);
                let general = strict_path(&line, false);
                let flat = warm.strict && warm.containers.is_empty();
                if flat {
                    let spans = spans_of(&warm);
                    let seen = (warm.seen.hiding_escape, warm.seen.rewritten_number);
                    prop_assert_eq!(Some((spans, warm.top.clone(), seen.0, seen.1)), general, "{}", text);
                } else {
                    prop_assert_eq!(warm.shape(), None, "{}", text);
                }
                let Some(shape) = warm.shape() else {
                    prop_assert!(!flat || warm.top.iter().any(|m| m.name_escaped), "{}", text);
                    continue;
                };
                let names: Vec<Vec<u8>> = warm
                    .top
                    .iter()
                    .map(|m| line[m.name.0 as usize..m.name.1 as usize].to_vec())
                    .collect();
                prop_assert!(warm.top.iter().all(|m| !m.name_escaped));
                for (other, other_names) in &shapes {
                    prop_assert_eq!(*other == Some(shape), *other_names == names, "{}", text);
                }
                shapes.push((Some(shape), names));
            }
        }

        /// A strict yes is always serde_json's yes (a number beyond float
        /// range included), with the lenient pass's spans; on the lines it
        /// judges (spaces only, no `\u`, UTF-8), a no is serde_json's no.
        #[test]
        fn strict_pass_agrees_with_serde(
            members in proptest::collection::vec(("[a-z\"\\\\]{1,4}", token()), 0..5),
            sep in "(, ?|,,| |)",
            edit in proptest::option::of((any::<u8>(), 0usize..120, any::<bool>())),
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            let line = edited(format!("{{{}}}", body.join(&sep)).into_bytes(), edit);
            // A full parse: strings read as strings (surrogates paired).
            let serde = serde_json::from_slice::<serde_json::Value>(&line).is_ok()
                && line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            let judged = !line.iter().any(|&b| b < 0x20) && std::str::from_utf8(&line).is_ok();
            let mut x = MemberIndex::default();
            x.build(&line);
            let mine = x.top_members().is_some();
            let text = String::from_utf8_lossy(&line).into_owned();
            prop_assert!(!mine || serde, "accepted what serde rejects: {}", text);
            if judged {
                prop_assert_eq!(mine, serde, "{}", text);
            }
            if mine {
                let spans: Vec<(u32, u32, (u32, u32))> =
                    spans_of(&x);
                prop_assert_eq!(Some((spans.clone(), x.containers.clone())), lenient_spans(&line), "{}", text);
                // A nested line's spans, top-level members and escapes as
                // the general pass alone reads them (the flat pass may have
                // read its first members), its containers and the one
                // holding each scalar.
                if !x.is_flat() {
                    let seen = (x.seen.hiding_escape, x.seen.rewritten_number);
                    let view = (spans.clone(), x.top.clone(), seen.0, seen.1);
                    prop_assert_eq!(Some(view), strict_path(&line, false), "{}", text);
                    prop_assert_eq!(tree_read(&x), tree_of(&line), "{}", text);
                }
                // What the pass saw: a `\/` or `\u` escape (backslashes
                // lie only in strings, in pairs), a byte outside ASCII.
                let mut hiding = false;
                let mut k = 0;
                while k < line.len() {
                    if line[k] == b'\\' {
                        hiding |= matches!(line.get(k + 1), Some(b'/' | b'u'));
                        k += 2;
                    } else {
                        k += 1;
                    }
                }
                // And a number token read as another text, told by the
                // spans' tokens.
                let rewritten_number = spans_of(&x).iter().any(|&(start, end, _)| {
                    crate::strict_json::is_rewritten_number(&line[start as usize..end as usize])
                });
                // And a character folding to ASCII, told by decoding.
                let folds = hypersigma_compiler::witness::folds_to_ascii();
                let ascii_folding = std::str::from_utf8(&line)
                    .is_ok_and(|t| t.chars().any(|c| folds.contains(&c)));
                let seen = Seen {
                    hiding_escape: hiding,
                    non_ascii: !line.is_ascii(),
                    ascii_folding,
                    rewritten_number,
                };
                prop_assert_eq!(x.seen(), Some(seen), "{}", text);
                // The top-level members are the object's, in order.
                let parsed: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&line).unwrap_or_default();
                let top = x.top_members().unwrap_or_default();
                let names: Vec<String> = top
                    .iter()
                    .filter_map(|m| {
                        let quoted = line.get(m.name.0 as usize - 1..m.name.1 as usize + 1)?;
                        serde_json::from_slice(quoted).ok()
                    })
                    .collect();
                prop_assert_eq!(names.len(), top.len());
                prop_assert!(parsed.keys().all(|k| names.contains(k)), "{}", text);
                for m in top {
                    let value = &line[m.value.0 as usize..m.value.1 as usize];
                    let ok = serde_json::from_slice::<serde::de::IgnoredAny>(value).is_ok();
                    prop_assert!(ok, "value {:?} of {}", String::from_utf8_lossy(value), text);
                }
            }
        }
    }
}
