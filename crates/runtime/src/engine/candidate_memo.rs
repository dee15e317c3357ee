//! Stage 1 decides an event once per distinct content it reads: candidate
//! lists are remembered by the bytes they depend on.
//!
//! For an event the scope gate read (indexed by the strict pass, no escape
//! or character folding to ASCII that could hide a literal: `scopes.rs`),
//! stage 1's candidates depend only on:
//! - the event's scope set (which scopes it can be of, from its log-source
//!   values: the gate's signature, mapped to a set per scanner), which
//!   decides the database, the witness-free rules and every scope check;
//! - the copy of its values that the scan reads (`compact.rs`) and the
//!   layout of member names they come from, which places each hit;
//! - whether the copy holds every value (a keyword's witness may be
//!   scanned for) and whether the line is ASCII (the second database);
//!   when it holds every value, each value no field-scoped witness counts
//!   in matters only through the keyword literals it holds
//!   (`keyword_values.rs`);
//! - whether it holds a number the reference rewrites (`numbers.rs`);
//! - the tokens of its event-id field (`filter_event_ids`).
//!
//! So the candidate list is remembered under those, the bytes compared and
//! not only hashed: a remembered list is exactly the one stage 1 would give
//! (whichever database it was found with: each holds the literals of every
//! rule the event's scopes hold, see `subsets.rs`). Telemetry repeats what
//! witnesses are read from (images, command lines, parents, users) while
//! times, GUIDs and process ids change in values the copy leaves out.
//! When a keyword's witness may be scanned for, the copy holds every value,
//! times and GUIDs included, which never repeat: the key then holds each
//! value no field-scoped witness counts in as the keyword patterns found
//! in it (none in a value of the bytes of times, GUIDs and ids, when no
//! keyword literal of the event's scopes can be written with those bytes;
//! those remembered from an earlier scan for any other value, such as host
//! and user names), and an event with a value not remembered is scanned
//! without a key (`keyword_values.rs`; keying them by a search of the
//! keywords' literals instead was measured and not kept: BENCHMARKS.md,
//! "fast path v19").
//! Without the scope gate (rule sets whose log sources refuse no event,
//! or the gate forced off) nothing is remembered.
//!
//! Looking up costs (the key: a copy and a hash of the values scanned), so
//! lookups stop for a while when too few are answered (`remembered.rs`:
//! [`Switch`]); a list is remembered the first time its key is seen (a
//! scan costs far more than the key's copy into the memo).
//! An event none of these keys answered is scanned, then looked up once
//! more by its hits (`hits_key.rs`), under this key's first part.
//! Bounded: the memo starts over past [`MAX_LISTS`] lists or
//! [`MAX_KEY_BYTES`] bytes of keys; keys past [`MAX_KEY_LEN`] bytes are not
//! built.

use hypersigma_compiler::digit_runs::{DigitFold, Folded, Folding};

use super::compact::each_copied_value;
use super::folded_copy::{append_folded, FOLDED_WINDOW, FOLDED_WORTH_SHARE};
use super::places::HitPlace;
use super::remembered::{KeyPlace, RememberedLists, Switch};
use super::subsets::Subset;
use super::{EventKnown, Scanner};
use crate::members::MemberIndex;

/// Candidate lists remembered at most per scanner (then the memo starts
/// over).
const MAX_LISTS: usize = 1 << 15;
/// Bytes of keys remembered at most per scanner (likewise).
const MAX_KEY_BYTES: usize = 8 << 20;
/// Events whose scanned values are longer are scanned each time.
const MAX_KEY_LEN: usize = 16384;
/// Looked-up events per window, and the share of them (one in this many)
/// that must be answered for lookups to go on (see [`Switch`]).
const WINDOW_EVENTS: u32 = 256;
const WORTH_SHARE: u32 = 16;

/// Scope sets with a switch of their own for folded keys.
const FOLDED_SETS: usize = 64;

/// The remembered candidate lists of one scanner.
pub(super) struct CandidateMemo {
    lists: RememberedLists,
    /// The current event's key (scratch).
    pub(super) key: Vec<u8>,
    /// Where the values begin in `key`, when it holds the copied values
    /// themselves (not keyword patterns).
    values_at: Option<usize>,
    /// The second keys, by [`Folding`] ([`second_index`]): the key with
    /// long runs of digits folded (`folded_copy.rs`), then the key with
    /// hexadecimal words folded too (tried when the folded key is not
    /// answered, built only when a word folds).
    seconds: [SecondKey; 2],
    /// The current event's scope set, for the second keys' switches.
    folded_set: usize,
    switch: Switch,
    /// Events answered since the start.
    pub(super) answered_total: u64,
    /// Of those, the events answered by a second key (long runs of digits
    /// folded, or hexadecimal words too).
    pub(super) answered_folded_total: u64,
}

/// A second key of the copied values, folded one way.
#[derive(Default)]
struct SecondKey {
    /// The key (scratch), and its hash when one was built for the current
    /// event.
    key: Vec<u8>,
    hash: Option<u64>,
    /// Per scope set: whether such keys are tried (they stop while they do
    /// not pay: events of one kind have values that vary in their digits
    /// only, those of another in more).
    switches: Vec<Switch>,
}

