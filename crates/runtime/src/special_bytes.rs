//! Where the bytes that end a run of plain string text lie in a line,
//! marked for the whole line at once, sixteen bytes at a time.
//!
//! The strict lexing pass (`members/`) looks for the end of every string
//! of an event: its closing quote, or an escape or a control byte on the
//! way. One pass of vector compares over the line marks every quote,
//! backslash and byte below 0x20 in a bit set (one bit per byte); the next
//! byte a string's scan stops at is then the next set bit, found a word of
//! 64 bytes at a time, instead of a scan per string. The same pass tells
//! whether the line is ASCII. Vector code comes from the `wide` crate (SSE2
//! on x86-64, portable code elsewhere): no `unsafe` here.
//!
//! Measured (BENCHMARKS.md, "fast path v14"): lexing 100,000 generated
//! events took 458 ns per event with a word-at-a-time scan per string and
//! 367 ns with these marks. Marking quotes and escapes apart (so that a
//! string's end needs no byte read) took 444 ns: the extra masks and the
//! walk over the escapes cost more than they saved.

use wide::u8x16;

/// The marks of one line (reused from line to line).
#[derive(Debug, Default)]
pub(crate) struct SpecialBytes {
    /// Bit `i % 64` of word `i / 64`: byte `i` is a quote, a backslash or a
    /// control byte.
    words: Vec<u64>,
    /// The line's length: positions from it on are past the end.
    len: usize,
}

/// The marks of sixteen bytes, and whether one of them is not ASCII.
#[inline(always)]
fn mark16(chunk: [u8; 16]) -> (u32, u32) {
    let v = u8x16::from(chunk);
    let quote = v.simd_eq(u8x16::splat(b'"'));
    let backslash = v.simd_eq(u8x16::splat(b'\\'));
    // Below 0x20: the larger of the byte and 0x1f is 0x1f.
    let control = v.max(u8x16::splat(0x1f)).simd_eq(u8x16::splat(0x1f));
    ((quote | backslash | control).to_bitmask(), v.to_bitmask())
}

/// The marks of 64 bytes, and whether one of them is not ASCII.
#[inline(always)]
fn mark64(block: &[u8]) -> (u64, bool) {
    let (mut word, mut high) = (0u64, 0u32);
    for (k, chunk) in block.chunks_exact(16).enumerate() {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(chunk);
        let (marks, h) = mark16(bytes);
        word |= u64::from(marks) << (16 * k);
        high |= h;
    }
    (word, high != 0)
}

impl SpecialBytes {
    /// Marks the special bytes of `raw`; whether `raw` is all ASCII.
    pub(crate) fn mark(&mut self, raw: &[u8]) -> bool {
        self.words.clear();
        self.len = raw.len();
        let mut non_ascii = false;
        let mut blocks = raw.chunks_exact(64);
        for block in &mut blocks {
            let (word, high) = mark64(block);
            self.words.push(word);
            non_ascii |= high;
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            // Spaces after the end: neither special nor outside ASCII.
            let mut padded = [b' '; 64];
            padded[..rest.len()].copy_from_slice(rest);
            let (word, high) = mark64(&padded);
            self.words.push(word);
            non_ascii |= high;
        }
        !non_ascii
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
    use super::SpecialBytes;

    fn naive(raw: &[u8], from: usize) -> usize {
        (from..raw.len())
            .find(|&i| matches!(raw[i], b'"' | b'\\' | 0..=0x1f))
            .unwrap_or(raw.len())
    }

    #[test]
    fn every_special_byte_is_found_wherever_it_lies() {
        // Bytes next to the special ones in value (a space is 0x20, `!`
        // 0x21, `#` 0x23, `]` 0x5d) and non-ASCII ones.
        let fillers = [b'a', b' ', b'!', b'#', b']', 0xc3, 0xff, 0x7f, 0x80];
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
                        assert_eq!(marks.mark(&raw), raw.is_ascii());
                        for from in (0..=len).filter(|f| f % 5 == 0 || f.abs_diff(at) < 2) {
                            assert_eq!(marks.next(from), naive(&raw, from), "{raw:?} from {from}");
                        }
                    }
                }
            }
            assert!(marks.mark(&vec![b'a'; len]));
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
