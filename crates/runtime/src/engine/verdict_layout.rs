//! The verdict memo's layouts of member names (`verdict_memo.rs`): the
//! top-level names of a kind of flat event, in order, with their ids in the
//! member filter, and per candidate list the positions of the members its
//! candidates read, the folds their values can be keyed with and the sets
//! of members recent evaluations read. Events of one kind share a layout,
//! so their names are compared with it instead of looked up one by one.

use std::sync::Arc;

use super::folded_link::DecidedTests;
use super::{entry_of, list_entry, positions_read, NO_ID};
use crate::engine::folded_copy::{FOLDED_WINDOW, FOLDED_WORTH_SHARE};
use crate::engine::remembered::Switch;
use crate::partial::{MemberFilter, ValueFold};
use crate::strict_json::TopMember;

/// The top-level member names of an event, in order, with their ids in
/// the member filter: events of one kind share them, so the names are
/// compared instead of looked up.
pub(super) struct Layout {
    /// The stage-1 layout (`compact.rs`) of the flat events it was built
    /// from: a flat event of that layout has these names.
    pub(super) serial: Option<u64>,
    /// The names, one after the other.
    pub(super) names: Vec<u8>,
    /// Per member: where its name ends in `names`, its id ([`NO_ID`]: none)
    /// and whether the name holds a space.
    pub(super) members: Vec<(u32, u32, bool)>,
    /// Candidate lists keys were built for with this layout, each with the
    /// positions of the members its candidates read, in the slot of the
    /// list's hash ([`list_slot`](super::list_slot)): the positions are not worked out from
    /// the lists' read names for each event.
    pub(super) reads: Vec<(Vec<u32>, Vec<u32>)>,
    /// Per entry of `reads`: the fold each of its members' values can be
    /// keyed with (`folded_values.rs`), each worked out on first need.
    pub(super) folds: Vec<Vec<Option<Option<Arc<ValueFold>>>>>,
    /// Per entry of `reads`: whether a verdict may be linked to a place
    /// of the candidate memo's folded key (`verdict_link.rs`), worked out
    /// on first need.
    pub(super) folded_links: Vec<Option<FoldedLink>>,
    /// Candidate lists evaluated with this layout, each with the last sets
    /// of members (positions) their evaluations read, in the slot of the
    /// list's hash.
    pub(super) read_sets: Vec<(Vec<u32>, ReadSets)>,
    /// Whether keys with hexadecimal words folded are tried for its events
    /// (`folded_values.rs`).
    pub(super) worded: Switch,
}

/// Whether a verdict of a layout's events with one candidate list holds
/// for every event stage 1's copy folds alike
/// (`VerdictMemo::folded_link_holds`).
#[derive(Debug, Clone)]
pub(super) struct FoldedLink {
    /// Members (positions) whose values are checked: they hold no folded
    /// run next to a character their tests keep runs by (with the fold of
    /// their tests), or none at all (`None`: their tests have no fold).
    pub(super) by_values: Vec<(u32, Option<Arc<ValueFold>>)>,
    /// Members whose tests decided on the value as written must give the
    /// linked event's results.
    pub(super) decided: Option<DecidedTests>,
}

/// The last sets of members (their positions) evaluations of one
/// candidate list read, the most recent last.
pub(super) type ReadSets = Vec<Vec<u32>>;

/// Slots of candidate lists per layout ([`Layout::reads`]). Events of one
/// kind come with many lists (a process creation's candidates follow its
/// command line): with the four most recent lists remembered, 81 % of the
/// generated process creations worked their positions out again
/// (BENCHMARKS.md, v37). A filled slot holds a list twice (`reads`,
/// `read_sets`), its positions, folds and read sets: up to ~200 KB per
/// layout, 3 MB for the [`LAYOUTS`](super::LAYOUTS) a scanner keeps. Four in tests, where
/// a few lists share slots.
pub(super) const READS_PER_LAYOUT: usize = if cfg!(test) { 4 } else { 256 };

impl Default for Layout {
    fn default() -> Self {
        Layout {
            serial: None,
            names: Vec::new(),
            members: Vec::new(),
            reads: Vec::new(),
            folds: Vec::new(),
            folded_links: Vec::new(),
            read_sets: Vec::new(),
            worded: Switch::new(FOLDED_WINDOW, FOLDED_WORTH_SHARE),
        }
    }
}

impl Layout {
    /// Whether `top` (of `raw`) has these names.
    pub(super) fn is_of(&self, raw: &[u8], top: &[TopMember]) -> bool {
        if self.members.len() != top.len() {
            return false;
        }
        let mut start = 0;
        for (member, &(end, _, _)) in top.iter().zip(&self.members) {
            let name = raw.get(member.name.0 as usize..member.name.1 as usize);
            if member.name_escaped || name != self.names.get(start..end as usize) {
                return false;
            }
            start = end as usize;
        }
        true
    }

    /// The positions of the members `candidates` read (their names' ids
    /// in `read_ids`; names with a space too when `spaced`), worked out
    /// when the list is not in its slot.
    pub(super) fn reads_of<'i>(
        &mut self,
        candidates: &[u32],
        read_ids: impl FnOnce() -> Option<(&'i [u64], bool)>,
    ) -> Option<&[u32]> {
        let at = match self.reads_entry(candidates) {
            Some(at) => at,
            None => {
                // Worked out before an entry is taken: a list whose reads
                // are not known gets none.
                let (ids, spaced) = read_ids()?;
                let at = list_entry(&mut self.reads, candidates)?;
                self.folds.resize_with(self.reads.len(), Vec::new);
                self.folds.get_mut(at)?.clear();
                self.folded_links.resize(self.reads.len(), None);
                *self.folded_links.get_mut(at)? = None;
                let (_, positions) = self.reads.get_mut(at)?;
                positions_read(&self.members, ids, spaced, positions);
                at
            }
        };
        self.reads
            .get(at)
            .map(|(_, positions)| positions.as_slice())
    }

    /// The entry of `reads` holding `candidates`, if its slot does.
    pub(super) fn reads_entry(&self, candidates: &[u32]) -> Option<usize> {
        entry_of(&self.reads, candidates)
    }

    /// The layout of `top`; `None` for an escaped name.
    pub(super) fn of(
        &mut self,
        raw: &[u8],
        top: &[TopMember],
        filter: &MemberFilter,
    ) -> Option<()> {
        self.names.clear();
        self.members.clear();
        self.reads.clear();
        self.folds.clear();
        self.folded_links.clear();
        self.read_sets.clear();
        self.worded = Switch::new(FOLDED_WINDOW, FOLDED_WORTH_SHARE);
        for member in top {
            if member.name_escaped {
                return None;
            }
            // Not escaped: the name is its bytes.
            let name = raw.get(member.name.0 as usize..member.name.1 as usize)?;
            self.names.extend_from_slice(name);
            let id = filter.name_id(name).unwrap_or(NO_ID);
            self.members
                .push((self.names.len() as u32, id, name.contains(&b' ')));
        }
        Some(())
    }
}
