//! Lines whose escapes would hide a witness from stage 1, rewritten so that
//! they do not.
//!
//! Stage 1 looks for witnesses in an event's raw bytes, in the writing of
//! JSON that escapes only what must be escaped (`\"`, `\\`, and control
//! characters). A `\u` escape (`\u0063` for `c`) or a `\/` can write any
//! text otherwise, so a line holding one was passed to every rule
//! (`lowering.rs`'s pass-through pattern): all 3,755 SigmaHQ rules
//! evaluated for it, ~25 times the cost of a line written plainly. Yet
//! common writers produce such lines for ordinary events: Python's `json`
//! module writes every non-ASCII character as `\u` (`Microsoft\u00ae
//! Windows\u00ae`, the product of every signed Microsoft binary in Sysmon's
//! process creations and image loads), Go's `encoding/json` escapes `<`,
//! `>` and `&`, .NET `+`, `<`, `>`, `&` and `'`, PHP every `/`.
//!
//! Such a line is valid JSON the strict pass accepted; its decoded text
//! is what the reference evaluator reads. [`decode_hiding_escapes`] writes
//! the same JSON with those escapes decoded, each character written as
//! serde_json writes it, and the scanner matches that line instead
//! (`Scanner::candidates`, `Scanner::stage2`): it parses into the same
//! value (same members in the same order, same strings, the number tokens
//! untouched), so every verdict is the one the original line gets, and
//! stage 1 judges it as it judges any plainly written line. The output
//! keeps the original line.

use crate::strict_json::unicode_escape;

/// The line a scanner matches in place of an event holding hiding escapes
/// (reused from event to event).
#[derive(Debug, Default)]
pub(super) struct UnescapedLine {
    /// The rewritten line.
    pub(super) line: Vec<u8>,
    /// The event it stands for (address and length), when the last
    /// `Scanner::candidates` call rewrote one.
    pub(super) of: Option<(usize, usize)>,
}

/// Writes to `out` (emptied first) the JSON text `raw`, valid JSON, with
/// its `\u` and `\/` escapes decoded and each decoded character written as
/// serde_json writes it: `"` and `\` escaped, `\b`, `\f`, `\n`, `\r`, `\t`
/// for those characters, every other character as its UTF-8 bytes; the
/// other escapes and every byte outside them are copied. False, and `out`
/// meaningless, when a decoded character has no writing but a `\u` escape
/// (another control character) or an escape is not one serde_json accepts.
pub(crate) fn decode_hiding_escapes(raw: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(raw.len());
    let mut at = 0;
    // Valid JSON holds backslashes only in strings, each one starting an
    // escape.
    while let Some(found) = raw.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let escape = at + found;
        out.extend_from_slice(&raw[at..escape]);
        match raw.get(escape + 1) {
            Some(b'u') => {
                let Some((c, end)) = unicode_escape(raw, escape) else {
                    return false;
                };
                if !write_char(c, out) {
                    return false;
                }
                at = end;
            }
            Some(b'/') => {
                out.push(b'/');
                at = escape + 2;
            }
            Some(&byte) => {
                out.extend_from_slice(&[b'\\', byte]);
                at = escape + 2;
            }
            None => return false,
        }
    }
    out.extend_from_slice(raw.get(at..).unwrap_or_default());
    true
}

