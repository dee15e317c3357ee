//! Long runs of digits that a rule's tests cannot tell apart.
//!
//! Telemetry fills values with numbers that change from event to event
//! while the rest stays: process and thread ids, handles, ports, ticks
//! (`chrome.exe --type=renderer --renderer-client-id=83479128
//! --launch-time-ticks=25771953`). Most tests of such a value read no
//! digit of those numbers: `contains '--type=renderer'`, `endswith
//! '.exe'`, `contains 'rundll32'`. For those tests, a value and the same
//! value with its long runs of digits written as one fixed run get the same
//! result, so a verdict remembered for one answers for the other
//! (`VerdictMemo` in the runtime keys values read by such tests this way).
//!
//! The fold: every maximal run of at least [`LONG_RUN`] ASCII digits is
//! replaced by [`FOLDED_RUN`] (also [`LONG_RUN`] digits), except a run
//! that a test could read, which [`DigitFold`] lists: one right after a
//! character of its `before` set or right before one of its `after` set,
//! one equal to one of its `runs`, one holding one of its `within`. A test
//! keeps its result under the fold when ([`predicate_fold`]):
//! - it is a string pattern without `?` or a character set holding a
//!   digit. Each stretch between `*` wildcards adds what it could read: if
//!   it ends in digits (`rundll32`), the character before them to
//!   `before`; if it starts with digits (`46esab`), the character after
//!   them to `after`; each inner run of [`LONG_RUN`] digits or more (inner:
//!   between two other characters, `xyz123456.exe`) to `runs`; a stretch
//!   of digits only (`123456789`) to `within`. A stretch whose inner run is
//!   [`FOLDED_RUN`] itself, or that is made of fewer zeros than a folded
//!   run, does not fold;
//! - a regular expression that cannot read a digit (no digit in any
//!   literal or class: `net\s+user`);
//! - `exists` or `null`.
//!
//! Why: take an occurrence of a stretch in a value. A long run it touches
//! is either a whole inner run of the stretch (bounded by other characters
//! on both sides: one of `runs`), or holds the whole stretch (a stretch of
//! digits only: it holds one of `within`), or touches the stretch's end
//! digits and so follows (or precedes) a character of `before` (`after`):
//! it is not folded. So every character of the occurrence stays, and the
//! occurrence is found at the same place in the folded value, in the same
//! order as the other stretches' and as anchored. Conversely an occurrence
//! in the folded value never overlaps a folded run: an inner run of the
//! stretch is a whole maximal run of the value, and a folded run is not
//! one of `runs`; a folded run holds none of `within`; an end run of the
//! stretch would sit next to a character of `before` or `after`, which
//! folding leaves unfolded. The sets hold both cases of a letter and every
//! byte outside ASCII (a character outside ASCII can fold to an ASCII
//! letter under case-insensitive matching), so no case folding changes the
//! argument. Digits are only the ASCII ones, which no case folding
//! produces.
//!
//! A fold also tells which *hexadecimal words* its tests cannot read
//! (`hex_words.rs`, with its own argument): GUIDs, hashes, cache and
//! prefetch file names (`f_0a3b2c`, `NOTEPAD.EXE-000E37C9.pf`), whose runs
//! of decimal digits are short or glued to letters. [`fold_json_string`]
//! folds them only when asked ([`Folding::RunsAndWords`]): the runtime's
//! memos try such a key only after the key with runs folded was not
//! answered, since finding the words costs more than finding runs.

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::byte_set::ByteSet;
use crate::ir::Predicate;
use crate::pattern::Piece;

mod hex_words;
pub use hex_words::HexKeep;
use hex_words::{folded_words, Unit};
mod long_runs;
mod narrower;
use long_runs::runs_present;
pub use long_runs::{has_long_run, long_runs, LongRuns};

/// Finds `\u` (built once).
static U_ESCAPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\\u"));

/// The shortest run of digits folded.
pub const LONG_RUN: usize = 5;

/// The shortest hexadecimal word folded (`hex_words.rs`).
pub const HEX_RUN: usize = 6;

/// The most pieces a fold keeps hexadecimal words by, past which it keeps
/// them all.
const MOST_KEPT_PIECES: usize = 64;

