//! Stage 2's verdict linked to the key stage 1 found remembered.
//!
//! A flat event whose candidates stage 1's memo answered by its own key
//! (`candidate_memo.rs`) is equal to every other event answered at the
//! same place of the memo ([`KeyPlace`]) in its layout of member names (the
//! key holds the layout's serial) and in the value of each member some
//! witness counts in (the key holds each, as written).
//! Stage 2's verdict depends on the final candidate list (the memo's, less
//! the rules whose required values the event lacks) and on the members
//! those candidates read (`verdict_memo.rs`: the same members its keys
//! hold). So once a verdict is known for an event answered at a place, it
//! holds for the next one answered there with the same candidates whose
//! read members outside the key (the log-source members, those no witness
//! counts in) are written alike: those few values are compared, and the
//! verdict memo's key (a copy of every read value, a hash, a lookup in a
//! store megabytes long, often a second key with long runs of digits
//! folded) is not built.
//!
//! An event answered by the key with long runs of digits folded (fresh
//! process ids and ticks in a command line) equals the others answered at
//! its place in those values as stage 1's copy folds them. Its verdict is
//! linked there only where the candidates' tests cannot tell such values
//! apart (`folded_link.rs`: the tests fold every run the copy folded, in
//! each member both read), marked as such: only those links answer events
//! of folded keys. A test that can tell runs apart (a regular expression
//! reading `\w`) is decided on the value as written, as the verdict
//! memo's folded key does: the link keeps its results (a byte each, after
//! the values outside the key) and an event must give the same. Where the
//! tests can tell the place's values apart otherwise, the place is marked
//! as refused, so that its next events do not check again. Keys with
//! hexadecimal words folded too are not linked.
//!
//! One link per slot of a direct-mapped table ([`SLOTS`]), chosen by the
//! place, its lists in the slot's room of one allocation made at the first
//! link (a link that does not fit is not made); a link is replaced by the
//! next one of its slot, and all are forgotten with the remembered verdicts
//! (another profile). A place whose events differ in the values outside
//! the key (one command run on a dozen hosts, each its own
//! `SubjectUserName`) keeps its first link in the place's slot and each
//! other in a slot chosen by the place and those values: an event whose
//! values the first link does not hold looks there. With a single slot per
//! place the links took turns and most such events were evaluated again
//! (process_creation over generated Security 4688 events: 10,482 → 9,578
//! instructions an event, BENCHMARKS.md v63). A place names the same bytes
//! only until the candidate memo starts over, which [`KeyPlace`] tells
//! apart.

use hypersigma_compiler::eval::TextChars;

use super::key_hash::hash_key;
use super::remembered::KeyPlace;
use super::verdict_memo::{push_results, DecidedTests};
use super::Scanner;
use crate::prefetch::prefetch;
use crate::strict_json::TopMember;

/// Links kept per scanner.
const SLOTS: usize = 16384;
/// Room per link for its lists ([`Link`]'s items), in items: a link that
/// needs more is not made.
const SLOT_ITEMS: usize = 32;
/// Room per link for the values of its read members outside the key, in
/// bytes (likewise).
const SLOT_BYTES: usize = 160;

/// A verdict linked to a place of the candidate memo. Its lists lie in
/// the table's room for its slot (one allocation for all, made at the
/// first link: linking allocates nothing): the final candidate list, then
/// the matched rules, then per read member outside the key its position
/// and the end of its value in the slot's bytes, each part after its
/// length.
#[derive(Default, Clone, Copy)]
struct Link {
    /// `None` while empty (or being refilled).
    place: Option<KeyPlace>,
    /// How many top-level members the event had.
    members: u32,
    /// Made for an event stage 1 answered by its folded key, its fold
    /// checked (`VerdictMemo::folded_link_holds`): events answered by that
    /// key may take it.
    folded: bool,
    /// No verdict is linked to the place ([`VerdictLinks::refuse`]).
    refused: bool,
    /// Items and bytes of the slot's room in use.
    items: u8,
    bytes: u8,
    /// The last bytes in use: the results of the slot's decided tests
    /// (`VerdictLinks::decided`) on the linked event, a byte each.
    results: u8,
}

