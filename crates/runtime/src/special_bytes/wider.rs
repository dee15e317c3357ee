//! [`SpecialBytes::mark`](super::SpecialBytes::mark) with the wider vector
//! units of the machine, picked at run time: 64 bytes per compare with
//! AVX-512BW, 32 with AVX2 (on a machine with neither, the caller marks
//! sixteen bytes at a time with SSE2).
//!
//! Same marks, same verdicts: a bit per quote or backslash, whether every
//! byte is ASCII, whether one is a control byte (below 0x20). Bytes are
//! loaded as vectors through `bytemuck`'s safe casts of byte arrays; the
//! only `unsafe` is calling a function compiled for a vector extension,
//! which is sound once the extension was detected.
//!
//! Measured (BENCHMARKS.md, "fast path v33"): ~45 instructions per 64
//! bytes with SSE2, ~24 with AVX2 and ~9 with AVX-512BW (the bytes outside
//! ASCII marked too). A line's last bytes are read as its last 64 (those
//! marked already shifted out of the masks), not copied into a padded
//! block: folded as a constant, the padded block's masks were built bit by
//! bit (~200 instructions per line).

use std::arch::x86_64::{
    __m256i, __m512i, _mm256_cmpeq_epi8, _mm256_max_epu8, _mm256_min_epu8, _mm256_movemask_epi8,
    _mm256_set1_epi8, _mm512_cmpeq_epi8_mask, _mm512_cmplt_epu8_mask, _mm512_min_epu8,
    _mm512_movepi8_mask, _mm512_set1_epi8,
};

use super::{padded, LineBytes};

/// Marks `raw` into `words` (empty on entry) with AVX-512BW or AVX2 when
/// the machine has one, its bytes outside ASCII into `outside` (a word of
/// bits per 64 bytes, as `words`); `None` (nothing written) when it has
/// neither.
pub(super) fn mark(
    raw: &[u8],
    words: &mut Vec<[u64; 2]>,
    outside: &mut Vec<u64>,
) -> Option<LineBytes> {
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        // SAFETY: the machine has AVX-512F and AVX-512BW (detected above),
        // the only extensions `mark_avx512` is compiled for.
        return Some(unsafe { mark_avx512(raw, words, outside) });
    }
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the machine has AVX2 (detected above), the only
        // extension `mark_avx2` is compiled for.
        return Some(unsafe { mark_avx2(raw, words, outside) });
    }
    None
}

/// One word of 64 bits from the masks of two halves of 32 bytes.
#[inline(always)]
fn halves(first: i32, second: i32) -> u64 {
    u64::from(first as u32) | u64::from(second as u32) << 32
}

/// The range from the first byte outside ASCII to the one after the last,
/// from `outside` (a word of bits per 64 bytes, a bit per byte outside
/// ASCII); `(0, 0)` when there is none.
fn outside_ascii(outside: &[u64]) -> (usize, usize) {
    let first = outside.iter().position(|&w| w != 0);
    let last = outside.iter().rposition(|&w| w != 0);
    match (first, last) {
        (Some(f), Some(l)) => {
            let (first, last) = (outside[f], outside[l]);
            (
                64 * f + first.trailing_zeros() as usize,
                64 * l + 64 - last.leading_zeros() as usize,
            )
        }
        _ => (0, 0),
    }
}

/// Marks `raw` with `block`, which marks 64 bytes into words of the
/// quotes and backslashes and one of the bytes outside ASCII, and folds their
/// smallest byte into its state; the range outside ASCII of the line.
macro_rules! mark_blocks {
    ($raw:expr, $words:expr, $outside:expr, $block:expr) => {{
        let (blocks, rest) = $raw.as_chunks::<64>();
        $words.resize(blocks.len(), [0; 2]);
        $outside.resize(blocks.len(), 0);
        let mut any = 0;
        for ((word, out), block) in $words.iter_mut().zip($outside.iter_mut()).zip(blocks) {
            (*word, *out) = $block(block);
            any |= *out;
        }
        if !rest.is_empty() {
            // The line's last 64 bytes, those marked already shifted out
            // (a line of fewer is padded with spaces, kept opaque: folded
            // as a constant, its masks were built bit by bit).
            let (word, out) = match $raw.last_chunk::<64>() {
                Some(last) => {
                    let ([quotes, backslashes], out) = $block(last);
                    let seen = 64 - rest.len() as u32;
                    ([quotes >> seen, backslashes >> seen], out >> seen)
                }
                None => $block(&std::hint::black_box(padded(rest))),
            };
            $words.push(word);
            $outside.push(out);
            any |= out;
        }
        if any == 0 {
            (0, 0)
        } else {
            outside_ascii($outside)
        }
    }};
}

