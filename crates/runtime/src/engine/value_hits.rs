//! Stage 1 scans only the values it has not seen: the hits of each value
//! scanned are remembered.
//!
//! Telemetry repeats its values: the same images, parents, companies,
//! products, users and directories, and many command lines (in generated
//! process creations 84 % of the scanned bytes repeat an earlier value of
//! the same member). Hyperscan's time grows with the bytes it reads, so for
//! an event whose values stage 1 scans as a copy (`compact.rs`), each value
//! is first looked up here by its bytes and the database it would be
//! scanned with; the values not found are copied into one text (each
//! followed by a line feed, as in the copy) and scanned, with the database
//! of non-ASCII literals too where that text is not ASCII (those literals
//! match nowhere else), and their hits are remembered. A value's hits
//! depend on its bytes and the database only (no witness holds a line feed,
//! so no match spans two values), and hit offsets are kept relative to the
//! value, so the hits handed on are the ones a scan of the whole copy
//! reports, in the copy's offsets; the places, clauses and candidates
//! downstream are unchanged.
//!
//! Looking up costs a hash and, for values whose memory has gone cold, a
//! few cache misses, so it is only done where it pays:
//! - a value is remembered the first time it is scanned: a scan costs more
//!   than the copy of its bytes and hits. (Remembered from the second scan,
//!   every repeated value was scanned twice: all SigmaHQ over
//!   `../shared/events` took 33,931 instructions per event instead of
//!   32,479, BENCHMARKS.md, v41.) Values that never repeat (times, GUIDs,
//!   record ids) are kept out by the next check;
//! - per layout scalar, a counter (`compact.rs`) stops the lookups of a
//!   scalar whose values keep being new (one event of the layout in
//!   [`PROBE_EVERY`] still looks them up);
//! - per database, the events are looked up only while at least one byte
//!   in [`WORTH_SHARE`] of the values looked up is found (what Hyperscan
//!   then does not read): where values hardly repeat, events are scanned
//!   whole as before (one in [`PROBE_EVERY_DB`] still looked up). Counting
//!   events that needed no scan at all instead (a quarter of them) turned
//!   the lookups off for the process creations of all SigmaHQ rules, whose
//!   new command lines need a scan while most of their bytes repeat:
//!   always looking up took 9.5 % fewer instructions there (callgrind,
//!   100,000 generated events) and 1.5 % fewer over real logs.
//!
//! Bounded: the cache starts over when full, and a long value is looked up
//! and scanned by pieces of a few lines (`value_pieces.rs`), each
//! remembered as a value is. Databases are told apart by address: the
//! whole database lives as long as the engine, and a scanner holds every
//! subset database it adopted for as long as it lives (`subsets.rs`), so an
//! address is never reused while this cache (the scanner's) remembers it.

use super::aligned_text::AlignedText;
use hyperscan::prelude::*;

use super::compact::REPEATS_MAX;
use super::remembered::KeyedStore;
use super::value_pieces::{cut_pieces, Piece, PIECES_FROM};
use super::Scanner;

/// Values remembered at most per scanner (then the cache starts over).
const MAX_VALUES: usize = 16384;
/// Bytes of values remembered at most per scanner, and as many of their
/// hits (8 bytes each), likewise: the cache's memory stays small whatever
/// the values' length.
const MAX_REMEMBERED_BYTES: usize = 8 << 20;
/// Longer values are looked up by pieces.
const MAX_VALUE_BYTES: usize = PIECES_FROM;
/// Looked-up events per database after which the share of their bytes
/// found remembered decides whether its events keep being looked up.
const WINDOW_EVENTS: u32 = 512;
/// Less than one byte in this many found per window: looking values up
/// costs more than it saves for the database.
const WORTH_SHARE: u64 = 8;
/// While a database's events are not looked up, one in this many still is,
/// to notice when its values start to repeat.
const PROBE_EVERY_DB: u32 = 64;
/// One event of a layout in this many looks up even the values of scalars
/// whose values have not been repeating, to notice when they start to.
const PROBE_EVERY: u32 = 16;