/// What a folded run of digits is written as.
pub const FOLDED_RUN: &[u8] = b"\x7f";

/// [`FOLDED_RUN`] as a character: no test that folds reads it.
const MARK: char = '\u{7f}';

/// The long runs of digits kept as they are: those next to a character
/// a test's stretch has before (after) the digits it ends (starts) with,
/// and starting (ending) with those digits; those a stretch holds whole
/// between other characters; and those holding a stretch of digits only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitFold {
    before: Neighbours,
    after: Neighbours,
    runs: Vec<Box<[u8]>>,
    within: Vec<Box<[u8]>>,
    /// The hexadecimal words kept (`hex_words.rs`); `None`: none folds.
    hex: Option<HexKeep>,
}

/// Characters next to which runs are kept, each with the digits such a
/// run starts (or ends) with; the characters by key ([`key_of`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Neighbours {
    /// The keys present (most characters have none).
    keys: ByteSet,
    /// (key, the digit next to the character or `ANY_DIGIT`, the digits),
    /// sorted: a run is compared with the few entries of its key and its
    /// first (last) digit only.
    entries: Vec<(u8, u8, Box<[u8]>)>,
    /// Runs before the characters (their digits end a run), not after.
    ends: bool,
}

/// The digit of an entry that keeps every run next to its character.
const ANY_DIGIT: u8 = 0;

/// A character's key: ASCII letters by their lower case (matching ignores
/// case), every byte outside ASCII as one (the last or first byte of a
/// character outside ASCII, which case-insensitive matching can take for
/// an ASCII letter: the Kelvin sign for `k`).
fn key_of(b: u8) -> u8 {
    if b >= 0x80 {
        0x80
    } else {
        b.to_ascii_lowercase()
    }
}

/// Adds `run` to the sorted list `runs` unless it is there.
fn add_sorted(runs: &mut Vec<Box<[u8]>>, run: &[u8]) {
    if let Err(at) = runs.binary_search_by(|r| (**r).cmp(run)) {
        runs.insert(at, run.into());
    }
}

impl Neighbours {
    /// Keeps the runs next to byte `b` that start (end) with `digits`; all
    /// of them when `digits` are a few zeros, as a folded run could start
    /// (end) with them.
    fn add(&mut self, b: u8, digits: &[u8]) {
        self.add_entry(key_of(b), digits);
    }

    fn add_entry(&mut self, key: u8, digits: &[u8]) {
        self.keys.insert(key);
        let entry = (key, self.near(digits), Box::from(digits));
        if let Err(at) = self.entries.binary_search(&entry) {
            self.entries.insert(at, entry);
        }
    }

    /// [`Neighbours::add`] for a character of a stretch, and for every byte
    /// outside ASCII (see [`key_of`]).
    fn add_char(&mut self, c: char, digits: &[u8]) {
        if c.is_ascii() {
            self.add(c as u8, digits);
        }
        self.add(0x80, digits);
    }

    /// Whether a run next to byte `b` is kept: `run` starts (`starts`) or
    /// ends with the digits of an entry of `b`'s key.
    fn keeps(&self, b: u8, run: &[u8], starts: bool) -> bool {
        let key = key_of(b);
        if !self.keys.contains(key) {
            return false;
        }
        [ANY_DIGIT, self.near(run)].into_iter().any(|near| {
            let from = self
                .entries
                .partition_point(|&(k, n, _)| (k, n) < (key, near));
            self.entries[from..]
                .iter()
                .take_while(|&&(k, n, _)| (k, n) == (key, near))
                .any(|(_, _, d)| {
                    if starts {
                        run.starts_with(d)
                    } else {
                        run.ends_with(d)
                    }
                })
        })
    }

    /// The digit of `digits` next to the character: the first for runs
    /// after it (`before` entries), the last for runs before it; the same
    /// for every entry of a set, as a set is one or the other.
    fn near(&self, digits: &[u8]) -> u8 {
        // Which end is told by the entries' `starts` flag at lookup; the
        // first and last digit both serve as an index as long as entries
        // and runs use the same one: `after` sets store the last.
        if self.ends {
            digits.last().copied().unwrap_or(ANY_DIGIT)
        } else {
            digits.first().copied().unwrap_or(ANY_DIGIT)
        }
    }

