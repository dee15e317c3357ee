//! The lenient pass of the member index: for lines the strict pass does
//! not judge, the same spans with nothing but balanced brackets and
//! terminated strings checked (stage 2 then parses them with serde_json).

use super::{Container, MemberIndex, Span, NO_KEY, NO_PARENT};

impl MemberIndex {
    /// The lenient pass: brackets balanced and strings terminated, nothing
    /// else checked.
    pub(super) fn build_lenient(&mut self, raw: &[u8]) -> bool {
        self.flat_spans = false;
        self.spans.clear();
        self.containers.clear();
        self.stack.clear();
        let mut i = 0usize;
        while i < raw.len() {
            match raw[i] {
                b'"' => {
                    let Some(end) = lenient_string_end(raw, i + 1) else {
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
                        open: NO_PARENT,
                    });
                    i += 1;
                }
                b'[' => {
                    self.note_container();
                    let key = self.stack.last().map_or(NO_KEY, |c| c.key);
                    self.stack.push(Container {
                        array: true,
                        key,
                        open: NO_PARENT,
                    });
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
}

/// The index of the closing quote of a string whose body starts at `from`.
pub(super) fn lenient_string_end(raw: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let k = from + memchr::memchr2(b'"', b'\\', raw.get(from..)?)?;
        if raw[k] == b'"' {
            return Some(k);
        }
        from = k + 2;
    }
}
