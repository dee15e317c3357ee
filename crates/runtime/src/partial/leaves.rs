//! The member names, at any depth, whose values stage 2's lookups can read:
//! what a nested event's remembered verdict (`engine/verdict_memo.rs`)
//! must be keyed on.
//!
//! Every lookup of the reference (`Profile::lookup_each`, the log-source
//! renames and checks) walks an event by member names: an explicit path
//! (`Event.System.EventID`) steps through objects by name and reads the
//! value of its last name; a root (`Event.EventData`, `Event.UserData.*`)
//! steps through objects by name (or through every member that is an
//! object, for `*`) and then reads, inside the objects reached, the member
//! named as the field, else the last name of a dotted field through
//! objects and arrays, else a member whose name holds a space and equals
//! the field once the spaces are removed. So the value of a member can be
//! read only when its name is one of the **leaves** listed here (a field
//! name, the last part of a dotted field, the last name of an explicit
//! path, of the channel, provider and event id paths), or when it is held
//! (at any depth) by a member whose value is read, or when its name holds
//! a space (or an escape, which the list, made of names as written, cannot
//! tell). Everything else a lookup depends on is the line's structure: the
//! names themselves and which values are objects.

use std::collections::{HashMap, HashSet};

use hypersigma_compiler::Profile;

use super::{escaped_name, has_id, id_bit_sets, ReadSet};
use crate::members::NestedTree;

/// A member name no rule reads ([`LeafNames::leaf_of`]).
pub(crate) const NO_LEAF: u32 = u32::MAX;
/// A member name any rule may read (it holds a space or an escape).
const ANY_LEAF: u32 = u32::MAX - 1;

/// Whether a rule whose leaves are `bits` may read the value of a member
/// whose name is `leaf` ([`LeafNames::leaf_of`]).
pub(crate) fn reads_leaf(bits: &[u64], leaf: u32) -> bool {
    match leaf {
        NO_LEAF => false,
        ANY_LEAF => true,
        id => has_id(bits, id),
    }
}

/// The leaf names of a profile's lookups, numbered, with per rule the set
/// of them its fields and log sources reach.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeafNames {
    /// Name (as written, no escapes) → id.
    names: HashMap<Vec<u8>, u32, foldhash::fast::FixedState>,
    /// Words of a bit set over the ids.
    words: usize,
    /// Per rule, `words` words: the ids it reads, the channel, provider and
    /// event id leaves included.
    rule_bits: Vec<u64>,
}

impl LeafNames {
    /// The leaves each rule's fields reach under `profile`.
    pub(crate) fn new(profile: &Profile, reads: &ReadSet) -> LeafNames {
        let mut ids: HashMap<Vec<u8>, u32, foldhash::fast::FixedState> = HashMap::default();
        let mut id_of = |name: &str| -> u32 {
            let next = ids.len() as u32;
            *ids.entry(name.as_bytes().to_vec()).or_insert(next)
        };
        let last = |path: &[String]| path.last().cloned();
        let base: Vec<u32> = [&profile.channel, &profile.provider, &profile.event_id]
            .into_iter()
            .flatten()
            .filter_map(|p| last(p))
            .map(|name| id_of(&name))
            .collect();
        let mut per_rule: Vec<Vec<u32>> = Vec::with_capacity(reads.fields.len());
        for fields in &reads.fields {
            let mut own = base.clone();
            for field in fields {
                own.push(id_of(field));
                if let Some((_, tail)) = field.rsplit_once('.') {
                    own.push(id_of(tail));
                }
                for p in profile.fields.get(field).into_iter().flatten() {
                    if let Some(name) = last(p) {
                        own.push(id_of(&name));
                    }
                }
            }
            per_rule.push(own);
        }
        LeafNames {
            words: ids.len().div_ceil(64),
            rule_bits: id_bit_sets(&per_rule, ids.len()),
            names: ids,
        }
    }

    /// The leaves `rules` read, together, written into `bits`; `None` when
    /// a rule is not one these were made for.
    pub(crate) fn union_of<'b>(&self, rules: &[u32], bits: &'b mut Vec<u64>) -> Option<&'b [u64]> {
        bits.clear();
        bits.resize(self.words, 0);
        for &r in rules {
            for (w, &b) in bits.iter_mut().zip(self.rule_bits(r)?) {
                *w |= b;
            }
        }
        Some(bits)
    }

    /// The leaves rule `rule` reads, as a bit set over the leaf ids.
    pub(crate) fn rule_bits(&self, rule: u32) -> Option<&[u64]> {
        let start = rule as usize * self.words;
        self.rule_bits.get(start..start + self.words)
    }

    /// What a member of this name (as written) is to [`reads_leaf`]: its
    /// leaf id, [`ANY_LEAF`] when its name holds a space or an escape (any
    /// rule may read it), [`NO_LEAF`] when no rule reads it.
    pub(crate) fn leaf_of(&self, name: &[u8]) -> u32 {
        if name.iter().any(|&b| b == b' ' || b == b'\\') {
            return ANY_LEAF;
        }
        self.names.get(name).copied().unwrap_or(NO_LEAF)
    }
}

