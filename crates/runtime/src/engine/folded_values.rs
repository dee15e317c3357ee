//! A second key for a flat event whose key the verdict memo does not
//! answer: its values with their long runs of digits folded (see
//! [`hypersigma_compiler::digit_runs`]). A command line that differs from
//! an earlier one only in fresh process ids, handles or ticks
//! (`--renderer-client-id=83479128`) gets the earlier one's folded key, so
//! the earlier verdict answers. Each member's fold merges the candidates'
//! folds of the fields reaching it (`partial/digit_folds.rs`); a candidate's
//! test that can tell those runs apart (`-k\s\w{1,64}`, which reads the
//! digits of `-k 12345`) is decided on the value as it is, and its result
//! goes into the key after the folded value. An evaluated event is
//! remembered under both keys.
//!
//! Only events whose own key is not answered pay for it: most repeat a
//! remembered event exactly. Values without a run of
//! [`LONG_RUN`](hypersigma_compiler::digit_runs::LONG_RUN) digits
//! (a vector pass finds them at a few instructions per 12 bytes), values
//! that are not strings and values with a `\u` escape go into the folded key
//! as they are; an event none of whose values is folded gets no folded key.
//!
//! When the folded key is not answered (or none was built), a key with
//! the values' hexadecimal words folded too ([`Second::Worded`]: a fresh
//! file name `f_0a3b2c`, a GUID) is tried, where the candidates' tests
//! cannot read those words; it is built only when a word folds, and tried
//! per layout of member names behind a switch of its own (the values of
//! a file event's layout hold fresh hexadecimal names, a process
//! creation's seldom), a walk that found no word counting as a lookup not
//! answered.
//!
//! A further key, *by results*, is built for an event that neither key nor
//! the members an earlier evaluation read answer, which would otherwise be
//! evaluated: each string member whose every test by the candidates is
//! known (`ValueFold::tests`: at most `MAX_TESTED`, each reading nothing
//! but the value) goes into it as those tests' results, a byte each, the
//! other members as into the folded key. A fresh logon id read by one
//! equality (`LogonId: '0x3e7'`), a file name read by a few suffixes, an
//! address read by CIDR ranges: events that differ only there share a
//! verdict when the tests give them the same results. The results are
//! remembered by value (`test_results.rs`), so a member that repeats costs
//! a hash and a compare instead of its tests.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use hypersigma_compiler::digit_runs::{may_fold, DigitFold, Folded, Folding};
use hypersigma_compiler::ir::Predicate;

use super::test_results::{push_results, TestResults};
use crate::engine::folded_copy::{append_folded, FOLDED_WINDOW, FOLDED_WORTH_SHARE};
use crate::engine::remembered::Switch;

use super::ValueFold;
use super::{push_counted, start_flat_key, Layout, MemberFilter, RememberedLists, TopMember};
use super::{MAX_KEY_LEN, NO_ID};

/// The byte after a folded key's candidates: its member names follow, each
/// before its value, or the serial of its stage-1 layout (as in a flat
/// key, whose bytes there are 0 and 1).
const FOLDED_BY_NAMES: u8 = 3;
const FOLDED_BY_SERIAL: u8 = 4;
/// The same for a key by results.
const RESULTS_BY_NAMES: u8 = 5;
const RESULTS_BY_SERIAL: u8 = 6;
/// The same for a key with hexadecimal words folded too.
const WORDED_BY_NAMES: u8 = 7;
const WORDED_BY_SERIAL: u8 = 8;

/// The current flat event's folded key.
pub(super) struct FoldedKey {
    /// The keys, by [`Second`] (scratch), each with its hash when one was
    /// built for the current event.
    keys: [BuiltKey; 3],
    /// The layout (its index among the memo's) and stage-1 serial of the
    /// current event's flat key, when it has one.
    pub(super) layout: Option<(usize, Option<u64>)>,
    /// The folds worked out, by candidate list and member name id (a
    /// layout's lists come and go faster than its entries keep them).
    folds: KeptFolds,
    /// Whether folded keys are tried (they stop while they do not pay), and
    /// keys by results (whether keys with words folded are tried is up to
    /// each layout's switch: `Layout::worded`).
    switch: Switch,
    results_switch: Switch,
    /// The results of members' tests by value, and scratch for the tests
    /// decided beside a folded value.
    results: TestResults,
}

