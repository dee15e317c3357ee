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

use std::collections::HashMap;

use hypersigma_compiler::Profile;

use super::{has_id, id_bit_sets, ReadSet};

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

    /// The words of a bit set over the leaf ids.
    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// The leaves rule `rule` reads, as a bit set of [`LeafNames::words`]
    /// words.
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
