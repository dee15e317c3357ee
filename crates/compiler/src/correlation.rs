//! Correlation rules (Sigma v2 correlation specification, with the v2.1
//! metric types): parsing and checking of `correlation:` documents.
//!
//! A correlation refers to detection rules (or other correlations) by `id` or
//! `name`, groups their matches by the `group-by` fields (through `aliases`
//! where a field has another name in some rule's events), and fires when, in
//! a `timespan`, the aggregate meets the `condition`:
//! `event_count` (matches), `value_count` (distinct values of `field`),
//! `temporal` / `temporal_ordered` (distinct rules, in order for the latter),
//! `value_sum`, `value_avg`, `value_percentile` (with `percentile`),
//! `value_median` (numbers in `field`). Evaluation lives in the runtime.

use std::collections::BTreeMap;

use serde_norway::{Mapping, Value};

use crate::error::{Error, ErrorKind};
use crate::ir::{Metadata, Origin};
use crate::parse::{metadata, DocText};

/// What a correlation aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CorrelationType {
    /// Matches of the rules.
    EventCount,
    /// Distinct values of a field.
    ValueCount,
    /// Distinct rules that matched.
    Temporal,
    /// Distinct rules that matched, in the order listed.
    TemporalOrdered,
    /// Sum of a numeric field.
    ValueSum,
    /// Mean of a numeric field.
    ValueAvg,
    /// A percentile of a numeric field.
    ValuePercentile,
    /// The median of a numeric field.
    ValueMedian,
}

impl CorrelationType {
    /// Parses the specification's type names.
    pub fn parse(s: &str) -> Option<CorrelationType> {
        Some(match s {
            "event_count" => CorrelationType::EventCount,
            "value_count" => CorrelationType::ValueCount,
            "temporal" => CorrelationType::Temporal,
            "temporal_ordered" => CorrelationType::TemporalOrdered,
            "value_sum" => CorrelationType::ValueSum,
            "value_avg" => CorrelationType::ValueAvg,
            "value_percentile" => CorrelationType::ValuePercentile,
            "value_median" => CorrelationType::ValueMedian,
            _ => return None,
        })
    }

    /// The specification's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
            CorrelationType::ValueMedian => "value_median",
        }
    }

    /// Whether the type reads a `field` of each event.
    pub fn needs_field(self) -> bool {
        !matches!(
            self,
            CorrelationType::EventCount
                | CorrelationType::Temporal
                | CorrelationType::TemporalOrdered
        )
    }
}

/// A comparison of the condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Comparison {
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `eq`.
    Eq,
    /// `neq`.
    Neq,
}

/// `condition`: comparisons that must all hold (two make a range), and the
/// field (and percentile) the metric types read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Threshold {
    /// ANDed comparisons of the aggregate with a number.
    pub comparisons: Vec<(Comparison, f64)>,
    /// `field`: the field counted or measured.
    pub field: Option<String>,
    /// `percentile` (0–100) for `value_percentile`.
    pub percentile: Option<f64>,
}

impl Threshold {
    /// Whether the aggregate meets every comparison.
    pub fn holds(&self, x: f64) -> bool {
        self.comparisons.iter().all(|&(op, n)| match op {
            Comparison::Gt => x > n,
            Comparison::Gte => x >= n,
            Comparison::Lt => x < n,
            Comparison::Lte => x <= n,
            Comparison::Eq => x == n,
            Comparison::Neq => x != n,
        })
    }
}

/// A parsed correlation rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Correlation {
    /// Title, id, name, level (the level of its detections), status, tags…
    pub meta: Metadata,
    /// What it aggregates.
    pub kind: CorrelationType,
    /// The rules (or correlations) it reads, by id or name, as written.
    pub rules: Vec<String>,
    /// Fields (or aliases) whose values form a group.
    pub group_by: Vec<String>,
    /// The window length in milliseconds.
    pub timespan_ms: i64,
    /// When it fires.
    pub condition: Threshold,
    /// Alias → (rule name → field in that rule's events).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether the rules it reads also report their own detections.
    pub generate: bool,
    /// Where it was read.
    pub origin: Origin,
}

