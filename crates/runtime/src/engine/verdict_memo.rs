//! Stage 2 decides an event once per distinct content its candidates read:
//! verdicts are remembered by the bytes they depend on.
//!
//! Stage 2's verdict on an event whose line the member index's strict pass
//! accepted depends on three things only: the candidate rules, the profile,
//! and the top-level members those candidates can read. The strict pass has
//! validated the whole line; of its members, [`crate::partial::parse_indexed`]
//! builds only the ones the candidates' lookups can reach (a superset of
//! [`MemberFilter::rule_reads`] of each candidate: the members of the names
//! its fields and log sources are read from, the channel, provider and
//! event id members, and names with a space for rules looking fields up at
//! the top level), and each candidate reads its own. Telemetry repeats what
//! rules read (the same images, command lines, parents and users) while
//! times, GUIDs and process ids change in members no candidate reads, so
//! the verdict is remembered under the candidate list and the members its
//! candidates read, names and values as written (lengths first, in line
//! order, duplicate names included). The bytes are compared, not only
//! hashed, so a remembered verdict is exactly the one evaluation would give.
//! Events of one kind share their names (a *layout*, remembered with each
//! name's id) and come with few candidate lists: per layout, the positions
//! of the members each of its last lists reads are remembered too. A flat
//! event's names are those of its stage-1 layout (`compact.rs`), whose
//! serial number no other list of names gets: its key holds that serial
//! instead of the names, and only the values read.
//!
//! A flat event whose key is not answered may still be decided by fewer
//! of its members: an evaluation reads the members of the selections it
//! runs, in an order each result decides (a rule's selections stop at the
//! first that settles its condition), so an event equal to an evaluated
//! one in the members that evaluation read (the log-source members of every
//! candidate, and those of each selection it ran) runs the same selections
//! with the same results. Those verdicts are remembered under the
//! candidates, the stage-1 layout and the positions and values of the
//! members read ([`VerdictMemo::verdict_by_members_read`]; the last
//! [`READ_SETS`] sets read per layout and candidate list are tried). A
//! network connection's destination address, new in every event, is read
//! only by the rules whose port selection holds: the others' verdicts are
//! found without it. These lookups cost more (the set read is worked out
//! for each evaluated event), so their switch wants one in
//! [`WORTH_SHARE_BY_READ`] answered.
//!
//! A nested event (an `evtx_dump` record: one `Event` member holding
//! everything) has no top-level member left out, so its key is its whole
//! line with the values no candidate can read cut out
//! ([`VerdictMemo::nested_key_of`]): lookups walk objects by name, so a
//! value is read only under a name that is one of the candidates' leaves
//! ([`LeafNames`](crate::partial::LeafNames): field names, last names of
//! paths), or inside a member of such a name. The record id, times and GUIDs drop out; names, brackets
//! and the values read stay, byte for byte.
//!
//! A remembered empty verdict skips the partial parse and the evaluation; a
//! remembered match still parses the whole line for output, as evaluation
//! does. Events with an escaped member name, and profiles under which a
//! lookup can reach every member, are evaluated each time; the caller
//! clears the memo when the profile changes.
//!
//! A verdict is remembered the first time its key is seen (an evaluation
//! costs far more than the copy of its key). Looking up costs (the key: a
//! copy and a hash of the members read), so:
//! - when fewer than one looked-up event in [`WORTH_SHARE`] of a window of
//!   [`WINDOW_EVENTS`] was answered (candidates reading a member that never
//!   repeats), the next `OFF_EVENTS` (`remembered.rs`) events are not
//!   looked up, then a new window decides (nested events have their own
//!   switch, with longer windows and a lower share: their evaluation costs
//!   far more).
//!
//! Bounded: the memo starts over past [`MAX_VERDICTS`] verdicts or
//! [`MAX_KEY_BYTES`] bytes of keys; keys past [`MAX_KEY_LEN`] bytes are not
//! built.

