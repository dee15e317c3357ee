//! Short tokens compared a word at a time: the nested skeletons' gaps
//! (`skeletons.rs`) and the flat shapes' names (`shapes.rs`, which also
//! keeps each node's first child's apart, in a cache line of its own),
//! each compared with the bytes of a line without a branch or a call per
//! byte.

/// A token of up to `N` words: its bytes as little-endian words (zeros past
/// its end) and the mask of its bytes in each; a longer token is not
/// packed (all masks zero) and its owner compares it as a slice.
#[derive(Debug, Clone, Copy)]
pub(super) struct WordToken<const N: usize> {
    words: [u64; N],
    masks: [u64; N],
}

impl<const N: usize> WordToken<N> {
    /// No token: compared as a slice.
    pub(super) const NONE: Self = WordToken {
        words: [0; N],
        masks: [0; N],
    };

    /// `token` packed, when it fits in `N` words (else [`WordToken::NONE`]).
    pub(super) fn of(token: &[u8]) -> Self {
        let mut packed = Self::NONE;
        if token.len() <= 8 * N {
            for (k, chunk) in token.chunks(8).enumerate() {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                packed.words[k] = u64::from_le_bytes(word);
                packed.masks[k] = u64::MAX >> (64 - 8 * chunk.len());
            }
        }
        packed
    }

    /// Whether `raw` holds the token at `at`: `None` when the token is not
    /// packed or the line ends within `N` words of `at` (the owner then
    /// compares the bytes).
    #[inline(always)]
    pub(super) fn at(&self, raw: &[u8], at: usize) -> Option<bool> {
        match raw.get(at..at + 8 * N) {
            Some(window) if self.masks[0] != 0 => {
                let mut differ = 0;
                for (k, chunk) in window.chunks_exact(8).enumerate() {
                    let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
                    differ |= (word ^ self.words[k]) & self.masks[k];
                }
                Some(differ == 0)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WordToken;

    #[test]
    fn tokens_are_found_as_their_bytes_are() {
        for token in [
            &b"{\"A\":"[..],
            b"12345678",
            b"123456789",
            &[b'x'; 16],
            &[b'y'; 17],
        ] {
            let packed = WordToken::<2>::of(token);
            let mut line = token.to_vec();
            line.extend_from_slice(b"0123456789abcdef");
            let fits = token.len() <= 16;
            assert_eq!(packed.at(&line, 0), fits.then_some(true));
            for k in 0..token.len() {
                let mut other = line.clone();
                other[k] ^= 0x20;
                assert_eq!(packed.at(&other, 0), fits.then_some(false));
            }
            // Near the line's end, or a long token: the owner compares.
            assert_eq!(packed.at(token, 1), None);
        }
    }
}
