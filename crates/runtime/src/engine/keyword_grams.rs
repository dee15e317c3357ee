//! A prefilter by short runs of bytes (*grams*) before the keyword check's
//! search (`keyword_check.rs`), its grams learned from its false alarms.
//!
//! The keyword check looks for the scope set's ASCII keyword literals in
//! the runs of values no field-scoped witness counts in ("Mimikatz Use"
//! applies to every Windows event: ~21 literals over ~400 bytes of a
//! generated event). The literals are nearly never there, yet a copy of
//! the runs and a Hyperscan scan of it cost ~1,500 instructions an event.
//!
//! Every occurrence of a literal holds each run of [`GRAM`] adjacent bytes
//! of it. So when, for each literal, one of its grams occurs nowhere in the
//! runs, none of the literals occurs there and the search can be skipped.
//! Grams are compared with their bytes' bit 0x20 set on both sides (ASCII
//! letters in lower case, some other bytes merged): a text byte equal to a
//! literal byte under ASCII case folding is then equal to it, so the
//! filter never hides an occurrence (cased literals included; it only
//! finds more grams than there are).
//!
//! Which gram of a literal is rare depends on the telemetry: grams chosen
//! by letter frequency or punctuation occur in nearly every event, since
//! the runs hold member names and paths (BENCHMARKS.md, "v52": the rarest
//! pair of bytes of each of the 21 literals occurs in 0-2 of 20,000
//! events, pairs chosen without the data in all of them). So the filter
//! learns: a check whose grams occurred but whose search then found no
//! literal is a false alarm, and each literal whose gram occurred moves to
//! the gram of its own found in the fewest such alarms. A filter whose
//! checks keep saying "maybe" (a literal all of whose grams are common)
//! rests for a while (`remembered.rs`' [`Switch`], as the memos' lookups
//! do), so that it does not add its own search to every event's.
//!
//! The search looks at 32 positions at a time with AVX2, as a Teddy search
//! does: each literal's gram in one of eight buckets (a bit), a position
//! in the buckets whose grams' bytes have the nibbles of its bytes (two
//! shuffles a byte; the tables of high nibbles take a byte with or without
//! bit 0x20, which folds the text's case for free, and a byte outside
//! ASCII shuffles to no bucket), each position left then compared with
//! its buckets' grams after the search, so that the tables stay in
//! registers. Without AVX2 there is no filter (every event is searched).
//!
//! Measured (BENCHMARKS.md, "v53"; callgrind, all SigmaHQ, the filter and
//! the search after it together): 17,137 → 16,612 instructions per
//! generated event, 61,440 → 60,845 per real log line; the filter said
//! "maybe" for 19 of 100,000 generated events and 108 of 59,173 real
//! ones. Pairs of bytes instead of grams of four cost more than they saved
//! (with ~21 literals, three to a bucket, the nibbles of a bucket's first
//! and second bytes combine: a third of the positions were candidates);
//! grams of three 16,801, of five 16,566.

use super::remembered::Switch;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_movemask_epi8, _mm256_set1_epi8,
    _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16,
};

/// The bytes of a gram.
pub(super) const GRAM: usize = 4;

/// Literals a filter takes at most (a bit each in `fired`).
const MAX_LITERALS: usize = 64;

/// Buckets of the vector search (a bit of a byte each).
const BUCKETS: usize = 8;

/// Checks per window of the filter's switch.
const SWITCH_WINDOW: u32 = 256;

/// The share of a window's checks (one in this many) that must rule the
/// literals out for the filter to go on: a window with more "maybe"
/// answers than that rests it for
/// [`OFF_EVENTS`](super::remembered::OFF_EVENTS) checks.
const WORTH_SHARE: u32 = 2;

/// A gram's bytes, each with bit 0x20 set.
type Gram = [u8; GRAM];

/// The folded gram of `bytes`.
#[inline(always)]
fn folded(bytes: &[u8; GRAM]) -> Gram {
    bytes.map(|b| b | 0x20)
}

/// How often a byte is found in telemetry's values and names, roughly
/// (higher: more often); only the first choice of grams reads it, the
/// learning does the rest.
fn commonness(b: u8) -> u32 {
    match b | 0x20 {
        b'"' | b':' | b',' | b'\\' | b' ' | b'.' | b'-' | b'/' | b'_' | b'0'..=b'9' => 4,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 3,
        b'h' | b'l' | b'c' | b'd' | b'm' | b'u' | b'p' | b'f' => 2,
        b'g' | b'w' | b'y' | b'b' | b'v' => 1,
        _ => 0,
    }
}

