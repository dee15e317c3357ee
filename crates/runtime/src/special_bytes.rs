//! Where the bytes that end a run of plain string text lie in a line,
//! marked for the whole line at once, 16 to 64 bytes at a time.
//!
//! The strict lexing pass (`members/`) looks for the end of every string
//! of an event: its closing quote, or an escape on the way. One pass of
//! vector compares over the line marks every quote and backslash in a bit
//! set (one bit per byte); the next byte a string's scan stops at is then
//! the next set bit, found a word of 64 bytes at a time, instead of a scan
//! per string. The same pass tells whether the line is ASCII (and where
//! its bytes outside ASCII lie, which the UTF-8 check and the search for
//! characters folding to ASCII then read alone) and whether it holds a
//! control byte (below 0x20) anywhere: the line's smallest byte is kept in
//! a vector, one compare per block, told once at the end. A control byte
//! is never where the strict pass accepts it (raw in a string it is
//! invalid JSON; between tokens the pass takes only spaces), so a line
//! holding one is left to the other passes whole and its place is not
//! needed.
//!
//! The marking runs on the widest vector unit the machine has, picked at
//! run time (`wider.rs`: AVX-512BW, AVX2); elsewhere the `wide` crate's
//! sixteen-byte vectors (SSE2 on x86-64, portable code on other machines)
//! mark the line, with no `unsafe`.
//!
//! Measured (BENCHMARKS.md, "fast path v14"): lexing 100,000 generated
//! events took 458 ns per event with a word-at-a-time scan per string and
//! 367 ns with these marks. Marking quotes and escapes apart (so that a
//! string's end needs no byte read) took 444 ns: the extra masks and the
//! walk over the escapes cost more than they saved. Control bytes told by
//! the line's smallest byte instead of marked, and the blocks read as
//! arrays ("fast path v22"): about 45 instructions per 64 bytes, about 70
//! before. With AVX2 about 24 and with AVX-512BW about 9, the bytes outside
//! ASCII included ("fast path v33"): lexing 100,000 generated events took
//! 333 ns per event instead of 372.

#[cfg(target_arch = "x86_64")]
mod wider;

use wide::u8x16;

use hypersigma_compiler::byte_set::ByteSet;

/// The marks of one line (reused from line to line).
#[derive(Debug, Default)]
pub(crate) struct SpecialBytes {
    /// Bit `i % 64` of the words `i / 64`: byte `i` is a quote (the
    /// first word) or a backslash (the second).
    words: Vec<[u64; 2]>,
    /// The line's length: positions from it on are past the end.
    len: usize,
    /// The bytes outside ASCII, as `words` (the wider markings only).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    outside: Vec<u64>,
}

/// What marking a line told of its bytes besides the marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineBytes {
    /// A byte is below 0x20 (a control byte: not marked).
    pub(crate) control: bool,
    /// A range of the line (start, end) holding every byte outside ASCII:
    /// from the first to the last with the wider markings (`wider.rs`),
    /// the whole line with SSE2; empty when every byte is ASCII. The bytes
    /// outside it are ASCII, each a whole character: the line is UTF-8 when
    /// this range is, and holds a given non-ASCII character when the range
    /// does.
    pub(crate) non_ascii: (usize, usize),
}

impl LineBytes {
    /// Every byte is ASCII.
    pub(crate) fn ascii(&self) -> bool {
        self.non_ascii.0 == self.non_ascii.1
    }
}

/// The last bytes of a line (fewer than 64) followed by spaces, which are
/// neither special nor control bytes nor outside ASCII.
fn padded(rest: &[u8]) -> [u8; 64] {
    let mut block = [b' '; 64];
    if let Some(head) = block.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    block
}

/// The marks of 64 bytes (quotes, backslashes); their smallest and
/// largest bytes folded into `low` and `high`, per lane.
#[inline(always)]
fn mark64(block: &[u8; 64], low: &mut u8x16, high: &mut u8x16) -> [u64; 2] {
    let (chunks, _) = block.as_chunks::<16>();
    let mut words = [0u64; 2];
    for (k, &chunk) in chunks.iter().enumerate() {
        let v = u8x16::from(chunk);
        *low = low.min(v);
        *high = high.max(v);
        let quote = v.simd_eq(u8x16::splat(b'"'));
        let backslash = v.simd_eq(u8x16::splat(b'\\'));
        words[0] |= u64::from(quote.to_bitmask()) << (16 * k);
        words[1] |= u64::from(backslash.to_bitmask()) << (16 * k);
    }
    words
}

