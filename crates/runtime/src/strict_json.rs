//! The tokens of JSON as strictly as serde_json reads them, for the strict
//! pass of [`crate::members::MemberIndex::build`] (the fast path in front
//! of serde_json for stage 2's validation and partial parse).
//!
//! A line the strict pass accepts is one serde_json accepts as one object
//! (numbers within `f64`'s range, `\u` escapes as a parse into strings
//! reads them: four hex digits, surrogates paired). It refuses well-formed
//! lines it does not judge: a byte below 0x20 anywhere (so whitespace
//! between tokens is spaces only), invalid UTF-8, nesting deeper than
//! [`MAX_DEPTH`]. Those go to serde_json, which gives the verdict and the
//! error message, so the fast path never changes what is accepted or how a
//! rejection reads; it only skips serde_json's walk of the members no
//! candidate reads.

use std::ops::Range;

use crate::special_bytes::SpecialBytes;

/// Deepest nesting the check follows (serde_json's limit is 128).
pub(crate) const MAX_DEPTH: usize = 100;

/// One top-level member: byte ranges into the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TopMember {
    /// The name, inside its quotes.
    pub(crate) name: (u32, u32),
    /// Whether the name holds an escape (it must be decoded).
    pub(crate) name_escaped: bool,
    /// The value, strings with their quotes.
    pub(crate) value: (u32, u32),
    /// The value is a string without escapes: its text is the bytes
    /// inside the quotes.
    pub(crate) plain_string: bool,
}

/// The escapes a string holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Escapes {
    /// Any escape: its text is not its bytes.
    pub(crate) any: bool,
    /// A `\/` or `\u` escape: a literal could hide behind it (`\/` for
    /// `/`, `\u0063` for `c`).
    pub(crate) hiding: bool,
    /// Not a string but a number token the reference reads as another text
    /// ([`is_rewritten_number`]).
    pub(crate) rewritten_number: bool,
}

/// Whether a number token reads as another text than its bytes: `-0`, a
/// fraction or an exponent, an integer past 18 digits (see
/// `engine/numbers.rs`). False for any other token.
pub(crate) fn is_rewritten_number(token: &[u8]) -> bool {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    digits.first().is_some_and(u8::is_ascii_digit)
        && (token == b"-0" || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit))
}

/// The end of a string whose opening quote is at `open` (the index after
/// its closing quote), and the escapes it holds; `None` for an
/// unterminated string or an invalid escape (a `\u` one as serde_json
/// reads it into a string: four hex digits, a leading surrogate followed
/// by a trailing one, no lone surrogate). `specials` marks the line's
/// quotes and backslashes; the line holds no control byte (the strict
/// pass refuses one before reading any token).
///
/// The marks tell where a string closes and whether it holds escapes
/// without a branch per escape: most strings hold none (their first mark
/// is their closing quote); the others are read from the marks a block of
/// 64 bytes at a time, escapes of quotes and backslashes (Windows paths,
/// quoted command lines) at no cost one by one, other escapes each
/// checked where the marks place it ([`string_end_by_escapes`]).
#[inline(always)]
pub(crate) fn string_end(
    raw: &[u8],
    open: usize,
    specials: &SpecialBytes,
) -> Option<(usize, Escapes)> {
    // Most strings hold no escape: their first mark is their closing quote.
    let first = specials.next(open + 1);
    match *raw.get(first)? {
        b'"' => Some((first + 1, Escapes::default())),
        b'\\' => string_end_by_escapes(raw, open, specials),
        _ => None,
    }
}

