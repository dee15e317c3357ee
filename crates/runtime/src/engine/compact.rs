//! Stage 1 over the values that can hold a witness, not the whole line.
//!
//! A Sysmon process creation is ~1,400 bytes, of which the member names,
//! the punctuation, the GUIDs and the times (~55 %) hold no value a
//! field-scoped witness counts in, and Hyperscan's time grows with the bytes
//! it reads. For an event the scope gate has read (indexed, no escape or
//! character folding to ASCII that could hide a literal: `scopes.rs`), the
//! scan reads a copy of the scalar values whose member some witness counts
//! in (all values when the database holds a witness that counts anywhere,
//! a keyword, but those made of the bytes of times, GUIDs and ids when no
//! keyword literal of the event's scopes can lie in them:
//! `keyword_values.rs`), each followed by a line feed, which no witness
//! holds, so no match spans two values. A hit's place is its value's,
//! known from the copy, not looked up again.
//!
//! Where each value's member counts is decided per *layout* (the member
//! names of the scalars in order): events of one source repeat their
//! layout, so the places of the layouts seen are remembered (hundreds), and
//! with them the log-source keys each scalar can be read as and the fields
//! each member holding a container can be (the scope gate's
//! [`crate::raw_scope::RawScopes::layout_slots`]).

use std::collections::HashMap;
use std::hash::BuildHasher;

use super::aligned_text::AlignedText;
use super::keyword_values::is_narrow;
use super::places::HitPlace;
use super::{EventKnown, Scanner};
use crate::members::MemberIndex;
use crate::raw_scope::LayoutSlots;

/// Layouts remembered per thread (then the list starts over). A log holds
/// events of dozens of kinds (the generated corpus twelve): with 8, the
/// oldest was dropped for each rarer kind, and all SigmaHQ over generated
/// events took 5 % more instructions (callgrind, with the verdict memo's 4
/// likewise). Records of `evtx_dump` have many more layouts (144 in 60,000
/// events of `../shared/events`: which `EventData` members a record holds
/// varies within a kind): with 32 kept in order and looked up one after
/// another, 39 % of them were not found (their log-source key slots were
/// worked out again, ~2,700 instructions a record) and the lookup compared
/// long common prefixes of names. A layout is found through a hash of its
/// key instead: a flat line's shape (a number, `members/shapes.rs`),
/// another's encoded names.
const LAYOUTS: usize = 512;

/// Slots of [`CompactEvent::by_shape`].
const SHAPE_SLOTS: usize = 256;

/// Set in a nested line's skeleton number (`members/skeletons.rs`) where it
/// stands for a shape: no flat shape gets that high.
const SKELETON_SHAPE: u64 = 1 << 63;

/// The slot of a flat shape's number in [`CompactEvent::by_shape`].
fn shape_slot(shape: u64) -> usize {
    (shape % SHAPE_SLOTS as u64) as usize
}

/// In a layout's encoded names, what comes before the names of the members
/// holding a container: a length no name can have (a line is shorter than
/// `u32::MAX` bytes; `u32::MAX` marks a scalar without a member).
const CONTAINERS_FOLLOW: u32 = u32::MAX - 1;
/// Then, before the containers of a line the strict pass accepted, another.
const OPENS_FOLLOW: u32 = u32::MAX - 2;
/// First, in the key of a line whose first names are told by a number
/// ([`MemberIndex::flat_prefix`]), before that number: a third (so no
/// other key starts so).
const PREFIX_FOLLOWS: u32 = u32::MAX - 3;

/// The highest repeat counter of a layout's scalar (where it starts).
pub(super) const REPEATS_MAX: u8 = 15;