/// The remembered hits of recently scanned values.
pub(super) struct ValueHits {
    /// Each value's hits (pattern id, end offset in the value) under its
    /// bytes, tagged with the database it was scanned with (its address:
    /// databases live as long as the engine or the scanner's adopted
    /// subsets).
    remembered: KeyedStore<[u32; 2]>,
    /// The values not found, each followed by `\n` (scratch).
    text: AlignedText,
    /// Per value (or piece of a long value) not found: its start in
    /// `text`, its start in the copy, its length, the hash it is
    /// remembered under (`None`: not remembered), and the bytes of it
    /// before its own (a piece's overlap: matches ending there are the
    /// piece before's).
    pending: Vec<Pending>,
    /// Hits of the scan of `text`: index in `pending`, then (pattern id,
    /// end offset in its value).
    found: Vec<(u32, (u32, u32))>,
    /// Per database (its address): whether looking values up pays.
    worth: Vec<Worth>,
    /// The pieces of the long value being looked up (scratch).
    pieces: Vec<Piece>,
    /// The length of the longest ASCII witness literal (the whole
    /// database's), and of the longest other one (the non-ASCII
    /// database's).
    longest: (usize, usize),
}

/// A value or piece [`ValueHits::pending`] holds.
#[derive(Clone, Copy)]
struct Pending {
    at: u32,
    start: u32,
    len: u32,
    key: Option<u64>,
    owned_after: u32,
}

/// Whether looking values up pays for one database's events.
struct Worth {
    db: usize,
    on: bool,
    /// Events seen; events looked up in the current window, the bytes of
    /// their values and those of them found remembered.
    events: u32,
    looked_up: u32,
    bytes: u64,
    found_bytes: u64,
}

impl ValueHits {
    /// The memo of a scanner of the witness `literals` (JSON form, the
    /// length of a match).
    pub(super) fn new(literals: &[(String, bool)]) -> ValueHits {
        let longest = |ascii: bool| {
            let lengths = literals.iter().filter(|(json, _)| json.is_ascii() == ascii);
            lengths.map(|(json, _)| json.len()).max().unwrap_or(0)
        };
        ValueHits {
            remembered: KeyedStore::new(MAX_VALUES, MAX_REMEMBERED_BYTES),
            text: AlignedText::default(),
            pending: Vec::new(),
            found: Vec::new(),
            worth: Vec::new(),
            pieces: Vec::new(),
            longest: (longest(true), longest(false)),
        }
    }

    /// The bytes the last [`Scanner::scan_values_remembered`] scanned (its
    /// values not found remembered, each with its line feed).
    pub(super) fn scanned_bytes(&self) -> usize {
        self.text.len()
    }

    /// Whether this event of database `db` is to be looked up: then the
    /// database's entry in `worth`, for [`Scanner::scan_values_remembered`]
    /// to report to.
    pub(super) fn worth_looking_up(&mut self, db: &BlockDatabase) -> Option<usize> {
        let db = db as *const BlockDatabase as usize;
        let at = match self.worth.iter().position(|w| w.db == db) {
            Some(at) => at,
            None => {
                self.worth.push(Worth {
                    db,
                    on: true,
                    events: 0,
                    looked_up: 0,
                    bytes: 0,
                    found_bytes: 0,
                });
                self.worth.len() - 1
            }
        };
        let w = self.worth.get_mut(at)?;
        w.events = w.events.wrapping_add(1);
        (w.on || w.events % PROBE_EVERY_DB == 0).then_some(at)
    }

    /// Records how many of the `bytes` of a looked-up event's values of
    /// the database of entry `worth` were scanned; at the end of a window,
    /// decides whether the database's events keep being looked up.
    fn looked_up(&mut self, worth: usize, bytes: usize, scanned: usize) {
        let Some(w) = self.worth.get_mut(worth) else {
            return;
        };
        w.looked_up += 1;
        w.bytes += bytes as u64;
        w.found_bytes += bytes.saturating_sub(scanned) as u64;
        if w.looked_up >= WINDOW_EVENTS {
            w.on = w.found_bytes * WORTH_SHARE >= w.bytes;
            w.looked_up = 0;
            w.bytes = 0;
            w.found_bytes = 0;
        }
    }

