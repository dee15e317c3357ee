//! [`MemberFilter`]: per profile, the top-level member names the rules'
//! lookups can reach, numbered, with per rule (and per selection, and per
//! rule's log sources) the set of them it reads; [`Selection`]: the union of
//! a candidate list's sets, which stage 2's parse builds values for.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hypersigma_compiler::Profile;

use super::digit_folds::{MemberFolds, ValueFold};
use super::{bit_of, id_bit_sets, FieldFolds, LeafNames, ReadSet, Wanted};

/// The top-level member names a profile's lookups can reach, numbered, and
/// per rule the set of them it can read ([`Wanted`] bits; names past the
/// 127th share the last bit).
#[derive(Debug, Clone)]
pub(crate) struct MemberFilter {
    /// Name → id (its bit: [`bit_of`]).
    names: HashMap<Vec<u8>, u32, foldhash::fast::FixedState>,
    /// Bits every event needs: the channel, provider and event id.
    base: Wanted,
    /// Per rule: the bits it reads.
    rules: Vec<Wanted>,
    /// Per rule: the ids of the names it reads, the channel, provider and
    /// event id members' included, as a bit set over the ids
    /// ([`MemberFilter::id_words`] words per rule, one rule after another).
    rule_id_bits: Vec<u64>,
    /// Per rule: it looks a field up at the top level, so members whose
    /// names hold a space can match it (`"Command Line"` for `CommandLine`).
    spaced: Vec<bool>,
    /// Per rule: the index of its first selection in `selection_id_bits`
    /// and `selection_spaced` (its others follow).
    first_selection: Vec<u32>,
    /// Per selection of each rule: the ids of the names it reads, as
    /// `rule_id_bits` holds them for a rule (without the channel, provider
    /// and event id members), and whether it looks a field up at the top
    /// level.
    selection_id_bits: Vec<u64>,
    selection_spaced: Vec<bool>,
    /// Per rule: the ids of the names its log sources are told by, the
    /// channel, provider and event id members' included.
    scope_id_bits: Vec<u64>,
    /// A root walks every member (`*`) or is the event itself: nothing can be
    /// left out.
    everything: bool,
    /// The names, at any depth, whose values the lookups can read (the
    /// key of a nested event's remembered verdict).
    leaves: LeafNames,
    /// Per rule, the long runs of digits its reads of each member cannot
    /// tell apart.
    folds: MemberFolds,
}

/// The members one event's candidates read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Selection<'f> {
    filter: &'f MemberFilter,
    wanted: Wanted,
    spaced: bool,
}

impl MemberFilter {
    /// [`MemberFilter::with_folds`] with no folds (tests).
    #[cfg(test)]
    pub(crate) fn new(profile: &Profile, reads: &ReadSet) -> MemberFilter {
        MemberFilter::with_folds(profile, reads, &[])
    }

    /// Numbers the members the profile reaches for each rule's fields, and
    /// the members holding the channel, provider and event id, with the
    /// folds of long runs of digits each rule's fields allow
    /// ([`field_folds_of`](super::digit_folds::field_folds_of), one per
    /// rule; none given: nothing is folded).
    pub(crate) fn with_folds(
        profile: &Profile,
        reads: &ReadSet,
        field_folds: &[Option<FieldFolds>],
    ) -> MemberFilter {
        let mut everything = false;
        // Exact ids in order of first use; bit `min(id, 127)`.
        let mut ids: BTreeMap<String, u32> = BTreeMap::new();
        let mut id_of = |name: &str| -> u32 {
            let next = ids.len() as u32;
            *ids.entry(name.to_string()).or_insert(next)
        };
        let mut first = |path: &[String], everything: &mut bool| -> Option<u32> {
            match path.first() {
                Some(seg) if seg != "*" => Some(id_of(seg)),
                _ => {
                    *everything = true;
                    None
                }
            }
        };
        let mut base_ids = Vec::new();
        for paths in [&profile.channel, &profile.provider, &profile.event_id] {
            for p in paths {
                base_ids.extend(first(p, &mut everything));
            }
        }
        let top_level = profile.roots.iter().any(|r| r.is_empty());
        for root in profile.roots.iter().filter(|r| !r.is_empty()) {
            base_ids.extend(first(root, &mut everything));
        }
        // The ids of the members a lookup of each field can reach, worked
        // out once per field in the order the rules name them (the ids
        // are numbered in that order).
        let mut field_ids: HashMap<&str, Box<[u32]>> = HashMap::new();
        for field in reads.fields.iter().flatten() {
            if field_ids.contains_key(field.as_str()) {
                continue;
            }
            let mut own = Vec::new();
            for p in profile.fields.get(field).into_iter().flatten() {
                own.extend(first(p, &mut everything));
            }
            if top_level {
                own.extend(first(std::slice::from_ref(field), &mut everything));
                if let Some((head, _)) = field.split_once('.') {
                    own.extend(first(&[head.to_string()], &mut everything));
                }
            }
            field_ids.insert(field, own.into_boxed_slice());
        }
        // The ids of the members the lookups of `fields` can reach, with
        // those of `start`.
        let ids_of = |start: &[u32], fields: &BTreeSet<String>| -> Box<[u32]> {
            let mut own = start.to_vec();
            for field in fields {
                own.extend(field_ids.get(field.as_str()).into_iter().flatten());
            }
            own.sort_unstable();
            own.dedup();
            own.into_boxed_slice()
        };
        let mut rule_ids = Vec::with_capacity(reads.fields.len());
        let mut spaced = Vec::with_capacity(reads.fields.len());
        for fields in &reads.fields {
            rule_ids.push(ids_of(&base_ids, fields));
            spaced.push(top_level && !fields.is_empty());
        }
        let mut first_selection = Vec::with_capacity(reads.fields.len());
        let mut selection_ids = Vec::new();
        let mut selection_spaced = Vec::new();
        for selections in &reads.selection_fields {
            first_selection.push(selection_ids.len() as u32);
            for fields in selections {
                selection_ids.push(ids_of(&[], fields));
                selection_spaced.push(top_level && !fields.is_empty());
            }
        }
        let scope_ids: Vec<Box<[u32]>> = reads
            .scope_fields
            .iter()
            .map(|fields| ids_of(&base_ids, fields))
            .collect();
        let bits = |ids: &[u32]| ids.iter().fold(0, |w, &id| w | bit_of(id));
        let rule_id_bits = id_bit_sets(&rule_ids, ids.len());
        let folds = MemberFolds::new(field_folds, &field_ids, &base_ids);
        MemberFilter {
            folds,
            leaves: LeafNames::new(profile, reads),
            first_selection,
            selection_id_bits: id_bit_sets(&selection_ids, ids.len()),
            selection_spaced,
            scope_id_bits: id_bit_sets(&scope_ids, ids.len()),
            rule_id_bits,
            base: bits(&base_ids),
            rules: rule_ids.iter().map(|ids| bits(ids)).collect(),
            names: ids
                .into_iter()
                .map(|(n, id)| (n.into_bytes(), id))
                .collect(),
            spaced,
            everything,
        }
    }

