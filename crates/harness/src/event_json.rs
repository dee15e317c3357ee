//! A detection's event as JSON text, made once for all the detections of
//! the event: its line as read when writing the parsed event back would
//! give that very line, else the event written out.
//!
//! A JSON-lines detection ends with the whole event, most of its bytes:
//! serde_json writing the parsed event took ~8 % of an all-SigmaHQ scan of
//! real EVTX lines, once per matching rule. Most lines are already as
//! serde_json writes (no space between tokens, only the escapes it uses,
//! integers that fit 64 bits, no repeated member name), and a line is
//! copied instead when [`writes_back_as`] says so; other events are written
//! once per event, not per rule. Either way the output is byte for byte what
//! writing the event gives.

use std::borrow::Cow;

use serde_json::Value;

/// Longest integer (in digits) that serde_json surely reads as a 64-bit
/// integer (`u64` reaches 20 digits, `i64` 19).
const SURE_INTEGER_DIGITS: usize = 18;

/// The event's JSON text: `line`, or the event written out (see the module
/// doc). `event` is the value of `line`.
pub fn event_json<'l>(line: &'l [u8], event: &Value) -> Cow<'l, [u8]> {
    if writes_back_as(line, event) {
        return Cow::Borrowed(line);
    }
    let mut written = Vec::with_capacity(line.len());
    match serde_json::to_writer(&mut written, event) {
        Ok(()) => Cow::Owned(written),
        // Writing a parsed value does not fail; should it, the line stands.
        Err(_) => Cow::Borrowed(line),
    }
}

/// Whether serde_json writes `event`, the value of `line`, back as exactly
/// `line`: no whitespace outside strings, every escape one serde_json
/// writes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`: not `\/`, not `\u`,
/// which it writes for some control characters only), numbers that are
/// integers of at most [`SURE_INTEGER_DIGITS`] digits other than `-0`, and
/// as many members in `event` as names in `line` (a repeated name keeps
/// one member). Conservative: false for some lines that would write back
/// the same.
pub fn writes_back_as(line: &[u8], event: &Value) -> bool {
    let mut names = 0usize;
    let mut i = 0;
    while let Some(&b) = line.get(i) {
        match b {
            b'"' => {
                i += 1;
                loop {
                    let Some(at) = memchr::memchr2(b'"', b'\\', line.get(i..).unwrap_or_default())
                    else {
                        return false;
                    };
                    i += at;
                    if line.get(i) == Some(&b'"') {
                        i += 1;
                        break;
                    }
                    match line.get(i + 1) {
                        Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        _ => return false,
                    }
                }
                if line.get(i) == Some(&b':') {
                    names += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while line
                    .get(i)
                    .is_some_and(|b| b.is_ascii_digit() || *b == b'-')
                {
                    i += 1;
                }
                let number = line.get(start..i).unwrap_or_default();
                let digits = number.strip_prefix(b"-").unwrap_or(number);
                let fraction = matches!(line.get(i), Some(b'.' | b'e' | b'E'));
                if fraction || digits.len() > SURE_INTEGER_DIGITS || number == b"-0" {
                    return false;
                }
            }
            b'{' | b'}' | b'[' | b']' | b',' | b':' => i += 1,
            b't' | b'f' | b'n' => {
                while line.get(i).is_some_and(u8::is_ascii_lowercase) {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
    names == members_in(event)
}

/// The members of every object in `value`.
fn members_in(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.len() + map.values().map(members_in).sum::<usize>(),
        Value::Array(items) => items.iter().map(members_in).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whether `line` is taken as it is, and that this is right: the
    /// event written out is the line exactly when it is taken.
    fn taken(line: &str) -> bool {
        let event: Value = serde_json::from_str(line).expect("JSON");
        let written = serde_json::to_string(&event).expect("written");
        let taken = writes_back_as(line.as_bytes(), &event);
        if taken {
            assert_eq!(written, line, "taken but written otherwise");
        }
        assert_eq!(&*event_json(line.as_bytes(), &event), written.as_bytes());
        taken
    }

    #[test]
    fn lines_serde_json_writes_alike_are_taken() {
        for line in [
            r#"{"EventID":1,"Image":"C:\\Windows\\cmd.exe","Args":"a \"b\"\n\t","N":-12,"Z":0}"#,
            r#"{"Event":{"System":{"EventID":4688,"Correlation":null,"Ok":true,"No":false},"Data":[1,"x",{"k":[]}],"E":{}}}"#,
            "{\"Text\":\"Microsoft® Windows® – ünïcödé\",\"Del\":\"\u{7f}\",\"Bf\":\"\\b\\f\\r\"}",
            r#"{"Big":123456789012345678,"Neg":-123456789012345678}"#,
        ] {
            assert!(taken(line), "{line}");
        }
    }

    #[test]
    fn lines_written_otherwise_are_not_taken() {
        for line in [
            r#"{"A": 1}"#,
            r#" {"A":1}"#,
            r#"{"A":1} "#,
            r#"{"A":[1, 2]}"#,
            r#"{"A":"x\/y"}"#,
            r#"{"A":"\u0041"}"#,
            r#"{"A":"\u001f"}"#,
            r#"{"A":1.0}"#,
            r#"{"A":1e3}"#,
            r#"{"A":1E3}"#,
            r#"{"A":-0}"#,
            r#"{"A":12345678901234567890}"#,
            r#"{"A":1234567890123456789}"#,
            r#"{"A":1,"A":2}"#,
            r#"{"A":{"B":1,"B":1}}"#,
            r#"{"A":[{"B":1,"B":2}]}"#,
        ] {
            assert!(!taken(line), "{line}");
        }
    }

    /// Objects of a few names (repeats likely), strings with escapes and
    /// non-ASCII, integers and floats, nested.
    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (-1e6f64..1e6).prop_map(|f| format!("{f}")),
            Just("-0".to_string()),
            Just("1e3".to_string()),
            "[a-z\\\"/é ]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
            Just(r#""x\/y""#.to_string()),
            Just(r#""\u0041\n\u001f""#.to_string()),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let gap = prop_oneof![Just(""), Just(""), Just(" ")];
            prop_oneof![
                prop::collection::vec((inner.clone(), gap.clone()), 0..4).prop_map(|items| {
                    let items: Vec<String> =
                        items.into_iter().map(|(v, g)| format!("{g}{v}")).collect();
                    format!("[{}]", items.join(","))
                }),
                prop::collection::vec(("[abc]", inner, gap), 0..4).prop_map(|members| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(k, v, g)| format!("\"{k}\":{g}{v}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        /// A line taken as it is is exactly what writing its value gives.
        #[test]
        fn a_line_taken_as_it_is_writes_back_as_itself(inner in json_text()) {
            let line = format!("{{\"k\":{inner}}}");
            let event: Value = serde_json::from_str(&line).expect("generated JSON");
            let written = serde_json::to_string(&event).expect("written");
            if writes_back_as(line.as_bytes(), &event) {
                prop_assert_eq!(&written, &line);
            }
            prop_assert_eq!(&*event_json(line.as_bytes(), &event), written.as_bytes());
            // What serde_json writes is taken unless it holds a number it
            // may not read back as written, or a `\u` escape.
            let again: Value = serde_json::from_str(&written).expect("JSON");
            let plain = !written.contains("\\u") && !written.contains('.') && !written.contains('e');
            if plain && written.len() < 64 {
                let long_number = written.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() > 18);
                prop_assume!(!long_number);
                prop_assert!(writes_back_as(written.as_bytes(), &again), "{}", written);
            }
        }
    }
}