#[target_feature(enable = "avx512f,avx512bw")]
fn mark_avx512(raw: &[u8], words: &mut Vec<[u64; 2]>, outside: &mut Vec<u64>) -> LineBytes {
    let quote = _mm512_set1_epi8(b'"' as i8);
    let backslash = _mm512_set1_epi8(b'\\' as i8);
    // Spaces: not control bytes.
    let mut low = _mm512_set1_epi8(b' ' as i8);
    let non_ascii = mark_blocks!(raw, words, outside, |block: &[u8; 64]| {
        let v: __m512i = bytemuck::cast(*block);
        low = _mm512_min_epu8(low, v);
        let marks = [
            _mm512_cmpeq_epi8_mask(v, quote),
            _mm512_cmpeq_epi8_mask(v, backslash),
        ];
        (marks, _mm512_movepi8_mask(v))
    });
    LineBytes {
        control: _mm512_cmplt_epu8_mask(low, _mm512_set1_epi8(0x20)) != 0,
        non_ascii,
    }
}

#[target_feature(enable = "avx2")]
fn mark_avx2(raw: &[u8], words: &mut Vec<[u64; 2]>, outside: &mut Vec<u64>) -> LineBytes {
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    // Spaces: not control bytes.
    let mut low = _mm256_set1_epi8(b' ' as i8);
    let non_ascii = mark_blocks!(raw, words, outside, |block: &[u8; 64]| {
        let [first, second]: [[u8; 32]; 2] = bytemuck::cast(*block);
        let (a, b): (__m256i, __m256i) = (bytemuck::cast(first), bytemuck::cast(second));
        low = _mm256_min_epu8(low, _mm256_min_epu8(a, b));
        let quotes = halves(
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(a, quote)),
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(b, quote)),
        );
        let backslashes = halves(
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(a, backslash)),
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(b, backslash)),
        );
        (
            [quotes, backslashes],
            // The mask gathers each byte's top bit: set outside ASCII.
            halves(_mm256_movemask_epi8(a), _mm256_movemask_epi8(b)),
        )
    });
    // A lane below 0x20: the larger of it and 0x1f is 0x1f.
    let floor = _mm256_set1_epi8(0x1f);
    LineBytes {
        control: _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(low, floor), floor)) != 0,
        non_ascii,
    }
}

#[cfg(test)]
mod tests {
    use super::{mark_avx2, mark_avx512};
    use crate::special_bytes::tests::lines;
    use crate::special_bytes::{LineBytes, SpecialBytes};

    /// Whether `told` (a wider marking's) is `expected` (the SSE2
    /// marking's), its range of bytes outside ASCII exactly from the first
    /// to the last.
    fn same(raw: &[u8], told: LineBytes, expected: LineBytes) -> bool {
        let first = raw.iter().position(|b| !b.is_ascii());
        let last = raw.iter().rposition(|b| !b.is_ascii());
        let exact = match (first, last) {
            (Some(first), Some(last)) => (first, last + 1),
            _ => (0, 0),
        };
        (told.ascii(), told.control) == (expected.ascii(), expected.control)
            && told.non_ascii == exact
    }

    /// Each wider marking this machine can run gives the SSE2 marking's
    /// words and verdicts on every line.
    #[test]
    fn wider_marks_are_the_sse2_marks() {
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw");
        let mut sse2 = SpecialBytes::default();
        let (mut words, mut outside) = (Vec::new(), Vec::new());
        let mut checked = 0;
        // Every length up to three blocks and past.
        for (raw, _) in lines(0..200).step_by(3) {
            sse2.words.clear();
            let expected = sse2.mark_sse2(&raw);
            if avx2 {
                words.clear();
                // SAFETY: the machine has AVX2 (detected above).
                let told = unsafe { mark_avx2(&raw, &mut words, &mut outside) };
                assert!(same(&raw, told, expected), "AVX2 {raw:?}");
                assert_eq!(words, sse2.words, "AVX2 {raw:?}");
                checked += 1;
            }
            if avx512 {
                words.clear();
                // SAFETY: the machine has AVX-512F and AVX-512BW (detected above).
                let told = unsafe { mark_avx512(&raw, &mut words, &mut outside) };
                assert!(same(&raw, told, expected), "AVX-512 {raw:?}");
                assert_eq!(words, sse2.words, "AVX-512 {raw:?}");
            }
        }
        assert!(!avx2 || checked > 10_000, "{checked} lines checked");
    }
}
