//! The long runs of ASCII digits in a text, found 64 bytes at a time from
//! a bit set of the block's digits (vector compares on x86-64, eight bytes
//! a word elsewhere): a block with no run of [`LONG_RUN`] digits is passed
//! over with a few bit operations, however many short runs it holds, and
//! in one that has some the walk goes straight to the first.

use super::LONG_RUN;

/// Bytes per block of the bit sets.
const BLOCK: usize = 64;

/// The maximal runs of [`LONG_RUN`] ASCII digits or more in `text`, as
/// `(start, end)` byte ranges in order.
pub fn long_runs(text: &[u8]) -> LongRuns<'_> {
    let mut runs = LongRuns {
        text,
        base: 0,
        mask: 0,
        open: None,
    };
    runs.load();
    runs
}

/// Whether `text` holds [`LONG_RUN`] ASCII digits in a row (a quicker
/// test than [`long_runs`] for the many texts that do not: no copy of a
/// short text into a 64-byte block; `fold_json_string` asks it first).
pub fn has_long_run(text: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if text.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked above).
            return unsafe { has_long_run_avx2(text) };
        }
        // SAFETY: SSE2 is part of every x86-64 processor.
        unsafe { has_long_run_sse2(text) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        has_long_run_one_by_one(text)
    }
}

/// Whether `long_in` holds for one of the blocks of `N` bytes of `text`
/// that overlap by `LONG_RUN - 1`, so that every run of [`LONG_RUN`] lies
/// whole in one: from the start, then the last `N` bytes. False for a
/// text shorter than a block.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn any_overlapping_block<const N: usize>(text: &[u8], long_in: impl Fn(&[u8; N]) -> bool) -> bool {
    let Some(last) = text.last_chunk::<N>() else {
        return false;
    };
    let mut at = 0;
    while let Some(block) = text.get(at..).and_then(|rest| rest.first_chunk::<N>()) {
        if long_in(block) {
            return true;
        }
        at += N - (LONG_RUN - 1);
    }
    // The last bytes, overlapping the blocks before: every run of
    // LONG_RUN lies whole in one of them.
    long_in(last)
}

/// Whether the digits of a block (bit `i` set for a digit at `i`) hold
/// [`LONG_RUN`] in a row.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn run_in_mask(m: u32) -> bool {
    m & (m >> 1) & (m >> 2) & (m >> 3) & (m >> 4) != 0
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn has_long_run_sse2(text: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let below = _mm_set1_epi8(b'0' as i8 - 1);
    let above = _mm_set1_epi8(b'9' as i8 + 1);
    let long_in = |block: &[u8; 16]| {
        // SAFETY: `block` holds 16 bytes.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
        let digits = _mm_and_si128(_mm_cmpgt_epi8(v, below), _mm_cmplt_epi8(v, above));
        run_in_mask(_mm_movemask_epi8(digits) as u32)
    };
    if text.len() < LONG_RUN {
        return false;
    }
    // Shorter than a block: one block, zeros (not digits) after the text.
    if text.len() < 16 {
        let mut block = [0; 16];
        if let Some(head) = block.get_mut(..text.len()) {
            head.copy_from_slice(text);
        }
        return long_in(&block);
    }
    any_overlapping_block(text, long_in)
}

/// [`has_long_run_sse2`] 32 bytes a block (blocks overlapping by
/// `LONG_RUN - 1`), for texts of 32 bytes or more: a command line or a
/// path takes about half the steps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn has_long_run_avx2(text: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let below = _mm256_set1_epi8(b'0' as i8 - 1);
    let above = _mm256_set1_epi8(b'9' as i8 + 1);
    let long_in = |block: &[u8; 32]| {
        // SAFETY: `block` holds 32 bytes.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().cast()) };
        // Signed compares: bytes from 0x80 are negative, never digits.
        let digits = _mm256_and_si256(_mm256_cmpgt_epi8(v, below), _mm256_cmpgt_epi8(above, v));
        run_in_mask(_mm256_movemask_epi8(digits) as u32)
    };
    any_overlapping_block(text, long_in)
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn has_long_run_one_by_one(text: &[u8]) -> bool {
    let mut run = 0;
    for &b in text {
        if b.is_ascii_digit() {
            run += 1;
            if run >= LONG_RUN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// See [`long_runs`].
pub struct LongRuns<'t> {
    text: &'t [u8],
    /// Where the current block starts.
    base: usize,
    /// The current block's digits not yet looked at (those before the
    /// cursor cleared).
    mask: u64,
    /// The start of a run that reached the end of the blocks before.
    open: Option<usize>,
}

impl LongRuns<'_> {
    /// Reads the block at `base` (zeros past the text, which are not
    /// digits).
    fn load(&mut self) {
        let text = self.text.get(self.base..).unwrap_or_default();
        self.mask = match text.first_chunk::<BLOCK>() {
            Some(block) => digit_mask(block),
            None => {
                let mut block = [0; BLOCK];
                block[..text.len()].copy_from_slice(text);
                digit_mask(&block)
            }
        };
    }

    /// Moves to the next block; false past the text.
    fn advance(&mut self) -> bool {
        self.base += BLOCK;
        if self.base >= self.text.len() {
            self.mask = 0;
            return false;
        }
        self.load();
        true
    }

    /// The open run ended at `end`: the run when it is long.
    fn close(&mut self, end: usize) -> Option<(usize, usize)> {
        let start = self.open.take()?;
        (end - start >= LONG_RUN).then_some((start, end))
    }
}

impl Iterator for LongRuns<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        loop {
            if self.open.is_some() {
                // The run goes on through the block's first digits.
                let len = self.mask.trailing_ones();
                if len < BLOCK as u32 {
                    self.mask &= !0 << len;
                    match self.close(self.base + len as usize) {
                        Some(run) => return Some(run),
                        None => continue,
                    }
                }
                if !self.advance() {
                    // Only a whole block of digits reaches here: the text
                    // ends with it.
                    return self.close(self.text.len());
                }
                continue;
            }
            let m = self.mask;
            // No run of LONG_RUN digits starts in the block's rest, nor does
            // one reach its end to go on in the next.
            let long = m & (m >> 1) & (m >> 2) & (m >> 3) & (m >> 4);
            if long == 0 && m >> (BLOCK - 1) == 0 {
                if !self.advance() {
                    return None;
                }
                continue;
            }
            // The first run that is long, or else the one reaching the
            // block's end (the shorter runs before it passed over at once).
            let start = match long {
                0 => BLOCK as u32 - m.leading_ones(),
                _ => long.trailing_zeros(),
            };
            let len = (!(m >> start)).trailing_zeros();
            if start + len == BLOCK as u32 {
                self.open = Some(self.base + start as usize);
                if !self.advance() {
                    return self.close(self.text.len());
                }
                continue;
            }
            self.mask &= !0 << (start + len);
            if len as usize >= LONG_RUN {
                let start = self.base + start as usize;
                return Some((start, start + len as usize));
            }
        }
    }
}

