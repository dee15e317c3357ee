//! Stage-1 clauses: every witness set a rule's match implies, not only the
//! cheapest.
//!
//! [`rule_witnesses`](crate::witness::rule_witnesses) picks one set per rule:
//! where a rule needs an image under `\Windows\` *and* a command line holding
//! `\..\Windows\` (or else `.exe\..\`), the scan takes one of the two and the
//! rule is a candidate for every Windows binary. Here the same derivation keeps the
//! conjunction: a rule's clauses are sets of witnesses, each of which holds
//! (some witness of it occurs, field-scoped, in the raw event) in every event
//! the rule matches; stage 1 drops a candidate whose clauses do not all hold.
//!
//! The derivation is the witness one in conjunctive normal form: a literal
//! predicate is one clause of one witness; a regular expression two (its
//! prefix and its suffix literals); `and`, `all of`, a map and `|all`
//! concatenate clauses; `or`, `1 of`, lists and value lists distribute
//! (`(a ∧ b) ∨ c` = `(a ∨ c) ∧ (b ∨ c)`); `not`, `neq`, numbers and other
//! predicates without witnesses give no clause (true). Dropping a clause only
//! weakens the conjunction, so the sizes are bounded by keeping the cheapest
//! clauses ([`MAX_CLAUSES`]).

use std::collections::{BTreeSet, HashSet};

use crate::ir::{Condition, FieldMatch, Predicate, Quantity, Rule};
use crate::witness::{
    predicate_witnesses, regex_witness_sets, set_cost, transformed_fields, Witness, Witnesses,
};

/// One clause: at least one of these witnesses occurs.
pub type Clause = BTreeSet<Witness>;

/// Most clauses kept per rule (and per sub-expression while deriving).
pub const MAX_CLAUSES: usize = 8;

/// Clauses likelier than this to hold by accident are not checked: their
/// literals (`user`, `process`, `\windows\`) occur several times in most
/// events, and each occurrence is a scan report, which costs more than the
/// candidates such a clause drops save (`2^-8`: one literal of 8 bytes).
pub const MAX_CHECKED_COST: f64 = 1.0 / 256.0;

/// A conjunction of clauses; empty = true (nothing known).
type Cnf = Vec<Clause>;

/// A clause's estimated chance of holding by accident: `Σ 2^-min(len, 16)`
/// over its literals, as for witness sets.
pub fn cost(clause: &Clause) -> f64 {
    set_cost(clause)
}

/// Removes repeated and subsumed clauses (a clause holding another adds
/// nothing), then keeps the [`MAX_CLAUSES`] cheapest.
fn normalise(mut cnf: Cnf) -> Cnf {
    cnf.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    cnf.dedup();
    let mut kept: Cnf = Vec::new();
    for clause in cnf {
        if !kept.iter().any(|k| k.is_subset(&clause)) {
            kept.push(clause);
        }
    }
    if kept.len() > MAX_CLAUSES {
        kept.sort_by(|a, b| cost(a).total_cmp(&cost(b)));
        kept.truncate(MAX_CLAUSES);
    }
    kept
}

fn and(parts: impl IntoIterator<Item = Cnf>) -> Cnf {
    normalise(parts.into_iter().flatten().collect())
}

fn cheapest(cnf: Cnf) -> Cnf {
    cnf.into_iter()
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
        .into_iter()
        .collect()
}

fn or(parts: impl IntoIterator<Item = Cnf>) -> Cnf {
    let mut acc: Option<Cnf> = None;
    for part in parts {
        if part.is_empty() {
            return Vec::new();
        }
        acc = Some(match acc {
            None => part,
            Some(mut left) => {
                let mut right = part;
                if left.len() * right.len() > MAX_CLAUSES {
                    left = cheapest(left);
                    right = cheapest(right);
                }
                let mut product = Vec::with_capacity(left.len() * right.len());
                for l in &left {
                    for r in &right {
                        product.push(l.union(r).cloned().collect());
                    }
                }
                normalise(product)
            }
        });
    }
    acc.unwrap_or_default()
}

fn leaf(w: Witnesses) -> Cnf {
    match w {
        Witnesses::Always => Vec::new(),
        Witnesses::AnyOf(set) => vec![set],
    }
}

fn predicate_clauses(p: &Predicate, field: Option<&str>) -> Cnf {
    match p {
        Predicate::Regex(r) => and(regex_witness_sets(r, field).map(leaf)),
        other => leaf(predicate_witnesses(other, field)),
    }
}

fn field_clauses(fm: &FieldMatch, transformed: &[String]) -> Cnf {
    if fm.modifiers.neq || fm.field.as_ref().is_some_and(|f| transformed.contains(f)) {
        return Vec::new();
    }
    let field = fm.field.as_deref();
    let values = fm
        .values
        .iter()
        .map(|alternatives| or(alternatives.iter().map(|p| predicate_clauses(p, field))));
    if fm.modifiers.all {
        and(values)
    } else {
        or(values)
    }
}