/// Parses `90m`, `1h`, `30s`, `2d`, `1w` into milliseconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let number: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let ms = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    (number > 0).then(|| number.checked_mul(ms)).flatten()
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Sequence(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Builds a correlation from its YAML document.
pub(crate) fn correlation_from_document(
    map: &Mapping,
    text: &DocText<'_>,
) -> Result<Correlation, Error> {
    let structure = |msg: String, needle: &str| text.error(ErrorKind::Structure(msg), Some(needle));
    // Correlations have no log source of their own.
    let mut with_logsource = map.clone();
    with_logsource
        .entry(Value::String("logsource".into()))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    let meta = metadata(&with_logsource, text)?;
    let section = match map.get("correlation") {
        Some(Value::Mapping(m)) => m,
        _ => {
            return Err(structure(
                "'correlation' must be a mapping".into(),
                "correlation:",
            ))
        }
    };
    let kind = match section.get("type").and_then(Value::as_str) {
        Some(t) => CorrelationType::parse(t).ok_or_else(|| {
            structure(
                format!("unknown correlation type '{t}' (expected event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile or value_median)"),
                "type:",
            )
        })?,
        None => return Err(text.error(ErrorKind::MissingMember("correlation.type"), None)),
    };
    let rules = match section.get("rules") {
        Some(v) => string_list(v)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| structure("'rules' must list rule ids or names".into(), "rules:"))?,
        None => return Err(text.error(ErrorKind::MissingMember("correlation.rules"), None)),
    };
    let group_by = match section.get("group-by") {
        Some(v) => string_list(v)
            .ok_or_else(|| structure("'group-by' must list field names".into(), "group-by:"))?,
        None => Vec::new(),
    };
    let timespan_ms = match section.get("timespan") {
        Some(Value::String(s)) => parse_timespan(s).ok_or_else(|| {
            structure(
                format!("invalid timespan '{s}' (expected a number and s, m, h, d or w, e.g. 90m)"),
                "timespan:",
            )
        })?,
        Some(_) => {
            return Err(structure(
                "'timespan' must be a string such as 5m".into(),
                "timespan:",
            ))
        }
        None => return Err(text.error(ErrorKind::MissingMember("correlation.timespan"), None)),
    };
    // `field` (and `percentile`) belong in the condition; the JSON schema of
    // the specification puts `field` in the correlation section: both are read.
    let outer = Threshold {
        comparisons: Vec::new(),
        field: section
            .get("field")
            .and_then(Value::as_str)
            .map(str::to_string),
        percentile: section.get("percentile").and_then(number),
    };
    let condition = threshold(section.get("condition"), kind, rules.len(), outer, text)?;
    let mut aliases = BTreeMap::new();
    if let Some(v) = section.get("aliases") {
        let Value::Mapping(m) = v else {
            return Err(structure("'aliases' must be a mapping".into(), "aliases:"));
        };
        for (alias, per_rule) in m {
            let (Some(alias), Value::Mapping(per_rule)) = (alias.as_str(), per_rule) else {
                return Err(structure(
                    "each alias must map rule names to field names".into(),
                    "aliases:",
                ));
            };
            let mut fields = BTreeMap::new();
            for (rule, field) in per_rule {
                let (Some(rule), Some(field)) = (rule.as_str(), field.as_str()) else {
                    return Err(structure(
                        format!("alias '{alias}' must map rule names to field names"),
                        alias,
                    ));
                };
                fields.insert(rule.to_string(), field.to_string());
            }
            aliases.insert(alias.to_string(), fields);
        }
    }
    let generate = match section.get("generate").or_else(|| map.get("generate")) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(structure(
                "'generate' must be true or false".into(),
                "generate:",
            ))
        }
    };
    Ok(Correlation {
        meta,
        kind,
        rules,
        group_by,
        timespan_ms,
        condition,
        aliases,
        generate,
        origin: Origin::default(),
    })
}