/// [`string_end`] of a string holding an escape: its closing quote and
/// the escapes other than `\"` and `\\`, each checked where the marks place
/// it ([`SpecialBytes::string_escapes`]), `\/` and `\u` told as hiding; in
/// one walk over the string's blocks. Measured with `steady.sh`
/// (BENCHMARKS.md, v62), all SigmaHQ rules over the real logs: walked
/// escape by escape (the next mark, then the byte after it, escaped
/// backslashes too) after a walk over the blocks (`string_at`, since
/// folded into this one) had found the closing quote, 46,366
/// instructions a line; each other escape checked where the marks place
/// it, 44,972; in one walk, 44,341, and process_creation over the
/// generated mix 8,441 → 8,415. Out of line, the walk cost the generated
/// mix's paths a call each (8,485).
#[inline(always)]
fn string_end_by_escapes(
    raw: &[u8],
    open: usize,
    specials: &SpecialBytes,
) -> Option<(usize, Escapes)> {
    let mut escapes = Escapes {
        any: true,
        ..Escapes::default()
    };
    // Escapes before this index are inside a `\u` escape already read (the
    // second `\u` of a surrogate pair).
    let mut read_to = 0;
    let close = specials.string_escapes(open, |at| {
        if at < read_to {
            return Some(());
        }
        match raw.get(at)? {
            b'b' | b'f' | b'n' | b'r' | b't' => {}
            b'/' => escapes.hiding = true,
            b'u' => {
                escapes.hiding = true;
                read_to = unicode_escape(raw, at - 1)?.1;
            }
            _ => return None,
        }
        Some(())
    })?;
    Some((close + 1, escapes))
}

/// The character of the `\u` escape at `at` (with its trailing surrogate
/// when it is a leading one) and the index after it, as serde_json reads
/// it in a string; `None` where serde_json refuses it (a lone surrogate, a
/// malformed escape). The strict pass checks escapes with it; the scanner
/// decodes them with it (`engine/unescaped.rs`).
#[cold]
pub(crate) fn unicode_escape(raw: &[u8], at: usize) -> Option<(char, usize)> {
    let unit = |at: usize| -> Option<u32> {
        if raw.get(at..at + 2)? != b"\\u" {
            return None;
        }
        raw.get(at + 2..at + 6)?.iter().try_fold(0u32, |value, &b| {
            let digit = char::from(b).to_digit(16)?;
            Some(value * 16 + digit)
        })
    };
    match unit(at)? {
        0xDC00..=0xDFFF => None,
        high @ 0xD800..=0xDBFF => {
            let low = unit(at + 6).filter(|low| (0xDC00..=0xDFFF).contains(low))?;
            let c = char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?;
            Some((c, at + 12))
        }
        scalar => Some((char::from_u32(scalar)?, at + 6)),
    }
}

/// Walks a JSON string body (inside the quotes): each run of text between
/// escapes, by its range, with the byte the one-character escape after it
/// stands for (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`; `None` after
/// the last run); `None` for a `\u` escape (which callers leave to
/// serde_json) or an invalid one.
fn decode_runs(body: &[u8], mut each: impl FnMut(Range<usize>, Option<u8>)) -> Option<()> {
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\\', body.get(at..)?) {
        let escape = at + i;
        let byte = match body.get(escape + 1)? {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            _ => return None,
        };
        each(at..escape, Some(byte));
        at = escape + 2;
    }
    each(at..body.len(), None);
    Some(())
}

/// Appends the text of a JSON string body to `out` ([`decode_runs`]).
pub(crate) fn unescape_into(body: &[u8], out: &mut Vec<u8>) -> Option<()> {
    decode_runs(body, |run, escaped| {
        out.extend_from_slice(body.get(run).unwrap_or_default());
        out.extend(escaped);
    })
}

/// The text of a JSON string body ([`decode_runs`]), built from the body's
/// own text between escapes (each escape is ASCII, so the runs are whole
/// characters and need no second UTF-8 check).
pub(crate) fn unescape_str(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    unescape_str_into(body, &mut out)?;
    Some(out)
}

/// [`unescape_str`], appended to `out` (whose allocation a refilled value
/// reuses).
pub(crate) fn unescape_str_into(body: &str, out: &mut String) -> Option<()> {
    out.reserve(body.len());
    decode_runs(body.as_bytes(), |run, escaped| {
        out.push_str(body.get(run).unwrap_or_default());
        out.extend(escaped.map(char::from));
    })
}