/// Where the second key folded by `folding` lies in
/// [`CandidateMemo::seconds`].
fn second_index(folding: Folding) -> usize {
    match folding {
        Folding::Runs => 0,
        Folding::RunsAndWords => 1,
    }
}

impl Default for CandidateMemo {
    fn default() -> Self {
        CandidateMemo {
            lists: RememberedLists::new(MAX_LISTS, MAX_KEY_BYTES),
            key: Vec::new(),
            values_at: None,
            seconds: Default::default(),
            folded_set: 0,
            switch: Switch::new(WINDOW_EVENTS, WORTH_SHARE),
            answered_total: 0,
            answered_folded_total: 0,
        }
    }
}

impl CandidateMemo {
    /// Whether this event is looked up (the switch is on).
    pub(super) fn looks_up(&mut self) -> bool {
        self.switch.looks_up()
    }

    /// The hash of the key built in [`CandidateMemo::key`]; `None` when it
    /// is too long to remember.
    pub(super) fn hash(&self) -> Option<u64> {
        (self.key.len() <= MAX_KEY_LEN).then(|| self.lists.hash(&self.key))
    }

    /// The remembered candidates of the key just built under `hash`, and
    /// where that key lies in the memo ([`KeyPlace`]: events answered at one
    /// place had the same key bytes, so the same layout and the same values
    /// of the members some witness counts in, each held as written in both
    /// forms of key: `verdict_link.rs` relies on it).
    pub(super) fn get(&self, hash: u64) -> Option<(&[u32], KeyPlace)> {
        self.lists.get_placed(hash, &self.key)
    }

    /// The remembered candidates of the second key (folded by `folding`)
    /// just built under `hash` ([`Scanner::second_candidate_key`]), and
    /// where that key lies: events answered there had the same values as
    /// the copy folds them (`verdict_link.rs` links a verdict there only
    /// where the candidates' tests cannot tell such values apart).
    pub(super) fn get_second(&self, folding: Folding, hash: u64) -> Option<(&[u32], KeyPlace)> {
        self.lists
            .get_placed(hash, &self.seconds[second_index(folding)].key)
    }

    /// Where the copied values begin in the current key (the first part
    /// before them: layout, scope set, flags, event-id tokens), when it
    /// holds them.
    pub(super) fn values_at(&self) -> Option<usize> {
        self.values_at
    }

    /// The hash of another key of this memo's (`hits_key.rs`).
    pub(super) fn hash_of_key(&self, key: &[u8]) -> u64 {
        self.lists.hash(key)
    }

    /// The candidates remembered under another key of this memo's.
    pub(super) fn get_key(&self, hash: u64, key: &[u8]) -> Option<&[u32]> {
        self.lists.get(hash, key)
    }

    /// Remembers candidates under another key of this memo's.
    pub(super) fn remember_key(&mut self, hash: u64, key: &[u8], candidates: &[u32]) {
        self.lists.remember(hash, key, candidates);
    }

    /// Forgets the current event's keys (a new event).
    pub(super) fn start_event(&mut self) {
        self.values_at = None;
        for second in &mut self.seconds {
            second.hash = None;
        }
    }

    /// The copied values (each followed by a line feed) as the key with
    /// words folded holds them, else the folded key, when one was built
    /// for the current event: the copy the scan reads (`compact.rs`).
    pub(super) fn folded_values(&self) -> Option<&[u8]> {
        let values_at = self.values_at?;
        let second = self.seconds.iter().rev().find(|s| s.hash.is_some())?;
        second.key.get(values_at..)
    }

    /// Counts a lookup by the second key folded by `folding`, answered or
    /// not (an answer in `answered_folded_total` too).
    pub(super) fn count_second(&mut self, folding: Folding, answered: bool) {
        self.answered_folded_total += u64::from(answered);
        let switches = &mut self.seconds[second_index(folding)].switches;
        if let Some(switch) = switches.get_mut(self.folded_set) {
            switch.count(answered);
        }
    }

    /// Counts a looked-up event, answered or not (by either key).
    pub(super) fn count(&mut self, answered: bool) {
        self.switch.count(answered);
        self.answered_total += u64::from(answered);
    }

    /// Counts, for the switch alone, a looked-up event that its key by hits
    /// (`hits_key.rs`) answered after its own keys did not: as answered,
    /// since that key's first part is the own key's (kept on, the own keys
    /// of other scope sets' events go on answering). Not in
    /// `answered_total`: the event was scanned.
    pub(super) fn count_answered_by_hits(&mut self) {
        self.switch.count(true);
    }

    /// Remembers the candidates of the key just built under `hash` (and
    /// under the folded keys, when they were built).
    pub(super) fn remember(&mut self, hash: u64, candidates: &[u32]) {
        self.lists.remember(hash, &self.key, candidates);
        for second in &self.seconds {
            if let Some(hash) = second.hash {
                self.lists.remember(hash, &second.key, candidates);
            }
        }
    }
}