/// The clauses of a rule (empty: the rule may match any event of its
/// log source).
pub fn rule_clauses(rule: &Rule) -> Vec<Clause> {
    let transformed = transformed_fields(rule);
    let selections: Vec<Cnf> = rule
        .detection
        .selections
        .iter()
        .map(|s| {
            or(s.groups
                .iter()
                .map(|group| and(group.iter().map(|fm| field_clauses(fm, &transformed)))))
        })
        .collect();
    condition_clauses(&rule.detection.condition, &selections)
}

/// The clauses stage 1 checks for a rule whose scan witnesses are
/// `witnesses` (`None`: it has none): its clauses less those the witnesses
/// already imply and those likelier than [`MAX_CHECKED_COST`] to hold,
/// unless the scan looks for each of their literals anyway (`in_scan`: a
/// witness of a rule of the same log source): `.exe` in a file's name, when
/// `.exe` in the image makes candidates, costs no scan report more.
pub fn checked_clauses(
    rule: &Rule,
    witnesses: Option<&Clause>,
    in_scan: impl Fn(&Witness) -> bool,
) -> Vec<Clause> {
    rule_clauses(rule)
        .into_iter()
        .filter(|c| {
            !witnesses.is_some_and(|w| w.is_subset(c))
                && (cost(c) <= MAX_CHECKED_COST || c.iter().all(&in_scan))
        })
        .collect()
}

/// The literals the scan looks for as witnesses, per log source of the
/// rules they make candidates (a scope id, as the caller numbers the
/// rules' distinct scopes): a clause of only such literals costs no scan
/// report more, however often they occur ([`checked_clauses`]).
#[derive(Debug, Default)]
pub struct ScannedLiterals {
    /// (scope, literal as scanned: lower case unless cased, cased).
    set: HashSet<(usize, String, bool)>,
}

impl ScannedLiterals {
    /// The literals of rules' witnesses, each rule given as (its scope id,
    /// its witnesses).
    pub fn new<'a>(rules: impl IntoIterator<Item = (usize, &'a Witnesses)>) -> ScannedLiterals {
        let mut set = HashSet::new();
        for (scope, witnesses) in rules {
            if let Witnesses::AnyOf(ws) = witnesses {
                set.extend(ws.iter().map(|w| (scope, w.pattern_literal(), w.cased)));
            }
        }
        ScannedLiterals { set }
    }

    /// Whether the scan of events of scope `scope` looks for `w`'s literal.
    pub fn holds(&self, scope: usize, w: &Witness) -> bool {
        self.set.contains(&(scope, w.pattern_literal(), w.cased))
    }
}