/// One literal's grams and how often each was found in a false alarm.
#[derive(Debug, Clone)]
struct LiteralGrams {
    /// Its distinct folded grams, rarer bytes first.
    grams: Vec<Gram>,
    /// False alarms each gram was found in.
    alarms: Vec<u32>,
    /// The gram in use.
    current: usize,
}

impl LiteralGrams {
    fn gram(&self) -> Gram {
        self.grams.get(self.current).copied().unwrap_or_default()
    }

    /// After a false alarm its gram was found in: the gram found in the
    /// fewest alarms becomes the one in use (the next one on a tie).
    fn move_on(&mut self) {
        if let Some(n) = self.alarms.get_mut(self.current) {
            *n = n.saturating_add(1);
        }
        let len = self.grams.len();
        let order = (1..=len).map(|k| (self.current + k) % len);
        let alarms = |i: usize| self.alarms.get(i).copied().unwrap_or(u32::MAX);
        if let Some(best) = order.min_by_key(|&i| alarms(i)) {
            self.current = best;
        }
    }
}

/// The nibble tables of the vector search: for each byte of a gram and
/// each nibble value, the buckets whose gram's byte there has that low
/// (high) nibble.
#[derive(Debug, Clone, Default)]
struct NibbleTables {
    low: [[u8; 16]; GRAM],
    high: [[u8; 16]; GRAM],
}

/// A scope set's gram filter (one per scanner: it learns from the events
/// its worker sees).
#[derive(Debug)]
pub(super) struct GramFilter {
    literals: Vec<LiteralGrams>,
    tables: NibbleTables,
    /// Per bucket, the grams in use in it and their literals' indices.
    buckets: [Vec<(Gram, u8)>; BUCKETS],
    /// The literals whose gram in use occurred in the last check.
    fired: u64,
    /// Whether the filter looks (off while it does not pay).
    switch: Switch,
    /// The last search's candidate windows (reused).
    candidates: Vec<Candidates>,
}

