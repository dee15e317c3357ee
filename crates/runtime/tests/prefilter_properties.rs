//! Property: stage 1 never drops a true match. Random rule values (wildcards,
//! escapes, mixed case, non-ASCII, characters that fold to ASCII) against
//! short rare literals (`^^`, a lone Cyrillic or Greek letter, the micro
//! sign) against random events built around them (case changed, JSON-escaped in every way a
//! JSON writer may choose: `\uXXXX`, `\/`, `\\`, `\"`; placed in the member
//! the rule reads, in another one, wrapped in `#text`, in an array, under a
//! spaced name, in the evtx shape), with the engine's verdict required to
//! equal the reference evaluator's; and literals of digits against numbers
//! written in every form JSON allows (fractions, exponents, past 64 bits).

use hypersigma_compiler::{evaluate, parse_rule, CompileOptions, Profile, Rule};
use hypersigma_runtime::engine::{Engine, EngineOptions, Verdict};
use proptest::prelude::*;

const ALPHABET: &[char] = &[
    'a', 'b', 'C', 'd', 'E', 'x', 'Y', '0', '1', ' ', '.', '-', '/', '\\', '"', '*', '?', 'é', 'Ä',
    'ſ', 's', 'k', 'K', '\u{212A}', 'ß', 'Σ', 'ς', '\t', '^', '`', 'а', 'А', 'µ', 'μ', 'Μ',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..12)
        .prop_map(|v| v.into_iter().collect())
}

