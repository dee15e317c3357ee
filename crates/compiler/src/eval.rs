//! The reference evaluator: the executable definition of hypersigma's semantics.
//!
//! Deliberately simple and obviously correct; the fast engine is tested against
//! it on every (event, rule) pair. An event is read through a [`Profile`] (where
//! each field lives in this JSON shape) and the rule's log-source [`Scope`]: the
//! event must be of one of the rule's sources, whose field renames apply first
//! (Security 4688 keeps `Image` as `NewProcessName`). Rules with an unmapped log
//! source match nothing unless [`EvalOptions::unscoped`] is set.
//!
//! Semantics, in short (see `DESIGN.md` section 2 and the tests under `tests/`):
//! - text matching is case-insensitive with Unicode simple case folding unless
//!   `cased`; numbers and booleans in the event are matched by their JSON text;
//! - a field holding an array matches when one of its elements matches;
//! - `null` matches an absent field or JSON null; `exists: true` a present, non-null one;
//! - `neq` holds when the field is present and its value does not match;
//! - keywords (selections without a field) search every scalar of the event.

use std::borrow::Cow;
use std::cell::OnceCell;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde_json::Value;

use crate::ir::{Condition, FieldMatch, Number, Predicate, Quantity, Rule};
use crate::logsource::{Scope, Source};
use crate::modifiers::{Position, TimePart};
use crate::pattern::fold_str;
use crate::profile::Profile;

/// The outcome of evaluating a rule on an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Whether the rule's condition holds (and the event is in the rule's scope).
    pub matched: bool,
    /// The names of the selections that hold (whether or not the condition does).
    pub selections: Vec<String>,
    /// The log source the event was taken as (its label), when the rule is scoped.
    pub source: Option<String>,
}

impl Evaluation {
    /// The evaluation of an event outside the rule's scope: no match, no
    /// selection, no source.
    pub fn out_of_scope() -> Evaluation {
        Evaluation {
            matched: false,
            selections: Vec::new(),
            source: None,
        }
    }

    /// The evaluation of `rule` on an event taken as `source`, from whether
    /// each of its selections holds (`holds`, in the rule's order) and the
    /// verdict of its condition on them.
    pub fn of(rule: &Rule, holds: &[bool], matched: bool, source: Option<&Source>) -> Evaluation {
        Evaluation {
            matched,
            selections: rule
                .detection
                .selections
                .iter()
                .zip(holds)
                .filter(|(_, &h)| h)
                .map(|(s, _)| s.name.clone())
                .collect(),
            source: source.map(|s| s.label.clone()),
        }
    }
}

/// How to evaluate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvalOptions {
    /// Evaluate rules whose log source is unmapped against every event
    /// (by default they match nothing).
    pub unscoped: bool,
}

/// Whether `rule` matches `event`, read through `profile`, within the rule's log source.
///
/// Same verdict as [`evaluate_detailed`]; selections are evaluated only as the
/// condition needs them.
pub fn evaluate(rule: &Rule, event: &Value, profile: &Profile) -> bool {
    let Some(source) = scope_source(rule, event, profile, EvalOptions::default()) else {
        return false;
    };
    let view = EventView {
        event,
        profile,
        source,
    };
    let mut memo: Vec<Option<bool>> = vec![None; rule.detection.selections.len()];
    let mut selection = |i: usize| {
        if let Some(known) = memo.get(i).copied().flatten() {
            return known;
        }
        let result = rule
            .detection
            .selections
            .get(i)
            .is_some_and(|s| selection_holds(s, &view));
        if let Some(slot) = memo.get_mut(i) {
            *slot = Some(result);
        }
        result
    };
    condition_holds_with(&rule.detection.condition, &mut selection)
}