use std::collections::HashMap;

use super::remembered::{RememberedLists, Switch};
use crate::partial::{has_id, MemberFilter, NestedLeaves, ValueFold};
use crate::strict_json::TopMember;
pub(super) use folded_link::DecidedTests;
use folded_values::{FoldedKey, Second};
use layout::{Layout, READS_PER_LAYOUT};
pub(super) use test_results::push_results;

/// Verdicts remembered at most per scanner (then the memo starts over).
const MAX_VERDICTS: usize = 1 << 15;
/// Bytes of keys remembered at most per scanner (likewise).
const MAX_KEY_BYTES: usize = 8 << 20;
/// Verdicts remembered by the members their evaluation read, at most, and
/// the bytes of their keys.
const MAX_READ_VERDICTS: usize = 1 << 15;
const MAX_READ_KEY_BYTES: usize = 8 << 20;
/// At least one lookup by the members read in this many must be answered
/// per window: such a lookup, and remembering each evaluated event for it,
/// cost more than a key of the members the candidates can read (the set
/// of members read is worked out for each evaluated event).
const WORTH_SHARE_BY_READ: u32 = 8;
/// Sets of members read remembered per candidate list of a layout.
const READ_SETS: usize = 3;
/// The byte after a key's candidates when the key holds the members an
/// evaluation read (their positions follow).
const BY_MEMBERS_READ: u8 = 2;
/// Events whose candidates read more bytes are evaluated each time.
const MAX_KEY_LEN: usize = 16384;
/// Looked-up events per window, after which the share of them answered
/// decides whether events keep being looked up.
const WINDOW_EVENTS: u32 = 256;
/// At least one looked-up event in this many must be answered per window.
const WORTH_SHARE: u32 = 16;
/// The same for nested events, whose evaluation (a parse of the whole
/// event, dozens of candidates) costs far more than their key, over longer
/// windows (what repeats comes in bursts).
const WINDOW_EVENTS_NESTED: u32 = 1024;
const WORTH_SHARE_NESTED: u32 = 32;
/// Layouts of member names remembered (events of several kinds alternate:
/// see `compact.rs`'s `LAYOUTS`).
const LAYOUTS: usize = 16;
/// Stage-1 layouts of nested events whose leaves are kept (then they start
/// over).
const NESTED_LAYOUTS: usize = 1024;
/// The id of a name no rule reads by name.
const NO_ID: u32 = u32::MAX;
/// The byte after a flat key's candidates: its member names follow, each
/// before its value, or the serial of its stage-1 layout (the names the
/// positions read are then that layout's).
const FLAT_BY_NAMES: u8 = 0;
const FLAT_BY_SERIAL: u8 = 1;

