//! A one-pass strict check of a JSON object line, listing its top-level
//! members: the fast path in front of serde_json for stage 2's validation
//! and partial parse.
//!
//! [`check_object`] says yes only for lines serde_json accepts as one object
//! (skipping parse: number ranges unchecked, as in
//! [`crate::partial::validate_event`]); it says no to well-formed lines it
//! does not judge: a byte below 0x20 anywhere (so whitespace between tokens
//! is spaces only), a `\u` escape (surrogates), invalid UTF-8, nesting deeper
//! than [`MAX_DEPTH`]. A no sends the caller to serde_json, which gives the
//! verdict and the error message, so the check never changes what is
//! accepted or how a rejection reads; it only skips serde_json's walk of the
//! members no candidate reads.

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

/// The line as text when it is certainly one valid JSON object (surrounded
/// by spaces at most); `members` then lists its top-level members in order
/// (when given). `None` also for valid lines this check does not judge (see
/// the module documentation).
pub(crate) fn check_object<'r>(
    raw: &'r [u8],
    members: Option<&mut Vec<TopMember>>,
) -> Option<&'r str> {
    let text = simdutf8::basic::from_utf8(raw).ok()?;
    (raw.len() < u32::MAX as usize && lex_object(raw, members)).then_some(text)
}

fn lex_object(raw: &[u8], mut members: Option<&mut Vec<TopMember>>) -> bool {
    if let Some(m) = members.as_deref_mut() {
        m.clear();
    }
    let mut lex = Lexer { raw, at: 0 };
    lex.spaces();
    if !lex.eat(b'{') {
        return false;
    }
    lex.spaces();
    if !lex.eat(b'}') {
        loop {
            if lex.peek() != Some(b'"') {
                return false;
            }
            let name_start = lex.at + 1;
            let Some(name_escaped) = lex.string() else {
                return false;
            };
            let name = (name_start as u32, (lex.at - 1) as u32);
            lex.spaces();
            if !lex.eat(b':') {
                return false;
            }
            lex.spaces();
            let value_start = lex.at;
            let plain_string = match lex.value(1) {
                Some(Kind::PlainString) => true,
                Some(Kind::Other) => false,
                None => return false,
            };
            if let Some(m) = members.as_deref_mut() {
                m.push(TopMember {
                    name,
                    name_escaped,
                    value: (value_start as u32, lex.at as u32),
                    plain_string,
                });
            }
            lex.spaces();
            if lex.eat(b',') {
                lex.spaces();
                continue;
            }
            if lex.eat(b'}') {
                break;
            }
            return false;
        }
    }
    lex.spaces();
    lex.at == raw.len()
}

enum Kind {
    PlainString,
    Other,
}