impl Default for FoldedKey {
    fn default() -> Self {
        FoldedKey {
            keys: Default::default(),
            layout: None,
            folds: KeptFolds::default(),
            switch: Switch::new(FOLDED_WINDOW, FOLDED_WORTH_SHARE),
            results_switch: Switch::new(FOLDED_WINDOW, FOLDED_WORTH_SHARE),
            results: TestResults::default(),
        }
    }
}

/// One second key of the current event (scratch) and its hash, when one
/// was built for it.
#[derive(Default)]
struct BuiltKey {
    key: Vec<u8>,
    hash: Option<u64>,
}

/// Folds kept by candidate list and member, at most (all are forgotten
/// when one more comes). A key by results needs the fold of every member
/// its candidates read: with all SigmaHQ rules, the generated events come
/// with ~1,000 lists, and a fold worked out again allocates (its lists of
/// tests, its `Arc`); each kept fold holds up to `MAX_TESTED` tests.
const FOLDS_KEPT: usize = 2048;

/// A fold worked out: the candidate list, the member name id, the fold.
type KeptFold = (Box<[u32]>, u32, Option<Arc<ValueFold>>);

/// The folds worked out, by the hash of their list and member.
#[derive(Default)]
struct KeptFolds {
    by_hash: HashMap<u64, Vec<KeptFold>, foldhash::fast::FixedState>,
    count: usize,
    /// The serial the next fold worked out gets.
    next_serial: u64,
}

impl KeptFolds {
    /// Forgets them all (serials go on: a table of results may still
    /// name the old ones).
    fn clear(&mut self) {
        self.by_hash.clear();
        self.count = 0;
    }

    /// The fold of member `id` under `candidates` (see
    /// [`MemberFilter::fold_of`]), worked out on first need.
    fn fold_of(
        &mut self,
        filter: &MemberFilter,
        candidates: &[u32],
        id: u32,
    ) -> Option<Arc<ValueFold>> {
        let hash = self.by_hash.hasher().hash_one((candidates, id));
        if let Some(entries) = self.by_hash.get(&hash) {
            if let Some((_, _, fold)) = entries
                .iter()
                .find(|(c, i, _)| *i == id && **c == *candidates)
            {
                return fold.clone();
            }
        }
        let fold = filter.fold_of(candidates, id).map(|mut fold| {
            // Names its list of tests in the table of results.
            fold.serial = self.next_serial;
            self.next_serial += 1;
            Arc::new(fold)
        });
        if self.count >= FOLDS_KEPT {
            self.clear();
        }
        self.count += 1;
        self.by_hash
            .entry(hash)
            .or_default()
            .push((candidates.into(), id, fold.clone()));
        fold
    }
}

/// Which of the keys [`FoldedKey::build`] builds (in the order of
/// `FoldedKey::keys`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Second {
    /// The values with their long runs of digits folded.
    Folded,
    /// The values with their long runs of digits and their hexadecimal
    /// words folded (built only when a word folds).
    Worded,
    /// The folded key with each string member whose every test is known
    /// held as those tests' results.
    ByResults,
}

impl FoldedKey {
    /// Counts a lookup by a second key, answered or not (by words folded,
    /// on the switch of the current event's layout among `layouts`).
    fn count(&mut self, layouts: &mut [Layout], second: Second, answered: bool) {
        match second {
            Second::Folded => self.switch.count(answered),
            Second::Worded => {
                let layout = self.layout.and_then(|(at, _)| layouts.get_mut(at));
                if let Some(layout) = layout {
                    layout.worded.count(answered);
                }
            }
            Second::ByResults => self.results_switch.count(answered),
        }
    }