/// The remembered stage-2 verdicts of one scanner.
pub(super) struct VerdictMemo {
    /// The verdicts (the candidates that matched, ascending) under their
    /// keys.
    lists: RememberedLists,
    /// The current event's key (scratch).
    key: Vec<u8>,
    /// The ids of the member names the current candidates read, as a bit
    /// set (scratch).
    read_ids: Vec<u64>,
    /// Per top-level member of the current event: whether its key holds it
    /// (whether a candidate can read it); complete when `read_members_known`.
    read_members: Vec<bool>,
    read_members_known: bool,
    /// Per container of the current nested event: whether a candidate can
    /// read it whole (scratch).
    held_opens: Vec<bool>,
    /// The last `key_of` gave no key because a candidate reads a top-level
    /// member holding an object (see [`VerdictMemo::nested_key_of`]).
    object_read: bool,
    /// Recent layouts (newest last).
    layouts: Vec<Layout>,
    /// Per stage-1 layout of nested events: the leaf
    /// ([`LeafNames::leaf_of`](crate::partial::LeafNames::leaf_of)) of each
    /// container's holder and of each scalar's member, in order.
    nested_leaves: HashMap<u64, NestedLeaves, foldhash::fast::FixedState>,
    /// Whether flat events (keyed by their top-level members) are looked up.
    flat: Switch,
    /// Whether nested events (keyed by their line, unread values cut out)
    /// are looked up.
    nested: Switch,
    /// The switch of the key just built.
    current: Kind,
    /// Events answered since the start.
    answered_total: u64,
    /// Of those, the events answered by a key of the members the
    /// candidates can read (own or folded).
    #[cfg(test)]
    answered_by_key: u64,
    /// Verdicts under the members their evaluation read
    /// ([`VerdictMemo::verdict_by_members_read`]).
    read_lists: RememberedLists,
    /// Whether flat events are looked up by the members evaluations read.
    by_read: Switch,
    /// The layout (its index in `layouts`) and stage-1 serial of the flat
    /// event [`VerdictMemo::key_of`] last saw, while `by_read` is on.
    read_layout: Option<(usize, u64)>,
    /// Whether a lookup by the members read was counted for the current
    /// event.
    read_counted: bool,
    /// Scratch: a key by the members read, and a set of member name ids.
    read_key: Vec<u8>,
    read_set: Vec<u64>,
    read_positions: Vec<u32>,
    /// The current flat event's key with its long runs of digits folded
    /// (`folded_values.rs`), built when its own key is not answered.
    folded: FoldedKey,
    /// A value folded as stage 1's copy folds it (`folded_link_holds`).
    folded_scratch: Vec<u8>,
}

/// The two kinds of keys.
#[derive(Clone, Copy)]
enum Kind {
    Flat,
    Nested,
}

impl Default for VerdictMemo {
    fn default() -> Self {
        VerdictMemo {
            lists: RememberedLists::new(MAX_VERDICTS, MAX_KEY_BYTES),
            key: Vec::new(),
            read_ids: Vec::new(),
            read_members: Vec::new(),
            read_members_known: false,
            held_opens: Vec::new(),
            object_read: false,
            layouts: Vec::new(),
            nested_leaves: HashMap::default(),
            flat: Switch::new(WINDOW_EVENTS, WORTH_SHARE),
            nested: Switch::new(WINDOW_EVENTS_NESTED, WORTH_SHARE_NESTED),
            current: Kind::Flat,
            answered_total: 0,
            #[cfg(test)]
            answered_by_key: 0,
            read_lists: RememberedLists::new(MAX_READ_VERDICTS, MAX_READ_KEY_BYTES),
            by_read: Switch::new(WINDOW_EVENTS, WORTH_SHARE_BY_READ),
            read_layout: None,
            read_counted: false,
            read_key: Vec::new(),
            read_set: Vec::new(),
            read_positions: Vec::new(),
            folded: FoldedKey::default(),
            folded_scratch: Vec::new(),
        }
    }
}

/// Starts a key (emptied first) with the candidate list: its length, then
/// each rule.
fn start_key(key: &mut Vec<u8>, candidates: &[u32]) {
    key.clear();
    key.extend_from_slice(&(candidates.len() as u32).to_le_bytes());
    for &r in candidates {
        key.extend_from_slice(&r.to_le_bytes());
    }
}

/// Starts a flat key (emptied first): the candidate list, then its tag
/// byte (`by_names` or `by_serial`: neither a space nor `{`, which start a
/// nested key's line) and, when the event is of a stage-1 layout, its
/// serial: a flat event's names are that layout's, whose serial is never
/// given to other names, so the serial stands for them (without one, the
/// names go into the key with the values).
fn start_flat_key(
    key: &mut Vec<u8>,
    candidates: &[u32],
    serial: Option<u64>,
    (by_names, by_serial): (u8, u8),
) {
    start_key(key, candidates);
    match serial {
        Some(serial) => {
            key.push(by_serial);
            key.extend_from_slice(&serial.to_le_bytes());
        }
        None => key.push(by_names),
    }
}

