//! Which members' long runs of digits the rules cannot tell apart (see
//! [`hypersigma_compiler::digit_runs`]): per rule, the fold each field it
//! reads allows, then per profile the fold of each member those fields
//! reach. The verdict memo keys a member's value folded when every
//! candidate's reads of it allow a fold, so that values differing only in
//! fresh ids share a verdict.

use std::collections::{BTreeMap, HashMap};

use hypersigma_compiler::digit_runs::{field_match_fold, merge_folds, DigitFold};
use hypersigma_compiler::ir::{Predicate, Rule};
use hypersigma_compiler::Scope;

/// Per field a rule reads: the fold its tests of the field allow (`None`:
/// some test can tell long runs apart).
pub(crate) type FieldFolds = BTreeMap<String, Option<DigitFold>>;

fn merge_into(folds: &mut FieldFolds, field: &str, fold: Option<DigitFold>) {
    match folds.get_mut(field) {
        Some(kept) => merge_folds(kept, fold.as_ref()),
        None => {
            folds.insert(field.to_string(), fold);
        }
    }
}

/// The folds of the fields `rule` reads: its selections' fields (and the
/// fields its log sources rename them to), `fieldref` targets and the
/// fields its log sources are told by (never folded). `None` for a rule
/// with keywords (it reads every value).
fn field_folds(rule: &Rule) -> Option<FieldFolds> {
    let mut folds = FieldFolds::new();
    // Every field the selections read, with an entry in `folds` or not.
    let mut read = std::collections::BTreeSet::new();
    for field_match in rule
        .detection
        .selections
        .iter()
        .flat_map(|s| s.groups.iter().flatten())
    {
        let field = field_match.field.as_deref()?;
        read.insert(field);
        let fold = field_match_fold(field_match);
        // A fold that keeps no run changes nothing merged (the common case:
        // no digit in the values tested): no entry.
        if !fold.as_ref().is_some_and(DigitFold::is_empty) {
            merge_into(&mut folds, field, fold);
        }
        for predicate in field_match.values.iter().flatten() {
            if let Predicate::FieldRef { field, .. } = predicate {
                read.insert(field);
                merge_into(&mut folds, field, None);
            }
        }
    }
    if let Scope::Sources(sources) = &rule.scope {
        // Each field read, with its entry's fold (`None`: no entry, the
        // field's tests keep no run).
        let own: Vec<(&str, Option<Option<DigitFold>>)> =
            read.iter().map(|&f| (f, folds.get(f).cloned())).collect();
        for source in sources {
            for (name, fold) in &own {
                let Some(field_source) = source.fields.get(*name) else {
                    continue;
                };
                // The tests read a translation of the members' values (a
                // value map, hexadecimal text as a number) or several
                // members joined: what tells runs apart in the members is
                // not what the tests read, so they are never folded
                // (`Initiated` read from Security's `Direction`, where
                // `%%14593` is `true` and `%%14592` is `false`).
                let translated = !field_source.map.is_empty() || field_source.hex;
                for candidate in &field_source.candidates {
                    let joined = candidate.len() > 1;
                    for renamed in candidate {
                        match fold {
                            _ if translated || joined => merge_into(&mut folds, renamed, None),
                            Some(fold) => merge_into(&mut folds, renamed, fold.clone()),
                            None => {}
                        }
                    }
                }
            }
            for field in source
                .conditions
                .iter()
                .map(|(f, _)| f)
                .chain(&source.require)
            {
                merge_into(&mut folds, field, None);
            }
        }
    }
    Some(folds)
}

/// A member name id and the fold of a rule's reads of it.
type MemberFold = (u32, Option<DigitFold>);

/// [`field_folds`] of each rule.
pub(crate) fn field_folds_of(rules: &[Rule]) -> Vec<Option<FieldFolds>> {
    rules.iter().map(field_folds).collect()
}

/// Per rule, the fold of each member (by name id) it reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberFolds {
    /// Per rule: (member name id, fold) sorted by id; `None` for a rule
    /// that reads every value.
    rules: Vec<Option<Box<[MemberFold]>>>,
}

impl MemberFolds {
    /// The folds of the members each rule's fields reach (`field_ids`: the
    /// ids a lookup of each field can reach); the `unfolded` members (the
    /// channel, provider and event id, the data roots) are never folded.
    pub(crate) fn new(
        per_rule: &[Option<FieldFolds>],
        field_ids: &HashMap<&str, Box<[u32]>>,
        unfolded: &[u32],
    ) -> MemberFolds {
        let rules = per_rule
            .iter()
            .map(|folds| {
                let folds = folds.as_ref()?;
                let mut by_id: BTreeMap<u32, Option<DigitFold>> =
                    unfolded.iter().map(|&id| (id, None)).collect();
                for (field, fold) in folds {
                    for &id in field_ids.get(field.as_str()).into_iter().flatten() {
                        match by_id.get_mut(&id) {
                            Some(kept) => merge_folds(kept, fold.as_ref()),
                            None => {
                                by_id.insert(id, fold.clone());
                            }
                        }
                    }
                }
                Some(by_id.into_iter().collect())
            })
            .collect();
        MemberFolds { rules }
    }

    /// The fold of member `id` under every rule of `rules` (the members'
    /// folds merged; the default when none of them reads it), or `None`
    /// when one of them can tell its long runs apart or reads every value.
    pub(crate) fn fold_of(&self, rules: &[u32], id: u32) -> Option<DigitFold> {
        let mut fold = DigitFold::default();
        for &r in rules {
            let reads = self.rules.get(r as usize)?.as_deref()?;
            if let Ok(at) = reads.binary_search_by_key(&id, |&(id, _)| id) {
                fold.merge(reads.get(at)?.1.as_ref()?);
            }
        }
        Some(fold)
    }
}