    /// Builds the `second` key of the flat event (see [`FoldedKey::build`])
    /// and looks it up in `lists`, counting the lookup; the remembered
    /// verdict.
    pub(super) fn look_up<'l>(
        &mut self,
        second: Second,
        layouts: &mut [Layout],
        lists: &'l RememberedLists,
        event: (&[u8], &[TopMember]),
        filter: &MemberFilter,
        candidates: &[u32],
    ) -> Option<&'l [u32]> {
        let hash = self.build(second, layouts, lists, event, filter, candidates)?;
        let (key, _) = self.key(second);
        let answer = lists.get(hash, key);
        self.count(layouts, second, answer.is_some());
        answer
    }

    /// The fold of member `id`'s values under `candidates` (worked out
    /// once per list and member, as the keys' folds are).
    pub(super) fn value_fold(
        &mut self,
        filter: &MemberFilter,
        candidates: &[u32],
        id: u32,
    ) -> Option<Arc<ValueFold>> {
        self.folds.fold_of(filter, candidates, id)
    }

    /// Forgets the folds worked out (the member filter changed: its member
    /// ids and folds are another profile's).
    pub(super) fn forget_folds(&mut self) {
        self.folds.clear();
    }

    /// A new event: no key yet.
    pub(super) fn reset(&mut self) {
        for built in &mut self.keys {
            built.hash = None;
        }
        self.layout = None;
    }

    /// The key `second` built last, and its hash when it was built for the
    /// current event.
    pub(super) fn key(&self, second: Second) -> (&[u8], Option<u64>) {
        let built = &self.keys[second as usize];
        (&built.key, built.hash)
    }

    /// Builds the `second` key of the flat event (`raw`, listed in `top`)
    /// whose key was just built with these candidates; its hash, or `None`
    /// when it would hold nothing the event's own key (or, by results,
    /// its folded key) does not: no value folded, no member's results.
    pub(super) fn build(
        &mut self,
        second: Second,
        layouts: &mut [Layout],
        lists: &RememberedLists,
        (raw, top): (&[u8], &[TopMember]),
        filter: &MemberFilter,
        candidates: &[u32],
    ) -> Option<u64> {
        let (at, serial) = self.layout?;
        let by_results = second == Second::ByResults;
        let folding = match second {
            Second::Worded => Folding::RunsAndWords,
            Second::Folded | Second::ByResults => Folding::Runs,
        };
        let layout = layouts.get_mut(at)?;
        let (tags, switch) = match second {
            Second::Folded => ((FOLDED_BY_NAMES, FOLDED_BY_SERIAL), &mut self.switch),
            // Per layout: the values of a file event's layout hold fresh
            // hexadecimal names, a process creation's seldom.
            Second::Worded => ((WORDED_BY_NAMES, WORDED_BY_SERIAL), &mut layout.worded),
            Second::ByResults => (
                (RESULTS_BY_NAMES, RESULTS_BY_SERIAL),
                &mut self.results_switch,
            ),
        };
        let key = &mut self.keys[second as usize].key;
        if !switch.looks_up() {
            return None;
        }
        let entry = layout.reads_entry(candidates)?;
        let (_, positions) = layout.reads.get(entry)?;
        let folds = layout.folds.get_mut(entry)?;
        folds.resize(positions.len(), None);
        start_flat_key(key, candidates, serial, tags);
        let mut second_any = false;
        for (&k, fold) in positions.iter().zip(folds.iter_mut()) {
            let member = top.get(k as usize)?;
            if serial.is_none() {
                push_counted(
                    key,
                    raw.get(member.name.0 as usize..member.name.1 as usize)?,
                );
            }
            let value = raw.get(member.value.0 as usize..member.value.1 as usize)?;
            // By results every member needs its fold; folded, only those
            // with a long run (most never hold one).
            let long_run = may_fold(value, folding);
            if !long_run && !by_results {
                push_counted(key, value);
                continue;
            }
            // Worked out once per list and member.
            let kept = &mut self.folds;
            let fold = fold.get_or_insert_with(|| {
                let &(_, id, has_space) = layout.members.get(k as usize)?;
                // A name with a space can be read by a lookup of another.
                (id != NO_ID && !has_space)
                    .then(|| kept.fold_of(filter, candidates, id))
                    .flatten()
            });
            let value_fold = fold.as_deref();
            if by_results && value.first() == Some(&b'"') {
                if let Some((tests, fold)) = value_fold.and_then(|f| Some((f.tests()?, f))) {
                    // A string whose every test is known: their results.
                    key.extend_from_slice(&(TESTED | tests.len() as u32).to_le_bytes());
                    self.results.push(key, value, fold.serial, tests)?;
                    second_any = true;
                    continue;
                }
            }
            if !long_run {
                push_counted(key, value);
                continue;
            }
            let at = key.len();
            let folded = push_folded(key, value, value_fold.map(|f| &f.fold), folding);
            if folded != Folded::Nothing {
                if let Some(decided) = value_fold.map(|f| &f.decided[..]).filter(|d| !d.is_empty())
                {
                    push_decided(key, at, value, decided, self.results.scratch())?;
                }
            }
            second_any |= match second {
                Second::Folded => folded != Folded::Nothing,
                Second::Worded => folded == Folded::Words,
                Second::ByResults => false,
            };
            if key.len() > MAX_KEY_LEN {
                return None;
            }
        }
        if !second_any || key.len() > MAX_KEY_LEN {
            // A walk over the values for words that found none to fold
            // cost as much as a lookup: counted as one not answered.
            if second == Second::Worded {
                layout.worded.count(false);
            }
            return None;
        }
        let hash = lists.hash(key);
        self.keys[second as usize].hash = Some(hash);
        Some(hash)
    }
}