/// The copy of an event's values that stage 1 scanned.
#[derive(Default)]
pub(super) struct CompactEvent {
    /// The values, each followed by `\n`.
    pub(super) bytes: AlignedText,
    /// Per value in `bytes`: its start, its end, its place and its scalar's
    /// index in the layout.
    pub(super) values: Vec<(u32, u32, HitPlace, u32)>,
    /// The index in `values` of the value the last hit placed lay in: a
    /// scan reports its hits in order, and they crowd into a few values,
    /// so the next one is often there (no search over `values`).
    last_value: usize,
    /// Whether the last scan read `bytes` (else the raw line).
    pub(super) active: bool,
    /// Whether `bytes` holds the current event's copy, and whether of every
    /// value (reset per event).
    pub(super) made: Option<bool>,
    /// The current event's layout when it has no shape (`encode_layout`).
    layout: Vec<u8>,
    /// The layouts seen since the list last started over.
    layouts: Vec<Layout>,
    /// Where each layout lies in `layouts`, by the hash of its key (a
    /// layout whose hash another's took is looked up by that one's and
    /// found wanting: it is added again).
    by_hash: HashMap<u64, usize, foldhash::fast::FixedState>,
    /// The entries of recent flat shapes, [`SHAPE_SLOTS`] slots by the
    /// shape's number (the trie numbers shapes 1, 2, 3…): a shape found in
    /// its slot is neither hashed nor looked up in `by_hash`.
    by_shape: Vec<(u64, usize)>,
    /// The current event's entry in `layouts`, once looked up.
    pub(super) current: Option<usize>,
    /// The serial number the next new layout gets.
    next_serial: u64,
    name_buf: Vec<u8>,
}

/// A layout's repeat counters (one per scalar) and its count of looked-up
/// events.
pub(super) type RepeatCounters<'c> = (&'c mut [u8], &'c mut u32);

/// How a layout is told from the others.
#[derive(PartialEq, Eq)]
enum LayoutKey {
    /// A flat line's shape ([`crate::members::MemberIndex::shape`]), or
    /// a nested line's skeleton with [`SKELETON_SHAPE`] set
    /// ([`crate::members::MemberIndex::skeleton`]).
    Shape(u64),
    /// Any other line's names, encoded (`CompactEvent::layout`).
    Names(Vec<u8>),
}

/// What is known of one layout of member names.
struct Layout {
    key: LayoutKey,
    /// Told to no other layout of this scanner (numbers are not reused when
    /// a layout is dropped), so that others can key what they derive from
    /// the names by it.
    serial: u64,
    /// Per scalar: how likely its value is to repeat an earlier one, from 0
    /// (its values have not been repeating: not looked up) to
    /// [`REPEATS_MAX`] (see `value_hits.rs`).
    repeats: Vec<u8>,
    /// Events of this layout whose values were looked up.
    looked_up: u32,
    /// The place of each scalar (until stage 1 asks: `None`), and the
    /// scalars some witness counts in (those not `Nowhere`).
    places: Option<(Vec<HitPlace>, Vec<u32>)>,
    /// The log-source keys its members can be read as (until the gate
    /// asks: `None`).
    scope_slots: Option<LayoutSlots>,
    /// The signature of the last event of the layout whose scope set was
    /// looked up, by `scope_slots`' plan, and that set
    /// ([`Scanner::known_scope_set`]).
    scope_set: Option<(Vec<u8>, usize)>,
    /// That event's bytes up to the end of the last scalar its signature
    /// reads, when it was a flat line of a shape (else empty, `false`):
    /// an event of the layout with the same bytes there has the same
    /// signature, told by one compare.
    scope_bytes: (Vec<u8>, bool),
    /// The scalars some key slot reads, ascending (once the member index's
    /// gates were taught by an event of this layout; see `teach_gates`),
    /// and whether an event of it was offered to make a gate.
    gate_positions: Option<Vec<u32>>,
    gate_offered: bool,
    /// The runs of consecutive scalars no field-scoped witness counts in
    /// (first, last), from `places` (until a keyword check asks: `None`).
    nowhere_runs: Option<Vec<(u32, u32)>>,
}