fn threshold(
    v: Option<&Value>,
    kind: CorrelationType,
    rules: usize,
    outer: Threshold,
    text: &DocText<'_>,
) -> Result<Threshold, Error> {
    let structure = |msg: String| text.error(ErrorKind::Structure(msg), Some("condition:"));
    let mut t = outer;
    match v {
        None if matches!(
            kind,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        ) =>
        {
            // Every rule listed must match.
            t.comparisons.push((Comparison::Gte, rules as f64));
            return Ok(t);
        }
        None => return Err(text.error(ErrorKind::MissingMember("correlation.condition"), None)),
        Some(Value::Mapping(m)) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                let op = match key {
                    "gt" => Comparison::Gt,
                    "gte" => Comparison::Gte,
                    "lt" => Comparison::Lt,
                    "lte" => Comparison::Lte,
                    "eq" => Comparison::Eq,
                    "neq" => Comparison::Neq,
                    "field" => {
                        t.field = Some(
                            v.as_str()
                                .ok_or_else(|| structure("'field' must be a field name".into()))?
                                .to_string(),
                        );
                        continue;
                    }
                    "percentile" => {
                        let p = number(v)
                            .filter(|p| (0.0..=100.0).contains(p))
                            .ok_or_else(|| structure("'percentile' must be a number from 0 to 100".into()))?;
                        t.percentile = Some(p);
                        continue;
                    }
                    other => {
                        return Err(structure(format!(
                            "unknown condition key '{other}' (expected gt, gte, lt, lte, eq, neq, field or percentile)"
                        )))
                    }
                };
                let n = number(v).ok_or_else(|| structure(format!("'{key}' must be a number")))?;
                t.comparisons.push((op, n));
            }
        }
        Some(_) => {
            return Err(structure(
                "'condition' must be a mapping such as {gte: 10}".into(),
            ))
        }
    }
    if t.comparisons.is_empty() {
        return Err(structure(
            "the condition compares nothing (expected gt, gte, lt, lte, eq or neq)".into(),
        ));
    }
    if kind.needs_field() && t.field.is_none() {
        return Err(structure(format!(
            "a {} correlation needs 'field' in its condition",
            kind.as_str()
        )));
    }
    if kind == CorrelationType::ValuePercentile && t.percentile.is_none() {
        return Err(structure(
            "a value_percentile correlation needs 'percentile' in its condition".into(),
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Correlation, Error> {
        let value: Value = serde_norway::from_str(yaml).unwrap();
        let doc = DocText {
            text: yaml,
            first_line: 1,
        };
        correlation_from_document(value.as_mapping().unwrap(), &doc)
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90m"), Some(5_400_000));
        assert_eq!(parse_timespan("1h"), Some(3_600_000));
        assert_eq!(parse_timespan("30s"), Some(30_000));
        assert_eq!(parse_timespan("2d"), Some(172_800_000));
        assert_eq!(parse_timespan("1w"), Some(604_800_000));
        for bad in ["", "m", "0m", "-5m", "5", "5y", "1.5h"] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_full_correlation_parses() {
        let c = parse(
            "title: t\nid: x\nname: n\nlevel: high\ncorrelation:\n  type: value_percentile\n  rules: [a, b]\n  group-by: [User]\n  timespan: 10m\n  condition: {field: Bytes, percentile: 95, gt: 10, lte: 20}\n  aliases:\n    ip: {a: SourceIp, b: DestinationIp}\n  generate: true\n",
        )
        .unwrap();
        assert_eq!(c.kind, CorrelationType::ValuePercentile);
        assert_eq!(c.rules, ["a", "b"]);
        assert_eq!(c.timespan_ms, 600_000);
        assert_eq!(c.condition.percentile, Some(95.0));
        assert!(c.condition.holds(15.0) && !c.condition.holds(10.0) && !c.condition.holds(21.0));
        assert_eq!(c.aliases["ip"]["b"], "DestinationIp");
        assert!(c.generate);
        assert_eq!(c.meta.level, Some(crate::Level::High));
    }

    #[test]
    fn field_may_sit_beside_the_condition() {
        let c = parse("title: t\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 1h\n  field: User\n  condition: {gte: 3}\n").unwrap();
        assert_eq!(c.condition.field.as_deref(), Some("User"));
    }

    #[test]
    fn temporal_defaults_to_every_rule() {
        let c =
            parse("title: t\ncorrelation:\n  type: temporal\n  rules: [a, b, c]\n  timespan: 5m\n")
                .unwrap();
        assert!(c.condition.holds(3.0) && !c.condition.holds(2.0));
        assert!(!c.generate);
    }

    #[test]
    fn mistakes_are_named() {
        for (yaml, needle) in [
            ("title: t\ncorrelation:\n  type: event_counts\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1}\n", "unknown correlation type"),
            ("title: t\ncorrelation:\n  type: event_count\n  timespan: 5m\n  condition: {gte: 1}\n", "correlation.rules"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  condition: {gte: 1}\n", "correlation.timespan"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5x\n  condition: {gte: 1}\n", "invalid timespan"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n", "correlation.condition"),
            ("title: t\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1}\n", "needs 'field'"),
            ("title: t\ncorrelation:\n  type: value_percentile\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1, field: x}\n", "needs 'percentile'"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {more: 1}\n", "unknown condition key"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: lots}\n", "must be a number"),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(needle), "{yaml}: {e}");
        }
    }
}
