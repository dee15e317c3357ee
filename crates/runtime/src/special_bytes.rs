//! Where the bytes that end a run of plain string text lie in a line,
//! marked for the whole line at once, sixteen bytes at a time.
//!
//! The strict lexing pass (`members/`) looks for the end of every string
//! of an event: its closing quote, or an escape on the way. One pass of
//! vector compares over the line marks every quote and backslash in a bit
//! set (one bit per byte); the next byte a string's scan stops at is then
//! the next set bit, found a word of 64 bytes at a time, instead of a scan
//! per string. The same pass tells whether the line is ASCII and whether
//! it holds a control byte (below 0x20) anywhere: the line's smallest and
//! largest bytes are kept in two vectors, one compare each per sixteen
//! bytes, told once at the end. A control byte is never where the strict
//! pass accepts it (raw in a string it is invalid JSON; between tokens the
//! pass takes only spaces), so a line holding one is left to the other
//! passes whole and its place is not needed. Vector code comes from the
//! `wide` crate (SSE2 on x86-64, portable code elsewhere): no `unsafe`
//! here.
//!
//! Measured (BENCHMARKS.md, "fast path v14"): lexing 100,000 generated
//! events took 458 ns per event with a word-at-a-time scan per string and
//! 367 ns with these marks. Marking quotes and escapes apart (so that a
//! string's end needs no byte read) took 444 ns: the extra masks and the
//! walk over the escapes cost more than they saved. Control bytes told by
//! the line's smallest byte instead of marked, and the blocks read as
//! arrays ("fast path v22"): about 45 instructions per 64 bytes, about 70
//! before.

use wide::u8x16;

/// The marks of one line (reused from line to line).
#[derive(Debug, Default)]
pub(crate) struct SpecialBytes {
    /// Bit `i % 64` of word `i / 64`: byte `i` is a quote or a backslash.
    words: Vec<u64>,
    /// The line's length: positions from it on are past the end.
    len: usize,
}

/// What marking a line told of its bytes besides the marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineBytes {
    /// Every byte is ASCII.
    pub(crate) ascii: bool,
    /// A byte is below 0x20 (a control byte: not marked).
    pub(crate) control: bool,
}

/// The marks of 64 bytes; their smallest and largest bytes folded into
/// `low` and `high`, per lane.
#[inline(always)]
fn mark64(block: &[u8; 64], low: &mut u8x16, high: &mut u8x16) -> u64 {
    let (chunks, _) = block.as_chunks::<16>();
    let mut word = 0u64;
    for (k, &chunk) in chunks.iter().enumerate() {
        let v = u8x16::from(chunk);
        *low = low.min(v);
        *high = high.max(v);
        let quote = v.simd_eq(u8x16::splat(b'"'));
        let backslash = v.simd_eq(u8x16::splat(b'\\'));
        word |= u64::from((quote | backslash).to_bitmask()) << (16 * k);
    }
    word
}

impl SpecialBytes {
    /// Marks the quotes and backslashes of `raw`; whether it is all ASCII
    /// and whether it holds a control byte.
    pub(crate) fn mark(&mut self, raw: &[u8]) -> LineBytes {
        self.words.clear();
        self.len = raw.len();
        // Spaces: neither control bytes nor outside ASCII.
        let (mut low, mut high) = (u8x16::splat(b' '), u8x16::splat(b' '));
        let (blocks, rest) = raw.as_chunks::<64>();
        self.words.extend(
            blocks
                .iter()
                .map(|block| mark64(block, &mut low, &mut high)),
        );
        if !rest.is_empty() {
            // Spaces after the end: not special either.
            let mut padded = [b' '; 64];
            padded[..rest.len()].copy_from_slice(rest);
            self.words.push(mark64(&padded, &mut low, &mut high));
        }
        // A lane below 0x20: the larger of it and 0x1f is 0x1f. A lane of
        // 0x80 or more: its top bit, which the bitmask gathers, is set.
        let control = low.max(u8x16::splat(0x1f)).simd_eq(u8x16::splat(0x1f));
        LineBytes {
            ascii: high.to_bitmask() == 0,
            control: control.to_bitmask() != 0,
        }
    }

    /// The first marked position at or after `from`, or the line's length.
    #[inline(always)]
    pub(crate) fn next(&self, from: usize) -> usize {
        let mut w = from / 64;
        let Some(&first) = self.words.get(w) else {
            return self.len;
        };
        let mut word = first & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                return w * 64 + word.trailing_zeros() as usize;
            }
            w += 1;
            match self.words.get(w) {
                Some(&next) => word = next,
                None => return self.len,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LineBytes, SpecialBytes};

    fn naive(raw: &[u8], from: usize) -> usize {
        (from..raw.len())
            .find(|&i| matches!(raw[i], b'"' | b'\\'))
            .unwrap_or(raw.len())
    }

    fn told(raw: &[u8]) -> LineBytes {
        LineBytes {
            ascii: raw.is_ascii(),
            control: raw.iter().any(|&b| b < 0x20),
        }
    }

    #[test]
    fn every_special_byte_is_found_wherever_it_lies() {
        // Bytes next to the special ones in value (a space is 0x20, `!`
        // 0x21, `#` 0x23, `]` 0x5d), non-ASCII ones, and control bytes,
        // which are told of but not marked.
        let fillers = [b'a', b' ', b'!', b'#', b']', 0xc3, 0xff, 0x7f, 0x80, 0x1f];
        let specials = [b'"', b'\\', 0x00, 0x01, 0x1f];
        let mut marks = SpecialBytes::default();
        for len in (0..140).step_by(7).chain([63, 64, 65, 127, 128, 129]) {
            for at in 0..len {
                for &special in &specials {
                    for &filler in &fillers {
                        let mut raw = vec![filler; len];
                        raw[at] = special;
                        // A second special byte after the first changes nothing.
                        if at + 3 < len {
                            raw[at + 3] = specials[(at + 3) % specials.len()];
                        }
                        assert_eq!(marks.mark(&raw), told(&raw), "{raw:?}");
                        for from in (0..=len).filter(|f| f % 5 == 0 || f.abs_diff(at) < 2) {
                            assert_eq!(marks.next(from), naive(&raw, from), "{raw:?} from {from}");
                        }
                    }
                }
            }
            let plain = marks.mark(&vec![b'a'; len]);
            assert!(plain.ascii && !plain.control);
            assert_eq!(marks.next(0), len);
        }
    }

    #[test]
    fn marks_belong_to_the_last_line_marked() {
        let mut marks = SpecialBytes::default();
        marks.mark(&[b'"'; 200]);
        marks.mark(b"ab\"");
        assert_eq!(marks.next(0), 2);
        assert_eq!(marks.next(3), 3);
        assert_eq!(marks.next(100), 3);
        marks.mark(b"");
        assert_eq!(marks.next(0), 0);
    }
}
