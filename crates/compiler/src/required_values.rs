//! The values a rule's detection requires of a field.
//!
//! Many rules select on numbers alone (`EventID: 4728`, `EventID: 4624` with
//! `LogonType: 9`, `DestinationPort: [25, 587]`): short numbers make no
//! stage-1 witness, so such a rule would be a candidate for every event of
//! its log source. [`rule_required_values`] finds, through the condition,
//! the values a field must equal for the rule to match, so that the runtime
//! can drop the rule for an event whose raw field holds none of them
//! ([`rule_event_ids`] for `EventID`, [`rule_value_requirements`] for every
//! other field).
//!
//! **Contract:** if the rule matches an event, the event's field holds a
//! scalar equal to one of the values: a string exactly its text, or a
//! number numerically equal to it.
//!
//! Derivation: a field match on the field (not `neq`, not a field a log
//! source converts) whose every alternative is a number, or a text equal to
//! digits, requires its values (with `all`, those of its first value); an
//! AND (a map, `and`, `all of`) requires what its first requiring member
//! requires; an OR (a list of maps, `or`, `1 of`) requires the union when
//! every member requires something; `not` requires nothing.

use crate::ir::{Condition, FieldMatch, Predicate, Quantity, Rule};
use crate::logsource::Scope;
use crate::pattern::Shape;

/// The event id field, as rules write it.
pub const EVENT_ID_FIELD: &str = "EventID";

/// One value a field may equal: its text, and its value as a number.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequiredValue {
    /// Equal to a string scalar of exactly this text.
    pub text: String,
    /// Equal to a number scalar of this value.
    pub value: f64,
}

/// The values one of which the rule's `EventID` field must equal, or `None`
/// when the detection does not require any.
pub fn rule_event_ids(rule: &Rule) -> Option<Vec<RequiredValue>> {
    rule_required_values(rule, EVENT_ID_FIELD)
}

/// The values one of which the rule's field `field` (as the rule writes
/// it) must equal, or `None` when the detection does not require any.
pub fn rule_required_values(rule: &Rule, field: &str) -> Option<Vec<RequiredValue>> {
    if converted(rule, field) {
        return None;
    }
    let selections: Vec<Option<Vec<RequiredValue>>> = rule
        .detection
        .selections
        .iter()
        .map(|s| {
            union(
                s.groups
                    .iter()
                    .map(|group| first(group.iter().map(|fm| field_match(fm, field)))),
            )
        })
        .collect();
    condition(&rule.detection.condition, &selections)
}

/// Every field but `EventID` whose values the rule's detection requires,
/// with those values, in the order the rule first names the fields.
pub fn rule_value_requirements(rule: &Rule) -> Vec<(String, Vec<RequiredValue>)> {
    let mut fields: Vec<&str> = Vec::new();
    let matches = rule
        .detection
        .selections
        .iter()
        .flat_map(|s| s.groups.iter().flatten());
    for fm in matches {
        let Some(field) = fm.field.as_deref() else {
            continue;
        };
        let numeric = fm.values.iter().flatten().any(|p| value(p).is_some());
        if field != EVENT_ID_FIELD && numeric && !fields.contains(&field) {
            fields.push(field);
        }
    }
    fields
        .into_iter()
        .filter_map(|f| Some((f.to_string(), rule_required_values(rule, f)?)))
        .collect()
}

/// Whether a source of the rule builds `field` by converting or joining
/// values (its text then differs from the raw one).
fn converted(rule: &Rule, field: &str) -> bool {
    match &rule.scope {
        Scope::Unmapped => false,
        Scope::Sources(sources) => sources.iter().any(|s| {
            s.fields.get(field).is_some_and(|f| {
                f.hex || !f.map.is_empty() || f.candidates.iter().any(|c| c.len() > 1)
            })
        }),
    }
}

fn condition(c: &Condition, sel: &[Option<Vec<RequiredValue>>]) -> Option<Vec<RequiredValue>> {
    let get = |i: &usize| sel.get(*i).cloned().flatten();
    match c {
        Condition::Selection(i) => get(i),
        Condition::Not(_) => None,
        Condition::And(items) => first(items.iter().map(|x| condition(x, sel))),
        Condition::Or(items) => union(items.iter().map(|x| condition(x, sel))),
        Condition::Quantified {
            quantity,
            selections,
        } => match quantity {
            Quantity::All => first(selections.iter().map(get)),
            Quantity::AtLeast(0) => None,
            Quantity::AtLeast(_) => union(selections.iter().map(get)),
        },
    }
}

fn field_match(fm: &FieldMatch, field: &str) -> Option<Vec<RequiredValue>> {
    if fm.field.as_deref() != Some(field) || fm.modifiers.neq {
        return None;
    }
    let mut values = fm.values.iter().map(|alternatives| {
        let mut out = Vec::new();
        for p in alternatives {
            out.push(value(p)?);
        }
        (!out.is_empty()).then_some(out)
    });
    if fm.modifiers.all {
        values.next().flatten()
    } else {
        union(values)
    }
}

/// The value a predicate requires the field to equal, when it is one.
fn value(p: &Predicate) -> Option<RequiredValue> {
    match p {
        Predicate::Number(n) => Some(RequiredValue {
            text: n.text.clone(),
            value: n.value,
        }),
        Predicate::Text { pattern, cased } => match pattern.shape(*cased) {
            Shape::Exact(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                let value = t.parse().ok()?;
                Some(RequiredValue { text: t, value })
            }
            _ => None,
        },
        _ => None,
    }
}