/// [`evaluate`] through the rule's compiled condition [`Program`]: the same
/// scope check and selection semantics, the condition run as verified bytecode.
///
/// [`Program`]: crate::program::Program
pub fn evaluate_program(
    rule: &Rule,
    program: &crate::program::Program,
    event: &Value,
    profile: &Profile,
    options: EvalOptions,
) -> bool {
    match scope_source(rule, event, profile, options) {
        Some(source) => evaluate_program_as(rule, program, event, profile, source),
        None => false,
    }
}

/// The source an event is taken as for a scope: `Some(None)` when unscoped
/// evaluation applies, `Some(Some(s))` for the first matching source, `None`
/// when the event is outside the scope. (Rules sharing a scope share this.)
pub fn source_for<'a>(
    scope: &'a Scope,
    event: &Value,
    profile: &Profile,
    options: EvalOptions,
) -> Option<Option<&'a Source>> {
    match scope {
        Scope::Unmapped if options.unscoped => Some(None),
        Scope::Unmapped => None,
        Scope::Sources(sources) => sources.iter().find(|s| s.matches(profile, event)).map(Some),
    }
}

/// [`evaluate_program`] for an event already known to be of `source` (see [`source_for`]).
pub fn evaluate_program_as(
    rule: &Rule,
    program: &crate::program::Program,
    event: &Value,
    profile: &Profile,
    source: Option<&Source>,
) -> bool {
    let view = EventView {
        event,
        profile,
        source,
    };
    program.run(&mut |i| {
        rule.detection
            .selections
            .get(i)
            .is_some_and(|s| selection_holds(s, &view))
    })
}

/// Whether an event is in a rule's scope (`unscoped` widens unmapped rules).
pub fn in_scope(rule: &Rule, event: &Value, profile: &Profile, options: EvalOptions) -> bool {
    scope_source(rule, event, profile, options).is_some()
}

/// The source the event is taken as: `Some(None)` for an unscoped rule,
/// `None` when the event is outside the rule's scope.
fn scope_source<'a>(
    rule: &'a Rule,
    event: &Value,
    profile: &Profile,
    options: EvalOptions,
) -> Option<Option<&'a Source>> {
    source_for(&rule.scope, event, profile, options)
}

/// Finds the rule's log source for the event (or none, for an out-of-scope
/// event), evaluates every selection, then the condition.
pub fn evaluate_detailed(
    rule: &Rule,
    event: &Value,
    profile: &Profile,
    options: EvalOptions,
) -> Evaluation {
    let Some(source) = scope_source(rule, event, profile, options) else {
        return Evaluation::out_of_scope();
    };
    let view = EventView {
        event,
        profile,
        source,
    };
    let results: Vec<bool> = rule
        .detection
        .selections
        .iter()
        .map(|s| selection_holds(s, &view))
        .collect();
    let matched = condition_holds(&rule.detection.condition, &results);
    Evaluation::of(rule, &results, matched, source)
}

/// A selection: one of its groups has every field match holding.
fn selection_holds(selection: &crate::ir::Selection, view: &EventView<'_>) -> bool {
    selection
        .groups
        .iter()
        .any(|group| group.iter().all(|fm| field_match_holds(fm, view)))
}

/// An event as a rule sees it: fields through the log source's renames, then the profile.
pub struct EventView<'a> {
    event: &'a Value,
    profile: &'a Profile,
    source: Option<&'a Source>,
}

impl<'a> EventView<'a> {
    /// The event read through `profile`, as an event of `source` (`None`: no renames).
    pub fn new(event: &'a Value, profile: &'a Profile, source: Option<&'a Source>) -> Self {
        EventView {
            event,
            profile,
            source,
        }
    }

    /// The event itself.
    pub fn event(&self) -> &'a Value {
        self.event
    }

    /// The values a field names (before opening arrays; may include null).
    pub fn field(&self, name: &str) -> Vec<Cow<'a, Value>> {
        let mut found = Vec::new();
        self.field_each(name, |v| found.push(v));
        found
    }

    /// [`EventView::field`], handing each value to `each` in order (no
    /// list built).
    pub fn field_each(&self, name: &str, mut each: impl FnMut(Cow<'a, Value>)) {
        if let Some(renamed) = self.source.and_then(|s| s.fields.get(name)) {
            if let Some(value) = renamed.resolve_one(self.profile, self.event) {
                return each(value);
            }
        }
        self.profile
            .lookup_each(self.event, name, |v| each(Cow::Borrowed(v)));
    }
}

