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

use std::sync::Arc;

use hypersigma_compiler::digit_runs::{has_long_run, DigitFold};
use hypersigma_compiler::eval::predicate_holds_on_text;
use hypersigma_compiler::ir::Predicate;

use crate::engine::folded_copy::{append_folded, FOLDED_WINDOW, FOLDED_WORTH_SHARE};
use crate::engine::remembered::Switch;

use super::ValueFold;
use super::{push_counted, start_flat_key, Layout, MemberFilter, RememberedLists, TopMember};
use super::{MAX_KEY_LEN, NO_ID};
use crate::strict_json::unescape_str_into;

/// The byte after a folded key's candidates: its member names follow, each
/// before its value, or the serial of its stage-1 layout (as in a flat
/// key, whose bytes there are 0 and 1).
const FOLDED_BY_NAMES: u8 = 3;
const FOLDED_BY_SERIAL: u8 = 4;

/// The current flat event's folded key.
pub(super) struct FoldedKey {
    /// The key (scratch).
    pub(super) key: Vec<u8>,
    /// Its hash, when one was built for the current event.
    pub(super) hash: Option<u64>,
    /// The layout (its index among the memo's) and stage-1 serial of the
    /// current event's flat key, when it has one.
    pub(super) layout: Option<(usize, Option<u64>)>,
    /// The folds worked out last, by candidate list and member name id (a
    /// layout's lists come and go faster than its entries keep them).
    folds: Vec<KeptFold>,
    /// The entry of `folds` the next one replaces.
    next_fold: usize,
    /// Whether folded keys are tried (they stop while they do not pay).
    switch: Switch,
    /// Scratch for the tests decided on a value: its text and characters.
    text: String,
    chars: Vec<char>,
}

impl Default for FoldedKey {
    fn default() -> Self {
        FoldedKey {
            key: Vec::new(),
            hash: None,
            layout: None,
            folds: Vec::new(),
            next_fold: 0,
            switch: Switch::new(FOLDED_WINDOW, FOLDED_WORTH_SHARE),
            text: String::new(),
            chars: Vec::new(),
        }
    }
}

/// Folds kept by candidate list and member.
const FOLDS_KEPT: usize = 64;

/// A fold worked out: the candidate list, the member name id, the fold.
type KeptFold = (Vec<u32>, u32, Option<Arc<ValueFold>>);

/// The fold of member `id` under `candidates` (see
/// [`MemberFilter::fold_of`]), from `kept` when it was worked out lately.
fn fold_of(
    kept: &mut Vec<KeptFold>,
    next: &mut usize,
    filter: &MemberFilter,
    candidates: &[u32],
    id: u32,
) -> Option<Arc<ValueFold>> {
    if let Some((_, _, fold)) = kept.iter().find(|(c, i, _)| *i == id && c == candidates) {
        return fold.clone();
    }
    let fold = filter.fold_of(candidates, id).map(Arc::new);
    let entry = (candidates.to_vec(), id, fold.clone());
    if kept.len() < FOLDS_KEPT {
        kept.push(entry);
    } else if let Some(slot) = kept.get_mut(*next % FOLDS_KEPT) {
        *slot = entry;
        *next = (*next + 1) % FOLDS_KEPT;
    }
    fold
}

impl FoldedKey {
    /// Counts a lookup by the folded key, answered or not.
    pub(super) fn count(&mut self, answered: bool) {
        self.switch.count(answered);
    }

    /// A new event: no key yet.
    pub(super) fn reset(&mut self) {
        self.hash = None;
        self.layout = None;
    }