/// Writes `c` inside a JSON string as serde_json writes it; false for a
/// control character only a `\u` escape writes.
fn write_char(c: char, out: &mut Vec<u8>) -> bool {
    let short = match c {
        '"' => b'"',
        '\\' => b'\\',
        '\n' => b'n',
        '\r' => b'r',
        '\t' => b't',
        '\u{8}' => b'b',
        '\u{c}' => b'f',
        c if u32::from(c) < 0x20 => return false,
        c => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            return true;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
    true
}

#[cfg(test)]
mod tests {
    use super::decode_hiding_escapes;
    use proptest::prelude::*;

    fn decoded(raw: &str) -> Option<String> {
        let mut out = Vec::new();
        decode_hiding_escapes(raw.as_bytes(), &mut out)
            .then(|| String::from_utf8(out).expect("decoded text is UTF-8"))
    }

    #[test]
    fn hiding_escapes_are_decoded_and_others_kept() {
        assert_eq!(
            decoded(
                r#"{"Product":"Microsoft\u00ae Windows\u00AE","Image":"C:\\Windows\\cmd\u002eexe"}"#
            )
            .as_deref(),
            Some(r#"{"Product":"Microsoft® Windows®","Image":"C:\\Windows\\cmd.exe"}"#)
        );
        // Names too; `\/` is a slash; the other escapes stay as written.
        assert_eq!(
            decoded(r#"{"Ima\u0067e":"a\/b","x":"\"q\"\n\t\\"}"#).as_deref(),
            Some(r#"{"Image":"a/b","x":"\"q\"\n\t\\"}"#)
        );
        // Characters that must stay escaped get their short escapes.
        assert_eq!(
            decoded(r#"{"a":"\u0022\u005c\u000a\u000d\u0009\u0008\u000c"}"#).as_deref(),
            Some(r#"{"a":"\"\\\n\r\t\b\f"}"#)
        );
        // A surrogate pair is one character.
        assert_eq!(
            decoded(r#"{"a":"\ud83d\ude00"}"#).as_deref(),
            Some("{\"a\":\"\u{1F600}\"}")
        );
        // No escape at all: the same text.
        assert_eq!(decoded(r#"{"a":1}"#).as_deref(), Some(r#"{"a":1}"#));
    }

    #[test]
    fn lines_with_no_plain_writing_are_left_alone() {
        // A control character only `\u` writes, a lone surrogate, a
        // malformed escape, a line ending in a backslash.
        for raw in [
            r#"{"a":"\u0001"}"#,
            r#"{"a":"\ud83d"}"#,
            r#"{"a":"\ude00"}"#,
            r#"{"a":"\u12G4"}"#,
            r#"{"a":"\u12"}"#,
            "{\"a\":\"\\",
        ] {
            assert_eq!(decoded(raw), None, "{raw}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        /// Any string, written with every character escaped as `\u` (or
        /// as the short escapes, or raw) in a name and a value, decodes to
        /// a line serde_json reads as the same object, with no hiding
        /// escape left.
        #[test]
        fn decoded_lines_read_as_the_original(
            text in "(\\PC|[\\x00-\\x1f]){0,24}",
            modes in proptest::collection::vec(0u8..3, 24),
        ) {
            // Per character: 0 every character as `\u` (a slash as `\/`),
            // 1 as it is, 2 as it is with a slash as `\/`; quotes,
            // backslashes and control characters always escaped.
            let mut escaped = String::new();
            for (k, c) in text.chars().enumerate() {
                let mode = modes[k % modes.len()];
                match c {
                    '"' => escaped.push_str("\\\""),
                    '\\' => escaped.push_str("\\\\"),
                    '/' if mode != 1 => escaped.push_str("\\/"),
                    c if mode == 0 || u32::from(c) < 0x20 => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            escaped.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                    c => escaped.push(c),
                }
            }
            let raw = format!("{{\"{escaped}\":\"{escaped}\",\"n\":-1.5e3}}");
            let original: serde_json::Value = serde_json::from_str(&raw).expect("valid JSON");
            let mut out = Vec::new();
            if decode_hiding_escapes(raw.as_bytes(), &mut out) {
                let again: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
                prop_assert_eq!(&again, &original);
                prop_assert!(!crate::engine::scopes::has_hiding_escape(&out));
            } else {
                // Only control characters without a short escape refuse.
                let unwritable = text.chars().any(|c| {
                    u32::from(c) < 0x20 && !matches!(c, '\n' | '\r' | '\t' | '\u{8}' | '\u{c}')
                });
                prop_assert!(unwritable);
            }
        }
    }
}