/// The index of the first byte from `from` on that is not an ASCII digit
/// (or the line's end): eight bytes a step, as one word. Digit by digit,
/// the integers of a generated event's flat pass (event ids, record ids,
/// process ids) took ~7 instructions a digit.
#[inline(always)]
pub(crate) fn digits_end(raw: &[u8], from: usize) -> usize {
    const LOW: u64 = u64::from_ne_bytes([b'0'; 8]);
    const PAST_NINE: u64 = u64::from_ne_bytes([0x76; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut end = from;
    while let Some(chunk) = raw.get(end..).and_then(|rest| rest.first_chunk::<8>()) {
        // Each byte less `'0'` (as a xor: a digit's byte is 0-9 after it,
        // any other byte 10 or more). Its high bit is then set when the
        // byte was not a digit, in the byte's own place or its sum with
        // 0x76; a sum carries into the next byte only from a byte that
        // was not a digit, so the lowest byte flagged is the first one
        // that is not.
        let x = u64::from_le_bytes(*chunk) ^ LOW;
        let others = (x.wrapping_add(PAST_NINE) | x) & HIGH;
        if others != 0 {
            return end + (others.trailing_zeros() / 8) as usize;
        }
        end += 8;
    }
    while raw.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    end
}

/// The end of a number starting at `at`
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), and whether the
/// token reads as another text than its bytes ([`is_rewritten_number`]),
/// told from its parts as they are read; `None` also for a number beyond
/// `f64`'s range, which serde_json refuses. The range check costs the
/// common tokens two compares: an `all SigmaHQ` line of the real logs
/// ~60 instructions of ~47,000 (callgrind, `steady.sh`), where calling
/// a check for each rewritten token cost ~530.
#[inline(always)]
pub(crate) fn number_token(raw: &[u8], mut at: usize) -> Option<(usize, bool)> {
    let digits = |at: usize| digits_end(raw, at);
    let negative = raw.get(at) == Some(&b'-');
    if negative {
        at += 1;
    }
    let integer = at;
    match raw.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at = digits(at),
        _ => return None,
    }
    // A token that may lie past `f64`'s range, ending at `end` (rewritten:
    // an exponent or more than 18 digits), as serde_json reads it.
    let range_checked = |end: usize| {
        let token = raw.get(integer - usize::from(negative)..end)?;
        in_range(token).then_some((end, true))
    };
    // Past 18 digits, or `-0`.
    let integer_digits = at - integer;
    let mut rewritten = integer_digits > 18 || (negative && raw.get(integer) == Some(&b'0'));
    if raw.get(at) == Some(&b'.') {
        if !raw.get(at + 1)?.is_ascii_digit() {
            return None;
        }
        at = digits(at + 1);
        rewritten = true;
    }
    if matches!(raw.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(raw.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !raw.get(at)?.is_ascii_digit() {
            return None;
        }
        let exponent = at;
        at = digits(at);
        rewritten = true;
        if at - exponent > 2 {
            return range_checked(at);
        }
    }
    // Below 10^(200 + 99), whatever its fraction and exponent of two digits.
    if integer_digits > MAX_PLAIN_INTEGER_DIGITS {
        return range_checked(at);
    }
    Some((at, rewritten))
}

/// The most digits of a number's integer part that need no range check
/// when its exponent has at most two digits: such a number is below
/// 10^299, in `f64`'s range.
pub(crate) const MAX_PLAIN_INTEGER_DIGITS: usize = 200;

/// Whether serde_json reads a number token that could lie past `f64`'s
/// range as a number: `1e400` is an error there ("number out of range"),
/// so a line holding one is not an event to the reference, wherever it
/// lies. Rare: a long exponent or integer part.
#[cold]
fn in_range(token: &[u8]) -> bool {
    serde_json::from_slice::<f64>(token).is_ok()
}

/// Whether a line may hold a number beyond `f64`'s range: a digit followed
/// by an exponent of three digits or more, or more than
/// [`MAX_PLAIN_INTEGER_DIGITS`] digits in a row, in a string or not (so a
/// no is sure, a yes only possible). For the lines the strict pass leaves
/// to serde_json, whose skipping parser does not check number ranges.
pub(crate) fn may_hold_a_number_beyond_range(raw: &[u8]) -> bool {
    let mut digits = 0usize;
    for (at, &byte) in raw.iter().enumerate() {
        if byte.is_ascii_digit() {
            digits += 1;
            if digits > MAX_PLAIN_INTEGER_DIGITS {
                return true;
            }
            continue;
        }
        if matches!(byte, b'e' | b'E') && digits > 0 {
            let rest = raw.get(at + 1..).unwrap_or_default();
            let rest = rest
                .strip_prefix(b"+")
                .or(rest.strip_prefix(b"-"))
                .unwrap_or(rest);
            if rest
                .get(..3)
                .is_some_and(|e| e.iter().all(u8::is_ascii_digit))
            {
                return true;
            }
        }
        digits = 0;
    }
    false
}

/// The end of `true`, `false` or `null` starting at `at`.
pub(crate) fn word_end(raw: &[u8], at: usize) -> Option<usize> {
    let word: &[u8] = match raw.get(at)? {
        b't' => b"true",
        b'f' => b"false",
        b'n' => b"null",
        _ => return None,
    };
    let end = at + word.len();
    (raw.get(at..end)? == word).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::digits_end;
    use crate::test_rng::TestRng;

    /// The first byte from `from` on that is not a digit, byte by byte.
    fn naive_digits_end(raw: &[u8], from: usize) -> usize {
        (from..raw.len())
            .find(|&i| !raw[i].is_ascii_digit())
            .unwrap_or(raw.len())
    }

    #[test]
    fn digits_end_where_the_first_other_byte_is() {
        // Every byte value after runs of every length up to past two
        // words, at every offset, near the end and far from it.
        for other in 0..=255u8 {
            for run in 0..20 {
                for tail in 0..10 {
                    let mut raw = vec![b'7'; run];
                    raw.push(other);
                    raw.extend(std::iter::repeat_n(b'5', tail));
                    for from in 0..=raw.len() {
                        assert_eq!(
                            digits_end(&raw, from),
                            naive_digits_end(&raw, from),
                            "{raw:?} {from}"
                        );
                    }
                }
            }
        }
        let mut rng = TestRng::new(17);
        for _ in 0..20_000 {
            let len = rng.below(40);
            let raw: Vec<u8> = (0..len)
                .map(|_| match rng.below(4) {
                    0 => rng.below(256) as u8,
                    _ => b'0' + rng.below(10) as u8,
                })
                .collect();
            for from in 0..=raw.len() {
                assert_eq!(
                    digits_end(&raw, from),
                    naive_digits_end(&raw, from),
                    "{raw:?} {from}"
                );
            }
        }
    }

    #[test]
    fn strings_decode_as_serde_json_decodes_them() {
        let bodies = [
            r#"plain"#,
            r#"C:\\Windows\\System32\\cmd.exe"#,
            r#"\"quoted\" \/ \b\f\n\r\t é\\"#,
            r#"\\"#,
            r#"ends with é"#,
            r#""#,
        ];
        for body in bodies {
            let expected: String = serde_json::from_str(&format!("\"{body}\"")).unwrap();
            assert_eq!(
                super::unescape_str(body).as_deref(),
                Some(expected.as_str()),
                "{body}"
            );
            let mut bytes = Vec::new();
            super::unescape_into(body.as_bytes(), &mut bytes).unwrap();
            assert_eq!(bytes, expected.as_bytes());
        }
        // Escapes this decoding leaves to serde_json, and broken ones.
        for body in [r#"\u0041"#, r#"\x"#, r#"ends\"#] {
            assert_eq!(super::unescape_str(body), None, "{body}");
        }
    }

    #[test]
    fn number_tokens_end_and_tell_rewriting_as_their_bytes_do() {
        let grammar = |t: &str| {
            let n = t.strip_prefix('-').unwrap_or(t);
            // A leading zero is the whole integer part.
            let int_len = match n.find(|c: char| !c.is_ascii_digit()).unwrap_or(n.len()) {
                k if n.starts_with('0') => k.min(1),
                k => k,
            };
            let (int, rest) = n.split_at(int_len);
            let int_ok = !int.is_empty();
            let rest = match rest.strip_prefix('.') {
                Some(f) => {
                    let k = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
                    if k == 0 {
                        return None;
                    }
                    &f[k..]
                }
                None => rest,
            };
            let rest = match rest.strip_prefix(['e', 'E']) {
                Some(e) => {
                    let e = e.strip_prefix(['+', '-']).unwrap_or(e);
                    let k = e.find(|c: char| !c.is_ascii_digit()).unwrap_or(e.len());
                    if k == 0 {
                        return None;
                    }
                    &e[k..]
                }
                None => rest,
            };
            int_ok.then_some(t.len() - rest.len())
        };
        let parts = [
            "",
            "-",
            "0",
            "00",
            "7",
            "10",
            "1234567890",
            "123456789012345678",
            "9",
        ];
        let tails = [
            "", ".", ".5", ".05", "e", "e3", "E+2", "e-07", ".5e1", ",", "}", " ", "x",
        ];
        for a in parts {
            for b in parts {
                for tail in tails {
                    let token = format!("{a}{b}{tail}");
                    let raw = format!(" {token}");
                    let got = super::number_token(raw.as_bytes(), 1);
                    let want = grammar(&token).map(|len| {
                        let bytes = &raw.as_bytes()[1..1 + len];
                        (1 + len, super::is_rewritten_number(bytes))
                    });
                    assert_eq!(got, want, "{token:?}");
                }
            }
        }
    }

    #[test]
    fn numbers_beyond_float_range_are_refused_as_serde_json_refuses_them() {
        let long = |digits: usize| format!("1{}", "0".repeat(digits - 1));
        let tokens = [
            "1e400".to_string(),
            "1E308".to_string(),
            "1e309".to_string(),
            "-1e309".to_string(),
            "17.976931348623157e307".to_string(),
            "1000000000E000300".to_string(),
            "1e007".to_string(),
            "0e999".to_string(),
            "0.0e99999".to_string(),
            "1e-999".to_string(),
            "1.5e99".to_string(),
            long(201) + "e99",
            long(210) + "e99",
            long(201) + ".5e9",
            long(308),
            long(309),
            long(310),
            long(310) + ".5",
            "-".to_string() + &long(400),
        ];
        for token in tokens {
            let line = format!("[{token}]");
            let serde = serde_json::from_str::<serde_json::Value>(&line).is_ok();
            let got = super::number_token(line.as_bytes(), 1);
            assert_eq!(got.is_some(), serde, "{token}");
            if let Some((end, _)) = got {
                assert_eq!(end, 1 + token.len(), "{token}");
            }
            // The line-wide check says yes wherever serde_json says no.
            assert!(
                serde || super::may_hold_a_number_beyond_range(line.as_bytes()),
                "{token}"
            );
        }
    }

    #[test]
    fn a_line_may_hold_a_number_beyond_range_only_with_a_long_exponent_or_run_of_digits() {
        let digits = |n: usize| "7".repeat(n);
        for (line, may) in [
            (
                "{\"a\":1e99,\"b\":\"e123\",\"c\":12.5E-07}".to_string(),
                false,
            ),
            (format!("{{\"a\":{}}}", digits(200)), false),
            (format!("{{\"a\":\"{}\"}}", digits(201)), true),
            ("{\"a\":1e100}".to_string(), true),
            ("{\"a\":1.0E+100}".to_string(), true),
            ("{\"a\":2e-100}".to_string(), true),
            ("{\"hash\":\"0a1e123f\"}".to_string(), true),
            ("{\"a\":1e10}".to_string(), false),
        ] {
            assert_eq!(
                super::may_hold_a_number_beyond_range(line.as_bytes()),
                may,
                "{line}"
            );
        }
    }

    /// The walk [`super::string_end_by_escapes`] replaced: the next mark,
    /// then the byte after a backslash, escape by escape.
    fn string_end_escape_by_escape(raw: &[u8], open: usize) -> Option<(usize, bool)> {
        let (mut k, mut hiding) = (open + 1, false);
        loop {
            match *raw.get(k)? {
                b'"' => return Some((k + 1, hiding)),
                b'\\' => match raw.get(k + 1)? {
                    b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => k += 2,
                    b'/' => (hiding, k) = (true, k + 2),
                    b'u' => (hiding, k) = (true, super::unicode_escape(raw, k)?.1),
                    _ => return None,
                },
                _ => k += 1,
            }
        }
    }

    /// Pieces of string bodies: text, every escape (of quotes and
    /// backslashes, of lines, `\/`, `\u` single and paired), and broken
    /// ones (unknown, short `\u`, lone surrogates, a backslash at the end).
    const PIECES: &[&str] = &[
        "a",
        "path",
        "é",
        "\\\\",
        "\\\"",
        "\\n",
        "\\r\\n",
        "\\t",
        "\\b",
        "\\f",
        "\\/",
        "\\u0041",
        "\\u00e9",
        "\\uD83D\\uDE00",
        "\\uD83D",
        "\\uDE00",
        "\\uD83Dx",
        "\\u12",
        "\\x",
        "\\\\\\",
        "\\u\\",
        "\\",
    ];

    /// Each escape (and broken one) at every place of a block of 64 bytes,
    /// a block's last byte and the next one's first included.
    #[test]
    fn every_escape_at_every_place_of_a_block_is_read_as_escape_by_escape() {
        let mut specials = crate::special_bytes::SpecialBytes::default();
        for piece in PIECES {
            for text in 0..130 {
                let raw = format!("\"{}{piece}\",1", "x".repeat(text));
                specials.mark(raw.as_bytes());
                let found = super::string_end(raw.as_bytes(), 0, &specials);
                assert_eq!(
                    found.map(|(end, e)| (end, e.hiding)),
                    string_end_escape_by_escape(raw.as_bytes(), 0),
                    "{raw}"
                );
            }
        }
    }

    proptest::proptest! {
        /// A string's end and its escapes, where the marks place them, are
        /// those of the walk escape by escape and of serde_json, whatever
        /// the escapes and wherever the blocks of 64 bytes cut them.
        #[test]
        fn strings_with_escapes_end_as_read_escape_by_escape(
            lead in 0usize..130,
            pieces in proptest::collection::vec(0..PIECES.len(), 0..60),
            close in proptest::bool::ANY,
        ) {
            let mut raw = " ".repeat(lead).into_bytes();
            raw.push(b'"');
            for &p in &pieces {
                raw.extend_from_slice(PIECES[p].as_bytes());
            }
            if close {
                raw.extend_from_slice(b"\",\"rest\"");
            }
            let mut specials = crate::special_bytes::SpecialBytes::default();
            specials.mark(&raw);
            let found = super::string_end(&raw, lead, &specials);
            let walked = string_end_escape_by_escape(&raw, lead);
            proptest::prop_assert_eq!(found.map(|(end, e)| (end, e.hiding)), walked);
            if let Some((end, escapes)) = found {
                let body = &raw[lead + 1..end - 1];
                proptest::prop_assert_eq!(escapes.any, body.contains(&b'\\'));
                let token = std::str::from_utf8(&raw[lead..end]).unwrap_or_default();
                proptest::prop_assert!(serde_json::from_str::<String>(token).is_ok(), "{}", token);
            } else if close {
                let text = String::from_utf8_lossy(&raw[lead..]).into_owned();
                let token = text.split_inclusive("\",").next().unwrap_or_default();
                proptest::prop_assert!(serde_json::from_str::<String>(token.trim_end_matches(',')).is_err(), "{}", token);
            }
        }
    }
}