    /// The names whose values the lookups can read, at any depth.
    pub(crate) fn leaves(&self) -> &LeafNames {
        &self.leaves
    }

    /// Whether a lookup can reach every member (nothing is left out).
    pub(crate) fn reads_everything(&self) -> bool {
        self.everything
    }

    /// The words of a bit set over the member name ids.
    pub(crate) fn id_words(&self) -> usize {
        self.names.len().div_ceil(64)
    }

    /// The id of a member name, when some rule reads a member of that name
    /// (one whose name holds a space may be read all the same).
    pub(crate) fn name_id(&self, name: &[u8]) -> Option<u32> {
        self.names.get(name).copied()
    }

    /// The members rule `rule` reads alone, exactly (not sharing bits): the
    /// ids of their names (with the channel, provider and event id
    /// members) as a bit set of [`MemberFilter::id_words`] words, and
    /// whether members with a space in their name are read too. What
    /// [`MemberFilter::select`] gives for the rule alone holds these (and
    /// may hold more: ids past 127 share a bit).
    pub(crate) fn rule_reads(&self, rule: u32) -> Option<(&[u64], bool)> {
        let words = self.id_words();
        let start = rule as usize * words;
        let ids = self.rule_id_bits.get(start..start + words)?;
        let spaced = self.spaced.get(rule as usize).copied()?;
        Some((ids, spaced))
    }

    /// The members selection `selection` of rule `rule` reads (its fields,
    /// not the log source's), as [`MemberFilter::rule_reads`] gives them
    /// for a rule.
    pub(crate) fn selection_reads(&self, rule: u32, selection: u32) -> Option<(&[u64], bool)> {
        let words = self.id_words();
        let at = *self.first_selection.get(rule as usize)? as usize + selection as usize;
        let next = self
            .first_selection
            .get(rule as usize + 1)
            .map_or(self.selection_spaced.len(), |&n| n as usize);
        if at >= next {
            return None;
        }
        let ids = self.selection_id_bits.get(at * words..(at + 1) * words)?;
        Some((ids, *self.selection_spaced.get(at)?))
    }

    /// How a key can hold the member of name id `id` for `rules`: its long
    /// runs of digits that none of their tests tells apart folded, the
    /// results of the tests that do beside it (see `digit_folds.rs`);
    /// `None` when it is never folded for one of them.
    pub(crate) fn fold_of(&self, rules: &[u32], id: u32) -> Option<ValueFold> {
        if self.everything {
            return None;
        }
        self.folds.fold_of(rules, id)
    }

    /// The members rule `rule`'s log sources are told by (the channel,
    /// provider and event id members, their conditions and requirements),
    /// as a bit set of [`MemberFilter::id_words`] words.
    pub(crate) fn scope_reads(&self, rule: u32) -> Option<&[u64]> {
        let words = self.id_words();
        let start = rule as usize * words;
        self.scope_id_bits.get(start..start + words)
    }

    /// The members the given rules read.
    pub(crate) fn select(&self, rules: &[u32]) -> Selection<'_> {
        let mut wanted = self.base;
        let mut spaced = false;
        for &r in rules {
            wanted |= self.rules.get(r as usize).copied().unwrap_or(Wanted::MAX);
            spaced |= self.spaced.get(r as usize).copied().unwrap_or(true);
        }
        Selection {
            filter: self,
            wanted,
            spaced,
        }
    }
}

impl Selection<'_> {
    /// Whether the member `name` is one the candidates can read.
    pub(super) fn wants(&self, name: &str) -> bool {
        if self.filter.everything || (self.spaced && name.contains(' ')) {
            return true;
        }
        self.filter
            .names
            .get(name.as_bytes())
            .is_some_and(|&id| bit_of(id) & self.wanted != 0)
    }
}