impl GramFilter {
    /// The filter of `literals` (as the keyword check looks for them: JSON
    /// form); `None` when there is none, more than [`MAX_LITERALS`], one
    /// shorter than [`GRAM`] bytes or with a byte outside ASCII, or the
    /// machine lacks AVX2.
    pub(super) fn new<'a>(literals: impl IntoIterator<Item = &'a [u8]>) -> Option<GramFilter> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Self::without_detection(literals);
        }
        drop(literals.into_iter());
        None
    }

    fn without_detection<'a>(literals: impl IntoIterator<Item = &'a [u8]>) -> Option<GramFilter> {
        let mut all = Vec::new();
        for literal in literals {
            let mut grams: Vec<Gram> = literal
                .windows(GRAM)
                .filter_map(|w| w.first_chunk::<GRAM>())
                .map(folded)
                .collect();
            // Rarer bytes first: the first gram in use is the first one.
            grams.sort_by_key(|g| g.iter().map(|&b| commonness(b)).sum::<u32>());
            let mut seen = std::collections::HashSet::new();
            grams.retain(|g| seen.insert(*g));
            if grams.is_empty() || !literal.is_ascii() {
                return None;
            }
            all.push(LiteralGrams {
                alarms: vec![0; grams.len()],
                grams,
                current: 0,
            });
        }
        if all.is_empty() || all.len() > MAX_LITERALS {
            return None;
        }
        let mut filter = GramFilter {
            literals: all,
            tables: NibbleTables::default(),
            buckets: Default::default(),
            fired: 0,
            switch: Switch::new(SWITCH_WINDOW, WORTH_SHARE),
            candidates: Vec::new(),
        };
        filter.fill_tables();
        Some(filter)
    }

    /// The tables and buckets of the grams in use.
    fn fill_tables(&mut self) {
        let mut t = NibbleTables::default();
        for bucket in &mut self.buckets {
            bucket.clear();
        }
        for (i, literal) in self.literals.iter().enumerate() {
            let b = i % BUCKETS;
            let bit = 1u8 << b;
            let gram = literal.gram();
            for ((low, high), byte) in t.low.iter_mut().zip(&mut t.high).zip(gram) {
                low[usize::from(byte & 15)] |= bit;
                // The text's byte with or without bit 0x20 (0x2 of the
                // high nibble): the folding, done by the table.
                high[usize::from(byte >> 4)] |= bit;
                high[usize::from((byte & !0x20) >> 4)] |= bit;
            }
            if let Some(bucket) = self.buckets.get_mut(b) {
                bucket.push((gram, i as u8));
            }
        }
        self.tables = t;
    }

    /// Whether a literal may occur in one of the ranges `ranges` of
    /// `raw`: false only when, for each literal, its gram in use occurs in
    /// none (or, resting, true without a look). A "maybe" leaves which
    /// grams occurred for [`GramFilter::false_alarm`].
    pub(super) fn may_hold(&mut self, raw: &[u8], ranges: &[(usize, usize)]) -> bool {
        if !self.switch.looks_up() {
            // Nothing looked at: a false alarm after it moves no gram.
            self.fired = 0;
            return true;
        }
        self.fired = self.search(raw, ranges);
        let maybe = self.fired != 0;
        self.switch.count(!maybe);
        maybe
    }

    /// After a "maybe" whose search found no literal: each literal whose
    /// gram occurred moves to another.
    pub(super) fn false_alarm(&mut self) {
        if self.fired == 0 {
            return;
        }
        for (i, literal) in self.literals.iter_mut().enumerate() {
            if self.fired & (1 << i) != 0 {
                literal.move_on();
            }
        }
        self.fired = 0;
        self.fill_tables();
    }

    /// The literals whose gram in use occurs in one of the ranges
    /// `ranges` of `raw`.
    fn search(&mut self, raw: &[u8], ranges: &[(usize, usize)]) -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            self.candidates.clear();
            // SAFETY: a filter is only made where the machine has AVX2
            // (`GramFilter::new`; tests make one after the same check),
            // the only extension `search_avx2` is compiled for.
            unsafe { search_avx2(raw, ranges, &self.tables, &mut self.candidates) };
            confirm(raw, &self.candidates, &self.buckets)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            // Never made here; were one made, every check says "maybe".
            let _ = (raw, ranges);
            u64::MAX
        }
    }
}

/// The positions a window of the vector search holds (a gram starts at
/// each), and the window's bytes.
const POSITIONS: usize = 32;
const WINDOW_BYTES: usize = POSITIONS + GRAM - 1;

/// A window of the search with candidates: where it starts in the line,
/// its candidate positions (bits), and each position's buckets.
type Candidates = (usize, u32, [u8; POSITIONS]);

/// A table of 16 bytes in both halves of a vector (the shuffles look up
/// each half's bytes in its own half).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn table(t: &[u8; 16]) -> __m256i {
    let mut both = [0u8; 32];
    both[..16].copy_from_slice(t);
    both[16..].copy_from_slice(t);
    bytemuck::cast(both)
}

/// The literals of `buckets` whose gram starts at a candidate position
/// of `raw` (a window start, its positions, their buckets).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn confirm(raw: &[u8], candidates: &[Candidates], buckets: &[Vec<(Gram, u8)>; BUCKETS]) -> u64 {
    let mut fired = 0;
    for &(at, mut positions, ref buckets_at) in candidates {
        while positions != 0 {
            let k = positions.trailing_zeros() as usize;
            positions &= positions - 1;
            let Some(bytes) = raw
                .get(at + k..)
                .and_then(|rest| rest.first_chunk::<GRAM>())
            else {
                continue;
            };
            let gram = folded(bytes);
            let mut in_buckets = buckets_at.get(k).copied().unwrap_or(0);
            while in_buckets != 0 {
                let b = in_buckets.trailing_zeros() as usize;
                in_buckets &= in_buckets - 1;
                for &(g, i) in buckets.get(b).map(Vec::as_slice).unwrap_or_default() {
                    if g == gram {
                        fired |= 1 << i;
                    }
                }
            }
        }
    }
    fired
}