impl CompactEvent {
    /// The copy's bytes; each value's range in them and its scalar's index
    /// in the layout, in order; and the current layout's repeat counters
    /// (one per scalar) with its count of looked-up events, when its layout
    /// is known.
    pub(super) fn values_and_repeats(
        &mut self,
    ) -> (
        &[u8],
        impl Iterator<Item = (usize, usize, usize)> + '_,
        Option<RepeatCounters<'_>>,
    ) {
        // The layout borrowed apart from the copy's fields it is returned with.
        let layout = self.current.and_then(|i| self.layouts.get_mut(i));
        let repeats = layout.map(|layout| {
            if layout.repeats.is_empty() {
                let scalars = layout.places.as_ref().map_or(0, |(places, _)| places.len());
                layout.repeats = vec![REPEATS_MAX; scalars];
            }
            (layout.repeats.as_mut_slice(), &mut layout.looked_up)
        });
        let ranges = self
            .values
            .iter()
            .map(|&(start, end, _, slot)| (start as usize, end as usize, slot as usize));
        (&self.bytes, ranges, repeats)
    }

    /// The serial number of the current event's layout, once looked up:
    /// events with the same number have the same member names.
    pub(super) fn current_serial(&self) -> Option<u64> {
        self.current_layout().map(|l| l.serial)
    }

    /// The current event's layout, once looked up.
    fn current_layout(&self) -> Option<&Layout> {
        self.layouts.get(self.current?)
    }

    /// [`CompactEvent::current_layout`], to change.
    fn current_layout_mut(&mut self) -> Option<&mut Layout> {
        self.layouts.get_mut(self.current?)
    }

    /// The place of the hit `start..end` of the copy (`Nowhere` outside a
    /// value, which cannot happen: no witness holds a line feed).
    pub(super) fn place(&mut self, start: usize, end: usize) -> HitPlace {
        self.value_at(start, end)
            .and_then(|k| self.values.get(k))
            .map_or(HitPlace::Nowhere, |&(_, _, place, _)| place)
    }

    /// The index in `values` of the value the hit `start..end` of the copy
    /// lies in.
    pub(super) fn value_at(&mut self, start: usize, end: usize) -> Option<usize> {
        // The values lie in order without overlapping: the one holding
        // `start` is the last to start at or before it, the last hit's
        // value when it is that one.
        let last = self.last_value;
        let starts_in_last = self.values.get(last).is_some_and(|&(s, _, _, _)| {
            let next = self.values.get(last + 1);
            s as usize <= start && next.is_none_or(|&(n, _, _, _)| n as usize > start)
        });
        let k = if starts_in_last {
            last
        } else {
            let k = self
                .values
                .partition_point(|&(s, _, _, _)| s as usize <= start)
                .checked_sub(1)?;
            self.last_value = k;
            k
        };
        let &(_, e, _, _) = self.values.get(k)?;
        (end <= e as usize).then_some(k)
    }
}

/// Writes the key of the layout of the indexed event `raw` when it has no
/// shape to `out` (emptied first): each scalar's member name
/// ([`MemberIndex::encode_names_from`]), then, after a length no name has, the
/// names holding containers (which the gate reads), then, after another,
/// for a line the strict pass found nested, each container as it lists
/// them: the one it is in and the name holding it (the verdict memo keeps
/// what it works out of them per layout). Names are length-prefixed. A line
/// whose first scalars' names (and its first container's) are told by a
/// number ([`MemberIndex::flat_prefix`]: a line of ~40 scalars, then
/// `"tags":[…]`) starts with that number instead of their names: encoding,
/// hashing and comparing all names took ~4,700 instructions such a line.
fn encode_layout(members: &MemberIndex, raw: &[u8], out: &mut Vec<u8>) {
    fn push_name(out: &mut Vec<u8>, name: Option<&[u8]>) {
        let len = name.map_or(u32::MAX, |n| n.len() as u32);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(name.unwrap_or_default());
    }
    out.clear();
    let from = match members.flat_prefix() {
        Some((shape, listed)) => {
            out.extend_from_slice(&PREFIX_FOLLOWS.to_le_bytes());
            out.extend_from_slice(&shape.to_le_bytes());
            listed
        }
        None => 0,
    };
    members.encode_names_from(raw, from, out);
    out.extend_from_slice(&CONTAINERS_FOLLOW.to_le_bytes());
    for name in members.container_names(raw) {
        push_name(out, Some(name));
    }
    if let Some(tree) = members.nested_tree() {
        out.extend_from_slice(&OPENS_FOLLOW.to_le_bytes());
        for open in tree.opens {
            out.extend_from_slice(&open.parent.to_le_bytes());
            let holder = open
                .holder
                .and_then(|(a, b)| raw.get(a as usize..b as usize));
            push_name(out, holder);
        }
    }
}