/// Bit `i` set when `block[i]` is an ASCII digit.
fn digit_mask(block: &[u8; BLOCK]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of every x86-64 processor.
        unsafe { digit_mask_sse2(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        digit_mask_words(block)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn digit_mask_sse2(block: &[u8; BLOCK]) -> u64 {
    use std::arch::x86_64::*;
    let below = _mm_set1_epi8(b'0' as i8 - 1);
    let above = _mm_set1_epi8(b'9' as i8 + 1);
    let mut mask = 0;
    for (i, part) in block.chunks_exact(16).enumerate() {
        // SAFETY: `part` holds 16 bytes.
        let v = unsafe { _mm_loadu_si128(part.as_ptr().cast()) };
        // Signed compares: bytes from 0x80 are negative, never digits.
        let digits = _mm_and_si128(_mm_cmpgt_epi8(v, below), _mm_cmplt_epi8(v, above));
        mask |= u64::from(_mm_movemask_epi8(digits) as u16) << (16 * i);
    }
    mask
}

/// [`digit_mask`] eight bytes a word.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn digit_mask_words(block: &[u8; BLOCK]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut mask = 0;
    for (i, word) in block.chunks_exact(8).enumerate() {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        // The high bit of each byte strictly between b'0' - 1 and b'9' + 1
        // (exact per byte: no carry crosses a byte).
        let t = w & (ONES * 127);
        let digits = (ONES * (127 + 0x3a) - t) & !w & (t + ONES * (127 - 0x2f)) & HIGH;
        // Byte k's bit (at 8k) moved to bit 56 + k: no two products meet.
        let bits = ((digits >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
        mask |= bits << (8 * i);
    }
    mask
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The long runs byte by byte.
    fn runs_one_by_one(text: &[u8]) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut start = None;
        for (i, b) in text.iter().chain([&b'x']).enumerate() {
            match (b.is_ascii_digit(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s >= LONG_RUN {
                        runs.push((s, i));
                    }
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }

    /// [`has_long_run`] through each vector width this machine has, the
    /// answer when they agree (a test failure otherwise).
    fn every_vector_width(text: &[u8]) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of every x86-64 processor.
            let narrow = unsafe { has_long_run_sse2(text) };
            if text.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has AVX2 (checked above).
                assert_eq!(unsafe { has_long_run_avx2(text) }, narrow, "{text:?}");
            }
            narrow
        }
        #[cfg(not(target_arch = "x86_64"))]
        has_long_run_one_by_one(text)
    }

    #[test]
    fn runs_are_found_wherever_they_lie() {
        for len in 0..200 {
            for start in (0..len).step_by(3) {
                for run in [1, 4, 5, 6, 63, 64, 65, 130] {
                    let mut text = vec![b'x'; len];
                    for b in text.iter_mut().skip(start).take(run) {
                        *b = b'7';
                    }
                    let expected = runs_one_by_one(&text);
                    assert_eq!(long_runs(&text).collect::<Vec<_>>(), expected);
                    assert_eq!(has_long_run(&text), !expected.is_empty());
                    assert_eq!(has_long_run_one_by_one(&text), !expected.is_empty());
                    assert_eq!(every_vector_width(&text), !expected.is_empty());
                }
            }
        }
        assert!(!has_long_run("é1234é1234/:;".as_bytes()));
        assert!(!has_long_run(b""));
    }

    #[test]
    fn both_masks_agree() {
        let mut block = [0u8; BLOCK];
        for first in 0..=255u8 {
            for (i, b) in block.iter_mut().enumerate() {
                *b = first.wrapping_add(i as u8);
            }
            assert_eq!(digit_mask(&block), digit_mask_words(&block));
        }
    }

    proptest! {
        #[test]
        fn runs_agree_with_a_byte_by_byte_search(
            text in prop::collection::vec(
                prop_oneof![3 => b'0'..=b'9', 1 => any::<u8>()], 0..400)
        ) {
            let runs = runs_one_by_one(&text);
            prop_assert_eq!(has_long_run(&text), !runs.is_empty());
            prop_assert_eq!(every_vector_width(&text), !runs.is_empty());
            prop_assert_eq!(long_runs(&text).collect::<Vec<_>>(), runs);
        }
    }
}