    fn merge(&mut self, other: &Neighbours) {
        for (key, _, digits) in &other.entries {
            self.add_entry(*key, digits);
        }
    }
}

impl Default for DigitFold {
    /// Folds every long run.
    fn default() -> Self {
        DigitFold {
            before: Neighbours::default(),
            after: Neighbours {
                ends: true,
                ..Neighbours::default()
            },
            runs: Vec::new(),
            within: Vec::new(),
            hex: Some(HexKeep::default()),
        }
    }
}

/// Merges `fold` into `into`, the folds of tests of one value, where
/// `None` stands for a test that can tell long runs apart: `None` when
/// either is.
pub fn merge_folds(into: &mut Option<DigitFold>, fold: Option<&DigitFold>) {
    match (into.as_mut(), fold) {
        (Some(into), Some(fold)) => into.merge(fold),
        _ => *into = None,
    }
}

impl DigitFold {
    /// Keeps the runs `other` keeps, too (the fold of several tests of one
    /// value).
    pub fn merge(&mut self, other: &DigitFold) {
        match (self.hex.as_mut(), other.hex.as_ref()) {
            // A field whose tests name many words (lists of hashes) keeps
            // every word: each word of its values would be looked up in
            // all the lists, at a cost above the repeats it would win.
            (Some(mine), Some(theirs)) if mine.len() + theirs.len() <= MOST_KEPT_PIECES => {
                mine.merge(theirs)
            }
            _ => self.hex = None,
        }
        self.before.merge(&other.before);
        self.after.merge(&other.after);
        for (mine, theirs) in [
            (&mut self.runs, &other.runs),
            (&mut self.within, &other.within),
        ] {
            for run in theirs {
                add_sorted(mine, run);
            }
        }
    }

    /// Whether it keeps no run nor word (merging it changes nothing).
    pub fn is_empty(&self) -> bool {
        self.hex.as_ref().is_some_and(HexKeep::is_empty)
            && self.before.entries.is_empty()
            && self.after.entries.is_empty()
            && self.runs.is_empty()
            && self.within.is_empty()
    }

    /// Whether the long run `run` is kept as it is, between the characters
    /// (their last and first bytes, escapes decoded) `before` and `after`
    /// (none at the value's ends).
    #[inline(always)]
    pub fn keeps(&self, before: Option<u8>, run: &[u8], after: Option<u8>) -> bool {
        before.is_some_and(|b| self.before.keeps(b, run, true))
            || after.is_some_and(|a| self.after.keeps(a, run, false))
            || self.runs.binary_search_by(|r| (**r).cmp(run)).is_ok()
            || self
                .within
                .iter()
                .any(|w| run.windows(w.len()).any(|x| x == &w[..]))
    }
}

/// One character of a pattern's stretch: a digit, or one of these others.
enum Slot<'p> {
    Digit(u8),
    Char(char),
    OneOf(&'p [char]),
}

impl Slot<'_> {
    /// Keeps the runs next to this character that start (end) with `digits`.
    fn add_to(&self, neighbours: &mut Neighbours, digits: &[u8]) {
        match self {
            Slot::Digit(_) => {}
            Slot::Char(c) => neighbours.add_char(*c, digits),
            Slot::OneOf(cs) => cs.iter().for_each(|&c| neighbours.add_char(c, digits)),
        }
    }
}

