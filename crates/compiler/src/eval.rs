//! The reference evaluator: the executable definition of hypersigma's semantics.
//!
//! Deliberately simple and obviously correct; the fast engine is tested against
//! it on every (event, rule) pair. The event's fields are already named as
//! Sigma names them: a field is a top-level member of the event object, or, when
//! no member has that exact name, a dotted path through nested objects (arrays
//! on the way are searched element by element).
//!
//! Semantics, in short (see `DESIGN.md` section 2 and the tests under `tests/`):
//! - text matching is case-insensitive with Unicode simple case folding unless
//!   `cased`; numbers and booleans in the event are matched by their JSON text;
//! - a field holding an array matches when one of its elements matches;
//! - `null` matches an absent field or JSON null; `exists: true` a present, non-null one;
//! - `neq` holds when the field is present and its value does not match;
//! - keywords (selections without a field) search every scalar of the event.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde_json::Value;

use crate::ir::{Condition, FieldMatch, Number, Predicate, Quantity, Rule};
use crate::modifiers::{Position, TimePart};
use crate::pattern::fold_str;

/// The outcome of evaluating a rule on an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Whether the rule's condition holds.
    pub matched: bool,
    /// The names of the selections that hold (whether or not the condition does).
    pub selections: Vec<String>,
}

/// Whether `rule` matches `event`.
pub fn evaluate(rule: &Rule, event: &Value) -> bool {
    evaluate_detailed(rule, event).matched
}

/// Evaluates every selection of `rule` on `event`, then the condition.
pub fn evaluate_detailed(rule: &Rule, event: &Value) -> Evaluation {
    let results: Vec<bool> = rule
        .detection
        .selections
        .iter()
        .map(|s| {
            s.groups
                .iter()
                .any(|group| group.iter().all(|fm| field_match_holds(fm, event)))
        })
        .collect();
    Evaluation {
        matched: condition_holds(&rule.detection.condition, &results),
        selections: rule
            .detection
            .selections
            .iter()
            .zip(&results)
            .filter(|(_, r)| **r)
            .map(|(s, _)| s.name.clone())
            .collect(),
    }
}

fn condition_holds(c: &Condition, sel: &[bool]) -> bool {
    match c {
        Condition::Selection(i) => sel.get(*i).copied().unwrap_or(false),
        Condition::Not(inner) => !condition_holds(inner, sel),
        Condition::And(items) => items.iter().all(|i| condition_holds(i, sel)),
        Condition::Or(items) => items.iter().any(|i| condition_holds(i, sel)),
        Condition::Quantified {
            quantity,
            selections,
        } => {
            let hits = selections
                .iter()
                .filter(|&&i| sel.get(i).copied().unwrap_or(false))
                .count();
            match quantity {
                Quantity::All => hits == selections.len(),
                Quantity::AtLeast(n) => hits >= *n,
            }
        }
    }
}

/// The values found for a field name (see the module documentation).
pub fn lookup<'a>(event: &'a Value, field: &str) -> Vec<&'a Value> {
    if let Some(v) = event.get(field) {
        return vec![v];
    }
    let mut current = vec![event];
    for part in field.split('.') {
        let mut next = Vec::new();
        for v in current {
            collect_member(v, part, &mut next);
        }
        if next.is_empty() {
            return next;
        }
        current = next;
    }
    if field.contains('.') {
        current
    } else {
        Vec::new()
    }
}

fn collect_member<'a>(v: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => out.extend(map.get(name)),
        Value::Array(items) => items.iter().for_each(|i| collect_member(i, name, out)),
        _ => {}
    }
}

/// Scalars of the found values: arrays are opened (recursively), objects skipped.
fn scalars<'a>(values: &[&'a Value], out: &mut Vec<&'a Value>) {
    for v in values {
        match v {
            Value::Array(items) => scalars(&items.iter().collect::<Vec<_>>(), out),
            Value::Object(_) | Value::Null => {}
            scalar => out.push(scalar),
        }
    }
}

/// Every scalar anywhere in the event (for keyword searches).
fn all_scalars<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| all_scalars(i, out)),
        Value::Object(map) => map.values().for_each(|i| all_scalars(i, out)),
        Value::Null => {}
        scalar => out.push(scalar),
    }
}