    /// The bytes a piece of a long value starts before its core
    /// (`value_pieces.rs`: a match ending in the core then starts in the
    /// piece): the longest literal's length less one, of the database
    /// scanned (`longest`: a set's own; `None`, the whole one) and, in a
    /// line not `ascii`, of the non-ASCII one. The pass-through patterns'
    /// characters are shorter than four bytes; their escape pattern is kept
    /// whole by where a piece starts.
    fn overlap(&self, longest: Option<usize>, ascii: bool) -> usize {
        let longest = longest.unwrap_or(self.longest.0);
        let longest = if ascii {
            longest
        } else {
            longest.max(self.longest.1)
        };
        longest.max(4) - 1
    }

    /// Looks up a piece's `bytes` (at `at` in the copy; matches ending in
    /// its first `owned` bytes are the piece before's) under database `db`:
    /// when they are remembered, their hits that end after `owned` go to
    /// `hits`, in the copy's offsets; else they are left for the scan.
    /// Whether they were found.
    #[inline(always)]
    fn look_up_piece(
        &mut self,
        db: usize,
        (bytes, at, owned): (&[u8], usize, usize),
        hits: &mut Vec<(usize, usize)>,
    ) -> bool {
        let key = self.remembered.hash_of((db, bytes));
        if let Some(found) = self.remembered.get(key, db, bytes) {
            let own = |&&[_, end]: &&[u32; 2]| end as usize > owned;
            hits.extend(
                found
                    .iter()
                    .filter(own)
                    .map(|&[id, end]| (id as usize, at + end as usize)),
            );
            return true;
        }
        self.leave_for_scan(bytes, at, Some(key), owned);
        false
    }

    /// Looks up each piece of the long `value` (see
    /// [`ValueHits::look_up_piece`]); whether one was found.
    #[cold]
    #[inline(never)]
    fn look_up_pieces(
        &mut self,
        (db, overlap): (usize, usize),
        value: &[u8],
        start: usize,
        hits: &mut Vec<(usize, usize)>,
    ) -> bool {
        let mut pieces = std::mem::take(&mut self.pieces);
        cut_pieces(value, overlap, &mut pieces);
        let mut found = false;
        for &piece in &pieces {
            let bytes = value.get(piece.from..piece.to).unwrap_or_default();
            let at = start + piece.from;
            if bytes.len() > MAX_VALUE_BYTES {
                // Only after a run of thousands of backslashes.
                self.leave_for_scan(bytes, at, None, piece.owned);
                continue;
            }
            found |= self.look_up_piece(db, (bytes, at, piece.owned), hits);
        }
        self.pieces = pieces;
        found
    }

    /// Leaves `bytes` (a value, or a piece whose matches ending in its
    /// first `owned_after` bytes are the piece before's), at `start` in the
    /// copy, for the scan, to be remembered under `key`.
    #[inline(always)]
    fn leave_for_scan(&mut self, bytes: &[u8], start: usize, key: Option<u64>, owned_after: usize) {
        self.pending.push(Pending {
            at: self.text.len() as u32,
            start: start as u32,
            len: bytes.len() as u32,
            key,
            owned_after: owned_after as u32,
        });
        self.text.extend_from_slice(bytes);
        self.text.push(b'\n');
    }
}

