//! Unit tests of the partial parse: which members are built, the strict
//! and serde paths agreeing, each rule's member ids.

use super::*;
use hypersigma_compiler::{parse_rule, CompileOptions, Profile};
use proptest::prelude::*;

/// JSON text of nested objects and arrays of `scalars` (written as given),
/// members named from `names` (escapes and all), recursion bounded by
/// `(depth, size, items)` as `prop_recursive` takes them; with `spaced`,
/// some arrays are written with spaces around their commas.
pub(crate) fn nested_json(
    scalars: Vec<&'static str>,
    names: Vec<&'static str>,
    (depth, size, items): (u32, u32, u32),
    spaced: bool,
) -> impl Strategy<Value = String> {
    let scalar = proptest::sample::select(scalars).prop_map(str::to_string);
    scalar.prop_recursive(depth, size, items, move |inner| {
        let name = proptest::sample::select(names.clone());
        prop_oneof![
            (
                proptest::collection::vec(inner.clone(), 0..5),
                any::<bool>()
            )
                .prop_map(move |(items, space)| {
                    let sep = if spaced && space { " , " } else { "," };
                    format!("[{}]", items.join(sep))
                }),
            proptest::collection::vec((name, inner), 0..5).prop_map(|members| {
                let body: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

/// [`parse_indexed`] with a selection on a line indexed first, as
/// stage 2 sees it.
pub(crate) fn fast_parse(raw: &[u8], f: Selection<'_>) -> Result<Value, Rejection> {
    parse_indexed(raw, Some(f), None, &MemberIndex::built(raw))
}

/// [`parse_indexed`] of the whole line likewise.
pub(crate) fn fast_whole(raw: &[u8]) -> Result<Value, Rejection> {
    parse_indexed(raw, None, None, &MemberIndex::built(raw))
}

/// [`validate_indexed`] likewise.
pub(crate) fn fast_validate(raw: &[u8]) -> Result<(), Rejection> {
    validate_indexed(raw, &MemberIndex::built(raw))
}

pub(crate) fn reads(detection: &str) -> ReadSet {
    reads_of(&[detection])
}

/// The reads of process-creation rules with these detections.
fn reads_of(detections: &[&str]) -> ReadSet {
    let rules: Vec<_> = detections
        .iter()
        .map(|detection| {
            let text = format!(
                "title: t\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{detection}"
            );
            parse_rule(&text, &CompileOptions::default()).unwrap()
        })
        .collect();
    ReadSet::new(&rules)
}

#[test]
fn members_flagged_by_position_are_the_ones_built() {
    let raw = br#"{"a":1,"b":"x\\y","a":3,"c":[1]}"#;
    let index = MemberIndex::built(raw);
    let built = |flags: &[bool]| parse_indexed(raw, None, Some(flags), &index).unwrap();
    assert_eq!(
        built(&[false, true, false, true]),
        serde_json::json!({"b": "x\\y", "c": [1]})
    );
    // Duplicate names: the flagged one, in the first one's place when both are.
    assert_eq!(
        built(&[false, false, true, false]),
        serde_json::json!({"a": 3})
    );
    assert_eq!(
        built(&[true, false, true, false]),
        serde_json::json!({"a": 3})
    );
    // Flags that do not fit the line are ignored (the whole line, no filter).
    assert_eq!(
        built(&[true]),
        serde_json::from_slice::<Value>(raw).unwrap()
    );
}

#[test]
fn a_parse_of_every_member_is_told_whole() {
    let raw = br#"{"a":1,"b":"x\\y","a":3,"c":[1]}"#;
    let index = MemberIndex::built(raw);
    let parse = |flags: Option<&[bool]>| parse_indexed_whole(raw, None, flags, &index).unwrap();
    let full = serde_json::from_slice::<Value>(raw).unwrap();
    assert_eq!(parse(None), (full.clone(), true));
    assert_eq!(parse(Some(&[true; 4])), (full, true));
    assert!(!parse(Some(&[true, false, true, true])).1);
    // A member left out is left out even when its name comes again.
    assert!(!parse(Some(&[false, true, true, true])).1);
    // A string whose escape stage 2 leaves to serde_json (a `\u` one):
    // whole only when parsed without a filter.
    let escaped = br#"{"CommandLine":"\u0041","Other":2}"#;
    let index = MemberIndex::built(escaped);
    let r = reads("    s: {CommandLine|contains: x}\n    condition: s");
    let f = MemberFilter::new(&Profile::sysmon(), &r);
    let (partial, whole) =
        parse_indexed_whole(escaped, Some(f.select(&[0])), None, &index).unwrap();
    assert!(!whole && partial.get("Other").is_none());
    assert!(parse_indexed_whole(escaped, None, None, &index).unwrap().1);
}

#[test]
fn only_members_a_lookup_can_reach_are_built() {
    let r =
        reads("    s: {CommandLine|contains: x, Image|fieldref: ParentImage}\n    condition: s");
    let f = MemberFilter::new(&Profile::sysmon(), &r);
    let f = f.select(&[0]);
    let raw = br#"{"EventID":1,"Channel":"c","CommandLine":"a","ParentImage":"p","Hashes":"h","Command Line":"s","Other":{"deep":[1,2]}}"#;
    let v = parse_event(raw, Some(f)).unwrap();
    assert_eq!(fast_parse(raw, f).unwrap(), v);
    let kept: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        kept,
        [
            "EventID",
            "Channel",
            "CommandLine",
            "ParentImage",
            "Command Line"
        ]
    );
    assert_eq!(r.whole_event, [false]);
    assert!(!r.some_whole_event);
    let keyword = reads("    k: [evil]\n    condition: k");
    assert_eq!(keyword.whole_event, [true]);
    assert!(keyword.some_whole_event);
}

#[test]
fn each_rule_reads_the_ids_of_its_names() {
    // Enough fields for ids past one word.
    let names: Vec<String> = (0..150).map(|k| format!("F{k}")).collect();
    let fields: Vec<String> = names.iter().map(|n| format!("{n}: x")).collect();
    let wide = format!("    s: {{{}}}\n    condition: s", fields.join(", "));
    let r = reads_of(&[
        "    s: {CommandLine|contains: x}\n    condition: s",
        &wide,
        "    s: {F149: y, Image: z}\n    condition: s",
    ]);
    let p = Profile::sysmon();
    let f = MemberFilter::new(&p, &r);
    assert!(f.id_words() >= 3);
    // Every rule reads the channel, provider and event id members.
    let base: Vec<&str> = [&p.channel, &p.provider, &p.event_id]
        .into_iter()
        .flatten()
        .filter_map(|path| path.first().map(String::as_str))
        .collect();
    let own: [Vec<&str>; 3] = [
        vec!["CommandLine"],
        names.iter().map(String::as_str).collect(),
        vec!["F149", "Image"],
    ];
    for (rule, own) in own.iter().enumerate() {
        let (bits, spaced) = f.rule_reads(rule as u32).unwrap();
        assert!(spaced);
        let from_bits: Vec<u32> = (0..64 * bits.len() as u32)
            .filter(|&id| bits[id as usize / 64] & (1 << (id % 64)) != 0)
            .collect();
        // Its fields, and those its log sources read (4688's renames of
        // them among others), each by its name at the top level.
        assert!(own.iter().all(|field| r.fields[rule].contains(*field)));
        let mut expected: Vec<u32> = base
            .iter()
            .copied()
            .chain(r.fields[rule].iter().map(String::as_str))
            .map(|name| f.name_id(name.as_bytes()).unwrap())
            .collect();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(from_bits, expected, "rule {rule}");
    }
    assert_eq!(f.rule_reads(3), None);
}

#[test]
fn escaped_and_duplicate_names_read_as_in_a_full_parse() {
    let r = reads("    s: {CommandLine|contains: x}\n    condition: s");
    let f = MemberFilter::new(&Profile::sysmon(), &r);
    let f = f.select(&[0]);
    let raw = br#"{"Command\u004cine":"a","x":1,"CommandLine":"b"}"#;
    let partial = parse_event(raw, Some(f)).unwrap();
    let full = parse_event(raw, None).unwrap();
    // The fast path, with an escaped name it judges.
    let judged = br#"{"Command\\Line":"a","x":1,"CommandLine":"b","CommandLine":"c"}"#;
    let fast = fast_parse(judged, f).unwrap();
    assert_eq!(fast, parse_event(judged, Some(f)).unwrap());
    assert_eq!(fast_whole(judged), parse_event(judged, None));
    assert_eq!(fast["CommandLine"], "c");
    assert_eq!(partial["CommandLine"], full["CommandLine"]);
    assert_eq!(partial["CommandLine"], "b");
}

#[test]
fn rejections_match_a_full_parse() {
    let f = MemberFilter::new(&Profile::sysmon(), &ReadSet::default());
    let f = f.select(&[]);
    let deep = format!("{{\"x\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    for line in [
        &b"{\"a\": 1"[..],
        b"[1, 2]",
        b"\"text\"",
        b"{\"a\": 1} trailing",
        b"{bad",
        b"{\"a\": [1,}",
        b"",
        b"nul",
        // What a skipping parser would let through in an unread member.
        b"{\"x\": \"caf\xc3\x28\"}",
        b"{\"x\": \"\\ud800\"}",
        deep.as_bytes(),
    ] {
        let partial = parse_event(line, Some(f)).map(|_| ());
        let full = parse_event(line, None).map(|_| ());
        let fast = fast_parse(line, f).map(|_| ());
        assert_eq!(fast, full, "{}", String::from_utf8_lossy(line));
        assert_eq!(fast_whole(line), parse_event(line, None));
        assert_eq!(
            fast_validate(line),
            full,
            "{}",
            String::from_utf8_lossy(line)
        );
        assert_eq!(partial, full, "{}", String::from_utf8_lossy(line));
        assert_eq!(
            validate_event(line),
            full,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    assert!(parse_event(b" {\"a\": {\"b\": 1}} ", Some(f)).is_ok());
}

#[test]
fn a_number_beyond_float_range_rejects_the_line_wherever_it_lies() {
    let r = reads("    s: {CommandLine|contains: x}\n    condition: s");
    let f = MemberFilter::new(&Profile::sysmon(), &r);
    let unread = br#"{"CommandLine": "x", "Size": 1e400}"#;
    assert!(parse_event(unread, None).is_err());
    assert!(validate_event(unread).is_err());
    assert!(parse_event(unread, Some(f.select(&[0]))).is_err());
    let read = br#"{"CommandLine": 1e400}"#;
    assert!(parse_event(read, Some(f.select(&[0]))).is_err());
    assert!(fast_parse(unread, f.select(&[0])).is_err());
    assert!(fast_validate(unread).is_err());
    // Tabs between the tokens: the strict pass leaves the line to
    // serde_json, whose skipping parser does not check ranges. Within
    // range, accepted on every path.
    let digits = |n: usize| format!("1{}", "0".repeat(n - 1));
    for (line, valid) in [
        (
            "{\"CommandLine\":\t\"x\", \"Size\": -2.5E+999}".to_string(),
            false,
        ),
        (
            format!("{{\"CommandLine\":\t\"x\", \"Size\": {}}}", digits(310)),
            false,
        ),
        (
            "{\"CommandLine\":\t\"x\", \"Size\": 1E308, \"N\": 1e-999}".to_string(),
            true,
        ),
        (
            format!("{{\"CommandLine\":\t\"x\", \"Size\": {}}}", digits(300)),
            true,
        ),
        (
            format!("{{\"CommandLine\": \"x\", \"Size\": {}}}", digits(300)),
            true,
        ),
    ] {
        let bytes = line.as_bytes();
        assert_eq!(validate_event(bytes).is_ok(), valid, "{line}");
        assert_eq!(fast_validate(bytes).is_ok(), valid, "{line}");
        assert_eq!(
            parse_event(bytes, Some(f.select(&[0]))).is_ok(),
            valid,
            "{line}"
        );
        assert_eq!(fast_parse(bytes, f.select(&[0])).is_ok(), valid, "{line}");
    }
    assert_eq!(
        fast_parse(read, f.select(&[0])),
        parse_event(read, Some(f.select(&[0])))
    );
    // Lines that skipping cannot judge take the strict path.
    assert!(validate_event(b"{\"x\": \"\\ud800\"}").is_err());
    assert!(validate_event(b"{\"x\": \"caf\xc3\x28\"}").is_err());
}

#[test]
fn tokens_read_as_serde_json_reads_them() {
    let tokens = [
        "0",
        "7",
        "-1",
        "-0",
        "00",
        "-00",
        "123456789012345678",
        "-123456789012345678",
        "1234567890123456789",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "1.0",
        "1e2",
        "-0.0",
        "true",
        "null",
        r#""a\"b""#,
        r#""\u00e9""#,
        "-",
        "",
    ];
    for token in tokens {
        assert_eq!(
            token_value(token),
            serde_json::from_str::<Value>(token).ok(),
            "{token}"
        );
    }
}

proptest::proptest! {
    /// An integer token reads as serde_json reads it, whatever its length.
    #[test]
    fn integers_read_as_serde_json_reads_them(negative: bool, digits in "[0-9]{1,22}") {
        let token = format!("{}{digits}", if negative { "-" } else { "" });
        if let Ok(want) = serde_json::from_str::<Value>(&token) {
            proptest::prop_assert_eq!(token_value(&token), Some(want));
        }
    }
}

#[test]
fn a_whole_event_written_into_an_earlier_one_is_the_one_parsed() {
    let lines = [
        r#"{"EventID":1,"Image":"C:\\a.exe","CommandLine":"a b"}"#,
        r#"{"EventID":4,"Image":"C:\\b.exe","CommandLine":"c\"d"}"#,
        r#"{"EventID":4,"CommandLine":"x","Image":"y"}"#,
        r#"{"EventID":4,"Image":"y","Image":"z","CommandLine":"x"}"#,
        r#"{"Event":{"System":{"EventID":1},"EventData":{"A":"x","B":[1,{"c":null}]}}}"#,
        r#"{"Event":{"System":{"EventID":2},"EventData":{"A":"\u00e9","B":[true,{"c":"s"}]}}}"#,
        r#"{"Event":{"System":{"EventID":2},"EventData":{"A":"y","B":[true,{"c":1e400}]}}}"#,
        r#"{"Event":{"System":{"EventID":3},"EventData":{"A":"z","B":[false,{"c":7}]}}}"#,
        r#"{"Event":{"System":{"EventID":3},"EventData":{"A":"z","B":[false,{"d":7}]}}}"#,
        r#"{"Event":{"System":{"EventID":3},"EventData":{"A":"z","B":[false]}}}"#,
        r#"{"Event":{"System":{"EventID":3}},"Extra":5}"#,
        r#"{"Event":{"System":{"EventID":9}},"Extra":"five"}"#,
    ];
    let mut spare = None;
    for _ in 0..2 {
        for raw in lines {
            let index = MemberIndex::built(raw.as_bytes());
            let want = parse_indexed(raw.as_bytes(), None, None, &index);
            let got = parse_whole_into(raw.as_bytes(), &index, spare.take());
            assert_eq!(
                got.as_ref().map_err(|e| e.to_string()),
                want.as_ref().map_err(|e| e.to_string()),
                "{raw}"
            );
            spare = got.ok();
        }
    }
}