/// Adds a stretch's end characters to `fold`; false when the stretch can
/// tell long runs apart.
fn stretch_fold(stretch: &[Slot<'_>], fold: &mut DigitFold) -> bool {
    let digit = |s: &Slot<'_>| match s {
        Slot::Digit(d) => Some(*d),
        _ => None,
    };
    let Some(first_other) = stretch.iter().position(|s| digit(s).is_none()) else {
        // Digits only (or nothing): a long run holding them is kept.
        if !stretch.is_empty() {
            let digits: Vec<u8> = stretch.iter().filter_map(digit).collect();
            add_sorted(&mut fold.within, &digits);
        }
        return true;
    };
    let last_other = stretch
        .iter()
        .rposition(|s| digit(s).is_none())
        .unwrap_or(first_other);
    let mut run: Vec<u8> = Vec::new();
    for s in &stretch[first_other..=last_other] {
        match digit(s) {
            Some(d) => run.push(d),
            None => {
                if run.len() >= LONG_RUN {
                    add_sorted(&mut fold.runs, &run);
                }
                run.clear();
            }
        }
    }
    if first_other > 0 {
        let head: Vec<u8> = stretch[..first_other].iter().filter_map(digit).collect();
        stretch[first_other].add_to(&mut fold.after, &head);
    }
    if last_other + 1 < stretch.len() {
        let tail: Vec<u8> = stretch[last_other + 1..].iter().filter_map(digit).collect();
        stretch[last_other].add_to(&mut fold.before, &tail);
    }
    true
}

/// The fold under which `predicate` gives every value the result it gives
/// the value folded; `None` when it can tell long runs of digits apart.
/// The fold keeps every hexadecimal word unless the test is a pattern
/// without `?` or a character set, `exists` or `null`.
pub fn predicate_fold(predicate: &Predicate) -> Option<DigitFold> {
    let mut fold = predicate_digit_fold(predicate)?;
    fold.hex = match predicate {
        Predicate::Text { pattern, .. } => {
            let mut keep = HexKeep::default();
            let mut stretch: Vec<Unit> = Vec::new();
            for piece in pattern.pieces() {
                match piece {
                    Piece::Literal(text) => stretch.extend(text.chars().map(Unit::of_char)),
                    Piece::AnyRun => {
                        keep.add_stretch(&stretch);
                        stretch.clear();
                    }
                    Piece::AnyChar | Piece::OneOf(_) => return Some(fold.without_words()),
                }
            }
            keep.add_stretch(&stretch);
            Some(keep)
        }
        Predicate::Exists(_) | Predicate::Null => Some(HexKeep::default()),
        _ => None,
    };
    Some(fold)
}

/// [`predicate_fold`] for long runs of digits (every word folds).
fn predicate_digit_fold(predicate: &Predicate) -> Option<DigitFold> {
    let mut fold = DigitFold::default();
    match predicate {
        // Most tests hold no digit: they keep no run (and cost no analysis).
        Predicate::Text { pattern, .. }
            if pattern.pieces().iter().all(|piece| match piece {
                Piece::Literal(text) => !text.chars().any(|c| c.is_ascii_digit() || c == MARK),
                Piece::AnyRun => true,
                Piece::OneOf(set) => !set.iter().any(|&c| c.is_ascii_digit() || c == MARK),
                Piece::AnyChar => false,
            }) =>
        {
            Some(fold)
        }
        Predicate::Text { pattern, .. } => {
            let mut stretch: Vec<Slot<'_>> = Vec::new();
            for piece in pattern.pieces() {
                match piece {
                    Piece::Literal(text) if !text.contains(MARK) => {
                        stretch.extend(text.chars().map(|c| {
                            if c.is_ascii_digit() {
                                Slot::Digit(c as u8)
                            } else {
                                Slot::Char(c)
                            }
                        }))
                    }
                    Piece::OneOf(set) if !set.iter().any(|&c| c.is_ascii_digit() || c == MARK) => {
                        stretch.push(Slot::OneOf(set))
                    }
                    Piece::Literal(_) => return None,
                    Piece::OneOf(_) | Piece::AnyChar => return None,
                    Piece::AnyRun => {
                        if !stretch_fold(&stretch, &mut fold) {
                            return None;
                        }
                        stretch.clear();
                    }
                }
            }
            stretch_fold(&stretch, &mut fold).then_some(fold)
        }
        Predicate::Regex(re) if !may_read_no_digit(&re.source) => None,
        Predicate::Regex(re) => {
            let source = format!("{}{}", crate::values::inline_flags(re.flags), re.source);
            let hir = regex_syntax::Parser::new().parse(&source).ok()?;
            reads_no_digit(&hir).then_some(fold)
        }
        Predicate::Exists(_) | Predicate::Null => Some(fold),
        _ => None,
    }
}

