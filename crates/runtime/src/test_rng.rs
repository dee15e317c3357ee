//! A small deterministic generator for the tests' random inputs
//! (xorshift64): the same sequence on every run, so a failure names an
//! input that fails again.

/// The generator's state.
pub(crate) struct TestRng(u64);

impl TestRng {
    /// A generator from `seed` (not zero).
    pub(crate) fn new(seed: u64) -> TestRng {
        TestRng(seed | 1)
    }

    /// The next 64 bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (not zero).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `len` bytes, each drawn from `alphabet` (not empty).
    pub(crate) fn text(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}
