//! The long runs of ASCII digits in a text, and those of hexadecimal
//! digits, found 64 bytes at a time from a bit set of the block's digits
//! (vector compares on x86-64, eight bytes a word elsewhere): a block with
//! no run of [`LONG_RUN`] digits ([`HEX_RUN`] hexadecimal ones) is passed
//! over with a few bit operations, however many short runs it holds, and
//! in one that has some the walk goes straight to the first.
//!
//! The class is a const parameter (`HEX`): the digits `0-9`, or those and
//! the letters `a-f` of either case.

use super::{HEX_RUN, LONG_RUN};

/// Bytes per block of the bit sets.
const BLOCK: usize = 64;

/// The shortest run looked for in the class.
const fn run_len(hex: bool) -> usize {
    if hex {
        HEX_RUN
    } else {
        LONG_RUN
    }
}

/// The maximal runs of [`LONG_RUN`] ASCII digits or more in `text`, as
/// `(start, end)` byte ranges in order.
pub fn long_runs(text: &[u8]) -> LongRuns<'_> {
    ClassRuns::new(text)
}

/// The maximal runs of [`HEX_RUN`] ASCII hexadecimal digits (`0-9a-fA-F`)
/// or more in `text`, as `(start, end)` byte ranges in order.
pub fn hex_runs(text: &[u8]) -> HexRuns<'_> {
    ClassRuns::new(text)
}

/// Whether `text` holds [`LONG_RUN`] ASCII digits in a row (a quicker
/// test than [`long_runs`] for the many texts that do not: no copy of a
/// short text into a 64-byte block; `fold_json_string` asks it first).
pub fn has_long_run(text: &[u8]) -> bool {
    has_run::<false>(text)
}

/// Whether `text` holds [`LONG_RUN`] ASCII digits in a row, and whether
/// it holds [`HEX_RUN`] hexadecimal ones, in one pass over a long text.
pub fn runs_present(text: &[u8]) -> (bool, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if text.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked above).
            return unsafe { runs_present_avx2(text) };
        }
    }
    (has_run::<false>(text), has_run::<true>(text))
}

/// [`runs_present`] 32 bytes a block (blocks overlapping by
/// `HEX_RUN - 1`, at least `LONG_RUN - 1`), for texts of 32 bytes or more.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn runs_present_avx2(text: &[u8]) -> (bool, bool) {
    use std::arch::x86_64::*;
    let mut found = (false, false);
    any_overlapping_block::<32, HEX_RUN>(text, |block: &[u8; 32]| {
        // SAFETY: `block` holds 32 bytes; AVX2 is enabled.
        let (digits, hex) = unsafe { classes_avx2(block) };
        let mask = |m: __m256i| u64::from(_mm256_movemask_epi8(m) as u32);
        found.0 |= run_starts(mask(digits), LONG_RUN) != 0;
        found.1 |= run_starts(mask(hex), HEX_RUN) != 0;
        found.0 && found.1
    });
    found
}

fn has_run<const HEX: bool>(text: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if text.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked above).
            return unsafe { has_run_avx2::<HEX>(text) };
        }
        // SAFETY: SSE2 is part of every x86-64 processor.
        unsafe { has_run_sse2::<HEX>(text) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        has_run_one_by_one::<HEX>(text)
    }
}

/// Whether `long_in` holds for one of the blocks of `N` bytes of `text`
/// that overlap by `RUN - 1`, so that every run of `RUN` lies whole in
/// one: from the start, then the last `N` bytes. False for a text shorter
/// than a block.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn any_overlapping_block<const N: usize, const RUN: usize>(
    text: &[u8],
    mut long_in: impl FnMut(&[u8; N]) -> bool,
) -> bool {
    let Some(last) = text.last_chunk::<N>() else {
        return false;
    };
    let mut at = 0;
    while let Some(block) = text.get(at..).and_then(|rest| rest.first_chunk::<N>()) {
        if long_in(block) {
            return true;
        }
        at += N - (RUN - 1);
    }
    // The last bytes, overlapping the blocks before: every run of RUN lies
    // whole in one of them.
    long_in(last)
}