/// The fold under which a stage-1 witness, `literal` as the raw bytes of
/// a JSON string hold it (matched byte for byte, ASCII letters of either
/// case), is found in a raw value exactly when it is found in the value
/// folded by [`fold_json_string`]; `None` when it can tell long runs
/// apart. [`fold_json_string`] reads the characters next to a run decoded
/// (`\n` as a line feed), so each raw byte that can stand next to a run
/// in the literal comes with what it decodes to.
pub fn literal_fold(literal: &[u8]) -> Option<DigitFold> {
    let mut fold = literal_digit_fold(literal)?;
    let mut keep = HexKeep::default();
    let units: Vec<Unit> = literal.iter().map(|&b| Unit::of_byte(b)).collect();
    keep.add_stretch(&units);
    fold.hex = Some(keep);
    Some(fold)
}

/// [`literal_fold`] for long runs of digits (every word folds).
fn literal_digit_fold(literal: &[u8]) -> Option<DigitFold> {
    if literal.contains(&FOLDED_RUN[0]) {
        return None;
    }
    // Most literals hold no digit: they keep no run.
    if !literal.iter().any(u8::is_ascii_digit) {
        return Some(DigitFold::default());
    }
    let slots: Vec<Slot<'_>> = literal
        .iter()
        .map(|&b| match b {
            b'0'..=b'9' => Slot::Digit(b),
            // A byte outside ASCII stands for every such byte (`add_char`).
            0x80..=0xff => Slot::Char('\u{80}'),
            _ => Slot::Char(char::from(b)),
        })
        .collect();
    let mut fold = DigitFold::default();
    if !stretch_fold(&slots, &mut fold) {
        return None;
    }
    let mut raw = fold.clone();
    for (key, _, digits) in &fold.before.entries {
        raw.before.add(decode_escape(*key), digits);
    }
    for (_, _, digits) in fold
        .after
        .entries
        .iter()
        .filter(|(key, _, _)| *key == b'\\')
    {
        for b in *b"\"\\/bfnrt" {
            raw.after.add(decode_escape(b), digits);
        }
    }
    Some(raw)
}

/// Whether a regular expression's source may read no digit, judged
/// without parsing it (a parse with Unicode classes costs tens of
/// microseconds, thousands of rules have one): false when it holds a
/// digit, a `.` not escaped, a negated set, or an escape that stands for a
/// class holding digits or for an assertion on its neighbours.
fn may_read_no_digit(source: &str) -> bool {
    let mut bytes = source.bytes();
    let mut previous = 0u8;
    while let Some(b) = bytes.next() {
        match b {
            b'0'..=b'9' | b'.' => return false,
            b'^' if previous == b'[' => return false,
            b'\\' => match bytes.next() {
                Some(
                    b'0'..=b'9'
                    | b'd'
                    | b'D'
                    | b'w'
                    | b'W'
                    | b'b'
                    | b'B'
                    | b'S'
                    | b'p'
                    | b'P'
                    | b'x'
                    | b'u',
                )
                | None => return false,
                Some(_) => {
                    previous = 0;
                    continue;
                }
            },
            _ => {}
        }
        previous = b;
    }
    true
}

/// Whether no character a match of `hir` consumes can be a digit or the
/// mark of a folded run, and it asserts nothing of its neighbours but the
/// ends of the text or of a line (a word boundary tells a digit from the
/// mark): then a match lies between runs of digits, in text the fold
/// leaves as it is.
fn reads_no_digit(hir: &Hir) -> bool {
    use regex_syntax::hir::Look;
    let read = |b: u8| b.is_ascii_digit() || b == FOLDED_RUN[0];
    match hir.kind() {
        HirKind::Empty => true,
        HirKind::Look(look) => matches!(
            look,
            Look::Start | Look::End | Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF
        ),
        HirKind::Literal(literal) => !literal.0.iter().any(|&b| read(b)),
        HirKind::Class(Class::Unicode(class)) => !class.ranges().iter().any(|r| {
            (r.start() <= '9' && r.end() >= '0') || (r.start() <= MARK && r.end() >= MARK)
        }),
        HirKind::Class(Class::Bytes(class)) => !class.ranges().iter().any(|r| {
            (r.start() <= b'9' && r.end() >= b'0')
                || r.end() >= FOLDED_RUN[0] && r.start() <= FOLDED_RUN[0]
        }),
        HirKind::Repetition(repetition) => reads_no_digit(&repetition.sub),
        HirKind::Capture(capture) => reads_no_digit(&capture.sub),
        HirKind::Concat(all) | HirKind::Alternation(all) => all.iter().all(reads_no_digit),
    }
}

