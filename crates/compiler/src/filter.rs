//! Filter rules (Sigma v2 filters specification): `filter:` documents that
//! narrow other rules without editing them.
//!
//! A filter names the rules it applies to (`rules:` ids or names, or `any`
//! for every rule), a log source, selections and a condition. Applied as
//! pySigma does: the rule's condition becomes `(rule condition) and (filter
//! condition)`, the filter's selections appended to the rule's. A filter only
//! applies to rules whose log source agrees with it on every attribute the
//! filter sets (product, category, service).

use serde_norway::{Mapping, Value};

use crate::error::{Error, ErrorKind};
use crate::ir::{Condition, LogSource, Origin, Rule, Selection};
use crate::parse::{rule_from_document, DocText};
use crate::placeholders::Placeholders;

/// Which rules a filter applies to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FilterTargets {
    /// `rules: any`: every rule of a matching log source.
    Any,
    /// These ids or names.
    Rules(Vec<String>),
}

/// A parsed filter.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Filter {
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// The rules it narrows.
    pub targets: FilterTargets,
    /// The log source it applies to.
    pub logsource: LogSource,
    /// Its selections.
    pub selections: Vec<Selection>,
    /// Its condition, over its own selections.
    pub condition: Condition,
    /// The condition as written.
    pub condition_text: Vec<String>,
    /// Where it was read.
    pub origin: Origin,
}

/// Builds a filter from its YAML document.
pub(crate) fn filter_from_document(
    map: &Mapping,
    text: &DocText<'_>,
    placeholders: Option<&Placeholders>,
) -> Result<Filter, Error> {
    let Some(Value::Mapping(section)) = map.get("filter") else {
        return Err(text.error(
            ErrorKind::Structure("'filter' must be a mapping".into()),
            Some("filter:"),
        ));
    };
    let targets = match section.get("rules") {
        Some(Value::String(s)) if s == "any" => FilterTargets::Any,
        Some(Value::String(s)) => FilterTargets::Rules(vec![s.clone()]),
        Some(Value::Sequence(items)) => FilterTargets::Rules(
            items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    text.error(
                        ErrorKind::Structure(
                            "'rules' must list rule ids or names, or be 'any'".into(),
                        ),
                        Some("rules:"),
                    )
                })?,
        ),
        Some(_) => {
            return Err(text.error(
                ErrorKind::Structure("'rules' must list rule ids or names, or be 'any'".into()),
                Some("rules:"),
            ))
        }
        None => return Err(text.error(ErrorKind::MissingMember("filter.rules"), None)),
    };
    // The filter's selections and condition parse as a detection would.
    let mut detection = section.clone();
    detection.remove("rules");
    let mut as_rule = map.clone();
    as_rule.remove("filter");
    as_rule.insert(Value::String("detection".into()), Value::Mapping(detection));
    as_rule
        .entry(Value::String("logsource".into()))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    let rule = rule_from_document(&Value::Mapping(as_rule), text, placeholders)?;
    Ok(Filter {
        title: rule.meta.title,
        id: rule.meta.id,
        targets,
        logsource: rule.meta.logsource,
        selections: rule.detection.selections,
        condition: rule.detection.condition,
        condition_text: rule.detection.condition_text,
        origin: Origin::default(),
    })
}

impl Filter {
    /// Whether the filter applies to the rule.
    pub fn applies_to(&self, rule: &Rule) -> bool {
        let named = match &self.targets {
            FilterTargets::Any => true,
            FilterTargets::Rules(list) => list.iter().any(|r| rule.meta.answers_to(r)),
        };
        let agrees = |mine: &Option<String>, theirs: &Option<String>| match mine {
            None => true,
            Some(m) => theirs.as_ref().is_some_and(|t| t.eq_ignore_ascii_case(m)),
        };
        let ls = &rule.meta.logsource;
        named
            && agrees(&self.logsource.product, &ls.product)
            && agrees(&self.logsource.category, &ls.category)
            && agrees(&self.logsource.service, &ls.service)
    }

    /// Narrows the rule: `(rule condition) and (filter condition)`.
    pub fn apply(&self, rule: &mut Rule) {
        let offset = rule.detection.selections.len();
        let label = self.id.as_deref().unwrap_or(&self.title);
        rule.detection
            .selections
            .extend(self.selections.iter().map(|s| Selection {
                name: format!("{label}:{}", s.name),
                groups: s.groups.clone(),
            }));
        let original = std::mem::replace(&mut rule.detection.condition, Condition::Or(Vec::new()));
        rule.detection.condition = Condition::And(vec![original, shift(&self.condition, offset)]);
        rule.detection.condition_text = vec![format!(
            "({}) and ({})",
            rule.detection.condition_text.join(" or "),
            self.condition_text.join(" or ")
        )];
    }
}

/// The condition with every selection index moved by `offset`.
fn shift(c: &Condition, offset: usize) -> Condition {
    match c {
        Condition::Selection(i) => Condition::Selection(i + offset),
        Condition::Not(inner) => Condition::Not(Box::new(shift(inner, offset))),
        Condition::And(items) => Condition::And(items.iter().map(|i| shift(i, offset)).collect()),
        Condition::Or(items) => Condition::Or(items.iter().map(|i| shift(i, offset)).collect()),
        Condition::Quantified {
            quantity,
            selections,
        } => Condition::Quantified {
            quantity: *quantity,
            selections: selections.iter().map(|i| i + offset).collect(),
        },
    }
}

/// Applies every filter to the rules it names; returns the references that
/// named no rule (for warnings).
pub fn apply_filters(rules: &mut [Rule], filters: &[Filter]) -> Vec<(String, String)> {
    let mut unknown = Vec::new();
    for f in filters {
        if let FilterTargets::Rules(list) = &f.targets {
            for r in list {
                let known = rules.iter().any(|rule| rule.meta.answers_to(r));
                if !known {
                    unknown.push((f.title.clone(), r.clone()));
                }
            }
        }
        for rule in rules.iter_mut() {
            if f.applies_to(rule) {
                f.apply(rule);
            }
        }
    }
    unknown
}