struct Lexer<'r> {
    raw: &'r [u8],
    at: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.raw.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        self.at += usize::from(hit);
        hit
    }

    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// A value starting here (`depth`: containers open around it).
    fn value(&mut self, depth: usize) -> Option<Kind> {
        match self.peek()? {
            b'"' => {
                let escaped = self.string()?;
                Some(if escaped {
                    Kind::Other
                } else {
                    Kind::PlainString
                })
            }
            b'{' if depth < MAX_DEPTH => {
                self.at += 1;
                self.spaces();
                if self.eat(b'}') {
                    return Some(Kind::Other);
                }
                loop {
                    if self.peek() != Some(b'"') {
                        return None;
                    }
                    self.string()?;
                    self.spaces();
                    if !self.eat(b':') {
                        return None;
                    }
                    self.spaces();
                    self.value(depth + 1)?;
                    self.spaces();
                    if self.eat(b'}') {
                        return Some(Kind::Other);
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                    self.spaces();
                }
            }
            b'[' if depth < MAX_DEPTH => {
                self.at += 1;
                self.spaces();
                if self.eat(b']') {
                    return Some(Kind::Other);
                }
                loop {
                    self.value(depth + 1)?;
                    self.spaces();
                    if self.eat(b']') {
                        return Some(Kind::Other);
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                    self.spaces();
                }
            }
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn word(&mut self, word: &[u8]) -> Option<Kind> {
        let end = self.at + word.len();
        (self.raw.get(self.at..end)? == word).then(|| {
            self.at = end;
            Kind::Other
        })
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<Kind> {
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.') {
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        Some(Kind::Other)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// A string starting at its opening quote; after it, whether it held an
    /// escape. `None` for a control character or a `\u` escape inside.
    fn string(&mut self) -> Option<bool> {
        let raw = self.raw;
        let mut k = self.at + 1;
        let mut escaped = false;
        loop {
            k = next_special(raw, k);
            match *raw.get(k)? {
                b'"' => {
                    self.at = k + 1;
                    return Some(escaped);
                }
                b'\\' => {
                    if !matches!(
                        raw.get(k + 1)?,
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't'
                    ) {
                        return None;
                    }
                    escaped = true;
                    k += 2;
                }
                _ => return None,
            }
        }
    }
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
            break;
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
    use super::*;

    fn serde_accepts(raw: &[u8]) -> bool {
        raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
            && serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_ok()
    }

    #[test]
    fn accepts_objects_and_lists_top_level_members() {
        let raw = br#" {"A": "x", "B\"c": [1, -0.5e+3, {"d": null}], "E": "a\\b", "F": true} "#;
        let mut members = Vec::new();
        assert!(check_object(raw, Some(&mut members)).is_some());
        let text = |(a, b): (u32, u32)| &raw[a as usize..b as usize];
        let seen: Vec<(&[u8], bool, &[u8], bool)> = members
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
            ]
        );
        assert!(check_object(b"{}", None).is_some());
        assert!(check_object(b"{\"a\":{}}", None).is_some());
    }

    #[test]
    fn refuses_what_serde_rejects_and_what_it_does_not_judge() {
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
            b"{\"a\":\"caf\xc3\x28\"}",
            // Valid, but left to serde_json.
            b"{\"a\":\t1}",
            b"{\"a\":\"\\u0041\"}",
            deep.as_bytes(),
        ] {
            assert!(
                check_object(bad, None).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn never_accepts_what_serde_rejects() {
        // Every prefix and every one-byte deletion of a valid line.
        let line: &[u8] =
            br#"{"a": "x\"y", "b": [1, 20, -3.5e-7, true, false, null, {"c": {}}], "d": 0}"#;
        assert!(check_object(line, None).is_some());
        for k in 0..line.len() {
            let prefix = &line[..k];
            assert!(check_object(prefix, None).is_none(), "{:?}", prefix);
            let mut cut = line.to_vec();
            cut.remove(k);
            if check_object(&cut, None).is_some() {
                assert!(serde_accepts(&cut), "{}", String::from_utf8_lossy(&cut));
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            "-?[0-9]{1,4}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{0,2})?",
            "0[0-9]{1,3}",
            "\"([a-zA-Z0-9 :,.{}\\[\\]é]|\\\\[\"\\\\/bfnrtqx])*\"",
            "(true|false|null|tru|nul|fals)",
            "\\[ ?(1|\"a\"|\\{\\}) ?(, ?(2|\\[\\]|\"b\"))? ?,? ?\\]",
            "\\{ ?(\"k\" ?: ?(1|\"v\"|\\[\\]))? ?,? ?\\}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// A yes is always serde_json's yes; on the lines it judges
        /// (spaces only, no `\u`), a no is serde_json's no.
        #[test]
        fn agrees_with_serde(
            members in proptest::collection::vec(("[a-z\"\\\\]{1,4}", token()), 0..5),
            sep in "(, ?|,,| |)",
            edit in proptest::option::of((any::<u8>(), 0usize..120, any::<bool>())),
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            let mut line = format!("{{{}}}", body.join(&sep)).into_bytes();
            if let Some((byte, at, insert)) = edit {
                if at < line.len() {
                    if insert { line.insert(at, byte) } else { line[at] = byte }
                }
            }
            let serde = serde_json::from_slice::<serde::de::IgnoredAny>(&line).is_ok()
                && line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            let judged = !line.iter().any(|&b| b < 0x20)
                && memchr::memmem::find(&line, b"\\u").is_none()
                && std::str::from_utf8(&line).is_ok();
            let mine = check_object(&line, None).is_some();
            let text = String::from_utf8_lossy(&line).into_owned();
            prop_assert!(!mine || serde, "accepted what serde rejects: {}", text);
            if judged {
                prop_assert_eq!(mine, serde, "{}", text);
            }
        }
    }
}