/// What the names of a nested line are to [`LeafNames`]: the same for
/// every line of one stage-1 layout (same names, same structure), so
/// worked out once per layout.
#[derive(Debug, Clone, Default)]
pub(crate) struct NestedLeaves {
    /// Per container ([`NestedTree::opens`]): the leaf of its holder's name
    /// ([`LeafNames::leaf_of`]; [`NO_LEAF`] for none).
    pub(crate) opens: Vec<u32>,
    /// Per scalar ([`NestedTree::scalars`]): the leaf of its member's name.
    pub(crate) scalars: Vec<u32>,
    /// Some object holds two members of one name.
    pub(crate) repeated_names: bool,
}

impl NestedLeaves {
    /// The leaves of the names of `raw`, whose strict pass gave `tree`.
    pub(crate) fn of(raw: &[u8], tree: &NestedTree<'_>, leaves: &LeafNames) -> NestedLeaves {
        let name_of =
            |name: Option<(u32, u32)>| name.and_then(|(a, b)| raw.get(a as usize..b as usize));
        let leaf = |name: Option<&[u8]>| name.map_or(NO_LEAF, |name| leaves.leaf_of(name));
        // Each object's members: its scalars, and the containers it holds
        // by name (one inside an array is named after the array's holder,
        // so the object check skips containers whose parent is an array).
        let object = |open: u32| {
            tree.opens
                .get(open as usize)
                .and_then(|o| raw.get(o.start as usize))
                == Some(&b'{')
        };
        // Names compared decoded (`"A"` and `"\u0041"` are one name).
        let text = std::str::from_utf8(raw).ok();
        let decoded = |name: Option<(u32, u32)>| -> Option<Vec<u8>> {
            let (text, (a, b)) = (text?, name?);
            let written = raw.get(a as usize..b as usize)?;
            if written.contains(&b'\\') {
                escaped_name(text, (a, b)).map(String::into_bytes)
            } else {
                Some(written.to_vec())
            }
        };
        let mut seen = HashSet::new();
        let mut repeated_names = false;
        for o in tree.opens {
            if object(o.parent) {
                repeated_names |= !seen.insert((o.parent, decoded(o.holder)));
            }
        }
        for (_, name, open) in tree.scalars() {
            if object(open) {
                repeated_names |= !seen.insert((open, decoded(name)));
            }
        }
        NestedLeaves {
            opens: tree.opens.iter().map(|o| leaf(name_of(o.holder))).collect(),
            scalars: tree
                .scalars()
                .map(|(_, name, _)| leaf(name_of(name)))
                .collect(),
            repeated_names,
        }
    }

    /// Whether these were worked out for `tree`'s numbers of containers
    /// and scalars.
    pub(crate) fn fit(&self, tree: &NestedTree<'_>) -> bool {
        self.opens.len() == tree.opens.len() && self.scalars.len() == tree.scalar_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partial::tests::reads;

    fn leaves(profile: &Profile, detection: &str) -> (LeafNames, Vec<u64>) {
        let names = LeafNames::new(profile, &reads(detection));
        let bits = names.rule_bits(0).expect("rule 0").to_vec();
        (names, bits)
    }

    #[test]
    fn fields_dotted_tails_explicit_paths_and_log_source_leaves_are_read() {
        let (names, bits) = leaves(
            &Profile::evtx(),
            "    s: {CommandLine|contains: 'x', a.b.Tail: 'y', Provider_Name: 'z'}\n    condition: s",
        );
        let expected = [
            (&b"CommandLine"[..], true),
            (b"a.b.Tail", true),
            (b"Tail", true),
            // Provider_Name's explicit path ends in `Name`.
            (b"Name", true),
            (b"Channel", true),
            (b"EventID", true),
            (b"Image Path", true),
            (b"Odd\\\"Name", true),
            (b"ProcessGuid", false),
            (b"UtcTime", false),
            (b"Event", false),
            (b"EventData", false),
            (b"System", false),
            (b"b", false),
        ];
        for (name, read) in expected {
            assert_eq!(
                reads_leaf(&bits, names.leaf_of(name)),
                read,
                "{}",
                String::from_utf8_lossy(name)
            );
        }
    }
}