fn condition_holds(c: &Condition, sel: &[bool]) -> bool {
    condition_holds_with(c, &mut |i| sel.get(i).copied().unwrap_or(false))
}

fn condition_holds_with(c: &Condition, sel: &mut dyn FnMut(usize) -> bool) -> bool {
    match c {
        Condition::Selection(i) => sel(*i),
        Condition::Not(inner) => !condition_holds_with(inner, sel),
        Condition::And(items) => items.iter().all(|i| condition_holds_with(i, sel)),
        Condition::Or(items) => items.iter().any(|i| condition_holds_with(i, sel)),
        Condition::Quantified {
            quantity,
            selections,
        } => {
            let hits = selections.iter().filter(|&&i| sel(i)).count();
            match quantity {
                Quantity::All => hits == selections.len(),
                Quantity::AtLeast(n) => hits >= *n,
            }
        }
    }
}

/// Scalars of the found values: arrays are opened (recursively), objects skipped.
pub fn scalars<'a>(values: &[&'a Value], out: &mut Vec<&'a Value>) {
    for v in values {
        each_scalar(v, &mut |s| out.push(s));
    }
}

/// [`scalars`] of one value, handing each to `each` in order (no list built).
pub fn each_scalar<'a>(v: &'a Value, each: &mut dyn FnMut(&'a Value)) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| each_scalar(i, each)),
        Value::Object(_) | Value::Null => {}
        scalar => each(scalar),
    }
}

/// Every scalar anywhere in the event (for keyword searches).
pub fn all_scalars<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| all_scalars(i, out)),
        Value::Object(map) => map.values().for_each(|i| all_scalars(i, out)),
        Value::Null => {}
        scalar => out.push(scalar),
    }
}