/// What [`fold_json_string`] folds in a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folding {
    /// Long runs of decimal digits only (a run glued to a hexadecimal
    /// letter is kept).
    Runs,
    /// Long runs of digits and hexadecimal words (`hex_words.rs`), where the
    /// fold lets words fold.
    RunsAndWords,
}

/// Appends the JSON string `raw` (quotes included, as written in a line)
/// with its long runs of digits (and, by `folding`, its hexadecimal words)
/// folded under `fold` to `out`, escapes as written, when that folds at
/// least one; false (nothing written) when it folds none, when `raw` is
/// not a string, or when it holds a `\u` escape (whose hexadecimal digits
/// would read as a run).
pub fn fold_json_string(raw: &[u8], fold: &DigitFold, folding: Folding, out: &mut Vec<u8>) -> bool {
    fold_json_parts(raw, fold, folding, out) != Folded::Nothing
}

/// What [`fold_json_parts`] folded in a value (ordered: nothing, runs,
/// words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Folded {
    /// Nothing (nothing was written).
    Nothing,
    /// Long runs of digits only.
    Runs,
    /// At least one hexadecimal word (and maybe runs).
    Words,
}

/// [`fold_json_string`], telling whether a hexadecimal word was folded.
pub fn fold_json_parts(
    raw: &[u8],
    fold: &DigitFold,
    folding: Folding,
    out: &mut Vec<u8>,
) -> Folded {
    let Some(body) = raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) else {
        return Folded::Nothing;
    };
    match (folding, &fold.hex) {
        (Folding::RunsAndWords, Some(keep)) => fold_runs_and_words(body, fold, keep, out),
        _ => fold_runs(body, fold, out),
    }
}

/// [`fold_json_parts`] of a string's `body` (between its quotes) by
/// [`Folding::Runs`], or where the fold keeps every word.
fn fold_runs(body: &[u8], fold: &DigitFold, out: &mut Vec<u8>) -> Folded {
    // Most values hold no long run: told by a quicker test than the walk
    // over the runs (whose blocks are 64 bytes, most values' a copy).
    if !has_long_run(body) {
        return Folded::Nothing;
    }
    let folds = |(found, end): (usize, usize)| fold.folds_run(body, found, end);
    match write_folded(body, long_runs(body), folds, out) {
        true => Folded::Runs,
        false => Folded::Nothing,
    }
}

/// [`fold_json_parts`] of a string's `body` by [`Folding::RunsAndWords`],
/// the words `keep` keeps left as they are.
#[inline(never)]
fn fold_runs_and_words(body: &[u8], fold: &DigitFold, keep: &HexKeep, out: &mut Vec<u8>) -> Folded {
    let (digits, hex) = runs_present(body);
    if !hex {
        return fold_runs(body, fold, out);
    }
    let runs = digits
        .then(|| long_runs(body))
        .into_iter()
        .flatten()
        .filter(|&(found, end)| fold.folds_run(body, found, end));
    // Whether a word was met (and so folded: runs and words never overlap).
    let word = std::cell::Cell::new(false);
    let words = folded_words(body, keep).inspect(|_| word.set(true));
    let ranges = in_order(runs, words);
    match (write_folded(body, ranges, |_| true, out), word.get()) {
        (false, _) => Folded::Nothing,
        (true, false) => Folded::Runs,
        (true, true) => Folded::Words,
    }
}