/// The bytes of a block of 64 that a backslash escapes, from the block's
/// backslashes and whether its first byte is escaped (by a backslash
/// ending the block before: `carry`, 0 or 1); and whether its last byte
/// is a backslash that escapes the next block's first (0 or 1). A run of
/// backslashes escapes its every other byte from its first, and the byte
/// after it when the run is odd; an escaped backslash escapes nothing.
/// Without a branch: the runs starting on odd bits are found by adding
/// (simdjson's method).
#[inline(always)]
pub(crate) fn escaped_bits(backslashes: u64, carry: u64) -> (u64, u64) {
    const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;
    // A backslash the carry escapes escapes nothing.
    let escaping = backslashes & !carry;
    let maybe_escaped = escaping << 1;
    let even_series_and_odd_bits = (maybe_escaped | ODD_BITS).wrapping_sub(escaping);
    let escape_and_escaped = even_series_and_odd_bits ^ ODD_BITS;
    let escaped = escape_and_escaped ^ (backslashes | carry);
    let escapes = escape_and_escaped & backslashes;
    (escaped, escapes >> 63)
}

impl SpecialBytes {
    /// Marks the quotes and backslashes of `raw`; whether it is all ASCII
    /// and whether it holds a control byte.
    pub(crate) fn mark(&mut self, raw: &[u8]) -> LineBytes {
        self.words.clear();
        self.len = raw.len();
        #[cfg(target_arch = "x86_64")]
        if let Some(bytes) = wider::mark(raw, &mut self.words, &mut self.outside) {
            return bytes;
        }
        self.mark_sse2(raw)
    }

    /// [`SpecialBytes::mark`] sixteen bytes at a time (the `wide` crate:
    /// SSE2 on x86-64, portable code elsewhere).
    fn mark_sse2(&mut self, raw: &[u8]) -> LineBytes {
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
            self.words.push(mark64(&padded(rest), &mut low, &mut high));
        }
        // A lane below 0x20: the larger of it and 0x1f is 0x1f. A lane of
        // 0x80 or more: its top bit, which the bitmask gathers, is set.
        let control = low.max(u8x16::splat(0x1f)).simd_eq(u8x16::splat(0x1f));
        LineBytes {
            control: control.to_bitmask() != 0,
            non_ascii: match high.to_bitmask() {
                0 => (0, 0),
                _ => (0, raw.len()),
            },
        }
    }

    /// The first marked position (quote or backslash) at or after `from`,
    /// or the line's length.
    #[inline(always)]
    pub(crate) fn next(&self, from: usize) -> usize {
        let w = from / 64;
        let Some(&[quotes, backslashes]) = self.words.get(w) else {
            return self.len;
        };
        // In the block of `from` (most strings end in the block they start
        // in): shifted down to it, its distance from `from`.
        let ahead = (quotes | backslashes) >> (from % 64);
        if ahead != 0 {
            return from + ahead.trailing_zeros() as usize;
        }
        // Else the first mark of a later block.
        let later = self.words.get(w + 1..).unwrap_or_default();
        later
            .iter()
            .enumerate()
            .find_map(|(k, &[quotes, backslashes])| {
                let word = quotes | backslashes;
                (word != 0).then(|| (w + 1 + k) * 64 + word.trailing_zeros() as usize)
            })
            .unwrap_or(self.len)
    }

    /// The closing quote of the string whose opening quote is at `open`
    /// (the first quote after it that no backslash escapes), with each
    /// byte inside that an escape other than `\"` and `\\` stands for (the
    /// byte after its backslash: `n` of `\n`, `u` of `\u0041`) handed to
    /// `escaped` in order, which may refuse it (`None`, as is then the
    /// string). The marks of a block are read once, without a branch per
    /// escape: a string's quotes and backslashes, path separators
    /// included, cost nothing one by one, and the others a bit each.
    /// `None` as well when no quote closes the string.
    #[inline(always)]
    pub(crate) fn string_escapes(
        &self,
        open: usize,
        mut escaped: impl FnMut(usize) -> Option<()>,
    ) -> Option<usize> {
        let mut w = (open + 1) / 64;
        let mut inside = u64::MAX << ((open + 1) % 64);
        let mut carry = 0;
        loop {
            let &[quotes, backslashes] = self.words.get(w)?;
            let (escapes, carry_out) = escaped_bits(backslashes & inside, carry);
            let closing = quotes & inside & !escapes;
            // The string's bytes in this block: up to its closing quote.
            // (Written without a branch, `closing.wrapping_sub(1) &
            // !closing`, lexing took 1-3 % longer.)
            let before = match closing {
                0 => u64::MAX,
                _ => (1u64 << closing.trailing_zeros()) - 1,
            };
            let mut others = escapes & before & !(quotes | backslashes);
            while others != 0 {
                escaped(w * 64 + others.trailing_zeros() as usize)?;
                others &= others - 1;
            }
            if closing != 0 {
                return Some(w * 64 + closing.trailing_zeros() as usize);
            }
            carry = carry_out;
            inside = u64::MAX;
            w += 1;
        }
    }
}