/// Hands `each` the scalars of an indexed event (`members`, their places
/// in `places`, those some witness counts in listed in `copied`, both
/// filled by [`Scanner::span_places_of_layout`]) that a copy of its values
/// holds, in order: each one's index, bytes and place (`Nowhere` when
/// unknown). Those some witness counts in (read from the list: a process
/// creation's ~30 scalars hold ~10, and two of these walks run per
/// event); every one when `anywhere` (a keyword's witness may be
/// scanned for), but, when `narrow_free`, those no field-scoped witness
/// counts in made of narrow bytes, in which no keyword literal of the
/// event's scopes can lie (`keyword_values.rs`: a hit there could only make
/// candidates of other scopes, which the scope filter drops). Stops, and
/// gives false, when `each` gives false. (A loop, not an iterator: the
/// iterator's adapters cost ~700 instructions per generated process
/// creation more, callgrind.)
#[inline(always)]
pub(super) fn each_copied_value(
    members: &MemberIndex,
    (places, copied): (&[Option<HitPlace>], &[u32]),
    raw: &[u8],
    (anywhere, narrow_free): (bool, bool),
    mut each: impl FnMut(usize, &[u8], HitPlace) -> bool,
) -> bool {
    let value_of = |k: usize| {
        members
            .span_range(k)
            .and_then(|(start, end)| raw.get(start..end))
    };
    if !anywhere {
        // Only the scalars some witness counts in, listed per layout.
        for &k in copied {
            let k = k as usize;
            let place = places.get(k).copied().flatten();
            let Some(value) = value_of(k) else {
                continue;
            };
            if !each(k, value, place.unwrap_or(HitPlace::Nowhere)) {
                return false;
            }
        }
        return true;
    }
    for k in 0..members.len() {
        let place = places.get(k).copied().flatten();
        let Some(value) = value_of(k) else {
            continue;
        };
        if narrow_free && matches!(place, Some(HitPlace::Nowhere)) && is_narrow(value) {
            continue;
        }
        if !each(k, value, place.unwrap_or(HitPlace::Nowhere)) {
            return false;
        }
    }
    true
}

