//! Long values looked up piece by piece in the value memo (`value_hits.rs`).
//!
//! A value longer than [`PIECES_FROM`] bytes is not remembered whole: such
//! values seldom repeat as they are, yet they are mostly what an earlier
//! one held. A PowerShell 800 or 4103 record's `Message` (~9 KB) repeats
//! its context (a 5 KB `HostApplication` line, the host, the runspace) and
//! differs in its first line, a sequence number and its details; scanned
//! whole each time, such values were 74 % of the bytes stage 1 scanned over
//! the real logs with all SigmaHQ rules (BENCHMARKS.md, "v59").
//!
//! So a long value is cut into *cores* where its lines end (after each
//! `\n` escape as the line writes it). A line of [`MIN_CORE`] bytes or
//! more ends its core; a shorter one joins the next, unless its last bytes
//! hash to one in [`SHORT_LINES_PER_CORE`] or the core already holds
//! [`MAX_CORE`] bytes; a line longer than [`MAX_CORE`] is cut every
//! [`MAX_CORE`] bytes from its start. Where a core ends depends on the
//! bytes of its own line, not on where the core before ended (but for a
//! run of short lines that fills one), so a change in one line leaves the
//! cores of the others as they were (BENCHMARKS.md, "v59": fewer, longer
//! cores cost fewer lookups than they then scan again).
//!
//! Each core is looked up, and scanned when not found, as a *piece*: the
//! core with the `overlap` bytes before it (the longest literal's length
//! less one, of the database scanned). A match ending in the core starts in
//! the piece, so the matches of the whole value are those each piece finds
//! ending in its own core, every one found once: the matches a piece finds
//! ending before its core belong to the core before. A piece is remembered
//! with all the hits of its bytes (as a whole value is: the same bytes give
//! the same hits wherever they lie) and answers whatever core it is looked
//! up for.
//!
//! The one pattern of unbounded length, the pass-through pattern of a `\u`
//! or `\/` escape (an odd run of backslashes before `u` or `/`), reads the
//! byte before its run: a piece starts after a byte that is not a
//! backslash (its start moved back over a run of them), so that its run is
//! the value's. Its match ends the scan anyway.

/// Values longer than this are looked up by pieces (and, as before, not
/// remembered whole).
pub(super) const PIECES_FROM: usize = 4096;

/// A line shorter than this (with its `\n`) joins the next one in a core,
/// unless its last bytes end one ([`ends_core`]).
const MIN_CORE: usize = 256;

/// Short lines per core, on average (a power of two up to 16).
const SHORT_LINES_PER_CORE: u64 = 16;

/// A longer line is cut every this many bytes from its start.
const MAX_CORE: usize = 1024;

/// A piece of a value: its bytes `from..to`, whose matches ending after
/// `owned` bytes of it (in its core) are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Piece {
    pub(super) from: usize,
    pub(super) owned: usize,
    pub(super) to: usize,
}

/// Replaces `out` with the pieces of `value` whose cores hold every byte of
/// it, in order, each piece starting up to `overlap` bytes before its core
/// (more over a run of backslashes, at most from the value's start).
pub(super) fn cut_pieces(value: &[u8], overlap: usize, out: &mut Vec<Piece>) {
    out.clear();
    let mut cutter = Cutter {
        value,
        overlap,
        out,
        core_start: 0,
        line_start: 0,
    };
    each_line_end(value, |end| cutter.line_end(end));
    cutter.line_end(value.len());
}

/// [`cut_pieces`] under way: the core and the line being read.
struct Cutter<'a> {
    value: &'a [u8],
    overlap: usize,
    out: &'a mut Vec<Piece>,
    core_start: usize,
    line_start: usize,
}