/// [`GramFilter::search`] with AVX2: the candidate windows of the ranges
/// `ranges` of `raw`, pushed to `candidates`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn search_avx2(
    raw: &[u8],
    ranges: &[(usize, usize)],
    tables: &NibbleTables,
    candidates: &mut Vec<Candidates>,
) {
    let low4 = _mm256_set1_epi8(0x0f);
    let zero = _mm256_setzero_si256();
    let low: [__m256i; GRAM] = std::array::from_fn(|g| table(&tables.low[g]));
    let high: [__m256i; GRAM] = std::array::from_fn(|g| table(&tables.high[g]));
    // The buckets of the positions of `window`: those of each of its
    // grams' bytes, the bytes at each offset loaded as one vector. A byte
    // outside ASCII shuffles to no bucket (no literal holds one), and the
    // tables of high nibbles take both cases of a letter (`fill_tables`).
    let buckets_of = |window: &[u8; WINDOW_BYTES]| -> __m256i {
        let mut m = _mm256_set1_epi8(-1);
        for g in 0..GRAM {
            let bytes: &[u8; POSITIONS] = window[g..].first_chunk().unwrap_or(&[0; POSITIONS]);
            let v: __m256i = bytemuck::cast(*bytes);
            let v_high = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
            m = _mm256_and_si256(m, _mm256_shuffle_epi8(low[g], v));
            m = _mm256_and_si256(m, _mm256_shuffle_epi8(high[g], v_high));
        }
        m
    };
    let mut candidates_of = |window: &[u8; WINDOW_BYTES], at: usize, mask: u32| {
        let m = buckets_of(window);
        let positions = !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, zero)) as u32) & mask;
        if positions != 0 {
            candidates.push((at, positions, bytemuck::cast(m)));
        }
    };
    for &(start, end) in ranges {
        // The position of the range's last gram.
        let Some(last) = end.checked_sub(GRAM).filter(|&last| last >= start) else {
            continue;
        };
        // Windows whose positions are all inside the range (and so whose
        // bytes are all inside the line).
        let mut first = start;
        while first + POSITIONS <= last + 1 {
            if let Some(window) = raw.get(first..).and_then(|rest| rest.first_chunk()) {
                candidates_of(window, first, u32::MAX);
            }
            first += POSITIONS;
        }
        if first > last {
            continue;
        }
        // The last positions: a window ending inside the line, started
        // early enough, its positions before `first` left out.
        let at = first.min(raw.len().saturating_sub(WINDOW_BYTES));
        let mask = (u32::MAX >> (POSITIONS - 1 - (last - at))) & (u32::MAX << (first - at));
        match raw.get(at..).and_then(|rest| rest.first_chunk()) {
            Some(window) => candidates_of(window, at, mask),
            None => candidates_of(&padded_window(raw, at), at, mask),
        }
    }
}