impl Scanner<'_> {
    /// Builds the current event's key in the memo, making the copy of its
    /// values that the scan reads (`compact.rs`); its hash, or `None` when
    /// the event is not looked up (the gate did not read it, its scope set
    /// is unknown, the switch is off, the key is too long).
    pub(super) fn candidate_key(
        &mut self,
        raw: &[u8],
        subset: Option<&Subset>,
        known: &EventKnown,
    ) -> Option<u64> {
        let engine = self.engine;
        let set = self.subset_cache.current?;
        if !engine.raw.gate || !known.read || known.indexed != Some(true) {
            return None;
        }
        let ascii = !self.members.seen()?.non_ascii;
        // Off, the key's first part is still built, for the key by hits
        // (`hits_key.rs`).
        let looks_up = self.candidate_memo.looks_up();
        let keywords = self.scans_keywords(subset, ascii, raw);
        // The key reads the values the copy would hold from the line; the
        // copy itself is made only for a scan (`compact.rs`).
        self.span_places_of_layout(raw);
        let serial = self.compact.current_serial()?;
        let numbers = !engine.number_patterns.is_empty() && self.members.has_rewritten_number(raw);
        let key = &mut self.candidate_memo.key;
        key.clear();
        key.extend_from_slice(&serial.to_le_bytes());
        key.extend_from_slice(&(set as u64).to_le_bytes());
        key.push(u8::from(keywords) | (u8::from(ascii) << 1) | (u8::from(numbers) << 2));
        self.raw_scope.event_id_key(&engine.raw.scopes, raw, key);
        if !looks_up {
            self.candidate_memo.values_at = (!keywords).then_some(key.len());
            return None;
        }
        // A keyword scan keys the values no field-scoped witness counts in
        // by the keyword patterns they hold (`keyword_values.rs`).
        if keywords {
            if !self.keyword_values_key(raw, subset) {
                self.keyword_values.pending = true;
                return None;
            }
        } else {
            // The values some witness counts in, each followed by a line
            // feed, as the copy holds them.
            self.candidate_memo.values_at = Some(key.len());
            let places = (&self.span_places[..], &self.span_copied[..]);
            push_copied_values(&self.members, places, raw, key, Folding::Runs, |_| None);
        }
        self.candidate_memo.hash()
    }

    /// After [`Scanner::candidate_key`] built a key of the copied values
    /// that was not answered: the key with their long runs of digits folded
    /// (by `folding`, their hexadecimal words too), as the copy holds them
    /// (`folded_copy.rs`); its hash, or `None` when the switch is off,
    /// nothing is folded (no word, with words) or the key is too long.
    #[inline(always)]
    pub(super) fn second_candidate_key(&mut self, raw: &[u8], folding: Folding) -> Option<u64> {
        let folds = self.engine.copy_folds();
        // Sets past the first `FOLDED_SETS` share one switch.
        let set = self.subset_cache.current?.min(FOLDED_SETS - 1);
        let memo = &mut self.candidate_memo;
        let values_at = memo.values_at?;
        memo.folded_set = set;
        let second = &mut memo.seconds[second_index(folding)];
        if second.switches.len() <= set {
            second
                .switches
                .resize_with(set + 1, || Switch::new(FOLDED_WINDOW, FOLDED_WORTH_SHARE));
        }
        if !second.switches.get_mut(set)?.looks_up() {
            return None;
        }
        let key = &mut second.key;
        key.clear();
        key.extend_from_slice(memo.key.get(..values_at)?);
        let places = (&self.span_places[..], &self.span_copied[..]);
        let folded = push_copied_values(&self.members, places, raw, key, folding, |p| folds.of(p));
        let wanted = match folding {
            Folding::Runs => Folded::Runs,
            Folding::RunsAndWords => Folded::Words,
        };
        if folded < wanted || key.len() > MAX_KEY_LEN {
            // A walk over the values for words that found none to fold
            // cost as much as a lookup: counted as one not answered.
            if folding == Folding::RunsAndWords {
                memo.count_second(folding, false);
            }
            return None;
        }
        let hash = memo.lists.hash(key);
        second.hash = Some(hash);
        Some(hash)
    }
}

/// Appends to `key` the values of the indexed event `raw` that some
/// witness counts in, as the copy holds them (`places`: the event's span
/// places and copied scalars), each followed by a line feed and folded as
/// `fold_of` allows at its place by `folding` ([`append_folded`]); the
/// most any value had folded.
#[inline(always)]
fn push_copied_values<'f>(
    members: &MemberIndex,
    places: (&[Option<HitPlace>], &[u32]),
    raw: &[u8],
    key: &mut Vec<u8>,
    folding: Folding,
    fold_of: impl Fn(HitPlace) -> Option<&'f DigitFold>,
) -> Folded {
    let mut folded = Folded::Nothing;
    each_copied_value(members, places, raw, (false, false), |_, value, place| {
        folded = folded.max(append_folded(key, value, fold_of(place), folding));
        key.push(b'\n');
        true
    });
    folded
}

#[cfg(test)]
#[path = "candidate_memo_tests.rs"]
mod tests;