/// The top bit of a folded value's length in a key: the results of the
/// tests decided on the value follow it (no key is that long).
const DECIDED_FOLLOW: u32 = 1 << 31;

/// Where a key holds the results of every test of a member instead of its
/// value: this bit and the number of tests, then their results (no key is
/// that long, and no member has that many tests).
const TESTED: u32 = 1 << 30;

/// After the folded value written at `at` in `key`: marks its length and
/// appends the result of each of the `decided` tests on the value as it is
/// (`raw`, a JSON string); `None` when the value does not read as a string.
fn push_decided(
    key: &mut Vec<u8>,
    at: usize,
    raw: &[u8],
    decided: &[Arc<Predicate>],
    scratch: (&mut String, &mut hypersigma_compiler::eval::TextChars),
) -> Option<()> {
    let slot = key.get_mut(at..at + 4)?;
    let len = u32::from_le_bytes(slot.try_into().ok()?);
    slot.copy_from_slice(&(len | DECIDED_FOLLOW).to_le_bytes());
    key.extend_from_slice(&(decided.len() as u32).to_le_bytes());
    push_results(key, raw, decided, scratch)
}

/// Appends `value`'s length then its bytes to `key`, its long runs of
/// digits (and by `folding` its hexadecimal words) folded under `fold`
/// when there is one; what was folded.
fn push_folded(
    key: &mut Vec<u8>,
    value: &[u8],
    fold: Option<&DigitFold>,
    folding: Folding,
) -> Folded {
    let at = key.len();
    key.extend_from_slice(&[0; 4]);
    let folded = append_folded(key, value, fold, folding);
    let len = (key.len() - at - 4) as u32;
    if let Some(slot) = key.get_mut(at..at + 4) {
        slot.copy_from_slice(&len.to_le_bytes());
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_go_into_keys_folded_only_with_a_fold_and_a_long_run() {
        let fold = DigitFold::default();
        let mut key = Vec::new();
        let runs = Folding::Runs;
        let folded = push_folded(&mut key, br#""id=123456 x""#, Some(&fold), runs);
        assert_eq!(folded, Folded::Runs);
        let folded = b"\"id=\x7f x\"";
        assert_eq!(key[..4], (folded.len() as u32).to_le_bytes());
        assert_eq!(&key[4..], folded);
        for (value, fold) in [
            (&br#""id=123456 x""#[..], None),
            (&b"1234567"[..], Some(&fold)),
            (&br#""\u0041123456""#[..], Some(&fold)),
            // Its only long run is glued to a hexadecimal letter: kept.
            (&br#""ab123456""#[..], Some(&fold)),
        ] {
            key.clear();
            assert_eq!(push_folded(&mut key, value, fold, runs), Folded::Nothing);
            assert_eq!(&key[..4], &(value.len() as u32).to_le_bytes());
            assert_eq!(&key[4..], value);
        }
        // With words, the hexadecimal word folds.
        key.clear();
        let words = Folding::RunsAndWords;
        let folded = push_folded(&mut key, br#""ab123456""#, Some(&fold), words);
        assert_eq!(folded, Folded::Words);
        assert_eq!(&key[4..], b"\"\x7f\"");
    }
}
