//! Which members' long runs of digits the rules cannot tell apart (see
//! [`hypersigma_compiler::digit_runs`]): per rule, the fold each field it
//! reads allows, then per profile the fold of each member those fields
//! reach. The verdict memo keys a member's value folded when every
//! candidate's reads of it allow a fold, so that values differing only in
//! fresh ids share a verdict.
//!
//! A test that can tell long runs apart (a `re` with `\w` or `\d`, a
//! pattern with `?`, a number) does not stop the fold: it is *decided*, its
//! result on the value itself going into the key beside the folded value
//! (`engine/verdict_memo/folded_values.rs`). Two values with one folded
//! text and the same results of the decided tests get the same result from
//! every test of the member, so a verdict remembered for one answers for
//! the other. Only a test that reads more than the value (`fieldref`), a
//! value read through a translation or a join, and the members that tell
//! the log source are never folded.
//!
//! Each value fold also lists every test of the member (up to
//! [`MAX_TESTED`], each reading nothing but the value): a key can then hold
//! their results instead of the value (`folded_values.rs`), so that a fresh
//! id (`LogonId: 0x851ba7`, a file name `f_0cb7a7`, an address) read by one
//! equality or a few substrings shares the verdict of every value with the
//! same results.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hypersigma_compiler::digit_runs::{predicate_fold, DigitFold};
use hypersigma_compiler::ir::{FieldMatch, Predicate, Rule};
use hypersigma_compiler::Scope;

/// How a key holds a member's value for some tests of it: its long runs of
/// digits folded under `fold`, and the result of each `decided` test (one
/// that can tell long runs apart) on the value as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueFold {
    /// The fold the other tests allow.
    pub(crate) fold: DigitFold,
    /// The tests whose results the key holds (each once).
    pub(crate) decided: Vec<Arc<Predicate>>,
    /// Every test of the value (each once), unless `untestable`.
    tests: Vec<Arc<Predicate>>,
    /// More than [`MAX_TESTED`] tests, or one that reads more than the
    /// value (`exists`, `null`): `tests` is left empty.
    untestable: bool,
    /// Names this list of tests where its results are remembered by value
    /// (`engine/test_results.rs`); given by the scanner that works it out.
    pub(crate) serial: u64,
}

/// The most tests of one member whose results a key holds instead of the
/// value: each costs a match on every folded key built (a few hundred
/// instructions at most), an evaluation tens of thousands.
pub(crate) const MAX_TESTED: usize = 32;

impl ValueFold {
    /// Whether it keeps no run and has no test (merging it changes
    /// nothing).
    fn is_empty(&self) -> bool {
        self.fold.is_empty() && self.decided.is_empty() && self.tests.is_empty() && !self.untestable
    }

    /// The value fold of tests of one value that this one's and `other`'s
    /// are.
    fn merge(&mut self, other: &ValueFold) {
        self.fold.merge(&other.fold);
        add_each(&mut self.decided, &other.decided);
        self.untestable |= other.untestable;
        if !self.untestable {
            add_each(&mut self.tests, &other.tests);
        }
        self.bound_tests();
    }

    /// Gives the tests up past [`MAX_TESTED`].
    fn bound_tests(&mut self) {
        if self.untestable || self.tests.len() > MAX_TESTED {
            self.untestable = true;
            self.tests = Vec::new();
        }
    }

    /// Every test of the value, when a key can hold their results instead
    /// of it: at most [`MAX_TESTED`], each answered on the text alone.
    pub(crate) fn tests(&self) -> Option<&[Arc<Predicate>]> {
        (!self.untestable).then_some(self.tests.as_slice())
    }
}

/// Adds each test of `from` that `into` does not hold.
fn add_each(into: &mut Vec<Arc<Predicate>>, from: &[Arc<Predicate>]) {
    for test in from {
        if !into.iter().any(|t| Arc::ptr_eq(t, test)) {
            into.push(test.clone());
        }
    }
}

/// Merges `fold` into `into`, the value folds of tests of one value, where
/// `None` stands for a test the value is never folded for: `None` when
/// either is.
/// `into` is shared (by `Arc`) until a merge copies it.
fn merge_value_folds(into: &mut Option<Arc<ValueFold>>, fold: Option<&ValueFold>) {
    match (into.as_mut(), fold) {
        (Some(into), Some(fold)) => Arc::make_mut(into).merge(fold),
        _ => *into = None,
    }
}