fn condition_clauses(c: &Condition, sel: &[Cnf]) -> Cnf {
    let get = |i: &usize| sel.get(*i).cloned().unwrap_or_default();
    match c {
        Condition::Selection(i) => get(i),
        Condition::Not(_) => Vec::new(),
        Condition::And(items) => and(items.iter().map(|x| condition_clauses(x, sel))),
        Condition::Or(items) => or(items.iter().map(|x| condition_clauses(x, sel))),
        Condition::Quantified {
            quantity,
            selections,
        } => match quantity {
            Quantity::All => and(selections.iter().map(get)),
            Quantity::AtLeast(_) => or(selections.iter().map(get)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_rule, CompileOptions};

    fn clauses(detection: &str) -> Vec<Vec<(String, String)>> {
        let text = format!("title: t\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{detection}");
        let rule = parse_rule(&text, &CompileOptions::default()).unwrap();
        let mut out: Vec<Vec<(String, String)>> = rule_clauses(&rule)
            .into_iter()
            .map(|c| {
                c.into_iter()
                    .map(|w| (w.field.unwrap_or_default(), w.json))
                    .collect()
            })
            .collect();
        out.sort();
        out
    }

    fn cnf(items: &[&[(&str, &str)]]) -> Vec<Vec<(String, String)>> {
        let mut out: Vec<Vec<(String, String)>> = items
            .iter()
            .map(|c| {
                let mut c: Vec<(String, String)> = c
                    .iter()
                    .map(|(f, s)| (f.to_string(), s.to_string()))
                    .collect();
                c.sort();
                c
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn conjunctions_keep_every_member() {
        // A map: both fields, not only the longer literal.
        assert_eq!(
            clauses("    s:\n        Image|endswith: ['\\csi.exe', '\\rcsi.exe']\n        Company: 'Microsoft Corporation'\n    condition: s"),
            cnf(&[
                &[("Company", "Microsoft Corporation")],
                &[("Image", "\\\\csi.exe"), ("Image", "\\\\rcsi.exe")]
            ])
        );
        // `all of` and `and`.
        assert_eq!(
            clauses(
                "    a: {A|contains: 'alpha'}\n    b: {B|contains: 'beta'}\n    condition: a and b"
            ),
            cnf(&[&[("A", "alpha")], &[("B", "beta")]])
        );
        // `|all`: every value.
        assert_eq!(
            clauses("    s: {A|contains|all: ['alpha', 'beta']}\n    condition: s"),
            cnf(&[&[("A", "alpha")], &[("A", "beta")]])
        );
    }

    #[test]
    fn disjunctions_distribute() {
        // (a ∧ b) ∨ c = (a ∨ c) ∧ (b ∨ c)
        assert_eq!(
            clauses("    s1:\n        A|contains: 'alpha'\n        B|contains: 'beta'\n    s2: {C|contains: 'gamma'}\n    condition: 1 of s*"),
            cnf(&[
                &[("A", "alpha"), ("C", "gamma")],
                &[("B", "beta"), ("C", "gamma")]
            ])
        );
        // A list of maps is an `or` too; one side without witnesses makes it true.
        assert_eq!(
            clauses("    s:\n        - A|contains: 'alpha'\n          B|contains: 'beta'\n        - C: 5\n    condition: s"),
            cnf(&[])
        );
        // A clause holding another adds nothing.
        assert_eq!(
            clauses("    a: {A|contains: 'alpha'}\n    b: {B|contains: 'beta'}\n    condition: a and (a or b)"),
            cnf(&[&[("A", "alpha")]])
        );
    }

    #[test]
    fn negations_and_unusable_predicates_give_nothing() {
        assert_eq!(
            clauses("    a: {A|contains: 'alpha'}\n    b: {B|contains: 'beta'}\n    condition: a and not b"),
            cnf(&[&[("A", "alpha")]])
        );
        assert_eq!(
            clauses("    s: {A|contains: 'alpha', B|neq: 'beta', C: 7}\n    condition: s"),
            cnf(&[&[("A", "alpha")]])
        );
    }

    #[test]
    fn regular_expressions_give_prefix_and_suffix() {
        assert_eq!(
            clauses(
                "    s: {CommandLine|re: 'cmd\\.exe.{0,5}(?:/c|/r).+powershell'}\n    condition: s"
            ),
            cnf(&[
                &[("CommandLine", "cmd.exe")],
                &[("CommandLine", "powershell")]
            ])
        );
    }

    #[test]
    fn sizes_stay_bounded() {
        let selections: String = (0..12)
            .map(|i| {
                format!(
                    "    s{i}:\n        A|contains: 'left{i}'\n        B|contains: 'right{i}'\n"
                )
            })
            .collect();
        let out = clauses(&format!("{selections}    condition: 1 of s*"));
        assert!(!out.is_empty() && out.len() <= MAX_CLAUSES, "{out:?}");
        // Every clause holds in an event matching any one selection.
        for clause in &out {
            for i in 0..12 {
                assert!(
                    clause
                        .iter()
                        .any(|(_, s)| s == &format!("left{i}") || s == &format!("right{i}")),
                    "{clause:?} misses s{i}"
                );
            }
        }
    }

    #[test]
    fn common_clauses_are_checked_only_when_the_scan_looks_for_their_literals() {
        let text = "title: t\nlogsource: {product: windows, category: file_event}\ndetection:\n    s:\n        Image|endswith: '.exe'\n        TargetFilename|endswith: '.exe'\n    condition: s";
        let rule = parse_rule(text, &CompileOptions::default()).unwrap();
        let Witnesses::AnyOf(witnesses) = crate::witness::rule_witnesses(&rule, Default::default())
        else {
            panic!("the rule has witnesses");
        };
        let fields = |clauses: Vec<Clause>| -> Vec<Vec<Option<String>>> {
            clauses
                .into_iter()
                .map(|c| c.into_iter().map(|w| w.field).collect())
                .collect()
        };
        // `.exe` is ubiquitous: a clause of it alone is not worth a scan report.
        assert!(checked_clauses(&rule, Some(&witnesses), |_| false).is_empty());
        // The scan looks for `.exe` anyway (the image's witness): checked.
        let scanned = ScannedLiterals::new([(3, &Witnesses::AnyOf(witnesses.clone()))]);
        let in_scan = |w: &Witness| scanned.holds(3, w);
        let checked = fields(checked_clauses(&rule, Some(&witnesses), in_scan));
        assert_eq!(checked.len(), 1);
        assert_ne!(
            checked[0],
            witnesses
                .iter()
                .map(|w| w.field.clone())
                .collect::<Vec<_>>()
        );
        // Another log source's scan does not count.
        assert!(checked_clauses(&rule, Some(&witnesses), |w| scanned.holds(4, w)).is_empty());
    }
}