/// Appends a length then the bytes.
fn push_counted(key: &mut Vec<u8>, bytes: &[u8]) {
    key.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    key.extend_from_slice(bytes);
}

/// The slot of a candidate list among a layout's [`READS_PER_LAYOUT`]:
/// a multiplicative hash of its rules (a few instructions each).
fn list_slot(candidates: &[u32]) -> usize {
    let hash = candidates.iter().fold(candidates.len() as u64, |h, &r| {
        (h ^ u64::from(r)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    });
    (hash >> 32) as usize % READS_PER_LAYOUT
}

/// The entry of `entries` (slots by [`list_slot`]) holding `candidates`,
/// if its slot does.
fn entry_of<T>(entries: &[(Vec<u32>, Vec<T>)], candidates: &[u32]) -> Option<usize> {
    let at = list_slot(candidates);
    let (list, _) = entries.get(at)?;
    (list == candidates).then_some(at)
}

/// The entry of `entries` (its [`READS_PER_LAYOUT`] slots made on first
/// use) for a candidate list: the list's slot ([`list_slot`]), a list
/// found there kept, another replaced (its value emptied, the allocation
/// kept). A slot never taken holds the empty list with an empty value,
/// which is what the empty list would get.
fn list_entry<T>(entries: &mut Vec<(Vec<u32>, Vec<T>)>, candidates: &[u32]) -> Option<usize> {
    if entries.len() < READS_PER_LAYOUT {
        entries.resize_with(READS_PER_LAYOUT, Default::default);
    }
    let at = list_slot(candidates);
    let (list, value) = entries.get_mut(at)?;
    if list != candidates {
        list.clear();
        list.extend_from_slice(candidates);
        value.clear();
    }
    Some(at)
}

/// The positions of a layout's `members` read by lookups of the name ids
/// in `ids` (and of names with a space when `spaced`), into `positions`.
fn positions_read(
    members: &[(u32, u32, bool)],
    ids: &[u64],
    spaced: bool,
    positions: &mut Vec<u32>,
) {
    positions.clear();
    for (k, &(_, id, has_space)) in members.iter().enumerate() {
        if (spaced && has_space) || (id != NO_ID && has_id(ids, id)) {
            positions.push(k as u32);
        }
    }
}

/// The key of a verdict by the members read: the candidates, the stage-1
/// layout's serial, the positions of the members read and their values
/// (`raw`'s, listed in `top`); `None` past [`MAX_KEY_LEN`] bytes.
fn by_members_read_key(
    key: &mut Vec<u8>,
    raw: &[u8],
    top: &[TopMember],
    candidates: &[u32],
    serial: u64,
    positions: &[u32],
) -> Option<()> {
    start_key(key, candidates);
    key.push(BY_MEMBERS_READ);
    key.extend_from_slice(&serial.to_le_bytes());
    key.extend_from_slice(&(positions.len() as u32).to_le_bytes());
    for &k in positions {
        key.extend_from_slice(&k.to_le_bytes());
    }
    for &k in positions {
        let member = top.get(k as usize)?;
        push_counted(
            key,
            raw.get(member.value.0 as usize..member.value.1 as usize)?,
        );
    }
    (key.len() <= MAX_KEY_LEN).then_some(())
}

impl VerdictMemo {
    /// Events answered since the start.
    pub(super) fn answered(&self) -> u64 {
        self.answered_total
    }

    /// Forgets every verdict (the profile changed).
    pub(super) fn clear(&mut self) {
        self.lists.clear();
        self.read_lists.clear();
        // Their ids were the old filter's.
        self.layouts.clear();
        self.folded.forget_folds();
        self.nested_leaves.clear();
    }

    /// Builds the key of an event (`raw`, whose strict pass listed `top`)
    /// with these candidates; its hash, or `None` when the event is not
    /// looked up. `serial`: the event's stage-1 layout when the event is
    /// flat (its top-level names are then that layout's), whose names need
    /// not be compared again.
    pub(super) fn key_of(
        &mut self,
        raw: &[u8],
        top: &[TopMember],
        filter: &MemberFilter,
        candidates: &[u32],
        serial: Option<u64>,
    ) -> Option<u64> {
        self.object_read = false;
        self.read_members_known = false;
        self.read_layout = None;
        self.read_counted = false;
        self.folded.reset();
        if filter.reads_everything() {
            return None;
        }
        // While flat events are not looked up, those of a stage-1 layout
        // still get the members their candidates read (which the parse
        // then builds without looking their names up).
        let looked_up = self.looks_up(Kind::Flat);
        if !looked_up && serial.is_none() {
            return None;
        }
        let known = match serial {
            Some(serial) => self.layouts.iter().position(|l| l.serial == Some(serial)),
            None => self.layouts.iter().position(|l| l.is_of(raw, top)),
        };
        let layout = match known {
            Some(at) => at,
            None => {
                let mut layout = if self.layouts.len() < LAYOUTS {
                    Layout::default()
                } else {
                    self.layouts.remove(0)
                };
                let built = layout.of(raw, top, filter);
                // A layout with an escaped name is not one to find again.
                layout.serial = serial.filter(|_| built.is_some());
                self.layouts.push(layout);
                built?;
                self.layouts.len() - 1
            }
        };
        if let Some(serial) = serial.filter(|_| self.by_read.looks_up()) {
            self.read_layout = Some((layout, serial));
        }
        let read_ids = &mut self.read_ids;
        let positions = self.layouts.get_mut(layout)?.reads_of(candidates, || {
            read_ids.clear();
            read_ids.resize(filter.id_words(), 0);
            let mut spaced = false;
            for &r in candidates {
                let (ids, rule_spaced) = filter.rule_reads(r)?;
                spaced |= rule_spaced;
                for (w, &bits) in read_ids.iter_mut().zip(ids) {
                    *w |= bits;
                }
            }
            Some((read_ids.as_slice(), spaced))
        })?;
        self.read_members.clear();
        self.read_members.resize(top.len(), false);
        if !looked_up {
            for &k in positions {
                *self.read_members.get_mut(k as usize)? = true;
            }
            self.read_members_known = true;
            return None;
        }
        let key = &mut self.key;
        start_flat_key(key, candidates, serial, (FLAT_BY_NAMES, FLAT_BY_SERIAL));
        for &k in positions {
            let member = top.get(k as usize)?;
            *self.read_members.get_mut(k as usize)? = true;
            let value = raw.get(member.value.0 as usize..member.value.1 as usize)?;
            if value.first() == Some(&b'{') {
                // An object read whole (an `evtx_dump` record's `Event`):
                // its record id and times would be in the key.
                self.object_read = true;
                return None;
            }
            if serial.is_none() {
                push_counted(
                    key,
                    raw.get(member.name.0 as usize..member.name.1 as usize)?,
                );
            }
            push_counted(key, value);
            if key.len() > MAX_KEY_LEN {
                return None;
            }
        }
        self.read_members_known = true;
        self.folded.layout = Some((layout, serial));
        Some(self.lists.hash(&self.key))
    }

    /// Counts an event of `kind` asking for a key; whether it is looked up.
    fn looks_up(&mut self, kind: Kind) -> bool {
        self.current = kind;
        match kind {
            Kind::Flat => self.flat.looks_up(),
            Kind::Nested => self.nested.looks_up(),
        }
    }

    /// Whether the last [`VerdictMemo::key_of`] gave no key because a
    /// candidate reads a top-level member holding an object: the event's
    /// [`VerdictMemo::nested_key_of`] is then the one to try.
    pub(super) fn object_read(&self) -> bool {
        self.object_read
    }

    /// Per top-level member of the flat event [`VerdictMemo::key_of`] was
    /// just called on: whether a candidate can read it (the members its
    /// key holds, which are all its verdict depends on). Known whenever
    /// the event got a key, and for an event of a stage-1 layout while
    /// flat events are not looked up; `None` otherwise.
    pub(super) fn read_members(&self) -> Option<&[bool]> {
        self.read_members_known
            .then_some(self.read_members.as_slice())
    }

    /// The remembered verdict of the key [`VerdictMemo::key_of`] (or
    /// [`VerdictMemo::nested_key_of`]) just built under `hash`; for a flat
    /// event (`raw`, whose strict pass listed `top`) whose key is not
    /// answered, that of its key with long runs of digits folded, then of
    /// its key with hexadecimal words folded too, where the candidates'
    /// tests allow it (`folded_values.rs`).
    pub(super) fn get(
        &mut self,
        hash: u64,
        raw: &[u8],
        top: Option<&[TopMember]>,
        filter: &MemberFilter,
        candidates: &[u32],
    ) -> Option<&[u32]> {
        let switch = match self.current {
            Kind::Flat => &mut self.flat,
            Kind::Nested => &mut self.nested,
        };
        if let Some(answer) = self.lists.get(hash, &self.key) {
            switch.count(true);
            self.answered_total += 1;
            #[cfg(test)]
            {
                self.answered_by_key += 1;
            }
            return Some(answer);
        }
        // The values with long runs of digits folded, then with
        // hexadecimal words folded too, where no test reads them.
        let answer = match (self.current, top) {
            (Kind::Flat, Some(top)) => {
                let (layouts, lists) = (&mut self.layouts, &self.lists);
                let event = (raw, top);
                let folded = &mut self.folded;
                folded
                    .look_up(Second::Folded, layouts, lists, event, filter, candidates)
                    .or_else(|| {
                        folded.look_up(Second::Worded, layouts, lists, event, filter, candidates)
                    })
            }
            _ => None,
        };
        let found = answer.is_some();
        switch.count(found);
        self.answered_total += u64::from(found);
        #[cfg(test)]
        {
            self.answered_by_key += u64::from(found);
        }
        answer
    }

    /// The remembered verdict of the flat event (`raw`, listed in `top`)
    /// whose key and folded key [`VerdictMemo::get`] did not answer, by its
    /// key by results (`folded_values.rs`): each string member whose every
    /// test (by these candidates) is known held as their results. Tried
    /// last, for an event that would otherwise be evaluated: the tests cost
    /// hundreds of instructions, an evaluation tens of thousands.
    pub(super) fn verdict_by_results(
        &mut self,
        raw: &[u8],
        top: &[TopMember],
        filter: &MemberFilter,
        candidates: &[u32],
    ) -> Option<&[u32]> {
        let (layouts, lists) = (&mut self.layouts, &self.lists);
        let event = (raw, top);
        let answer =
            self.folded
                .look_up(Second::ByResults, layouts, lists, event, filter, candidates);
        self.answered_total += u64::from(answer.is_some());
        answer
    }

    /// Remembers the verdict [`VerdictMemo::verdict_by_results`] just gave
    /// under the event's own key (`hash`) and its folded keys, if built:
    /// the next event equal to it takes it at the cost of a key.
    pub(super) fn remember_answered_by_results(&mut self, hash: u64, matched: &[u32]) {
        self.lists.remember(hash, &self.key, matched);
        for second in [Second::Folded, Second::Worded] {
            if let (key, Some(hash)) = self.folded.key(second) {
                self.lists.remember(hash, key, matched);
            }
        }
    }

    /// Remembers the verdict of the key just built under `hash` (and under
    /// the folded keys and the key by results, when they were built).
    pub(super) fn remember(&mut self, hash: u64, matched: &[u32]) {
        self.lists.remember(hash, &self.key, matched);
        for second in [Second::Folded, Second::Worded, Second::ByResults] {
            if let (key, Some(hash)) = self.folded.key(second) {
                self.lists.remember(hash, key, matched);
            }
        }
    }

    /// The remembered verdict of the flat event [`VerdictMemo::key_of`]
    /// was just called on (`raw`, whose strict pass listed `top`) by the
    /// members an earlier evaluation with these candidates read: an
    /// evaluation reads members one after another, each read deciding what
    /// is read next, so an event equal to an evaluated one in every member
    /// that evaluation read is evaluated alike, whatever its other members
    /// hold. Each of the last sets of members read with this layout and
    /// list is tried.
    pub(super) fn verdict_by_members_read(
        &mut self,
        raw: &[u8],
        top: &[TopMember],
        candidates: &[u32],
    ) -> Option<&[u32]> {
        let (at, serial) = self.read_layout?;
        let layout = self.layouts.get(at)?;
        let (_, sets) = layout
            .read_sets
            .get(entry_of(&layout.read_sets, candidates)?)?;
        self.read_counted = true;
        let (lists, key) = (&self.read_lists, &mut self.read_key);
        let mut found = None;
        for positions in sets {
            by_members_read_key(key, raw, top, candidates, serial, positions)?;
            found = lists.get(lists.hash(key), key);
            if found.is_some() {
                break;
            }
        }
        self.by_read.count(found.is_some());
        self.answered_total += u64::from(found.is_some());
        found
    }

    /// Remembers the verdict (`matched`) of the flat event
    /// [`VerdictMemo::key_of`] was just called on, evaluated with these
    /// candidates, by the members the evaluation read: the log-source
    /// members of every candidate and the members of each selection it
    /// evaluated (`evaluated`: rule and selection).
    pub(super) fn remember_by_members_read(
        &mut self,
        raw: &[u8],
        top: &[TopMember],
        filter: &MemberFilter,
        candidates: &[u32],
        evaluated: &[(u32, u32)],
        matched: &[u32],
    ) -> Option<()> {
        let (at, serial) = self.read_layout.take()?;
        // An evaluated event no lookup was tried for counts as not
        // answered: remembering it costs all the same.
        if !std::mem::take(&mut self.read_counted) {
            self.by_read.count(false);
        }
        let set = &mut self.read_set;
        set.clear();
        set.resize(filter.id_words(), 0);
        let mut spaced = false;
        let mut add = |ids: &[u64]| {
            for (w, &bits) in set.iter_mut().zip(ids) {
                *w |= bits;
            }
        };
        for &r in candidates {
            add(filter.scope_reads(r)?);
        }
        for &(r, k) in evaluated {
            let (ids, selection_spaced) = filter.selection_reads(r, k)?;
            spaced |= selection_spaced;
            add(ids);
        }
        let layout = self.layouts.get_mut(at)?;
        let positions = &mut self.read_positions;
        positions_read(&layout.members, set, spaced, positions);
        let entry = list_entry(&mut layout.read_sets, candidates)?;
        let (_, sets) = layout.read_sets.get_mut(entry)?;
        // The most recent last; once there are enough, the oldest set's
        // allocation is reused.
        match sets.iter().position(|p| p == positions) {
            Some(k) => sets[k..].rotate_left(1),
            None if sets.len() >= READ_SETS => {
                sets.rotate_left(1);
                if let Some(newest) = sets.last_mut() {
                    newest.clear();
                    newest.extend_from_slice(positions);
                }
            }
            None => sets.push(positions.clone()),
        }
        by_members_read_key(&mut self.read_key, raw, top, candidates, serial, positions)?;
        let hash = self.read_lists.hash(&self.read_key);
        self.read_lists.remember(hash, &self.read_key, matched);
        Some(())
    }
}

#[path = "folded_link.rs"]
mod folded_link;
#[path = "folded_values.rs"]
mod folded_values;
#[path = "verdict_layout.rs"]
mod layout;
#[path = "nested_key.rs"]
mod nested_key;
#[path = "test_results.rs"]
mod test_results;

#[cfg(test)]
#[path = "verdict_memo_tests.rs"]
mod tests;
