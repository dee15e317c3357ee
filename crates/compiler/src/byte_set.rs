//! A set of byte values as 256 bits: membership by one shift and mask,
//! for the quick refusals of bytes that start nothing of interest (the
//! characters next to which `digit_runs` keeps runs; in the runtime, the
//! first bytes of log-source key names and the lead bytes of characters
//! folding to ASCII).

/// A set of byte values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    /// Adds `b`.
    #[inline(always)]
    pub fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    /// Whether `b` is in the set.
    #[inline(always)]
    pub fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::ByteSet;

    #[test]
    fn holds_exactly_the_bytes_inserted() {
        let inserted = [0u8, 1, 63, 64, 127, 128, 191, 192, 255, b'"'];
        let mut set = ByteSet::default();
        for &b in &inserted {
            set.insert(b);
        }
        for b in 0..=255u8 {
            assert_eq!(set.contains(b), inserted.contains(&b), "{b}");
        }
    }
}