impl Scanner<'_> {
    /// Stage 1 of the copy of an event's values with `db` (and, in its
    /// non-ASCII values, the engine's database of non-ASCII literals, which
    /// cannot match elsewhere), scanning only the values not remembered:
    /// the hits go to `self.hits` as scans of the whole copy report them.
    /// True when a pass-through pattern matched (the event goes to every
    /// rule) or a scan failed. `worth`: the database's entry, from
    /// [`ValueHits::worth_looking_up`]; `longest`: the length of `db`'s
    /// longest literal when it is a set's own (`None`: the whole one's);
    /// `ascii`: whether the line is ASCII (else the non-ASCII literals may
    /// match in it too).
    pub(super) fn scan_values_remembered(
        &mut self,
        db: &BlockDatabase,
        worth: usize,
        (longest, ascii): (Option<usize>, bool),
    ) -> bool {
        let db_key = db as *const BlockDatabase as usize;
        let non_ascii_db = self.engine.non_ascii_db.as_ref();
        let first_pass_through = self.engine.first_pass_through;
        let cache = &mut self.value_hits;
        let overlap = cache.overlap(longest, ascii);
        cache.text.clear();
        cache.pending.clear();
        cache.found.clear();
        let (bytes, ranges, counters) = self.compact.values_and_repeats();
        let (repeats, looked_up): (&mut [u8], u32) = match counters {
            Some((repeats, looked_up)) => {
                *looked_up = looked_up.wrapping_add(1);
                (repeats, *looked_up)
            }
            None => (&mut [], 0),
        };
        let probe = looked_up % PROBE_EVERY == 0;
        let mut value_bytes = 0;
        for (start, end, slot) in ranges {
            let Some(value) = bytes.get(start..end) else {
                continue;
            };
            value_bytes += value.len();
            let counter = repeats.get_mut(slot);
            let repeating = counter.as_ref().is_none_or(|c| **c > 0);
            let looked_up = (repeating || probe) && !value.is_empty();
            if looked_up && value.len() > MAX_VALUE_BYTES {
                let db = (db_key, overlap);
                let found = cache.look_up_pieces(db, value, start, &mut self.hits);
                count_repeat(counter, found);
                continue;
            }
            let key = looked_up.then(|| cache.remembered.hash_of((db_key, value)));
            if let Some(key) = key {
                let hits = cache.remembered.get(key, db_key, value);
                count_repeat(counter, hits.is_some());
                if let Some(hits) = hits {
                    self.hits.extend(
                        hits.iter()
                            .map(|&[id, end]| (id as usize, start + end as usize)),
                    );
                    continue;
                }
            }
            cache.leave_for_scan(value, start, key, 0);
        }
        let scan = !cache.pending.is_empty();
        // The text holds a line feed after each value.
        let scanned = cache.text.len() - cache.pending.len();
        cache.looked_up(worth, value_bytes, scanned);
        if !scan {
            return false;
        }
        let (pending, found) = (&cache.pending, &mut cache.found);
        let mut pass = false;
        let mut on_match = |id: u32, _, to: u64, _| {
            if id as usize >= first_pass_through {
                pass = true;
                return Matching::Terminate;
            }
            // The value the match ends in (no witness holds a line feed).
            let to = to as u32;
            let k = pending.partition_point(|p| p.at < to);
            if let Some(p) = k.checked_sub(1).and_then(|k| pending.get(k)) {
                found.push(((k - 1) as u32, (id, to - p.at)));
            }
            Matching::Continue
        };
        let text: &[u8] = &cache.text;
        let mut scanned = db.scan(text, &self.scratch, &mut on_match);
        if let (Ok(()), Some(non_ascii)) = (&scanned, non_ascii_db) {
            if !text.is_ascii() {
                scanned = non_ascii.scan(text, &self.scratch, &mut on_match);
            }
        }
        for &(k, (id, end)) in &cache.found {
            match cache.pending.get(k as usize) {
                Some(p) if end > p.owned_after => {
                    self.hits.push((id as usize, (p.start + end) as usize));
                }
                _ => {}
            }
        }
        if pass || scanned.is_err() {
            return true;
        }
        // Each value's hits, together.
        cache.found.sort_unstable_by_key(|&(k, _)| k);
        let mut next = 0;
        for k in 0..cache.pending.len() {
            let Pending { at, len, key, .. } = cache.pending[k];
            let first = next;
            while cache.found.get(next).is_some_and(|&(v, _)| v as usize == k) {
                next += 1;
            }
            let Some(key) = key else { continue };
            let (Some(value), Some(hits)) = (
                cache.text.get(at as usize..(at + len) as usize),
                cache.found.get(first..next),
            ) else {
                continue;
            };
            let hits = hits.iter().map(|&(_, (id, end))| [id, end]);
            cache.remembered.insert(key, db_key, value, hits);
        }
        false
    }
}