/// The first requirement of an AND.
fn first(items: impl Iterator<Item = Option<Vec<RequiredValue>>>) -> Option<Vec<RequiredValue>> {
    items.flatten().next()
}

/// The union of an OR's requirements, when every member has one.
fn union(items: impl Iterator<Item = Option<Vec<RequiredValue>>>) -> Option<Vec<RequiredValue>> {
    let mut out: Vec<RequiredValue> = Vec::new();
    let mut any = false;
    for item in items {
        any = true;
        for v in item? {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_rule, CompileOptions};

    fn ids(detection: &str) -> Option<Vec<String>> {
        let text = format!(
            "title: t\nlogsource: {{product: windows, service: security}}\ndetection:\n{detection}"
        );
        let rule = parse_rule(&text, &CompileOptions::default()).unwrap();
        rule_event_ids(&rule).map(|v| v.into_iter().map(|v| v.text).collect())
    }

    #[test]
    fn requirements_follow_the_condition() {
        let some = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            ids("    s: {EventID: 4728}\n    condition: s"),
            some(&["4728"])
        );
        assert_eq!(
            ids("    s: {EventID: [4728, '4729'], User: x}\n    condition: s"),
            some(&["4728", "4729"])
        );
        // An AND takes any requiring member; an OR needs all of them.
        assert_eq!(
            ids("    a: {EventID: 1}\n    b: {User: x}\n    condition: a and b"),
            some(&["1"])
        );
        assert_eq!(
            ids("    a: {EventID: 1}\n    b: {User: x}\n    condition: a or b"),
            None
        );
        assert_eq!(
            ids("    a: {EventID: 1}\n    b: {EventID: 2}\n    condition: a or b"),
            some(&["1", "2"])
        );
        assert_eq!(
            ids("    s:\n      - EventID: 1\n      - EventID: 2\n    condition: s"),
            some(&["1", "2"])
        );
        assert_eq!(
            ids("    s:\n      - EventID: 1\n      - User: x\n    condition: s"),
            None
        );
        assert_eq!(
            ids("    s1: {EventID: 1}\n    s2: {EventID: 2}\n    condition: 1 of s*"),
            some(&["1", "2"])
        );
        assert_eq!(
            ids("    s1: {EventID: 1}\n    s2: {User: x}\n    condition: all of s*"),
            some(&["1"])
        );
        // Negations, other operators and other fields require nothing.
        assert_eq!(ids("    s: {EventID: 1}\n    condition: not s"), None);
        assert_eq!(ids("    s: {EventID|neq: 1}\n    condition: s"), None);
        assert_eq!(ids("    s: {EventID|gt: 1}\n    condition: s"), None);
        assert_eq!(ids("    s: {EventID: '46*'}\n    condition: s"), None);
        assert_eq!(
            ids("    s: {EventID|contains: '46'}\n    condition: s"),
            None
        );
        assert_eq!(ids("    s: {EventId: 1}\n    condition: s"), None);
        assert_eq!(ids("    s: {EventID: [1, null]}\n    condition: s"), None);
    }

    fn requirements(detection: &str) -> Vec<(String, Vec<String>)> {
        let text = format!(
            "title: t\nlogsource: {{product: windows, service: security}}\ndetection:\n{detection}"
        );
        let rule = parse_rule(&text, &CompileOptions::default()).unwrap();
        rule_value_requirements(&rule)
            .into_iter()
            .map(|(f, v)| (f, v.into_iter().map(|v| v.text).collect()))
            .collect()
    }

    #[test]
    fn every_numeric_field_of_the_condition_gives_its_requirement() {
        let req = |f: &str, v: &[&str]| (f.to_string(), v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            requirements("    s: {EventID: 4624, LogonType: 9}\n    condition: s"),
            vec![req("LogonType", &["9"])]
        );
        assert_eq!(
            requirements(
                "    s: {Initiated: 'true', DestinationPort: [25, '587']}\n    f: {SourcePort: 53}\n    condition: s and not f"
            ),
            vec![req("DestinationPort", &["25", "587"])]
        );
        // Two fields of one AND each require their values.
        assert_eq!(
            requirements("    s: {LogonType: 3, KeyLength: 0}\n    condition: s"),
            vec![req("LogonType", &["3"]), req("KeyLength", &["0"])]
        );
        // An OR requires a field's values only when every branch does.
        assert_eq!(
            requirements("    a: {LogonType: 3}\n    b: {LogonType: 10}\n    condition: a or b"),
            vec![req("LogonType", &["3", "10"])]
        );
        assert_eq!(
            requirements("    a: {LogonType: 3}\n    b: {User: x}\n    condition: a or b"),
            vec![]
        );
        // Texts other than digits, negations and comparisons require nothing.
        assert_eq!(
            requirements("    s: {LogonType: '3*', Port|gt: 5, X|neq: 4}\n    condition: s"),
            vec![]
        );
        assert_eq!(
            requirements("    s: {LogonType: 3}\n    condition: not s"),
            vec![]
        );
        // `EventID` is left to `rule_event_ids`.
        assert_eq!(
            requirements("    s: {EventID: 4624}\n    condition: s"),
            vec![]
        );
    }
}