/// [`any_overlapping_block`] with blocks overlapping by the class's
/// shortest run less one.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn any_block_of_class<const N: usize, const HEX: bool>(
    text: &[u8],
    long_in: impl FnMut(&[u8; N]) -> bool,
) -> bool {
    if HEX {
        any_overlapping_block::<N, HEX_RUN>(text, long_in)
    } else {
        any_overlapping_block::<N, LONG_RUN>(text, long_in)
    }
}

/// The bits of `m` that start a run of `run` set bits: the starts of runs
/// of `have` bits doubled while they fit (a start of `2 * have` is one of
/// `have` whose bit `have` further is one too), then the last stretch by
/// an overlapping shift: three shifts for [`LONG_RUN`] and [`HEX_RUN`]
/// instead of four and five.
#[inline(always)]
fn run_starts(m: u64, run: usize) -> u64 {
    let (mut starts, mut have) = (m, 1);
    while 2 * have <= run {
        starts &= starts >> have;
        have *= 2;
    }
    if have < run {
        starts &= starts >> (run - have);
    }
    starts
}

/// The class's bytes of a vector of 16, as a byte mask: signed compares,
/// bytes from 0x80 are negative, never in the class.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn class_sse2<const HEX: bool>(v: std::arch::x86_64::__m128i) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    let digits = _mm_and_si128(
        _mm_cmpgt_epi8(v, _mm_set1_epi8(b'0' as i8 - 1)),
        _mm_cmplt_epi8(v, _mm_set1_epi8(b'9' as i8 + 1)),
    );
    if !HEX {
        return digits;
    }
    let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    let letters = _mm_and_si128(
        _mm_cmpgt_epi8(lower, _mm_set1_epi8(b'a' as i8 - 1)),
        _mm_cmplt_epi8(lower, _mm_set1_epi8(b'f' as i8 + 1)),
    );
    _mm_or_si128(digits, letters)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn has_run_sse2<const HEX: bool>(text: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let long_in = |block: &[u8; 16]| {
        // SAFETY: `block` holds 16 bytes; SSE2 is enabled.
        let class = unsafe { class_sse2::<HEX>(_mm_loadu_si128(block.as_ptr().cast())) };
        run_starts(u64::from(_mm_movemask_epi8(class) as u16), run_len(HEX)) != 0
    };
    if text.len() < run_len(HEX) {
        return false;
    }
    // Shorter than a block: one block, zeros (not in the class) after the
    // text.
    if text.len() < 16 {
        let mut block = [0; 16];
        if let Some(head) = block.get_mut(..text.len()) {
            head.copy_from_slice(text);
        }
        return long_in(&block);
    }
    any_block_of_class::<16, HEX>(text, long_in)
}

/// [`has_run_sse2`] 32 bytes a block (blocks overlapping by `RUN - 1`),
/// for texts of 32 bytes or more: a command line or a path takes about
/// half the steps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn has_run_avx2<const HEX: bool>(text: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let long_in = |block: &[u8; 32]| {
        // SAFETY: `block` holds 32 bytes; AVX2 is enabled.
        let (digits, hex) = unsafe { classes_avx2(block) };
        let class = if HEX { hex } else { digits };
        run_starts(u64::from(_mm256_movemask_epi8(class) as u32), run_len(HEX)) != 0
    };
    any_block_of_class::<32, HEX>(text, long_in)
}

/// The digits of a block of 32 bytes, and its hexadecimal digits, as byte
/// masks (a digits-only caller leaves the second to the optimizer).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn classes_avx2(
    block: &[u8; 32],
) -> (std::arch::x86_64::__m256i, std::arch::x86_64::__m256i) {
    use std::arch::x86_64::*;
    // SAFETY: `block` holds 32 bytes.
    let v = unsafe { _mm256_loadu_si256(block.as_ptr().cast()) };
    // Signed compares: bytes from 0x80 are negative, in no class.
    let digits = _mm256_and_si256(
        _mm256_cmpgt_epi8(v, _mm256_set1_epi8(b'0' as i8 - 1)),
        _mm256_cmpgt_epi8(_mm256_set1_epi8(b'9' as i8 + 1), v),
    );
    let lower = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
    let letters = _mm256_and_si256(
        _mm256_cmpgt_epi8(lower, _mm256_set1_epi8(b'a' as i8 - 1)),
        _mm256_cmpgt_epi8(_mm256_set1_epi8(b'f' as i8 + 1), lower),
    );
    (digits, _mm256_or_si256(digits, letters))
}