impl Cutter<'_> {
    /// A line ends at `line_end` (the value's end is one).
    #[inline]
    fn line_end(&mut self, line_end: usize) {
        if line_end <= self.line_start {
            return;
        }
        // A long line: cut every `MAX_CORE` bytes from its start.
        let mut cut = self.line_start + MAX_CORE;
        while cut < line_end {
            self.cut(cut);
            cut += MAX_CORE;
        }
        let short = line_end - self.line_start < MIN_CORE;
        if !short
            || ends_core(self.value, line_end)
            || line_end - self.core_start >= MAX_CORE
            || line_end == self.value.len()
        {
            self.cut(line_end);
        }
        self.line_start = line_end;
    }

    /// The core ends at `end`: its piece.
    fn cut(&mut self, end: usize) {
        let mut from = self.core_start.saturating_sub(self.overlap);
        while from > 0 && self.value.get(from - 1) == Some(&b'\\') {
            from -= 1;
        }
        self.out.push(Piece {
            from,
            owned: self.core_start - from,
            to: end,
        });
        self.core_start = end;
    }
}

/// Calls `each` with the end of every `\n` escape of `value` (the byte
/// after its `n`), in order. (A search for the two bytes through `memchr`
/// read ~1.1 instructions a byte of a PowerShell message; its backslashes,
/// one by one, more.)
fn each_line_end(value: &[u8], mut each: impl FnMut(usize)) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the machine has AVX2 (detected above), the only
        // extension `line_ends_avx2` is compiled for.
        unsafe { line_ends_avx2(value, &mut each) };
        return;
    }
    for at in memchr::memmem::find_iter(value, b"\\n") {
        each(at + 2);
    }
}

/// [`each_line_end`] with AVX2: 32 positions at a time, the bytes at each
/// and after it compared as two vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn line_ends_avx2(value: &[u8], each: &mut impl FnMut(usize)) {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_movemask_epi8, _mm256_set1_epi8,
    };
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let n = _mm256_set1_epi8(b'n' as i8);
    let mut at = 0;
    while let Some(window) = value.get(at..).and_then(|rest| rest.first_chunk::<33>()) {
        let (first, second): (&[u8; 32], &[u8; 32]) =
            match (window.first_chunk(), window.last_chunk()) {
                (Some(first), Some(second)) => (first, second),
                _ => break,
            };
        let (a, b): (__m256i, __m256i) = (bytemuck::cast(*first), bytemuck::cast(*second));
        let both = _mm256_and_si256(_mm256_cmpeq_epi8(a, backslash), _mm256_cmpeq_epi8(b, n));
        let mut bits = _mm256_movemask_epi8(both) as u32;
        while bits != 0 {
            each(at + bits.trailing_zeros() as usize + 2);
            bits &= bits - 1;
        }
        at += 32;
    }
    // The last positions one by one.
    while let Some(pair) = value.get(at..at + 2) {
        if pair == b"\\n" {
            each(at + 2);
        }
        at += 1;
    }
}