/// Texts shorter than this are searched a byte at a time by
/// [`utf8_has_ascii_folding`]: `memchr`'s setup cost more than the whole
/// search over the few bytes between a line's first and last characters
/// outside ASCII (a generated Sysmon process creation's two "®", ten bytes
/// apart: ~140 instructions of the ~180 the check took).
const SHORT_TEXT: usize = 64;

/// Whether UTF-8 text (a line the strict lexing pass accepted) holds a
/// character that folds to ASCII: the first bytes of those characters are
/// searched for (with `memchr` in a longer text: two or three distinct
/// ones), and only the characters starting there are decoded.
pub(crate) fn utf8_has_ascii_folding(text: &[u8]) -> bool {
    struct Leads {
        bytes: Vec<u8>,
        /// The same bytes as a set.
        set: ByteSet,
    }
    static LEADS: std::sync::LazyLock<Leads> = std::sync::LazyLock::new(|| {
        let mut bytes: Vec<u8> = hypersigma_compiler::witness::folds_to_ascii()
            .iter()
            .map(|c| c.encode_utf8(&mut [0u8; 4]).as_bytes()[0])
            .collect();
        bytes.sort_unstable();
        bytes.dedup();
        let mut set = ByteSet::default();
        for &b in &bytes {
            set.insert(b);
        }
        Leads { bytes, set }
    });
    let folds = hypersigma_compiler::witness::folds_to_ascii();
    let folds_at = |at: usize| {
        let width = match text.get(at) {
            Some(0xC2..=0xDF) => 2,
            Some(0xE0..=0xEF) => 3,
            _ => 4,
        };
        text.get(at..at + width)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|s| s.chars().next())
            .is_some_and(|c| folds.binary_search(&c).is_ok())
    };
    let leads = &*LEADS;
    if text.len() < SHORT_TEXT {
        let mut bytes = text.iter().enumerate();
        return bytes.any(|(at, &b)| leads.set.contains(b) && folds_at(at));
    }
    match leads.bytes.as_slice() {
        [] => false,
        [a] => memchr::memchr_iter(*a, text).any(folds_at),
        [a, b] => memchr::memchr2_iter(*a, *b, text).any(folds_at),
        [a, b, c] => memchr::memchr3_iter(*a, *b, *c, text).any(folds_at),
        _ => std::str::from_utf8(text)
            .map_or(true, |t| t.chars().any(|c| folds.binary_search(&c).is_ok())),
    }
}

#[cfg(test)]
mod tests {
    use super::{escaped_bits, LineBytes, SpecialBytes};
    use crate::test_rng::TestRng;

    fn naive(raw: &[u8], from: usize) -> usize {
        (from..raw.len())
            .find(|&i| matches!(raw[i], b'"' | b'\\'))
            .unwrap_or(raw.len())
    }

    /// What marking `raw` must tell, the range of its bytes outside ASCII
    /// aside: whether it is ASCII, whether it holds a control byte.
    fn told(raw: &[u8]) -> (bool, bool) {
        (raw.is_ascii(), raw.iter().any(|&b| b < 0x20))
    }

    /// Whether the range `bytes` tells holds every byte of `raw` outside
    /// ASCII (and nothing when there is none).
    fn range_holds_non_ascii(raw: &[u8], bytes: LineBytes) -> bool {
        let (start, end) = bytes.non_ascii;
        let outside = |i: usize| i < start || i >= end;
        start <= end
            && end <= raw.len()
            && (raw.is_ascii() == (start == end))
            && raw
                .iter()
                .enumerate()
                .all(|(i, b)| b.is_ascii() || !outside(i))
    }

