//! The tokens of JSON as strictly as serde_json reads them, for the strict
//! pass of [`crate::members::MemberIndex::build`] (the fast path in front
//! of serde_json for stage 2's validation and partial parse).
//!
//! A line the strict pass accepts is one serde_json accepts as one object
//! (skipping parse: number ranges unchecked, as in
//! [`crate::partial::validate_event`]). It refuses well-formed lines it
//! does not judge: a byte below 0x20 anywhere (so whitespace between tokens
//! is spaces only), a `\u` escape (surrogates), invalid UTF-8, nesting deeper
//! than [`MAX_DEPTH`]. Those go to serde_json, which gives the verdict and
//! the error message, so the fast path never changes what is accepted or
//! how a rejection reads; it only skips serde_json's walk of the members no
//! candidate reads.

use std::ops::Range;

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
    /// A `\/` escape (a literal `/` could hide behind it).
    pub(crate) slash: bool,
}

/// The end of a string whose opening quote is at `open` (the index after
/// its closing quote), and the escapes it holds; `None` for an
/// unterminated string, a control character or an escape this check does
/// not judge (`\u`) or that is invalid.
pub(crate) fn string_end(raw: &[u8], open: usize) -> Option<(usize, Escapes)> {
    let mut k = open + 1;
    let mut escapes = Escapes::default();
    loop {
        k = next_special(raw, k);
        match *raw.get(k)? {
            b'"' => return Some((k + 1, escapes)),
            b'\\' => {
                match raw.get(k + 1)? {
                    b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'/' => escapes.slash = true,
                    _ => return None,
                }
                escapes.any = true;
                k += 2;
            }
            _ => return None,
        }
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
    decode_runs(body.as_bytes(), |run, escaped| {
        out.push_str(body.get(run).unwrap_or_default());
        out.extend(escaped.map(char::from));
    })?;
    Some(out)
}

/// The end of a number starting at `at`:
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub(crate) fn number_end(raw: &[u8], mut at: usize) -> Option<usize> {
    let digits = |mut at: usize| {
        while raw.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        at
    };
    if raw.get(at) == Some(&b'-') {
        at += 1;
    }
    match raw.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at = digits(at),
        _ => return None,
    }
    if raw.get(at) == Some(&b'.') {
        if !raw.get(at + 1)?.is_ascii_digit() {
            return None;
        }
        at = digits(at + 1);
    }
    if matches!(raw.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(raw.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !raw.get(at)?.is_ascii_digit() {
            return None;
        }
        at = digits(at);
    }
    Some(at)
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

/// The index of the first byte from `from` that a string cannot hold
/// plainly (a quote, a backslash, a control character), or `raw.len()`.
/// Eight bytes at a time: most strings of an event are short.
fn next_special(raw: &[u8], mut from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = raw.get(from..from + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let quote = v ^ (ONES * u64::from(b'"'));
        let backslash = v ^ (ONES * u64::from(b'\\'));
        // A byte is zero in `x` iff (x - 1) borrows into its high bit while
        // its own high bit is clear; below 0x20 likewise for `v - 0x20`.
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
        let special = zero(quote) | zero(backslash) | (v.wrapping_sub(ONES * 0x20) & !v & HIGHS);
        if special != 0 {
            // A borrow can mark bytes above a special one, never below:
            // the lowest mark is the first special byte.
            return from + (special.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while let Some(&b) = raw.get(from) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return from;
        }
        from += 1;
    }
    raw.len()
}

#[cfg(test)]
mod tests {
    use super::next_special;

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
    fn the_first_special_byte_is_found_wherever_it_lies_in_a_word() {
        // Bytes next to the special ones in value (a space is 0x20, `!`
        // 0x21, `#` 0x23, `]` 0x5d) and non-ASCII ones.
        let fillers = [b'a', b' ', b'!', b'#', b']', 0xc3, 0xff, 0x7f];
        let specials = [b'"', b'\\', 0x00, 0x01, 0x1f];
        for len in 0..24 {
            for at in 0..len {
                for &special in &specials {
                    for &filler in &fillers {
                        let mut raw = vec![filler; len];
                        raw[at] = special;
                        // A second special byte after the first changes nothing.
                        if at + 1 < len {
                            raw[at + 1] = specials[(at + 1) % specials.len()];
                        }
                        for from in 0..=at {
                            let naive = (from..len)
                                .find(|&i| matches!(raw[i], b'"' | b'\\' | 0..=0x1f))
                                .unwrap_or(len);
                            assert_eq!(next_special(&raw, from), naive, "{raw:?} from {from}");
                        }
                    }
                }
            }
            assert_eq!(next_special(&vec![b'a'; len], 0), len);
        }
    }
}