impl Scanner<'_> {
    /// Copies the values of the event the scope gate read that witnesses of
    /// the database can count in (every value when `anywhere`: it holds
    /// keyword witnesses). False when the line must be scanned whole (the
    /// gate did not read it).
    pub(super) fn compact_event(&mut self, raw: &[u8], known: &EventKnown, anywhere: bool) -> bool {
        if !known.read || known.indexed != Some(true) {
            return false;
        }
        if self.compact.made == Some(anywhere) {
            self.compact.active = true;
            return true;
        }
        self.span_places_of_layout(raw);
        let narrow_free = anywhere && self.narrow_free();
        // The candidate memo's folded key holds these values with their long
        // runs of digits folded (`folded_copy.rs`), when it was built: the
        // copy takes them from it.
        let mut folded = self
            .candidate_memo
            .folded_values()
            .filter(|_| !anywhere)
            .map(|values| values.split(|&b| b == b'\n'));
        let compact = &mut self.compact;
        compact.bytes.clear();
        compact.values.clear();
        let copy = (anywhere, narrow_free);
        each_copied_value(
            &self.members,
            (&self.span_places, &self.span_copied),
            raw,
            copy,
            |k, value, place| {
                let at = compact.bytes.len() as u32;
                let value = folded.as_mut().and_then(Iterator::next).unwrap_or(value);
                compact.bytes.extend_from_slice(value);
                compact
                    .values
                    .push((at, compact.bytes.len() as u32, place, k as u32));
                compact.bytes.push(b'\n');
                true
            },
        );
        compact.active = true;
        compact.made = Some(anywhere);
        true
    }

    /// The indexed event's entry in the remembered layouts (added when new).
    pub(super) fn layout_of(&mut self, raw: &[u8]) -> usize {
        let compact = &mut self.compact;
        if let Some(i) = compact.current {
            return i;
        }
        // A flat line's shape, or a nested line's skeleton (numbered apart
        // by the top bit), tells its names without reading them again.
        let shape = self.members.shape().or_else(|| {
            self.members
                .skeleton()
                .map(|serial| serial | SKELETON_SHAPE)
        });
        if let Some(shape) = shape {
            if let Some(&(known, i)) = compact.by_shape.get(shape_slot(shape)) {
                if known == shape {
                    compact.current = Some(i);
                    return i;
                }
            }
        }
        let hash = match shape {
            Some(shape) => compact.by_hash.hasher().hash_one(shape),
            None => {
                encode_layout(&self.members, raw, &mut compact.layout);
                compact.by_hash.hasher().hash_one(compact.layout.as_slice())
            }
        };
        let found = compact.by_hash.get(&hash).copied().filter(|&i| {
            compact
                .layouts
                .get(i)
                .is_some_and(|l| match (&l.key, shape) {
                    (LayoutKey::Shape(known), Some(shape)) => *known == shape,
                    (LayoutKey::Names(names), None) => *names == compact.layout,
                    _ => false,
                })
        });
        let i = match found {
            Some(i) => i,
            None => {
                if compact.layouts.len() >= LAYOUTS {
                    compact.layouts.clear();
                    compact.by_hash.clear();
                    compact.by_shape.clear();
                }
                compact.next_serial += 1;
                compact.layouts.push(Layout {
                    key: shape.map_or_else(
                        || LayoutKey::Names(compact.layout.clone()),
                        LayoutKey::Shape,
                    ),
                    serial: compact.next_serial,
                    places: None,
                    scope_slots: None,
                    scope_set: None,
                    scope_bytes: (Vec::new(), false),
                    gate_positions: None,
                    gate_offered: false,
                    nowhere_runs: None,
                    repeats: Vec::new(),
                    looked_up: 0,
                });
                let i = compact.layouts.len() - 1;
                compact.by_hash.insert(hash, i);
                i
            }
        };
        if let Some(shape) = shape {
            if compact.by_shape.len() < SHAPE_SLOTS {
                // Shape 0 is never given: an empty slot finds nothing.
                compact.by_shape.resize(SHAPE_SLOTS, (0, 0));
            }
            if let Some(entry) = compact.by_shape.get_mut(shape_slot(shape)) {
                *entry = (shape, i);
            }
        }
        compact.current = Some(i);
        i
    }

    /// Reads the indexed event's log-source values into `raw_scope`, with
    /// its layout's key slots.
    pub(super) fn read_scope_values(&mut self, raw: &[u8]) {
        let i = self.layout_of(raw);
        let scopes = &self.engine.raw.scopes;
        let compact = &mut self.compact;
        let Some(layout) = compact.layouts.get_mut(i) else {
            return;
        };
        let slots = layout
            .scope_slots
            .get_or_insert_with(|| scopes.layout_slots(&self.members, raw, &mut compact.name_buf));
        self.raw_scope.read(scopes, &self.members, slots);
    }

    /// The scope set (its index in the subset cache) of the indexed event
    /// `raw`, its log-source values read, when the last event of its
    /// layout whose set was looked up had the same signature: compared in
    /// place (`raw_scope/signature_plan.rs`), nothing written or hashed.
    /// The cache never renumbers its sets, and a set follows from the
    /// signature alone.
    ///
    /// A flat line is first compared by its bytes up to the last scalar the
    /// signature reads (`SignaturePlan::signature_bytes`): one compare of
    /// some hundred bytes, not a compare per token (process_creation over
    /// generated events: ~280 instructions a process creation fewer).
    pub(super) fn known_scope_set(&self, raw: &[u8]) -> Option<usize> {
        let layout = self.compact.current_layout()?;
        let (signature, k) = layout.scope_set.as_ref()?;
        let slots = layout.scope_slots.as_ref()?;
        if let ((known, true), Some(bytes)) = (
            &layout.scope_bytes,
            slots.signature_bytes(&self.members, raw),
        ) {
            if known.as_slice() == bytes {
                return Some(*k);
            }
        }
        slots
            .has_signature(&self.members, raw, signature)
            .then_some(*k)
    }

    /// Remembers set `k` as that of the current event `raw`'s signature
    /// (just written by its layout's plan) for the next events of its
    /// layout.
    pub(super) fn remember_scope_set(&mut self, raw: &[u8], k: usize) {
        let members = &self.members;
        let Some(layout) = self.compact.current_layout_mut() else {
            return;
        };
        // Only a signature the layout's plan wrote compares in place.
        let Some(slots) = layout.scope_slots.as_ref() else {
            return;
        };
        let (signature, set) = layout.scope_set.get_or_insert_with(Default::default);
        signature.clone_from(&self.subset_cache.signature);
        *set = k;
        let (bytes, known) = &mut layout.scope_bytes;
        bytes.clear();
        *known = match slots.signature_bytes(members, raw) {
            Some(written) => {
                bytes.extend_from_slice(written);
                true
            }
            None => false,
        };
    }

    /// Writes the signature of the indexed event `raw`, its log-source
    /// values read ([`Scanner::read_scope_values`]), into the subset
    /// cache's buffer: by its layout's plan, or slot by slot when the
    /// layout has no key slots.
    pub(super) fn write_signature(&mut self, raw: &[u8]) {
        let out = &mut self.subset_cache.signature;
        let slots = self
            .compact
            .current_layout()
            .and_then(|layout| layout.scope_slots.as_ref());
        match slots {
            Some(slots) => slots.write_signature(&self.members, raw, out),
            None => self.raw_scope.signature(&self.engine.raw.scopes, raw, out),
        }
    }

    /// Teaches the member index's gates (`members/gates.rs`) the scope
    /// gate's verdict on the indexed event `raw` (`outside`: of no rule's
    /// log source), its log-source values read and no escape or character
    /// that could hide text in it; for flat lines with a shape alone. The
    /// first event of a layout that is of no rule's log source may make a
    /// gate (a layout whose events are all of some source has no use for
    /// one).
    pub(super) fn teach_gates(&mut self, raw: &[u8], outside: bool) {
        if !self.members.is_flat() || self.members.shape().is_none() {
            return;
        }
        // The layout the log-source values were read with.
        let Some(layout) = self
            .compact
            .current
            .and_then(|i| self.compact.layouts.get_mut(i))
        else {
            return;
        };
        let make = outside && !layout.gate_offered;
        if !make && !self.members.gate_pending() {
            return;
        }
        layout.gate_offered |= make;
        let Some(slots) = layout.scope_slots.as_ref() else {
            return;
        };
        let positions = layout
            .gate_positions
            .get_or_insert_with(|| slots.key_positions());
        self.members.learn_gate(raw, positions, outside, make);
    }

    /// Appends to `out` the byte ranges of the indexed event `raw` that hold
    /// its scalars no field-scoped witness counts in: each run of
    /// consecutive such scalars as one range, the names and punctuation
    /// between them included (worked out once per layout).
    pub(super) fn nowhere_ranges(&mut self, raw: &[u8], out: &mut Vec<(usize, usize)>) {
        self.span_places_of_layout(raw);
        let i = self.layout_of(raw);
        let places = &self.span_places;
        let Some(layout) = self.compact.layouts.get_mut(i) else {
            return;
        };
        let runs = layout.nowhere_runs.get_or_insert_with(|| {
            let mut runs: Vec<(u32, u32)> = Vec::new();
            for (k, place) in places.iter().enumerate() {
                if !matches!(place, Some(HitPlace::Nowhere) | None) {
                    continue;
                }
                match runs.last_mut() {
                    Some((_, last)) if *last + 1 == k as u32 => *last = k as u32,
                    _ => runs.push((k as u32, k as u32)),
                }
            }
            runs
        });
        for &(first, last) in runs.iter() {
            let start = self.members.span_range(first as usize).map(|r| r.0);
            let end = self.members.span_range(last as usize).map(|r| r.1);
            if let (Some(start), Some(end)) = (start, end) {
                out.push((start, end));
            }
        }
    }

    /// Fills `span_places` for every scalar of the indexed event, from its
    /// layout's when known; once per event (the keyword check, the
    /// candidate memo's key and the copy each ask).
    pub(super) fn span_places_of_layout(&mut self, raw: &[u8]) {
        if self.span_places_filled {
            return;
        }
        self.span_places_filled = true;
        let i = self.layout_of(raw);
        if let Some((places, copied)) = self.compact.layouts.get(i).and_then(|l| l.places.as_ref())
        {
            self.span_places.clear();
            self.span_places.extend(places.iter().map(|&p| Some(p)));
            self.span_copied.clear();
            self.span_copied.extend_from_slice(copied);
            return;
        }
        for k in 0..self.members.len() {
            self.place_of_span(raw, k);
        }
        let places: Vec<HitPlace> = self
            .span_places
            .iter()
            .map(|p| p.unwrap_or(HitPlace::Nowhere))
            .collect();
        let copied: Vec<u32> = (0..places.len() as u32)
            .filter(|&k| !matches!(places.get(k as usize), Some(HitPlace::Nowhere)))
            .collect();
        self.span_copied.clone_from(&copied);
        if let Some(layout) = self.compact.layouts.get_mut(i) {
            layout.places = Some((places, copied));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CompactEvent, HitPlace};
    use crate::test_rng::TestRng;

    /// The value `start..end` lies in, found by reading every value.
    fn lying_in(values: &[(u32, u32, HitPlace, u32)], start: usize, end: usize) -> Option<usize> {
        let k = values
            .iter()
            .rposition(|&(s, _, _, _)| s as usize <= start)?;
        (end <= values[k].1 as usize).then_some(k)
    }

    #[test]
    fn hits_are_placed_in_the_value_they_lie_in_whatever_their_order() {
        let mut rng = TestRng::new(0x5eed_c0de);
        let mut copy = CompactEvent::default();
        for _ in 0..200 {
            // Values one after another, each followed by its line feed.
            copy.values.clear();
            let mut at = 0;
            for k in 0..1 + rng.below(12) {
                let len = rng.below(40) as u32;
                copy.values
                    .push((at, at + len, HitPlace::Member(k as u32), 0));
                at += len + 1;
            }
            let hits: Vec<(usize, usize)> = (0..30)
                .map(|_| {
                    let start = rng.below(at as usize + 4);
                    (start, start + 1 + rng.below(8))
                })
                .collect();
            // In order of their ends (as a scan reports them), then in any
            // order, each hit twice in a row too.
            let mut ordered = hits.clone();
            ordered.sort_by_key(|&(_, end)| end);
            for &(start, end) in ordered.iter().chain(&hits).chain(&hits) {
                let expected = lying_in(&copy.values, start, end);
                assert_eq!(copy.value_at(start, end), expected, "{start}..{end}");
                assert_eq!(copy.value_at(start, end), expected, "{start}..{end} again");
            }
        }
    }
}