/// Whether `b` is of the class.
fn in_class<const HEX: bool>(b: u8) -> bool {
    if HEX {
        b.is_ascii_hexdigit()
    } else {
        b.is_ascii_digit()
    }
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn has_run_one_by_one<const HEX: bool>(text: &[u8]) -> bool {
    let mut run = 0;
    for &b in text {
        if in_class::<HEX>(b) {
            run += 1;
            if run >= run_len(HEX) {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// See [`long_runs`] and [`hex_runs`].
pub struct ClassRuns<'t, const HEX: bool> {
    text: &'t [u8],
    /// Where the current block starts.
    base: usize,
    /// The current block's bytes of the class not yet looked at (those
    /// before the cursor cleared).
    mask: u64,
    /// The start of a run that reached the end of the blocks before.
    open: Option<usize>,
}

/// The runs of digits.
pub type LongRuns<'t> = ClassRuns<'t, false>;
/// The runs of hexadecimal digits.
pub type HexRuns<'t> = ClassRuns<'t, true>;

impl<'t, const HEX: bool> ClassRuns<'t, HEX> {
    fn new(text: &'t [u8]) -> Self {
        let mut runs = ClassRuns {
            text,
            base: 0,
            mask: 0,
            open: None,
        };
        runs.load();
        runs
    }

    /// Reads the block at `base` (zeros past the text, which are not of
    /// the class).
    fn load(&mut self) {
        let text = self.text.get(self.base..).unwrap_or_default();
        self.mask = match text.first_chunk::<BLOCK>() {
            Some(block) => class_mask::<HEX>(block),
            None => {
                let mut block = [0; BLOCK];
                block[..text.len()].copy_from_slice(text);
                class_mask::<HEX>(&block)
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
        (end - start >= run_len(HEX)).then_some((start, end))
    }
}

impl<const HEX: bool> Iterator for ClassRuns<'_, HEX> {
    type Item = (usize, usize);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        loop {
            if self.open.is_some() {
                // The run goes on through the block's first bytes of the
                // class.
                let len = self.mask.trailing_ones();
                if len < BLOCK as u32 {
                    self.mask &= !0 << len;
                    match self.close(self.base + len as usize) {
                        Some(run) => return Some(run),
                        None => continue,
                    }
                }
                if !self.advance() {
                    // Only a whole block of the class reaches here: the
                    // text ends with it.
                    return self.close(self.text.len());
                }
                continue;
            }
            let m = self.mask;
            // No long run starts in the block's rest, nor does one reach
            // its end to go on in the next.
            let long = run_starts(m, run_len(HEX));
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
            if len as usize >= run_len(HEX) {
                let start = self.base + start as usize;
                return Some((start, start + len as usize));
            }
        }
    }
}

/// Bit `i` set when `block[i]` is of the class.
fn class_mask<const HEX: bool>(block: &[u8; BLOCK]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of every x86-64 processor.
        unsafe { class_mask_sse2::<HEX>(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        if HEX {
            class_mask_one_by_one::<HEX>(block)
        } else {
            digit_mask_words(block)
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn class_mask_sse2<const HEX: bool>(block: &[u8; BLOCK]) -> u64 {
    use std::arch::x86_64::*;
    let mut mask = 0;
    for (i, part) in block.chunks_exact(16).enumerate() {
        // SAFETY: `part` holds 16 bytes; SSE2 is enabled.
        let class = unsafe { class_sse2::<HEX>(_mm_loadu_si128(part.as_ptr().cast())) };
        mask |= u64::from(_mm_movemask_epi8(class) as u16) << (16 * i);
    }
    mask
}

/// [`class_mask`] a byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn class_mask_one_by_one<const HEX: bool>(block: &[u8; BLOCK]) -> u64 {
    block
        .iter()
        .enumerate()
        .filter(|(_, &b)| in_class::<HEX>(b))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// The digits' [`class_mask`] eight bytes a word.
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

    /// The long runs of the class byte by byte.
    fn runs_one_by_one<const HEX: bool>(text: &[u8]) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut start = None;
        for (i, b) in text.iter().chain([&b'x']).enumerate() {
            match (in_class::<HEX>(*b), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s >= run_len(HEX) {
                        runs.push((s, i));
                    }
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }

    /// [`has_run`] through each vector width this machine has, the answer
    /// when they agree (a test failure otherwise).
    fn every_vector_width<const HEX: bool>(text: &[u8]) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of every x86-64 processor.
            let narrow = unsafe { has_run_sse2::<HEX>(text) };
            if text.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has AVX2 (checked above).
                assert_eq!(unsafe { has_run_avx2::<HEX>(text) }, narrow, "{text:?}");
            }
            narrow
        }
        #[cfg(not(target_arch = "x86_64"))]
        has_run_one_by_one::<HEX>(text)
    }

    /// Every way of finding runs of the class agrees with the byte-by-byte
    /// one on `text`.
    fn all_agree<const HEX: bool>(text: &[u8]) {
        let expected = runs_one_by_one::<HEX>(text);
        let found: Vec<_> = ClassRuns::<HEX>::new(text).collect();
        assert_eq!(found, expected, "{text:?}");
        assert_eq!(has_run::<HEX>(text), !expected.is_empty());
        let present = runs_present(text);
        assert_eq!(
            if HEX { present.1 } else { present.0 },
            !expected.is_empty()
        );
        assert_eq!(has_run_one_by_one::<HEX>(text), !expected.is_empty());
        assert_eq!(every_vector_width::<HEX>(text), !expected.is_empty());
    }

    #[test]
    fn runs_are_found_wherever_they_lie() {
        for len in 0..200 {
            for start in (0..len).step_by(3) {
                for run in [1, 4, 5, 6, 7, 63, 64, 65, 130] {
                    for (fill, byte) in [(b'x', b'7'), (b'x', b'c'), (b'-', b'F')] {
                        let mut text = vec![fill; len];
                        for b in text.iter_mut().skip(start).take(run) {
                            *b = byte;
                        }
                        all_agree::<false>(&text);
                        all_agree::<true>(&text);
                    }
                }
            }
        }
        assert!(!has_long_run("é1234é1234/:;".as_bytes()));
        assert!(!has_long_run(b""));
        assert!(!has_run::<true>(b"abcde-12345g"));
        assert!(has_run::<true>(b"{ea270872-319c}"));
        assert_eq!(hex_runs(b"f_0a3B2c.x").collect::<Vec<_>>(), [(2, 8)]);
    }

    #[test]
    fn masks_agree() {
        let mut block = [0u8; BLOCK];
        for first in 0..=255u8 {
            for (i, b) in block.iter_mut().enumerate() {
                *b = first.wrapping_add(i as u8);
            }
            assert_eq!(class_mask::<false>(&block), digit_mask_words(&block));
            assert_eq!(
                class_mask::<false>(&block),
                class_mask_one_by_one::<false>(&block)
            );
            assert_eq!(
                class_mask::<true>(&block),
                class_mask_one_by_one::<true>(&block)
            );
        }
    }

    proptest! {
        #[test]
        fn run_starts_are_the_bits_followed_by_run_minus_one_more(m in any::<u64>(), run in 1usize..=64) {
            let expected = (1..run).fold(m, |starts, k| starts & (m >> k));
            prop_assert_eq!(run_starts(m, run), expected);
        }

        #[test]
        fn runs_agree_with_a_byte_by_byte_search(
            text in prop::collection::vec(
                prop_oneof![3 => b'0'..=b'9', 2 => b'A'..=b'h', 1 => any::<u8>()], 0..400)
        ) {
            all_agree::<false>(&text);
            all_agree::<true>(&text);
        }
    }
}
