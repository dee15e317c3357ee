//! Short tokens compared sixteen bytes by one vector compare, then a word
//! at a time: the nested skeletons' gaps (`skeletons.rs`) and the flat
//! shapes' names (`shapes.rs`, which also keeps each node's first child's
//! apart, in a cache line of its own), each compared with the bytes of a
//! line without a branch or a call per byte. Measured (BENCHMARKS.md, v63):
//! a name took ~14 instructions to compare word by word, ~12 so (the
//! vector's bytes past the token set on both sides, not masked: a mask kept
//! apart grew the first child's copy past its cache line).

use wide::u8x16;

/// A token of up to `N` words: its bytes as words in memory order, each
/// byte past its end set (`0xff`), and in `past_end` those same bytes set
/// and the token's clear. A line's bytes with `past_end` set on them are
/// the words when the line holds the token. The first sixteen bytes are
/// compared by one vector compare, the others a word at a time. A longer
/// token, or one starting with a NUL byte, is not packed (its first word
/// zero) and its owner compares it as a slice.
#[derive(Debug, Clone, Copy)]
pub(super) struct WordToken<const N: usize> {
    words: [u64; N],
    past_end: [u64; N],
}

impl<const N: usize> WordToken<N> {
    /// No token: compared as a slice.
    pub(super) const NONE: Self = WordToken {
        words: [0; N],
        past_end: [0; N],
    };

    /// `token` packed, when it fits in `N` words (else [`WordToken::NONE`]).
    pub(super) fn of(token: &[u8]) -> Self {
        let mut packed = Self::NONE;
        if token.len() <= 8 * N && token.first().is_some_and(|&b| b != 0) {
            for k in 0..N {
                let (mut word, mut past_end) = ([u8::MAX; 8], [u8::MAX; 8]);
                let chunk = token.get(8 * k..).unwrap_or_default();
                let chunk = chunk.get(..8).unwrap_or(chunk);
                word[..chunk.len()].copy_from_slice(chunk);
                past_end[..chunk.len()].fill(0);
                packed.words[k] = u64::from_ne_bytes(word);
                packed.past_end[k] = u64::from_ne_bytes(past_end);
            }
        }
        packed
    }

    /// Whether `raw` holds the token at `at`: `None` when the token is not
    /// packed, `N` is below two, or the line ends within `N` words of `at`
    /// (the owner then compares the bytes).
    #[inline(always)]
    pub(super) fn at(&self, raw: &[u8], at: usize) -> Option<bool> {
        match raw.get(at..at + 8 * N) {
            Some(window) if self.words[0] != 0 => {
                let (head, rest) = window.split_first_chunk::<16>()?;
                let bytes = |words: &[u64; N]| {
                    let head = bytemuck::cast_slice::<u64, u8>(words).first_chunk::<16>();
                    u8x16::from(head.copied().unwrap_or_default())
                };
                let line = u8x16::from(*head) | bytes(&self.past_end);
                let same_head = line.simd_eq(bytes(&self.words)).to_bitmask() == 0xFFFF;
                let mut differ = 0;
                let tail = self.words.iter().zip(&self.past_end).skip(2);
                for (chunk, (&word, &past_end)) in rest.chunks_exact(8).zip(tail) {
                    let line = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
                    differ |= (line | past_end) ^ word;
                }
                Some(same_head & (differ == 0))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WordToken;

    /// `token` packed in `N` words is found where a line holds it, and
    /// not where any one of its bytes differs; near the line's end, or
    /// when it does not fit, the owner is told to compare.
    fn found_as_written<const N: usize>(token: &[u8]) {
        let packed = WordToken::<N>::of(token);
        let fits = token.len() <= 8 * N && token.first().is_some_and(|&b| b != 0);
        let mut line = token.to_vec();
        line.extend_from_slice(&[b'~'; 32]);
        assert_eq!(packed.at(&line, 0), fits.then_some(true), "{token:?}");
        for k in 0..token.len() {
            let mut other = line.clone();
            other[k] ^= 0x20;
            assert_eq!(
                packed.at(&other, 0),
                fits.then_some(false),
                "{token:?} at {k}"
            );
        }
        // A byte past the token is read but not compared.
        let mut after = line.clone();
        after[token.len()] = 0xff;
        assert_eq!(packed.at(&after, 0), fits.then_some(true), "{token:?}");
        // Near the line's end: the owner compares.
        assert_eq!(packed.at(token, 1), None);
    }

    #[test]
    fn tokens_are_found_as_their_bytes_are() {
        let mut tokens: Vec<Vec<u8>> = vec![
            b"{\"A\":".to_vec(),
            b"12345678".to_vec(),
            b"123456789".to_vec(),
            // A NUL first: not packed.
            b"\0abc".to_vec(),
        ];
        // Every length up to past four words, of bytes of every value.
        tokens.extend((1..=34).map(|n| (0..n).map(|k| (k * 37 + n) as u8 | 1).collect()));
        for token in &tokens {
            found_as_written::<2>(token);
            found_as_written::<3>(token);
            found_as_written::<4>(token);
        }
    }
}