fn field_match_holds(fm: &FieldMatch, event: &Value) -> bool {
    let found = match &fm.field {
        Some(f) => lookup(event, f),
        None => vec![event],
    };
    let present = found.iter().any(|v| !v.is_null());
    let mut values = Vec::new();
    match fm.field {
        Some(_) => scalars(&found, &mut values),
        None => all_scalars(event, &mut values),
    }
    let value_holds = |alternatives: &Vec<Predicate>| {
        let hit = alternatives
            .iter()
            .any(|p| predicate_holds(p, present, &values, event));
        if fm.modifiers.neq {
            present && !hit
        } else {
            hit
        }
    };
    if fm.modifiers.all {
        fm.values.iter().all(value_holds)
    } else {
        fm.values.iter().any(value_holds)
    }
}

fn predicate_holds(p: &Predicate, present: bool, values: &[&Value], event: &Value) -> bool {
    match p {
        Predicate::Null => !present,
        Predicate::Exists(b) => present == *b,
        Predicate::FieldRef {
            field,
            position,
            cased,
        } => {
            let mut others = Vec::new();
            scalars(&lookup(event, field), &mut others);
            values.iter().any(|v| {
                others
                    .iter()
                    .any(|o| fieldref_holds(v, o, *position, *cased))
            })
        }
        _ => values.iter().any(|v| scalar_holds(p, v)),
    }
}

/// The text of a scalar as matched by string predicates.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn scalar_number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Number::parse(&n.to_string()),
        Value::String(s) => Number::parse(s),
        _ => None,
    }
}

fn scalar_holds(p: &Predicate, v: &Value) -> bool {
    match p {
        Predicate::Text { pattern, cased } => {
            scalar_text(v).is_some_and(|t| pattern.matches(&t, *cased))
        }
        Predicate::Number(n) => match v {
            Value::Number(_) => scalar_number(v).is_some_and(|x| x.equals(n)),
            Value::String(s) => *s == n.text,
            _ => false,
        },
        Predicate::Bool(b) => match v {
            Value::Bool(x) => x == b,
            Value::String(s) => s.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            _ => false,
        },
        Predicate::Regex(r) => {
            scalar_text(v).is_some_and(|t| r.regex.is_match(&t).unwrap_or(false))
        }
        Predicate::Compare { op, number } => {
            scalar_number(v).is_some_and(|x| op.holds(x.value, number.value))
        }
        Predicate::TimePart { part, op, number } => {
            timestamp(v).is_some_and(|t| op.holds(time_part(&t, *part) as f64, *number as f64))
        }
        Predicate::Cidr(net) => scalar_text(v)
            .and_then(|t| parse_ip(&t))
            .is_some_and(|ip| net.contains(&ip)),
        Predicate::Null | Predicate::Exists(_) | Predicate::FieldRef { .. } => false,
    }
}

fn fieldref_holds(v: &Value, other: &Value, position: Position, cased: bool) -> bool {
    let (Some(a), Some(b)) = (scalar_text(v), scalar_text(other)) else {
        return false;
    };
    let (a, b) = if cased {
        (a, b)
    } else {
        (fold_str(&a), fold_str(&b))
    };
    match position {
        Position::Whole => a == b,
        Position::Contains => a.contains(&b),
        Position::Start => a.starts_with(&b),
        Position::End => a.ends_with(&b),
    }
}

fn parse_ip(text: &str) -> Option<std::net::IpAddr> {
    let t = text.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = t.parse().ok()?;
    Some(match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    })
}

/// Parses a timestamp: RFC 3339, `YYYY-MM-DD[ T]HH:MM:SS[.f]` (UTC), or epoch
/// seconds (milliseconds when the number is that large).
pub fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => {
            let x = n.as_f64()?;
            let secs = if x.abs() >= 1e11 { x / 1000.0 } else { x };
            DateTime::from_timestamp(secs.floor() as i64, 0)
        }
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            let naive = s.trim_end_matches('Z');
            ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
                .map(|n| n.and_utc())
        }
        _ => None,
    }
}

fn time_part(t: &DateTime<Utc>, part: TimePart) -> i64 {
    i64::from(match part {
        TimePart::Minute => t.minute(),
        TimePart::Hour => t.hour(),
        TimePart::Day => t.day(),
        TimePart::Week => t.iso_week().week(),
        TimePart::Month => t.month(),
        TimePart::Year => return i64::from(t.year()),
    })
}