    /// Lines of the lengths `lens` with every kind of byte at every place,
    /// and a second special byte three bytes after the first (which
    /// changes nothing), each with the place of the first: bytes next to
    /// the special ones in value (a space is 0x20, `!` 0x21, `#` 0x23, `]`
    /// 0x5d), non-ASCII ones, and control bytes, which are told of but not
    /// marked.
    pub(super) fn lines(
        lens: impl Iterator<Item = usize>,
    ) -> impl Iterator<Item = (Vec<u8>, usize)> {
        let fillers = [b'a', b' ', b'!', b'#', b']', 0xc3, 0xff, 0x7f, 0x80, 0x1f];
        let specials = [b'"', b'\\', 0x00, 0x01, 0x1f, 0x80, 0xff];
        lens.flat_map(move |len| {
            (0..len.max(1)).flat_map(move |at| {
                specials.into_iter().flat_map(move |special| {
                    fillers.into_iter().map(move |filler| {
                        let mut raw = vec![filler; len];
                        if let Some(b) = raw.get_mut(at) {
                            *b = special;
                        }
                        if let Some(b) = raw.get_mut(at + 3) {
                            *b = specials[(at + 3) % specials.len()];
                        }
                        (raw, at)
                    })
                })
            })
        })
    }

    #[test]
    fn every_special_byte_is_found_wherever_it_lies() {
        let lens = || (0..140).step_by(7).chain([63, 64, 65, 127, 128, 129]);
        let mut marks = SpecialBytes::default();
        for (raw, at) in lines(lens()) {
            let bytes = marks.mark(&raw);
            assert_eq!((bytes.ascii(), bytes.control), told(&raw), "{raw:?}");
            assert!(range_holds_non_ascii(&raw, bytes), "{raw:?}");
            for from in (0..=raw.len()).filter(|f| f % 5 == 0 || f.abs_diff(at) < 2) {
                assert_eq!(marks.next(from), naive(&raw, from), "{raw:?} from {from}");
            }
        }
        for len in lens() {
            let plain = marks.mark(&vec![b'a'; len]);
            assert!(plain.ascii() && !plain.control);
            assert_eq!(marks.next(0), len);
        }
    }

    /// Escapes read byte by byte: the bytes a backslash escapes, and
    /// whether the last byte escapes the next block's first.
    fn naive_escaped(backslashes: u64, carry: u64) -> (u64, u64) {
        let (mut escaped, mut escaping) = (0, carry == 1);
        for i in 0..64 {
            if escaping {
                escaped |= 1 << i;
                escaping = false;
            } else {
                escaping = backslashes >> i & 1 == 1;
            }
        }
        (escaped, u64::from(escaping))
    }

    #[test]
    fn escaped_bits_are_those_read_byte_by_byte() {
        let mut rng = TestRng::new(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next_u64();
        let mut words = vec![0, u64::MAX, u64::MAX << 1, u64::MAX >> 1, 1, 1 << 63];
        words.extend((0..64).map(|k| 0b111u64 << k));
        for _ in 0..100_000 {
            // Dense runs of backslashes of every length, and sparse ones.
            let (a, b) = (next(), next());
            words.extend([a, a | b, a & b, (a | b) & next()]);
        }
        for &word in &words {
            for carry in [0, 1] {
                assert_eq!(
                    escaped_bits(word, carry),
                    naive_escaped(word, carry),
                    "{word:064b} {carry}"
                );
            }
        }
    }

    /// A string read byte by byte: its closing quote, and where the bytes
    /// that escapes other than of a quote or a backslash stand for lie.
    fn naive_string(raw: &[u8], open: usize) -> Option<(usize, Vec<usize>)> {
        let (mut k, mut other) = (open + 1, Vec::new());
        loop {
            match *raw.get(k)? {
                b'"' => return Some((k, other)),
                b'\\' => {
                    if !matches!(raw.get(k + 1)?, b'"' | b'\\') {
                        other.push(k + 1);
                    }
                    k += 2;
                }
                _ => k += 1,
            }
        }
    }

    #[test]
    fn strings_read_from_the_marks_as_byte_by_byte() {
        let mut rng = TestRng::new(0x2545_f491_4f6c_dd1d);
        let alphabet = [b'a', b'"', b'\\', b'\\', b'\\', b'n', b'/', b'u', 0xc3];
        let mut marks = SpecialBytes::default();
        for _ in 0..20_000 {
            let len = rng.below(260);
            let raw = rng.text(&alphabet, len);
            marks.mark(&raw);
            for open in (0..len).filter(|&i| raw[i] == b'"') {
                let mut other = Vec::new();
                let close = marks.string_escapes(open, |at| {
                    other.push(at);
                    Some(())
                });
                assert_eq!(
                    close.map(|close| (close, other)),
                    naive_string(&raw, open),
                    "{raw:?} at {open}"
                );
                // A refused escape ends the walk: no close then.
                let refusing = marks.string_escapes(open, |_| None);
                let plain = naive_string(&raw, open).filter(|(_, other)| other.is_empty());
                assert_eq!(refusing, plain.map(|(close, _)| close), "{raw:?} at {open}");
            }
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