fn field_match_holds(fm: &FieldMatch, view: &EventView<'_>) -> bool {
    let found = match &fm.field {
        Some(f) => view.field(f),
        None => vec![Cow::Borrowed(view.event)],
    };
    let found_refs: Vec<&Value> = found.iter().map(|c| c.as_ref()).collect();
    let present = found_refs.iter().any(|v| !v.is_null());
    let mut scalar_values = Vec::new();
    match fm.field {
        Some(_) => scalars(&found_refs, &mut scalar_values),
        None => all_scalars(view.event, &mut scalar_values),
    }
    let values = Scalars::new(&scalar_values);
    let value_holds = |alternatives: &Vec<Predicate>| {
        let hit = alternatives.iter().any(|p| values.holds(p, present, view));
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

/// A scalar of the event with its text split into characters on first use
/// (exact and folded), so that many patterns can test it without redoing that.
struct Scalar<'a> {
    value: &'a Value,
    exact: OnceCell<Option<Vec<char>>>,
    folded: OnceCell<Option<Vec<char>>>,
}

impl<'a> Scalar<'a> {
    fn new(value: &'a Value) -> Self {
        Scalar {
            value,
            exact: OnceCell::new(),
            folded: OnceCell::new(),
        }
    }

    fn chars(&self, cased: bool) -> Option<&[char]> {
        let cell = if cased { &self.exact } else { &self.folded };
        cell.get_or_init(|| {
            scalar_text(self.value).map(|t| {
                if cased {
                    t.chars().collect()
                } else {
                    t.chars().map(crate::pattern::fold_char).collect()
                }
            })
        })
        .as_deref()
    }
}

/// Whether one predicate holds for a field's scalars (`present`: the field
/// has a non-null value): the reference semantics of every predicate kind,
/// for engines that decide only some kinds their own way.
pub fn predicate_holds_on(
    p: &Predicate,
    present: bool,
    scalars: &[&Value],
    view: &EventView<'_>,
) -> bool {
    Scalars::new(scalars).holds(p, present, view)
}

/// The characters of one text as patterns read them (case-folded, or as
/// they are), each split on first need: scratch for testing many
/// predicates on one value without allocating.
#[derive(Debug, Default)]
pub struct TextChars {
    /// Folded, then cased.
    chars: [Vec<char>; 2],
    /// Whether each is split from the current text.
    split: [bool; 2],
    /// The address the current text reads as, once parsed.
    ip: Option<Option<std::net::IpAddr>>,
}

impl TextChars {
    /// A new text: the characters split from the last one are stale.
    pub fn forget(&mut self) {
        self.split = [false; 2];
        self.ip = None;
    }

    /// The address `text` (the current one) reads as, parsed once.
    fn ip(&mut self, text: &str) -> Option<std::net::IpAddr> {
        *self.ip.get_or_insert_with(|| parse_ip(text))
    }

    /// The characters of `text` (the current one) as [`Scalar::chars`]
    /// splits them.
    fn of(&mut self, text: &str, cased: bool) -> &[char] {
        let k = usize::from(cased);
        if !self.split[k] {
            let chars = &mut self.chars[k];
            chars.clear();
            if text.is_ascii() {
                // A byte a character: the iterator's length is known, so
                // the vector is reserved once, not tested per push. The
                // lowercase is `fold_char`'s ASCII case, written out: a call
                // per byte cost ~50 instructions an event more (v61).
                match cased {
                    true => chars.extend(text.bytes().map(char::from)),
                    false => chars.extend(text.bytes().map(|b| char::from(b.to_ascii_lowercase()))),
                }
            } else if cased {
                chars.extend(text.chars());
            } else {
                chars.extend(text.chars().map(crate::pattern::fold_char));
            }
            self.split[k] = true;
        }
        &self.chars[k]
    }
}

/// Whether `p` holds for a field whose one value is the string `text`:
/// [`predicate_holds_on`]'s answer for a present field of that string, for
/// the predicates that read nothing but the value (`None` for `fieldref`,
/// which reads another field, and for `exists` and `null`, which read
/// whether the field is there). `chars` holds `text`'s characters (and address)
/// once split ([`TextChars::forget`] them for another text); only a time part
/// builds the string value, as the reference does.
pub fn predicate_holds_on_text(p: &Predicate, text: &str, chars: &mut TextChars) -> Option<bool> {
    Some(match p {
        Predicate::FieldRef { .. } | Predicate::Exists(_) | Predicate::Null => return None,
        // The same verdict, on an ASCII text without backtracking.
        Predicate::Regex(re) => re.is_match(text),
        Predicate::Text { pattern, cased } => pattern.matches_chars(chars.of(text, *cased), *cased),
        // `scalar_holds` on a string value, without building it.
        Predicate::Number(n) => text == n.text,
        Predicate::Bool(b) => text.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Predicate::Compare { op, number } => {
            Number::parse(text).is_some_and(|x| op.holds(x.value, number.value))
        }
        Predicate::Cidr(net) => chars.ip(text).is_some_and(|ip| net.contains(&ip)),
        Predicate::TimePart { .. } => scalar_holds(p, &Scalar::new(&Value::String(text.into()))),
    })
}

/// A field's scalars prepared once for many predicates (each one's text
/// split into characters on first use), as [`predicate_holds_on`] takes them.
pub struct Scalars<'a>(Vec<Scalar<'a>>);

