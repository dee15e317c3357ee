//! Which object member each scalar of a raw JSON event belongs to, without
//! parsing the event into values.
//!
//! Stage 1 finds witness literals anywhere in an event's raw bytes; a
//! field-scoped witness only counts inside a value of the member its field is
//! read from. [`MemberIndex::build`] lexes an event once (no allocation in
//! steady state) into the spans of its scalar tokens (strings, numbers,
//! `true`/`false`/`null`), each with the name of the member that holds it: a
//! scalar inside an array belongs to the member holding the array, so
//! `"Tags": ["a", "b"]` gives both strings the member `Tags`.
//!
//! The index is only an aid to stage 1: when the bytes are not well-formed
//! JSON, [`MemberIndex::build`] returns `false` and the caller treats every
//! hit as counting (stage 2 then rejects the line as before).

/// No member (a scalar at the top level, or inside a top-level array).
const NO_KEY: (u32, u32) = (u32::MAX, u32::MAX);

/// One scalar token: its byte range and the byte range of its member name
/// (inside the quotes, still JSON-escaped).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
    key: (u32, u32),
}

/// The scalar spans of one raw event (reused from event to event).
#[derive(Debug, Default)]
pub struct MemberIndex {
    spans: Vec<Span>,
    /// Names (byte ranges) of the members that hold an object or an array.
    containers: Vec<(u32, u32)>,
    /// Open containers: the member name their scalars belong to.
    stack: Vec<Container>,
}

#[derive(Debug, Clone, Copy)]
struct Container {
    array: bool,
    key: (u32, u32),
}

/// Where a literal found in the raw bytes lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// Inside a scalar held by this member (the name as written, JSON-escaped).
    Member(&'a [u8]),
    /// Inside a scalar with no member (top level).
    Unnamed,
    /// Not inside a scalar (a member name, punctuation) or straddling tokens.
    Outside,
}

impl MemberIndex {
    /// Lexes `raw`; false when it is not well-formed enough to index (too
    /// large for 32-bit offsets, unbalanced brackets, an unterminated string).
    pub fn build(&mut self, raw: &[u8]) -> bool {
        self.spans.clear();
        self.containers.clear();
        self.stack.clear();
        if raw.len() >= u32::MAX as usize {
            return false;
        }
        let mut i = 0usize;
        while i < raw.len() {
            match raw[i] {
                b'"' => {
                    let Some(end) = string_end(raw, i + 1) else {
                        return false;
                    };
                    let body = (i as u32 + 1, end as u32);
                    let mut j = end + 1;
                    while j < raw.len() && raw[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    let is_key =
                        raw.get(j) == Some(&b':') && self.stack.last().is_some_and(|c| !c.array);
                    if is_key {
                        if let Some(top) = self.stack.last_mut() {
                            top.key = body;
                        }
                        i = j + 1;
                    } else {
                        self.push_scalar(i as u32, end as u32 + 1);
                        i = end + 1;
                    }
                }
                b'{' => {
                    self.note_container();
                    self.stack.push(Container {
                        array: false,
                        key: NO_KEY,
                    });
                    i += 1;
                }
                b'[' => {
                    self.note_container();
                    let key = self.stack.last().map_or(NO_KEY, |c| c.key);
                    self.stack.push(Container { array: true, key });
                    i += 1;
                }
                b'}' | b']' => {
                    let want_array = raw[i] == b']';
                    match self.stack.pop() {
                        Some(c) if c.array == want_array => {}
                        _ => return false,
                    }
                    i += 1;
                }
                b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                _ => {
                    let start = i;
                    while i < raw.len()
                        && !matches!(
                            raw[i],
                            b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b':'
                        )
                    {
                        i += 1;
                    }
                    self.push_scalar(start as u32, i as u32);
                }
            }
        }
        self.stack.is_empty()
    }

    /// A container opens: it is the value of the enclosing object's member.
    fn note_container(&mut self) {
        if let Some(top) = self.stack.last() {
            if !top.array && top.key != NO_KEY {
                self.containers.push(top.key);
            }
        }
    }

    fn push_scalar(&mut self, start: u32, end: u32) {
        let key = self.stack.last().map_or(NO_KEY, |c| c.key);
        self.spans.push(Span { start, end, key });
    }

    /// Scalar spans of the last indexed event.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the last indexed event has no scalar.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The index of the scalar span holding all of `start..end`, if one does.
    pub fn span_of(&self, start: usize, end: usize) -> Option<usize> {
        let idx = self.spans.partition_point(|s| (s.start as usize) <= start);
        let k = idx.checked_sub(1)?;
        (end <= self.spans.get(k)?.end as usize).then_some(k)
    }

    /// The name (as written) of the member holding span `k`; `None` for a
    /// scalar without a member.
    pub fn span_name<'r>(&self, raw: &'r [u8], k: usize) -> Option<&'r [u8]> {
        let span = self.spans.get(k)?;
        if span.key == NO_KEY {
            return None;
        }
        raw.get(span.key.0 as usize..span.key.1 as usize)
    }

    /// Where the bytes `start..end` of the last indexed event lie.
    pub fn place<'r>(&self, raw: &'r [u8], start: usize, end: usize) -> Place<'r> {
        let Some(k) = self.span_of(start, end) else {
            return Place::Outside;
        };
        if self.spans[k].key == NO_KEY {
            return Place::Unnamed;
        }
        self.span_name(raw, k).map_or(Place::Outside, Place::Member)
    }
}

impl MemberIndex {
    /// Every scalar of the last indexed event held by a member: the member
    /// name as written, and the byte range of the raw token (strings with
    /// their quotes).
    pub fn named_scalars<'r>(
        &'r self,
        raw: &'r [u8],
    ) -> impl Iterator<Item = (&'r [u8], u32, u32)> + 'r {
        self.spans.iter().filter_map(move |span| {
            let name = raw.get(span.key.0 as usize..span.key.1 as usize)?;
            Some((name, span.start, span.end))
        })
    }

    /// The names (as written) of the members holding an object or an array.
    pub fn container_names<'r>(&'r self, raw: &'r [u8]) -> impl Iterator<Item = &'r [u8]> + 'r {
        self.containers
            .iter()
            .filter_map(move |&(start, end)| raw.get(start as usize..end as usize))
    }
}

/// The index of the closing quote of a string whose body starts at `from`.
fn string_end(raw: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let k = from + memchr::memchr2(b'"', b'\\', raw.get(from..)?)?;
        if raw[k] == b'"' {
            return Some(k);
        }
        from = k + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let named: Vec<(&[u8], &[u8])> = x
            .named_scalars(bytes)
            .map(|(name, start, end)| (name, &bytes[start as usize..end as usize]))
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
}