/// The value fold of a field match's tests: the fold of those that keep
/// their result under one, the others decided; `None` when a test reads
/// more than the value (`fieldref`).
fn field_match_value_fold(field_match: &FieldMatch) -> Option<ValueFold> {
    let mut value_fold = ValueFold::default();
    let count = field_match.values.iter().map(Vec::len).sum::<usize>();
    value_fold.untestable = count > MAX_TESTED;
    for predicate in field_match.values.iter().flatten() {
        // Cloned once, shared by every list of tests it goes into.
        let mut test = None;
        let mut shared = || {
            test.get_or_insert_with(|| Arc::new(predicate.clone()))
                .clone()
        };
        // `exists` and `null` fold (they read no digit): only a `fieldref`
        // reads more than the value.
        match predicate_fold(predicate) {
            Some(fold) => value_fold.fold.merge(&fold),
            None if matches!(predicate, Predicate::FieldRef { .. }) => return None,
            None => value_fold.decided.push(shared()),
        }
        if matches!(predicate, Predicate::Exists(_) | Predicate::Null) {
            value_fold.untestable = true;
        } else if !value_fold.untestable {
            value_fold.tests.push(shared());
        }
    }
    value_fold.bound_tests();
    Some(value_fold)
}

/// Per field a rule reads: the value fold its tests of the field allow
/// (`None`: the field's values are never folded), shared by every
/// scanner's member folds (each holds it by its `Arc` unless it merges).
pub(crate) type FieldFolds = BTreeMap<String, Option<Arc<ValueFold>>>;

fn merge_into(folds: &mut FieldFolds, field: &str, fold: Option<Arc<ValueFold>>) {
    match folds.get_mut(field) {
        Some(kept) => merge_value_folds(kept, fold.as_deref()),
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
        let fold = field_match_value_fold(field_match);
        // A fold that keeps no run and lists no test changes nothing
        // merged (a field match without values): no entry.
        if !fold.as_ref().is_some_and(ValueFold::is_empty) {
            merge_into(&mut folds, field, fold.map(Arc::new));
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
        let own: Vec<(&str, Option<Option<Arc<ValueFold>>>)> =
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

/// A member name id and the value fold of a rule's reads of it.
type MemberFold = (u32, Option<Arc<ValueFold>>);

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
                let mut by_id: BTreeMap<u32, Option<Arc<ValueFold>>> =
                    unfolded.iter().map(|&id| (id, None)).collect();
                for (field, fold) in folds {
                    for &id in field_ids.get(field.as_str()).into_iter().flatten() {
                        match by_id.get_mut(&id) {
                            Some(kept) => merge_value_folds(kept, fold.as_deref()),
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

    /// The value fold of member `id` under every rule of `rules` (the
    /// members' value folds merged; the default when none of them reads
    /// it), or `None` when one of them never folds it or reads every value.
    pub(crate) fn fold_of(&self, rules: &[u32], id: u32) -> Option<ValueFold> {
        let mut fold = ValueFold::default();
        for &r in rules {
            let reads = self.rules.get(r as usize)?.as_deref()?;
            if let Ok(at) = reads.binary_search_by_key(&id, |&(id, _)| id) {
                fold.merge(reads.get(at)?.1.as_ref()?);
            }
        }
        Some(fold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypersigma_compiler::{parse_rule, CompileOptions};

    /// The field folds of a process-creation rule of this detection.
    fn folds_of(detection: &str) -> Option<FieldFolds> {
        let text = format!(
            "title: t\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{detection}"
        );
        field_folds(&parse_rule(&text, &CompileOptions::default()).unwrap())
    }

    #[test]
    fn tests_that_tell_long_runs_apart_are_decided_and_a_fieldref_stops_the_fold() {
        let folds = folds_of(
            "    s: {CommandLine|re: '-k\\s\\w+', Image|endswith: '.exe', User|fieldref: ParentUser}\n    condition: s\n",
        )
        .unwrap();
        // The `re` reads digits (`\w`): decided, nothing kept from folding.
        let command = folds["CommandLine"].as_ref().unwrap();
        assert!(command.fold.is_empty());
        assert_eq!(command.decided.len(), 1);
        assert!(matches!(*command.decided[0], Predicate::Regex(_)));
        // A test without digits keeps no run; it is listed among the tests.
        let image = folds["Image"].as_ref().unwrap();
        assert!(image.fold.is_empty() && image.decided.is_empty());
        assert_eq!(image.tests().map(<[_]>::len), Some(1));
        assert_eq!(command.tests().map(<[_]>::len), Some(1));
        // Both sides of a `fieldref` are never folded.
        assert!(folds["User"].is_none());
        assert!(folds["ParentUser"].is_none());
        // Merged over the rules reading a member, the decided tests add up.
        let mut merged = Some(command.clone());
        merge_value_folds(&mut merged, Some(command));
        assert_eq!(merged.as_ref().unwrap().decided.len(), 1);
        merge_value_folds(&mut merged, None);
        assert!(merged.is_none());
    }
}