impl<'a> Scalars<'a> {
    /// The scalars of a field.
    pub fn new(scalars: &[&'a Value]) -> Self {
        Scalars(scalars.iter().map(|v| Scalar::new(v)).collect())
    }

    /// The [`scalars`] of `values` (arrays opened; objects and nulls
    /// skipped), without a list of them built first.
    pub fn of_values(values: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut out = Vec::new();
        for v in values {
            each_scalar(v, &mut |s| out.push(Scalar::new(s)));
        }
        Scalars(out)
    }

    /// Whether `p` holds for the field ([`predicate_holds_on`]).
    pub fn holds(&self, p: &Predicate, present: bool, view: &EventView<'_>) -> bool {
        predicate_holds(p, present, &self.0, view)
    }
}

fn predicate_holds(
    p: &Predicate,
    present: bool,
    values: &[Scalar<'_>],
    view: &EventView<'_>,
) -> bool {
    match p {
        Predicate::Null => !present,
        Predicate::Exists(b) => present == *b,
        Predicate::FieldRef {
            field,
            position,
            cased,
        } => {
            // The other field's scalars one by one (no lists built).
            let mut holds = false;
            view.field_each(field, |found| {
                each_scalar(found.as_ref(), &mut |o| {
                    holds = holds
                        || values
                            .iter()
                            .any(|v| fieldref_holds(v.value, o, *position, *cased));
                });
            });
            holds
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

/// A scalar's number as [`Number::parse`] reads its text; for an integer
/// token the same value and integer without writing and parsing the text
/// (whose `text` is then left empty: callers compare values only).
fn scalar_number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => match integer_of(n) {
            Some(i) => Some(Number {
                value: i as f64,
                integer: Some(i),
                text: String::new(),
            }),
            None => Number::parse(&n.to_string()),
        },
        Value::String(s) => Number::parse(s),
        _ => None,
    }
}

/// The integer a number token holds, when it is one.
fn integer_of(n: &serde_json::Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn scalar_holds(p: &Predicate, scalar: &Scalar<'_>) -> bool {
    let v = scalar.value;
    match p {
        Predicate::Text { pattern, cased } => scalar
            .chars(*cased)
            .is_some_and(|chars| pattern.matches_chars(chars, *cased)),
        Predicate::Number(n) => match v {
            // Two integers: [`Number::equals`] without building a number.
            Value::Number(x) => match (integer_of(x), n.integer) {
                (Some(a), Some(b)) => a == b,
                _ => scalar_number(v).is_some_and(|x| x.equals(n)),
            },
            Value::String(s) => *s == n.text,
            _ => false,
        },
        Predicate::Bool(b) => match v {
            Value::Bool(x) => x == b,
            Value::String(s) => s.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            _ => false,
        },
        Predicate::Regex(r) => scalar_text(v)
            .is_some_and(|t| r.regex().is_some_and(|re| re.is_match(&t).unwrap_or(false))),
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

/// [`scalar_text`], borrowed where the value holds the text.
fn scalar_text_borrowed(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn fieldref_holds(v: &Value, other: &Value, position: Position, cased: bool) -> bool {
    let (Some(a), Some(b)) = (scalar_text_borrowed(v), scalar_text_borrowed(other)) else {
        return false;
    };
    if cased {
        return position_holds(&a, &b, position);
    }
    if a.is_ascii() && b.is_ascii() {
        // ASCII folds byte by byte: compared caselessly, nothing folded.
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let caseless = |at: usize| {
            a.get(at..at + b.len())
                .is_some_and(|part| part.eq_ignore_ascii_case(b))
        };
        return match position {
            Position::Whole => a.eq_ignore_ascii_case(b),
            Position::Contains => (0..=a.len().saturating_sub(b.len())).any(caseless),
            Position::Start => caseless(0),
            Position::End => a.len() >= b.len() && caseless(a.len() - b.len()),
        };
    }
    position_holds(&fold_str(&a), &fold_str(&b), position)
}

/// Whether `b` is `a`, or lies in it at `position`.
fn position_holds(a: &str, b: &str, position: Position) -> bool {
    match position {
        Position::Whole => a == b,
        Position::Contains => a.contains(b),
        Position::Start => a.starts_with(b),
        Position::End => a.ends_with(b),
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

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
