//! The verdict memo's key for a nested event (an `evtx_dump` record, a
//! Winlogbeat document): the line with the values no candidate can read cut
//! out, and the leaves of each stage-1 layout's names it is cut by.

use std::collections::HashMap;

use super::{start_key, Kind, VerdictMemo, MAX_KEY_LEN, NESTED_LAYOUTS};
use crate::members::NestedTree;
use crate::partial::{reads_leaf, LeafNames, NestedLeaves};

impl VerdictMemo {
    /// The leaves of the names of the nested line `raw` (whose strict pass
    /// gave `tree`), of the stage-1 layout `serial`: worked out once per
    /// layout, for the key and for the pruned parse.
    pub(in crate::engine) fn nested_leaves_of(
        &mut self,
        raw: &[u8],
        tree: &NestedTree<'_>,
        leaves: &LeafNames,
        serial: u64,
    ) -> &NestedLeaves {
        layout_leaves(&mut self.nested_leaves, raw, tree, leaves, serial)
    }

    /// [`VerdictMemo::key_of`] for a nested event (`raw`, whose strict
    /// pass gave `tree` and saw no escape that could hide a name): the key
    /// is the candidate list and the line with the value of each scalar no
    /// candidate can read cut out, a zero byte (which a line the strict
    /// pass accepts never holds) in its place. A scalar can be read when
    /// its member's name is one of the candidates' leaves
    /// ([`LeafNames`]), or when a member holding it at any depth has such
    /// a name; the rest of the line (every name, bracket and comma, every
    /// other value) stays, so two events with one key differ only in
    /// values no lookup of the candidates reaches, and have one verdict.
    pub(in crate::engine) fn nested_key_of(
        &mut self,
        raw: &[u8],
        tree: &NestedTree<'_>,
        leaves: &LeafNames,
        candidates: &[u32],
        layout: Option<u64>,
    ) -> Option<u64> {
        if !self.looks_up(Kind::Nested) {
            return None;
        }
        let bits = leaves.union_of(candidates, &mut self.read_ids)?;
        let fresh;
        let names = match layout {
            Some(serial) => layout_leaves(&mut self.nested_leaves, raw, tree, leaves, serial),
            None => {
                fresh = NestedLeaves::of(raw, tree, leaves);
                &fresh
            }
        };
        if !names.fit(tree) {
            return None;
        }
        let (open_leaves, scalar_leaves) = (&names.opens, &names.scalars);
        // Containers open before those they hold: one pass decides which
        // are read whole.
        let held = &mut self.held_opens;
        held.clear();
        for (open, &leaf) in tree.opens.iter().zip(open_leaves) {
            let by_parent = held.get(open.parent as usize).copied().unwrap_or(false);
            held.push(by_parent || reads_leaf(bits, leaf));
        }
        let key = &mut self.key;
        start_key(key, candidates);
        let mut from = 0usize;
        for (((start, end), _, open), &leaf) in tree.scalars().zip(scalar_leaves) {
            if held.get(open as usize).copied().unwrap_or(true) || reads_leaf(bits, leaf) {
                continue;
            }
            key.extend_from_slice(raw.get(from..start as usize)?);
            key.push(0);
            from = end as usize;
        }
        key.extend_from_slice(raw.get(from..)?);
        // No flags of top-level members for a nested key.
        self.read_members.clear();
        self.read_members_known = false;
        if self.key.len() > MAX_KEY_LEN {
            return None;
        }
        Some(self.lists.hash(&self.key))
    }
}

/// The leaves of the names of `raw` (of the stage-1 layout `serial`),
/// worked out once per layout and kept in `kept` (at most
/// [`NESTED_LAYOUTS`]; then it starts over).
fn layout_leaves<'k>(
    kept: &'k mut HashMap<u64, NestedLeaves, foldhash::fast::FixedState>,
    raw: &[u8],
    tree: &NestedTree<'_>,
    leaves: &LeafNames,
    serial: u64,
) -> &'k NestedLeaves {
    if kept.len() >= NESTED_LAYOUTS && !kept.contains_key(&serial) {
        kept.clear();
    }
    kept.entry(serial)
        .or_insert_with(|| NestedLeaves::of(raw, tree, leaves))
}