/// Counts a lookup of a layout scalar's value on its counter (`compact.rs`,
/// when it has one): a value found keeps its values looked up, each one
/// not found brings the stop nearer.
#[inline(always)]
fn count_repeat(counter: Option<&mut u8>, found: bool) {
    if let Some(c) = counter {
        *c = if found {
            REPEATS_MAX
        } else {
            c.saturating_sub(1)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    /// An engine of `detections` (process creation), the scope gate on when
    /// `gate` (then stage 1 scans copies of the values).
    fn engine(detections: &[&str], gate: bool) -> Engine {
        let mut e = crate::engine::tests::engine(detections, false);
        e.raw.gate = gate;
        e
    }

    const RULES: [&str; 4] = [
        "    s: {CommandLine|contains: ['whoami', 'résumé', 'mimi']}\n    condition: s",
        "    s: {Image|endswith: '\\rundll32.exe', CommandLine|contains: 'javascript:'}\n    condition: s",
        "    s: {ParentImage|endswith: '\\winword.exe'}\n    condition: s",
        "    s: {CommandLine|contains: 'mimikatz'}\n    condition: s",
    ];
    const KEYWORDS: &str = "    keywords: ['mimikatz']\n    condition: keywords";
    /// A keyword that a time can hold.
    const TIME_KEYWORDS: &str = "    keywords: ['06:00']\n    condition: keywords";

    fn event(n: usize, image: &str, command: &str) -> String {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"UtcTime":"2026-11-29 06:{:02}:{:02}.{n:03}","Image":"{image}","CommandLine":"{command}","ParentImage":"C:\\x\\WINWORD.EXE"}}"#,
            n / 60 % 60,
            n % 60
        )
    }

    #[test]
    fn remembered_values_give_the_candidates_of_a_scan_of_every_value() {
        let commands = [
            "cmd /c whoami",
            "mimikatz whoami mimikatz",
            "RÉSUMÉ résumé",
            "Microsoft® javascript:x",
            "nothing here",
            "whoamI",
        ];
        let images = [
            "C:\\\\w\\\\rundll32.exe",
            "C:\\\\w\\\\RUNDLL32.EXE",
            "C:\\\\w\\\\x.exe",
        ];
        for keywords in [None, Some(KEYWORDS), Some(TIME_KEYWORDS)] {
            let mut detections = RULES.to_vec();
            detections.extend(keywords);
            let whole = engine(&detections, false);
            let values = engine(&detections, true);
            let mut w = whole.scanner().unwrap();
            let mut warm = values.scanner().unwrap();
            for n in 0..3 * commands.len() * images.len() {
                let raw = event(
                    n,
                    images[n % images.len()],
                    commands[n / images.len() % commands.len()],
                );
                let expected = w.candidates(raw.as_bytes()).to_vec();
                let answered = warm.candidate_memo.answered_total;
                assert_eq!(warm.candidates(raw.as_bytes()), expected, "{raw}");
                // Scanned as a copy of its values, unless the candidate
                // memo answered it.
                let scanned = warm.candidate_memo.answered_total == answered;
                assert_eq!(warm.compact.active, scanned, "{raw}");
                // A scanner that has seen nothing scans every value.
                let mut cold = values.scanner().unwrap();
                assert_eq!(cold.candidates(raw.as_bytes()), expected, "{raw}");
            }
            // The field values were all remembered, and so were the channel
            // and the event id: only the time can be left to scan, and it is
            // scanned only when a keyword's literal could lie in it (a
            // keyword's witness counts anywhere). (The candidate memo, which
            // would answer the event without a scan, started over.)
            warm.candidate_memo = Default::default();
            let raw = event(7, images[0], commands[1]);
            warm.candidates(raw.as_bytes());
            let expected: &[u8] = if keywords == Some(TIME_KEYWORDS) {
                b"\"2026-11-29 06:00:07.007\"\n"
            } else {
                b""
            };
            assert_eq!(*warm.value_hits.text, *expected, "keywords {keywords:?}");
            assert!(warm.compact.active);
        }
    }

    #[test]
    fn long_values_looked_up_by_pieces_give_the_candidates_of_a_scan_of_every_value() {
        use crate::test_rng::TestRng;
        // Literals planted anywhere in long command lines of lines that
        // mostly repeat: across line ends, the cuts of long lines, after
        // runs of backslashes, in non-ASCII text.
        let planted = [
            "whoami",
            "mimi",
            "r\\u00e9sum\\u00e9",
            "javascript:",
            "mimikatz",
            "RÉSUMÉ",
        ];
        let lines: Vec<String> = (0..24)
            .map(|k| match k % 4 {
                0 => format!("\\tHost{k}=ConsoleHost"),
                1 => format!("Application={}", "QQBi".repeat(40 + 90 * k)),
                2 => format!("C:\\\\Windows\\\\{}", "x".repeat(k)),
                _ => format!("{}é", "y".repeat(31)),
            })
            .collect();
        let mut rng = TestRng::new(0x9e37);
        let mut scanned = Vec::new();
        for keywords in [None, Some(KEYWORDS)] {
            let mut detections = RULES.to_vec();
            detections.extend(keywords);
            let whole = engine(&detections, false);
            let values = engine(&detections, true);
            let (mut w, mut warm) = (whole.scanner().unwrap(), values.scanner().unwrap());
            for n in 0..300 {
                let mut command: Vec<String> = lines.clone();
                // A few lines change from event to event.
                for _ in 0..rng.below(4) {
                    let k = rng.below(command.len());
                    command[k] = format!("Sequence={}", rng.below(1000));
                }
                let mut command = command.join("\\n");
                // A literal planted at a random place (between characters).
                if n % 3 != 0 {
                    let literal = planted[rng.below(planted.len())];
                    let mut at = rng.below(command.len());
                    while !command.is_char_boundary(at) {
                        at -= 1;
                    }
                    command.insert_str(at, literal);
                }
                assert!(command.len() > MAX_VALUE_BYTES);
                let raw = event(n, "C:\\\\w\\\\x.exe", &command);
                let expected = w.candidates(raw.as_bytes()).to_vec();
                let got = warm.candidates(raw.as_bytes());
                assert_eq!(got, expected, "event {n}, keywords {keywords:?}");
                // Warm, most pieces are found: a few lines are scanned.
                if n > 50 && warm.compact.active {
                    scanned.push(warm.value_hits.text.len() * 4 < command.len());
                }
            }
        }
        assert!(scanned.iter().filter(|&&few| few).count() * 10 > scanned.len() * 9);
    }

    #[test]
    fn a_database_whose_values_hardly_repeat_is_scanned_whole_and_stays_exact() {
        let whole = engine(&RULES, false);
        let values = engine(&RULES, true);
        let (mut w, mut v) = (whole.scanner().unwrap(), values.scanner().unwrap());
        // The image repeats, but it is less than an eighth of the bytes.
        let padding = "x".repeat(300);
        for n in 0..3 * WINDOW_EVENTS as usize {
            let command = format!("cmd /c whoami {n} {padding}");
            let raw = event(n, "C:\\\\w\\\\rundll32.exe", &command);
            assert_eq!(
                v.candidates(raw.as_bytes()),
                w.candidates(raw.as_bytes()),
                "{raw}"
            );
        }
        assert!(v.value_hits.worth.iter().all(|w| !w.on));
        // Values that start to repeat are looked up again (a short command
        // line that changes: events the candidate memo does not answer; the
        // count in letters, as a long run of digits would be folded).
        let letters = |n: usize| -> String {
            n.to_string()
                .bytes()
                .map(|d| char::from(d - b'0' + b'a'))
                .collect()
        };
        for n in 0..3 * (WINDOW_EVENTS * PROBE_EVERY_DB) as usize {
            let command = format!("mimikatz {}", letters(n));
            let raw = event(n, "C:\\\\w\\\\rundll32.exe", &command);
            assert_eq!(
                v.candidates(raw.as_bytes()),
                w.candidates(raw.as_bytes()),
                "{raw}"
            );
        }
        assert!(v.value_hits.worth.iter().any(|w| w.on));
    }

    #[test]
    fn events_that_each_need_a_scan_keep_being_looked_up_while_most_bytes_repeat() {
        let whole = engine(&RULES, false);
        let values = engine(&RULES, true);
        let (mut w, mut v) = (whole.scanner().unwrap(), values.scanner().unwrap());
        let image = format!("C:\\\\{}\\\\rundll32.exe", "w".repeat(100));
        for n in 0..3 * WINDOW_EVENTS as usize {
            // A new short command line in every event: each needs a scan.
            let raw = event(n, &image, &format!("whoami {n}"));
            assert_eq!(
                v.candidates(raw.as_bytes()),
                w.candidates(raw.as_bytes()),
                "{raw}"
            );
        }
        assert!(v.value_hits.worth.iter().all(|w| w.on));
        assert!(!v.value_hits.text.windows(8).any(|t| t == b"rundll32"));
    }

    #[test]
    fn remembered_values_answer_for_their_bytes_and_database_only() {
        let x: &[u8] = b"C:\\\\x.exe";
        let y: &[u8] = b"C:\\\\y.exe";
        let mut cache = ValueHits::new(&[]);
        let values = &mut cache.remembered;
        let k = values.hash_of((1usize, x));
        values.insert(k, 1, x, [[3, 5]].into_iter());
        assert_eq!(values.get(k, 1, x), Some(&[[3, 5]][..]));
        assert_eq!(values.get(k, 2, x), None);
        let other = values.hash_of((1usize, y));
        assert_eq!(values.get(other, 1, y), None);
        // The same key with other bytes (a hash collision) is not an answer.
        assert_eq!(values.get(k, 1, y), None);
        // Remembered again (another database): the new hits answer.
        values.insert(k, 2, x, [[1, 2], [6, 9]].into_iter());
        assert_eq!(values.get(k, 2, x), Some(&[[1, 2], [6, 9]][..]));
        assert_eq!(values.get(k, 1, x), None);
        let values = &mut cache.remembered;
        for i in 0..MAX_VALUES + 5 {
            let v = i.to_string();
            let key = values.hash_of((1usize, v.as_bytes()));
            values.insert(key, 1, v.as_bytes(), [[1, 1]].into_iter());
            assert_eq!(values.get(key, 1, v.as_bytes()), Some(&[[1, 1]][..]));
        }
        assert!(values.held().0 <= MAX_VALUES);
        // Long values: the bytes are bounded too, and the stores keep
        // their allocation when the cache starts over.
        let long = vec![b'x'; MAX_VALUE_BYTES];
        let mut stores = None;
        for i in 0..2 * MAX_REMEMBERED_BYTES / MAX_VALUE_BYTES {
            let mut value = long.clone();
            value[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = values.hash_of((1usize, value.as_slice()));
            values.insert(key, 1, &value, std::iter::empty());
            assert!(values.held().1 <= MAX_REMEMBERED_BYTES);
            assert_eq!(values.get(key, 1, &value), Some(&[][..]));
            if values.held().0 == 1 {
                let now = values.stores_at();
                assert!(
                    stores.is_none_or(|s| s == now),
                    "the store was allocated again"
                );
                stores.get_or_insert(now);
            }
        }
        assert!(stores.is_some());
        assert_eq!(values.live_key_bytes(), values.held().1);
        // The hits are bounded as the bytes are (8 bytes each).
        for i in 0..3 * MAX_REMEMBERED_BYTES / (8 * MAX_VALUE_BYTES) {
            let v = i.to_string();
            let key = values.hash_of((1usize, v.as_bytes()));
            values.insert(
                key,
                1,
                v.as_bytes(),
                std::iter::repeat_n([2, 2], MAX_VALUE_BYTES),
            );
            assert!(values.item_count() * 8 <= MAX_REMEMBERED_BYTES);
        }
    }
}