    /// Builds the folded key of the flat event (`raw`, listed in `top`)
    /// whose key was just built with these candidates; its hash, or `None`
    /// when no value of it is folded.
    pub(super) fn build(
        &mut self,
        layouts: &mut [Layout],
        lists: &RememberedLists,
        raw: &[u8],
        top: &[TopMember],
        filter: &MemberFilter,
        candidates: &[u32],
    ) -> Option<u64> {
        let (at, serial) = self.layout?;
        if !self.switch.looks_up() {
            return None;
        }
        let layout = layouts.get_mut(at)?;
        let entry = layout.reads_entry(candidates)?;
        let (_, positions) = layout.reads.get(entry)?;
        let folds = layout.folds.get_mut(entry)?;
        folds.resize(positions.len(), None);
        let key = &mut self.key;
        start_flat_key(key, candidates, serial, (FOLDED_BY_NAMES, FOLDED_BY_SERIAL));
        let mut folded_any = false;
        for (&k, fold) in positions.iter().zip(folds.iter_mut()) {
            let member = top.get(k as usize)?;
            if serial.is_none() {
                push_counted(
                    key,
                    raw.get(member.name.0 as usize..member.name.1 as usize)?,
                );
            }
            let value = raw.get(member.value.0 as usize..member.value.1 as usize)?;
            if !has_long_run(value) {
                push_counted(key, value);
                continue;
            }
            // Worked out on first need: most members never hold a long run.
            let (kept, next) = (&mut self.folds, &mut self.next_fold);
            let fold = fold.get_or_insert_with(|| {
                let &(_, id, has_space) = layout.members.get(k as usize)?;
                // A name with a space can be read by a lookup of another.
                (id != NO_ID && !has_space)
                    .then(|| fold_of(kept, next, filter, candidates, id))
                    .flatten()
            });
            let value_fold = fold.as_deref();
            let at = key.len();
            let folded = push_folded(key, value, value_fold.map(|f| &f.fold));
            if folded {
                if let Some(decided) = value_fold.map(|f| &f.decided[..]).filter(|d| !d.is_empty())
                {
                    let scratch = (&mut self.text, &mut self.chars);
                    push_decided(key, at, value, decided, scratch)?;
                }
            }
            folded_any |= folded;
            if key.len() > MAX_KEY_LEN {
                return None;
            }
        }
        if !folded_any {
            return None;
        }
        let hash = lists.hash(key);
        self.hash = Some(hash);
        Some(hash)
    }
}

/// The top bit of a folded value's length in a key: the results of the
/// tests decided on the value follow it (no key is that long).
const DECIDED_FOLLOW: u32 = 1 << 31;

/// After the folded value written at `at` in `key`: marks its length and
/// appends the result of each of the `decided` tests on the value as it is
/// (`raw`, a JSON string, decoded into `text`), a byte each, counted;
/// `None` when the value does not read as a string.
fn push_decided(
    key: &mut Vec<u8>,
    at: usize,
    raw: &[u8],
    decided: &[Arc<Predicate>],
    (text, chars): (&mut String, &mut Vec<char>),
) -> Option<()> {
    let body = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    text.clear();
    if unescape_str_into(std::str::from_utf8(body).ok()?, text).is_none() {
        // A `\u` escape: serde_json decodes it.
        *text = serde_json::from_slice(raw).ok()?;
    }
    let slot = key.get_mut(at..at + 4)?;
    let len = u32::from_le_bytes(slot.try_into().ok()?);
    slot.copy_from_slice(&(len | DECIDED_FOLLOW).to_le_bytes());
    key.extend_from_slice(&(decided.len() as u32).to_le_bytes());
    for test in decided {
        key.push(u8::from(predicate_holds_on_text(test, text, chars)?));
    }
    Some(())
}

/// Appends `value`'s length then its bytes to `key`, its long runs of
/// digits folded under `fold` when there is one; whether it was folded.
fn push_folded(key: &mut Vec<u8>, value: &[u8], fold: Option<&DigitFold>) -> bool {
    let at = key.len();
    key.extend_from_slice(&[0; 4]);
    let folded = append_folded(key, value, fold);
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
        assert!(push_folded(&mut key, br#""id=123456 x""#, Some(&fold)));
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
            assert!(!push_folded(&mut key, value, fold));
            assert_eq!(&key[..4], &(value.len() as u32).to_le_bytes());
            assert_eq!(&key[4..], value);
        }
    }
}