/// The links of one scanner, and the current event's place in the
/// candidate memo.
#[derive(Default)]
pub(super) struct VerdictLinks {
    slots: Vec<Link>,
    /// [`SLOT_ITEMS`] items, then [`SLOT_BYTES`] bytes, per slot.
    items: Vec<u32>,
    bytes: Vec<u8>,
    /// Per slot: the tests decided on values as written whose results an
    /// event must share with the linked one (a link to a folded key's
    /// place whose candidates' tests can tell runs apart).
    decided: Vec<Option<DecidedTests>>,
    /// Scratch: an event's results of such tests, and what they decode
    /// its values into.
    results: Vec<u8>,
    text: String,
    chars: TextChars,
    /// The line stage 1 last answered by its own key or its key with long
    /// runs of digits folded (address, length), where that key lies, and
    /// whether it was the folded one.
    current: Option<((usize, usize), KeyPlace, bool)>,
    /// Events answered by a link since the start.
    pub(super) answered: u64,
}

/// The parts of a link's items: the candidates, the matched rules, the
/// read members outside the key (pairs).
fn parts(items: &[u32]) -> Option<(&[u32], &[u32], &[u32])> {
    let (&n, rest) = items.split_first()?;
    let (candidates, rest) = rest.split_at_checked(n as usize)?;
    let (&n, rest) = rest.split_first()?;
    let (matched, rest) = rest.split_at_checked(n as usize)?;
    let (&n, rest) = rest.split_first()?;
    let outside = rest.get(..2 * n as usize)?;
    Some((candidates, matched, outside))
}

/// A slot's room for items, filled from its start.
struct ItemRoom<'r> {
    items: &'r mut [u32],
    used: usize,
}

impl ItemRoom<'_> {
    fn push(&mut self, item: u32) -> Option<()> {
        *self.items.get_mut(self.used)? = item;
        self.used += 1;
        Some(())
    }

    /// A list after its length.
    fn push_list(&mut self, list: &[u32]) -> Option<()> {
        self.push(u32::try_from(list.len()).ok()?)?;
        list.iter().try_for_each(|&item| self.push(item))
    }
}

/// Writes a link's lists into its slot's room (`items`, `bytes`); their
/// lengths, or `None` when they do not fit.
fn fill(
    (items, bytes): (&mut [u32], &mut [u8]),
    (raw, top): (&[u8], &[TopMember]),
    (candidates, matched): (&[u32], &[u32]),
    (read, in_key): (&[bool], &[u32]),
    results: &[u8],
) -> Option<(u8, u8)> {
    let mut room = ItemRoom { items, used: 0 };
    room.push_list(candidates)?;
    room.push_list(matched)?;
    let count_at = room.used;
    room.push(0)?;
    let (mut outside, mut used) = (0, 0);
    for (k, member) in top.iter().enumerate() {
        if !*read.get(k)? || in_key.binary_search(&(k as u32)).is_ok() {
            continue;
        }
        let value = raw.get(member.value.0 as usize..member.value.1 as usize)?;
        bytes
            .get_mut(used..used + value.len())?
            .copy_from_slice(value);
        used += value.len();
        room.push(k as u32)?;
        room.push(used as u32)?;
        outside += 1;
    }
    *room.items.get_mut(count_at)? = outside;
    bytes
        .get_mut(used..used + results.len())?
        .copy_from_slice(results);
    used += results.len();
    Some((u8::try_from(room.used).ok()?, u8::try_from(used).ok()?))
}

/// Writes into `out` the results of `tests` on the values of `raw`
/// (listed in `top`) at their members, a byte each; `None` when a value
/// does not read as a string.
fn results_of(
    out: &mut Vec<u8>,
    (raw, top): (&[u8], &[TopMember]),
    tests: &DecidedTests,
    scratch: (&mut String, &mut TextChars),
) -> Option<()> {
    let (text, chars) = scratch;
    out.clear();
    for (k, fold) in tests.iter() {
        let member = top.get(*k as usize)?;
        let value = raw.get(member.value.0 as usize..member.value.1 as usize)?;
        push_results(out, value, &fold.decided, (&mut *text, &mut *chars))?;
    }
    Some(())
}