/// JSON string body for `s`, escaping each character in one of the forms JSON allows.
fn encode(s: &str, choices: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        let choice = choices.get(i % choices.len().max(1)).copied().unwrap_or(0);
        match c {
            '"' => out.push_str(if choice % 2 == 0 { "\\\"" } else { "\\u0022" }),
            '\\' => out.push_str(if choice % 2 == 0 { "\\\\" } else { "\\u005c" }),
            '/' if choice % 3 == 1 => out.push_str("\\/"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if choice % 4 == 3 => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn flip_case(s: &str, flips: &[bool]) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if flips.get(i % flips.len().max(1)).copied().unwrap_or(false) {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// The fast engine's verdict on one raw event equals the reference's, with
/// the engine's defaults for one rule and with the scope gate forced on
/// (the path of large rule sets: the event's escapes and non-ASCII
/// characters judged on the member index, the scan over its values, a
/// per-scope database from the second event on).
fn agrees_with_reference(rule: Rule, raw: &str, profile: &Profile) -> Result<(), TestCaseError> {
    let event: serde_json::Value = serde_json::from_str(raw).expect("valid JSON");
    let expected = Verdict::Matched(if evaluate(&rule, &event, profile) {
        vec![0]
    } else {
        vec![]
    });
    let gated = EngineOptions {
        scope_gate: Some(true),
        subset_after: 1,
        subset_bytes_per_literal: 0,
        ..EngineOptions::default()
    };
    for options in [EngineOptions::default(), gated] {
        let engine = Engine::new(vec![rule.clone()], options).unwrap();
        let mut scanner = engine.scanner().unwrap();
        for round in 0..2 {
            let got = scanner.match_event(raw.as_bytes(), profile);
            prop_assert_eq!(
                &got,
                &expected,
                "raw {} ({:?}, round {})",
                raw,
                options,
                round
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn stage_one_never_drops_a_match(
        value in text(),
        modifier in prop::sample::select(vec!["|contains", "|startswith", "|endswith", "", "|contains|cased", "|contains|all", "|re", "|re|i"]),
        prefix in text(),
        suffix in text(),
        flips in prop::collection::vec(any::<bool>(), 1..6),
        choices in prop::collection::vec(any::<u8>(), 1..6),
        reuse in any::<bool>(),
        shape in 0usize..7,
    ) {
        let yaml_value = value.replace('\'', "''");
        let rule_text = format!(
            "title: p\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n    s:\n        'CommandLine{modifier}': '{yaml_value}'\n    condition: s\n"
        );
        let Ok(rule) = parse_rule(&rule_text, &CompileOptions::default()) else { return Ok(()); };
        // The event text: the value itself (its wildcards as written) or random text, case-flipped.
        let middle = if reuse { value.replace(['*', '?'], "") } else { value.clone() };
        let event_text = flip_case(&format!("{prefix}{middle}{suffix}"), &flips);
        let body = encode(&event_text, &choices);
        let head = "\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1";
        // The value in the member the rule reads, in another member, wrapped,
        // in an array, under a spaced name, or in the evtx shape.
        let (raw, profile) = match shape {
            0 => (format!("{{{head},\"CommandLine\":\"{body}\"}}"), Profile::sysmon()),
            1 => (format!("{{{head},\"ParentCommandLine\":\"{body}\",\"CommandLine\":\"x\"}}"), Profile::sysmon()),
            2 => (format!("{{{head},\"CommandLine\":{{\"#text\":\"{body}\"}}}}"), Profile::sysmon()),
            3 => (format!("{{{head},\"CommandLine\":[\"y\",\"{body}\"]}}"), Profile::sysmon()),
            4 => (format!("{{{head},\"Command Line\":\"{body}\"}}"), Profile::sysmon()),
            5 => (format!("{{\"Event\":{{\"System\":{{{head}}},\"EventData\":{{\"CommandLine\":\"{body}\"}}}}}}"), Profile::evtx()),
            _ => (format!("{{{head},\"CommandLine\":\"{body}\",\"Keywords\":[\"{body}\"]}}"), Profile::sysmon()),
        };
        agrees_with_reference(rule, &raw, &profile)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The stage-1 scope filter reads event ids from raw bytes: whatever form
    /// the id takes, it never drops a rule the reference finds in scope.
    #[test]
    fn scope_filter_never_drops_an_in_scope_rule(
        id in prop::sample::select(vec!["1", "\"1\"", "\" 1 \"", "\"\\t1\"", "1.0", "3", "\"3\"", "4688", "\"4688\"", "-1", "null", "\"x\"", "99999999999999999999", "\"\\u0031\""]),
        wrapped in any::<bool>(),
        channel in prop::sample::select(vec!["Microsoft-Windows-Sysmon/Operational", "Security", "System", "security"]),
        shape in 0usize..3,
        extra_id in any::<bool>(),
    ) {
        let rule = parse_rule(
            "title: p\nlogsource: {product: windows, category: process_creation}\ndetection:\n    s: {CommandLine|contains: zzz}\n    condition: not s\n",
            &CompileOptions::default(),
        ).unwrap();
        let id_value = if wrapped { format!("{{\"#text\":{id}}}") } else { id.to_string() };
        let more = if extra_id { ",\"Data\":{\"EventID\":\"3\"}" } else { "" };
        let (raw, profile) = match shape {
            0 => (format!("{{\"Channel\":\"{channel}\",\"EventID\":{id_value},\"CommandLine\":\"a\"{more}}}"), Profile::sysmon()),
            1 => (format!("{{\"Event\":{{\"System\":{{\"Channel\":\"{channel}\",\"EventID\":{id_value}}},\"EventData\":{{\"CommandLine\":\"a\"}}}}{more}}}"), Profile::evtx()),
            _ => (format!("{{\"winlog\":{{\"channel\":\"{channel}\",\"event_id\":{id_value},\"event_data\":{{\"CommandLine\":\"a\"}}}}{more}}}"), Profile::winlogbeat()),
        };
        agrees_with_reference(rule, &raw, &profile)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// The raw log-source check (channel, provider, event ids, field
    /// conditions, required fields, the event ids a detection requires)
    /// never drops a rule the reference matches, whatever form the values
    /// take (case, escapes, numbers written as strings or floats, `#text`
    /// wrapping, arrays, null, objects, absence).
    #[test]
    fn raw_log_source_checks_never_drop_a_match(
        rule in 0usize..6,
        channel in prop::sample::select(vec![None, Some("\"Security\""), Some("\"security\""), Some("\"Sec\\u0075rity\""), Some("\"Sec\\\\urity\""), Some("\"Microsoft-Windows-Sysmon/Operational\""), Some("\"System\""), Some("{\"#text\":\"Security\"}"), Some("7"), Some("null")]),
        provider in prop::sample::select(vec![None, Some("\"Microsoft-Windows-Security-Auditing\""), Some("\"Microsoft-Windows-Sysmon\""), Some("\"Other\"")]),
        event_id in prop::sample::select(vec![None, Some("4728"), Some("\"4728\""), Some("4728.0"), Some("\"4728.0\""), Some("\" 4728\""), Some("{\"#text\":\"4728\"}"), Some("[1, 4728]"), Some("\"4732\""), Some("16"), Some("\"16\""), Some("1"), Some("null"), Some("\"\\u00346\""), Some("4.728e3")]),
        path in prop::sample::select(vec![None, Some("\"dns\""), Some("\"DNS\""), Some("[\"dns\"]"), Some("\"conn\""), Some("1"), Some("{\"#text\":\"dns\"}")]),
        aws in prop::sample::select(vec![None, Some("\"eventSource\":\"s3\",\"awsRegion\":\"eu\""), Some("\"eventSource\":null,\"awsRegion\":\"eu\""), Some("\"eventSource\":{\"a\":1},\"awsRegion\":[]"), Some("\"eventSource\":\"s3\"")]),
        evtx in any::<bool>(),
    ) {
        let (logsource, detection) = [
            ("{product: windows, service: security}", "s: {EventID: [4728, '4732']}"),
            ("{product: windows, service: sysmon}", "s: {EventID: 16}"),
            ("{product: zeek, service: dns}", "s: {query: x}"),
            ("{product: aws, service: cloudtrail}", "s: {eventName: x}"),
            ("{product: windows, service: security}", "s: {EventID|gt: 4000}"),
            ("{product: windows, category: process_creation}", "s: {CommandLine: zzz}"),
        ][rule];
        let condition = if rule == 5 { "not s" } else { "s" };
        let text = format!("title: p\nlogsource: {logsource}\ndetection:\n    {detection}\n    condition: {condition}\n");
        let rule = parse_rule(&text, &CompileOptions::default()).unwrap();
        let mut members = vec!["\"query\":\"x\"".to_string(), "\"eventName\":\"x\"".to_string(), "\"CommandLine\":\"a\"".to_string()];
        let mut system = Vec::new();
        for (name, value) in [("Channel", channel), ("Provider_Name", provider), ("EventID", event_id)] {
            if let Some(v) = value {
                system.push(format!("\"{name}\":{v}"));
            }
        }
        if let Some(v) = path {
            members.push(format!("\"_path\":{v}"));
        }
        if let Some(v) = aws {
            members.push(v.to_string());
        }
        let (raw, profile) = if evtx {
            let system = system.iter().map(|m| m.replace("Provider_Name", "Provider")).collect::<Vec<_>>();
            (format!("{{\"Event\":{{\"System\":{{{}}},\"EventData\":{{{}}}}}}}", system.join(","), members.join(",")), Profile::evtx())
        } else {
            system.extend(members);
            (format!("{{{}}}", system.join(",")), Profile::sysmon())
        };
        agrees_with_reference(rule, &raw, &profile)?;
    }
}

/// JSON numbers whose values hold `digits` in the ways a writer may put
/// them: as an integer, negative, with a fraction, an exponent, past 64
/// bits, or as a fraction's digits.
fn number_forms(digits: &str) -> Vec<String> {
    let trimmed = digits.trim_start_matches('0');
    let d = if trimmed.is_empty() { "0" } else { trimmed };
    let mut forms = vec![
        d.to_string(),
        format!("-{d}"),
        format!("{d}.0"),
        format!("{d}.50"),
        format!("0.{digits}"),
        format!("{d}e0"),
        format!("9{d}{d}{d}{d}"),
        format!("9{d}000000000000000000000"),
    ];
    if let (Some(head), Some(tail)) = (d.get(..1), d.get(1..)) {
        if !tail.is_empty() {
            forms.push(format!("{head}.{tail}e{}", tail.len()));
            forms.push(format!("{head}.{tail}E+{}", tail.len()));
            forms.push(format!("-{head}.{tail}e-{}", tail.len()));
        }
    }
    forms
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Number-like witnesses (digits and number signs): a literal taken from
    /// the text the reference reads a number as is found whatever way the
    /// event writes the number (so the raw token may lack it), in the
    /// member the rule reads, in an array, or as a string elsewhere.
    #[test]
    fn number_like_witnesses_never_drop_a_match(
        digits in "[0-9]{1,10}",
        form in 0usize..11,
        start in 0usize..12,
        len in 3usize..10,
        modifier in prop::sample::select(vec!["|contains", "|startswith", "|endswith", ""]),
        shape in 0usize..4,
    ) {
        let forms = number_forms(&digits);
        let number = &forms[form % forms.len()];
        let value: serde_json::Value = serde_json::from_str(number).expect("a JSON number");
        let text = value.to_string();
        let start = start % text.len();
        let literal = &text[start..(start + len).min(text.len())];
        let rule = parse_rule(
            &format!("title: p\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n    s:\n        'CommandLine{modifier}': '{literal}'\n    condition: s\n"),
            &CompileOptions::default(),
        ).unwrap();
        let head = "\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1";
        let raw = match shape {
            0 => format!("{{{head},\"CommandLine\":{number}}}"),
            1 => format!("{{{head},\"CommandLine\":[\"x\",{number}]}}"),
            2 => format!("{{{head},\"CommandLine\":\"{text}\",\"Count\":{number}}}"),
            _ => format!("{{{head},\"ParentCommandLine\":{number},\"CommandLine\":\"x\"}}"),
        };
        agrees_with_reference(rule, &raw, &Profile::sysmon())?;
    }
}