/// The bytes of `raw` from `at` (a line shorter than a window), then
/// zeros.
#[cold]
fn padded_window(raw: &[u8], at: usize) -> [u8; WINDOW_BYTES] {
    let mut window = [0u8; WINDOW_BYTES];
    let rest = raw.get(at..).unwrap_or_default();
    let n = rest.len().min(WINDOW_BYTES);
    window[..n].copy_from_slice(&rest[..n]);
    window
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::test_rng::TestRng;

    fn filter(literals: &[&str]) -> Option<GramFilter> {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return None;
        }
        GramFilter::without_detection(literals.iter().map(|l| l.as_bytes()))
    }

    /// The literals whose gram in use occurs in `text`, byte by byte (what
    /// the vector search must find).
    fn fired_by_bytes(f: &GramFilter, text: &[u8]) -> u64 {
        let mut fired = 0;
        for w in text.windows(GRAM) {
            let gram = w.first_chunk::<GRAM>().map(folded);
            for (i, literal) in f.literals.iter().enumerate() {
                if Some(literal.gram()) == gram {
                    fired |= 1 << i;
                }
            }
        }
        fired
    }

    fn contains_folded(text: &[u8], literal: &[u8]) -> bool {
        text.windows(literal.len())
            .any(|w| w.eq_ignore_ascii_case(literal))
    }

    #[test]
    fn the_vector_search_finds_what_the_bytes_hold() {
        let literals = [
            "sekurlsa::",
            "mimikatz",
            "gentilkiwi.com",
            "\\\\pipe\\\\x",
            "abab",
        ];
        let Some(mut f) = filter(&literals) else {
            return;
        };
        let alphabet = b"abkmstiz:.\\\" ,{}ABKMSTIZ@[`\xc3\xa9\x7f\x00";
        let mut rng = TestRng::new(0x9e37_79b9_7f4a_7c15);
        for round in 0..20_000 {
            let len = rng.below(160);
            let raw = rng.text(alphabet, len);
            // Ranges of the line in order, apart or touching.
            let mut ranges = Vec::new();
            let mut at = 0;
            while at < len && ranges.len() < 4 {
                let start = at + rng.below(len - at + 1);
                let end = start + rng.below(len - start + 1);
                ranges.push((start, end));
                at = end;
            }
            let expected = ranges
                .iter()
                .map(|&(start, end)| fired_by_bytes(&f, &raw[start..end]))
                .fold(0, |a, b| a | b);
            let found = f.search(&raw, &ranges);
            let shown = String::from_utf8_lossy(&raw);
            assert_eq!(found, expected, "round {round}: {shown:?} {ranges:?}");
            // Move the grams around, so that every gram gets searched.
            f.fired = expected | 1 << (round % literals.len());
            f.false_alarm();
        }
    }

    #[test]
    fn no_occurrence_of_a_literal_is_missed_in_any_case() {
        let literals = [
            "sekurlsa::",
            "Mimikatz",
            "gentilkiwi.com",
            "\\\\Temp\\\\",
            "a-b-c",
        ];
        let Some(mut f) = filter(&literals) else {
            return;
        };
        let noise_bytes = b"etaoinsrkmz:.\\\"-";
        let mut rng = TestRng::new(42);
        for round in 0..3000 {
            // Teach the filter first: false alarms on random texts.
            let len = rng.below(200);
            let noise = rng.text(noise_bytes, len);
            let holds = literals
                .iter()
                .any(|l| contains_folded(&noise, l.as_bytes()));
            if f.may_hold(&noise, &[(0, noise.len())]) && !holds {
                f.false_alarm();
            }
            // A literal planted in mixed case, in one of several texts.
            let literal = literals[rng.below(literals.len())].as_bytes();
            let planted: Vec<u8> = literal
                .iter()
                .map(|&b| {
                    if rng.below(2) == 0 {
                        b.to_ascii_uppercase()
                    } else {
                        b
                    }
                })
                .collect();
            let mut text = noise.clone();
            let at = rng.below(text.len() + 1);
            text.splice(at..at, planted);
            let line = [b"x{".as_slice(), &text, b"}"].concat();
            let ranges = [(0, 1), (2, 2 + text.len())];
            assert!(f.may_hold(&line, &ranges), "round {round}");
        }
    }

    #[test]
    fn false_alarms_move_a_literal_to_a_gram_the_texts_lack() {
        let Some(mut f) = filter(&["xyzzyq"]) else {
            return;
        };
        // A text holding every gram of the literal but "zzyq".
        let text = b"xyzz yzzy";
        let mut alarms = 0;
        while f.may_hold(text, &[(0, text.len())]) {
            f.false_alarm();
            alarms += 1;
            assert!(alarms < 10, "the filter never settled");
        }
        assert_eq!(f.literals[0].gram(), *b"zzyq");
        // And it still finds the literal.
        assert!(f.may_hold(b"..XYZZYQ..", &[(0, 10)]));
    }

    #[test]
    fn a_filter_whose_checks_keep_finding_grams_rests() {
        let Some(mut f) = filter(&["eeee"]) else {
            return;
        };
        for _ in 0..SWITCH_WINDOW {
            assert!(f.switch.is_on());
            assert!(f.may_hold(b"seeeed", &[(0, 6)]));
            f.false_alarm();
        }
        assert!(!f.switch.is_on());
        // Resting: "maybe" without a look, and no gram moved after it.
        let before = f.literals[0].current;
        assert!(f.may_hold(b"nothing here", &[(0, 12)]));
        f.false_alarm();
        assert_eq!(f.literals[0].current, before);
    }

    #[test]
    fn literals_too_short_or_too_many_give_no_filter() {
        assert!(GramFilter::without_detection([b"abc".as_slice()]).is_none());
        assert!(GramFilter::without_detection(std::iter::empty()).is_none());
        let many: Vec<String> = (0..=MAX_LITERALS).map(|i| format!("literal{i}")).collect();
        assert!(GramFilter::without_detection(many.iter().map(|l| l.as_bytes())).is_none());
    }
}