/// Whether a short line ending at `end` ends a core: one in
/// [`SHORT_LINES_PER_CORE`], by its last bytes (so by nothing before it).
#[inline]
fn ends_core(value: &[u8], end: usize) -> bool {
    let last = value
        .get(end.saturating_sub(8)..end)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes);
    (last.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60) < 16 / SHORT_LINES_PER_CORE
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence of `needle` in `value`, by end offset.
    fn ends(value: &[u8], needle: &[u8]) -> Vec<usize> {
        (needle.len()..=value.len())
            .filter(|&e| &value[e - needle.len()..e] == needle)
            .collect()
    }

    #[test]
    fn the_cores_cover_the_value_and_each_match_is_found_once() {
        let line = |n: usize, len: usize| format!("line {n} {}\\n", "x".repeat(len));
        let mut text = String::new();
        for n in 0..40 {
            text.push_str(&line(n, [3, 40, 700, 2500, 10][n % 5]));
        }
        text.push_str("tail sekurlsa:: without a line end");
        let value = text.as_bytes();
        let mut pieces = Vec::new();
        for needle in [&b"sekurlsa::"[..], b"xx\\nline", b"x", b"\\n"] {
            let overlap = needle.len() - 1;
            cut_pieces(value, overlap, &mut pieces);
            // The cores follow one another from the start to the end.
            let mut at = 0;
            for p in &pieces {
                assert_eq!(p.from + p.owned, at);
                assert!(p.to > at);
                assert!(p.to - at <= 2 * MAX_CORE, "{p:?}");
                at = p.to;
            }
            assert_eq!(at, value.len());
            let mut found: Vec<usize> = pieces
                .iter()
                .flat_map(|p| {
                    ends(&value[p.from..p.to], needle)
                        .into_iter()
                        .filter(move |&e| e > p.owned)
                        .map(move |e| p.from + e)
                })
                .collect();
            found.sort_unstable();
            assert_eq!(found, ends(value, needle), "{:?}", needle);
        }
    }

    #[test]
    fn every_line_end_is_found_wherever_it_lies() {
        let mut rng = crate::test_rng::TestRng::new(7);
        for len in 0..200 {
            for _ in 0..20 {
                let text = rng.text(b"\\na", len);
                let mut found = Vec::new();
                each_line_end(&text, |end| found.push(end));
                let expected: Vec<usize> = (2..=text.len())
                    .filter(|&e| &text[e - 2..e] == b"\\n")
                    .collect();
                assert_eq!(found, expected, "{:?}", String::from_utf8_lossy(&text));
            }
        }
    }

    #[test]
    fn a_changed_line_leaves_the_other_pieces_as_they_were() {
        let head = "HostApplication=".to_string() + &"QQBi".repeat(1300) + "\\n";
        let tail: String = (0..200)
            .map(|k| format!("\\tContext{k}=the value {} of the record\\n", 7 * k))
            .collect();
        let pieces_of = |first: &str| {
            let value = format!("{first}\\n{head}{tail}");
            let mut pieces = Vec::new();
            cut_pieces(value.as_bytes(), 63, &mut pieces);
            pieces
                .iter()
                .map(|p| value[p.from..p.to].to_string())
                .collect::<Vec<_>>()
        };
        let a = pieces_of("Pipeline execution details for command line: Start-Sleep -Seconds 5");
        let b = pieces_of(
            "Pipeline execution details for command line: $IV=[BitConverter]::GetBytes(1)",
        );
        // The first piece differs, and the next one, whose overlap reads
        // the changed line; every later piece is the same text.
        let same = a.iter().filter(|p| b.contains(p)).count();
        assert!(a.len() > 10 && same >= a.len() - 2, "{same} of {}", a.len());
    }

    #[test]
    fn a_piece_starts_after_a_byte_that_is_not_a_backslash() {
        let mut value = vec![b'a'; 5000];
        value[1995..2000].copy_from_slice(b"\\\\\\\\\\");
        value[2000] = b'u';
        value[3000..3002].copy_from_slice(b"\\n");
        let mut pieces = Vec::new();
        for overlap in [0, 3, 10, 1500] {
            cut_pieces(&value, overlap, &mut pieces);
            for p in &pieces {
                assert!(p.from == 0 || value[p.from - 1] != b'\\', "{p:?}");
                assert!(p.owned >= overlap.min(p.from + p.owned));
            }
        }
    }

    #[test]
    fn short_values_and_values_without_lines_are_cut_by_length() {
        let mut pieces = Vec::new();
        cut_pieces(b"", 10, &mut pieces);
        assert!(pieces.is_empty());
        cut_pieces(b"abc", 10, &mut pieces);
        assert_eq!(
            pieces,
            [Piece {
                from: 0,
                owned: 0,
                to: 3
            }]
        );
        let value = vec![b'z'; 3 * MAX_CORE + 5];
        cut_pieces(&value, 7, &mut pieces);
        let cores: Vec<(usize, usize)> = pieces.iter().map(|p| (p.from + p.owned, p.to)).collect();
        assert_eq!(
            cores,
            [
                (0, MAX_CORE),
                (MAX_CORE, 2 * MAX_CORE),
                (2 * MAX_CORE, 3 * MAX_CORE),
                (3 * MAX_CORE, 3 * MAX_CORE + 5)
            ]
        );
        assert_eq!(pieces[1].from, MAX_CORE - 7);
    }
}