/// The `used` items of a slot's room starting at `start` of `store` (its
/// items or its bytes).
fn room<T>(store: &[T], start: usize, used: u8) -> Option<&[T]> {
    store.get(start..)?.get(..usize::from(used))
}

/// Asks every cache line of `room` into the cache: a link's candidates
/// and values span two to four lines, and a prefetch of the first alone
/// left the compare of the values to miss on the others.
fn prefetch_lines(room: &[u8]) {
    for line in room.iter().step_by(64) {
        prefetch(line);
    }
    if let Some(last) = room.last() {
        prefetch(last);
    }
}

fn slot_of(place: KeyPlace) -> usize {
    (place.slot_hash() % SLOTS as u64) as usize
}

/// The slot of a link of `place` for an event whose read members outside
/// the key (positions `outside`, ascending) hold their values in `raw`
/// (listed in `top`): chosen by the place and those values, so that a
/// place keeps a link for each of a few writings (the second of a place
/// goes there; its first stays in [`slot_of`]'s). `None` when a position
/// is not a member.
fn value_slot(
    place: KeyPlace,
    (raw, top): (&[u8], &[TopMember]),
    outside: impl Iterator<Item = u32>,
) -> Option<usize> {
    let mut hash = place.slot_hash();
    for k in outside {
        let member = top.get(k as usize)?;
        let value = raw.get(member.value.0 as usize..member.value.1 as usize)?;
        hash = (hash ^ hash_key(value)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    Some((hash.rotate_left(29) % SLOTS as u64) as usize)
}

impl VerdictLinks {
    /// A new event: no place known yet.
    pub(super) fn start_event(&mut self) {
        self.current = None;
    }

    /// Stage 1 answered `event` (its address and length) by its own key
    /// (by its key with long runs of digits folded when `folded`),
    /// remembered at `place`.
    pub(super) fn answered_at(&mut self, event: (usize, usize), place: KeyPlace, folded: bool) {
        self.current = Some((event, place, folded));
        // Stage 2 reads the place's link after the required values' filter
        // and the partial parse: its slot and the start of its room are
        // asked into the cache now, so that their misses (tables a few
        // megabytes long) overlap that work.
        let slot = slot_of(place);
        if let Some(link) = self.slots.get(slot) {
            prefetch((link as *const Link).cast());
        }
        if let Some(items) = self.items.get(slot * SLOT_ITEMS..(slot + 1) * SLOT_ITEMS) {
            prefetch_lines(bytemuck::cast_slice(items));
        }
        if let Some(bytes) = self.bytes.get(slot * SLOT_BYTES..(slot + 1) * SLOT_BYTES) {
            prefetch_lines(bytes);
        }
    }

    /// Whether stage 1 answered `event` by its folded key.
    pub(super) fn answered_folded(&self, event: (usize, usize)) -> bool {
        matches!(self.current, Some((e, _, true)) if e == event)
    }

    /// Marks the current event's place (one of the folded key) as one no
    /// verdict is linked to: the candidates' tests can tell apart values
    /// the key folds alike. It stays so until its slot is taken by another
    /// place's link.
    pub(super) fn refuse(&mut self) {
        let Some((_, place, true)) = self.current else {
            return;
        };
        if let Some(link) = self.slots.get_mut(slot_of(place)) {
            *link = Link {
                place: Some(place),
                refused: true,
                ..Link::default()
            };
        }
    }

    /// Whether the current event's place is one [`VerdictLinks::refuse`]
    /// marked.
    pub(super) fn refused(&self) -> bool {
        self.current.is_some_and(|(_, place, _)| {
            self.slots
                .get(slot_of(place))
                .is_some_and(|link| link.place == Some(place) && link.refused)
        })
    }

    /// Forgets every link (the verdicts were decided under another
    /// profile).
    pub(super) fn clear(&mut self) {
        self.slots.iter_mut().for_each(|link| link.place = None);
    }

    /// The verdict linked to the current event's place for `candidates`,
    /// when `raw` (listed in `top`, flat) is that event and its read
    /// members outside the key are written as the linked event's.
    pub(super) fn get(
        &mut self,
        raw: &[u8],
        top: &[TopMember],
        candidates: &[u32],
    ) -> Option<&[u32]> {
        let (event, place, folded) = self.current?;
        if event != (raw.as_ptr() as usize, raw.len()) {
            return None;
        }
        let first = slot_of(place);
        let slot = match self.holds_at(first, (place, folded), (raw, top), candidates)? {
            Ok(()) => first,
            // Written otherwise outside the key: the link of the place
            // whose slot those values choose, if any.
            Err(()) => {
                let slot = value_slot(place, (raw, top), self.outside_at(first)?)?;
                self.holds_at(slot, (place, folded), (raw, top), candidates)?
                    .ok()?;
                slot
            }
        };
        let link = self.slots.get(slot)?;
        let items = room(&self.items, slot * SLOT_ITEMS, link.items)?;
        let (_, matched, _) = parts(items)?;
        if let Some(tests) = self.decided.get(slot)? {
            let values = room(&self.bytes, slot * SLOT_BYTES, link.bytes)?;
            let linked = values.get(usize::from(link.bytes.checked_sub(link.results)?)..)?;
            let scratch = (&mut self.text, &mut self.chars);
            results_of(&mut self.results, (raw, top), tests, scratch)?;
            if self.results != linked {
                return None;
            }
        }
        Some(matched)
    }

    /// Whether the link in `slot` is of `place` (linked for a folded key
    /// when `folded`) and answers the flat event `raw` (listed in `top`)
    /// with `candidates` by its values outside the key: `None` when it is
    /// another place's, or its lists differ; `Err` when a value of a read
    /// member outside the key differs.
    /// The results of decided tests are left to the caller.
    fn holds_at(
        &self,
        slot: usize,
        (place, folded): (KeyPlace, bool),
        (raw, top): (&[u8], &[TopMember]),
        candidates: &[u32],
    ) -> Option<Result<(), ()>> {
        let link = self.slots.get(slot)?;
        if link.place != Some(place)
            || link.refused
            || link.members as usize != top.len()
            || (folded && !link.folded)
        {
            return None;
        }
        let items = room(&self.items, slot * SLOT_ITEMS, link.items)?;
        let values = room(&self.bytes, slot * SLOT_BYTES, link.bytes)?;
        let (linked, _, outside) = parts(items)?;
        if linked != candidates {
            return None;
        }
        let mut start = 0;
        for pair in outside.chunks_exact(2) {
            let (k, end) = (pair[0] as usize, pair[1] as usize);
            let member = top.get(k)?;
            let value = raw.get(member.value.0 as usize..member.value.1 as usize)?;
            if values.get(start..end)? != value {
                return Some(Err(()));
            }
            start = end;
        }
        Some(Ok(()))
    }

    /// The positions of the read members outside the key of the link in
    /// `slot`.
    fn outside_at(&self, slot: usize) -> Option<impl Iterator<Item = u32> + '_> {
        let link = self.slots.get(slot)?;
        let items = room(&self.items, slot * SLOT_ITEMS, link.items)?;
        let (_, _, outside) = parts(items)?;
        Some(outside.chunks_exact(2).map(|pair| pair[0]))
    }

    /// Links `matched`, the verdict of the flat event `raw` (listed in
    /// `top`) with `candidates`, to its place, when stage 1 answered it by
    /// one of the keys linked. `read`: per top-level member whether the
    /// candidates read it; `in_key`: the positions (ascending) of the
    /// members whose values the key holds; `decided`: the tests whose
    /// results the link's events must share with this one.
    pub(super) fn link(
        &mut self,
        (raw, top): (&[u8], &[TopMember]),
        candidates: &[u32],
        (read, in_key): (&[bool], &[u32]),
        matched: &[u32],
        decided: Option<DecidedTests>,
    ) {
        let Some((event, place, folded)) = self.current else {
            return;
        };
        if event != (raw.as_ptr() as usize, raw.len()) || read.len() != top.len() {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![Link::default(); SLOTS];
            self.items = vec![0; SLOTS * SLOT_ITEMS];
            self.bytes = vec![0; SLOTS * SLOT_BYTES];
            self.decided = vec![None; SLOTS];
        }
        self.results.clear();
        if let Some(tests) = &decided {
            let scratch = (&mut self.text, &mut self.chars);
            if results_of(&mut self.results, (raw, top), tests, scratch).is_none() {
                return;
            }
        }
        // A place linked already for other values outside the key (hosts,
        // users: events of one command from many machines) keeps that
        // link; this one goes to the slot its own values choose.
        let mut slot = slot_of(place);
        if self.holds_at(slot, (place, folded), (raw, top), candidates) == Some(Err(())) {
            let outside = (0..top.len() as u32).filter(|&k| {
                read.get(k as usize) == Some(&true) && in_key.binary_search(&k).is_err()
            });
            match value_slot(place, (raw, top), outside) {
                Some(chosen) => slot = chosen,
                None => return,
            }
        }
        let room = (
            self.items
                .get_mut(slot * SLOT_ITEMS..(slot + 1) * SLOT_ITEMS),
            self.bytes
                .get_mut(slot * SLOT_BYTES..(slot + 1) * SLOT_BYTES),
        );
        let (Some(link), Some(tests), (Some(items), Some(bytes))) =
            (self.slots.get_mut(slot), self.decided.get_mut(slot), room)
        else {
            return;
        };
        link.place = None;
        let lists = (candidates, matched);
        let results = &self.results;
        if let Some((n, used)) = fill((items, bytes), (raw, top), lists, (read, in_key), results) {
            *link = Link {
                place: Some(place),
                members: top.len() as u32,
                folded,
                refused: false,
                items: n,
                bytes: used,
                results: results.len() as u8,
            };
            *tests = decided;
        }
    }
}

impl Scanner<'_> {
    /// Links the verdict `matched` of the flat event `raw` to its place in
    /// the candidate memo (see the module doc). Called only once the
    /// verdict memo's [`super::verdict_memo::VerdictMemo::key_of`] worked
    /// out, for this event, the members its candidates read.
    pub(super) fn link_verdict(&mut self, raw: &[u8], matched: &[u32]) {
        if !self.members.is_flat() {
            return;
        }
        let mut decided = None;
        if self
            .verdict_links
            .answered_folded((raw.as_ptr() as usize, raw.len()))
        {
            let folds = self.engine.copy_folds();
            let Some((_, _, filter)) = self.filter.as_ref() else {
                return;
            };
            if self.verdict_links.refused() {
                return;
            }
            let places = &self.span_places;
            let copy_fold = |k: usize| folds.of(places.get(k).copied().flatten()?);
            let members = &self.members;
            let value_of = |k: usize| {
                let (start, end) = members.span_range(k)?;
                raw.get(start..end)
            };
            let holds = self.verdict_memo.folded_link_holds(
                filter,
                &self.candidates,
                &self.span_copied,
                copy_fold,
                value_of,
            );
            match holds {
                Some(tests) => decided = tests,
                None => {
                    self.verdict_links.refuse();
                    return;
                }
            }
        }
        let (Some(top), Some(read)) =
            (self.members.top_members(), self.verdict_memo.read_members())
        else {
            return;
        };
        // A flat line's scalars are its top-level members, in order.
        if self.members.len() != top.len() {
            return;
        }
        self.verdict_links.link(
            (raw, top),
            &self.candidates,
            (read, &self.span_copied),
            matched,
            decided,
        );
    }
}

#[cfg(test)]
#[path = "verdict_link_tests.rs"]
mod tests;