/// Writes the JSON string of `body` to `out` with each of `ranges` (in
/// order) that `folds` folded, when there is one and `body` holds no `\u`
/// escape; whether it wrote it.
#[inline(always)]
fn write_folded(
    body: &[u8],
    ranges: impl Iterator<Item = (usize, usize)>,
    folds: impl Fn((usize, usize)) -> bool,
    out: &mut Vec<u8>,
) -> bool {
    // `body[copied..]` is still to be written once something is folded.
    let mut copied = 0;
    let mut folding = false;
    for (found, end) in ranges {
        // Runs and words never overlap (a folded run is glued to no
        // hexadecimal letter, a folded word holds one); were they to, the
        // later one is left.
        if found < copied || !folds((found, end)) {
            continue;
        }
        if !folding {
            // Hexadecimal digits of a `\u` escape would read as digits (an
            // escaped backslash before a `u` is left unfolded too).
            if U_ESCAPE.find(body).is_some() {
                return false;
            }
            folding = true;
            out.push(b'"');
        }
        out.extend_from_slice(&body[copied..found]);
        out.extend_from_slice(FOLDED_RUN);
        copied = end;
    }
    if folding {
        out.extend_from_slice(&body[copied..]);
        out.push(b'"');
    }
    folding
}

/// Whether `raw` (a JSON value as written) may hold something
/// [`fold_json_string`] folds by `folding`: a long run of digits, or (with
/// words) a run of hexadecimal digits as long as a folded word.
#[inline]
pub fn may_fold(raw: &[u8], folding: Folding) -> bool {
    match folding {
        Folding::Runs => has_long_run(raw),
        Folding::RunsAndWords => {
            let (digits, hex) = runs_present(raw);
            digits || hex
        }
    }
}

/// Two sequences of byte ranges, each in order, that never overlap, as one
/// in order.
fn in_order(
    a: impl Iterator<Item = (usize, usize)>,
    b: impl Iterator<Item = (usize, usize)>,
) -> impl Iterator<Item = (usize, usize)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y.0 < x.0 => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

impl DigitFold {
    /// This fold, keeping every hexadecimal word.
    fn without_words(mut self) -> DigitFold {
        self.hex = None;
        self
    }

    /// Whether the long run of digits `body[found..end]` (of a JSON
    /// string's bytes) is folded.
    #[inline(always)]
    fn folds_run(&self, body: &[u8], found: usize, end: usize) -> bool {
        // A run glued to a hexadecimal letter is part of a hexadecimal
        // number (a hash, a GUID, an address), which folding one of its
        // runs would not make repeat: kept, without asking the fold (the
        // number is folded whole as a word, if at all).
        let hex = |b: Option<&u8>| b.is_some_and(|b| matches!(b, b'a'..=b'f' | b'A'..=b'F'));
        if hex(found.checked_sub(1).and_then(|at| body.get(at))) || hex(body.get(end)) {
            return false;
        }
        let before = decoded_before(body, found);
        !self.keeps(before, &body[found..end], decoded_at(body, end))
    }
}

/// The character an escape `\x` stands for (`x` for `"`, `\\` and `/`).
fn decode_escape(x: u8) -> u8 {
    match x {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'f' => 0x0c,
        other => other,
    }
}

/// The character (its last byte) before `body[at]`, escapes decoded; none
/// at the start.
fn decoded_before(body: &[u8], at: usize) -> Option<u8> {
    let last = *body.get(at.checked_sub(1)?)?;
    Some(if escaped(body, at - 1) {
        decode_escape(last)
    } else {
        last
    })
}

/// Whether `body[at]` follows an escaping backslash (an odd number of
/// backslashes comes right before it).
fn escaped(body: &[u8], at: usize) -> bool {
    let backslashes = body
        .get(..at)
        .unwrap_or_default()
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    backslashes % 2 == 1
}

/// The character starting at `body[at]` (a character right after a run or
/// a word, which never ends inside an escape): its byte, or what the
/// escape it starts stands for; none at the end.
fn decoded_at(body: &[u8], at: usize) -> Option<u8> {
    match body.get(at) {
        Some(b'\\') => body.get(at + 1).map(|&b| decode_escape(b)),
        b => b.copied(),
    }
}

#[cfg(test)]
#[path = "digit_runs_tests.rs"]
mod tests;
