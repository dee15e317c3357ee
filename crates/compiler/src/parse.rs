//! One YAML rule document → [`Rule`]: metadata, selections, condition.
//!
//! Errors are located by searching the document text for the key, selection
//! or placeholder at fault, so a rule author gets the YAML line even though
//! the YAML value tree carries no positions.

use serde_norway::{Mapping, Value};

use crate::condition;
use crate::error::{Error, ErrorKind};
use crate::ir::{
    Condition, Detection, FieldMatch, Level, LogSource, Metadata, Related, Rule, Selection, Status,
};
use crate::modifiers::Modifiers;
use crate::placeholders::Placeholders;
use crate::values::ValueContext;

/// The text of one YAML document and where it starts in its file.
pub(crate) struct DocText<'a> {
    pub text: &'a str,
    /// 1-based line of the document's first line in the file.
    pub first_line: usize,
}

impl DocText<'_> {
    /// The file line of the first line of this document containing `needle`.
    pub fn locate(&self, needle: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| {
                let code = l.split(" #").next().unwrap_or(l);
                code.contains(needle)
            })
            .map(|i| i + self.first_line)
    }

    pub(crate) fn error(&self, kind: ErrorKind, needle: Option<&str>) -> Error {
        Error {
            line: needle.and_then(|n| self.locate(n)),
            ..Error::new(kind)
        }
    }
}

/// Builds a rule from a parsed document.
pub(crate) fn rule_from_document(
    doc: &Value,
    text: &DocText<'_>,
    placeholders: Option<&Placeholders>,
) -> Result<Rule, Error> {
    let map = doc.as_mapping().ok_or_else(|| {
        text.error(
            ErrorKind::Structure("a rule document must be a YAML mapping".into()),
            None,
        )
    })?;
    for kind in ["correlation", "filter"] {
        if map.contains_key(kind) {
            return Err(text.error(
                ErrorKind::Unsupported(format!(
                    "{kind} rules are not evaluated by this version (only detection rules are)"
                )),
                Some(&format!("{kind}:")),
            ));
        }
    }
    let meta = metadata(map, text)?;
    let detection = match map.get("detection") {
        Some(Value::Mapping(d)) => detection(d, text, placeholders)?,
        Some(_) => {
            return Err(text.error(
                ErrorKind::Structure("'detection' must be a mapping".into()),
                Some("detection:"),
            ))
        }
        None => return Err(text.error(ErrorKind::MissingMember("detection"), None)),
    };
    Ok(Rule {
        meta,
        detection,
        origin: Default::default(),
        scope: crate::logsource::Scope::Unmapped,
    })
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar_string).collect(),
        Some(other) => scalar_string(other).into_iter().collect(),
        None => Vec::new(),
    }
}

pub(crate) fn metadata(map: &Mapping, text: &DocText<'_>) -> Result<Metadata, Error> {
    let get = |k: &str| map.get(k).and_then(scalar_string);
    let title = match map.get("title") {
        Some(v) => scalar_string(v).ok_or_else(|| {
            text.error(
                ErrorKind::Structure("'title' must be a string".into()),
                Some("title:"),
            )
        })?,
        None => return Err(text.error(ErrorKind::MissingMember("title"), None)),
    };
    let status = match get("status") {
        Some(s) => Some(Status::parse(&s).ok_or_else(|| {
            text.error(
                ErrorKind::Structure(format!(
                    "unknown status '{s}' (expected stable, test, experimental, deprecated or unsupported)"
                )),
                Some("status:"),
            )
        })?),
        None => None,
    };
    let level = match get("level") {
        Some(s) => Some(Level::parse(&s).ok_or_else(|| {
            text.error(
                ErrorKind::Structure(format!(
                    "unknown level '{s}' (expected informational, low, medium, high or critical)"
                )),
                Some("level:"),
            )
        })?),
        None => None,
    };
    let logsource = match map.get("logsource") {
        Some(Value::Mapping(ls)) => {
            let g = |k: &str| ls.get(k).and_then(scalar_string);
            LogSource {
                category: g("category"),
                product: g("product"),
                service: g("service"),
                definition: g("definition"),
            }
        }
        Some(_) => {
            return Err(text.error(
                ErrorKind::Structure("'logsource' must be a mapping".into()),
                Some("logsource:"),
            ))
        }
        None => return Err(text.error(ErrorKind::MissingMember("logsource"), None)),
    };
    let related = match map.get("related") {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|item| {
                let m = item.as_mapping()?;
                Some(Related {
                    id: m.get("id").and_then(scalar_string)?,
                    kind: m.get("type").and_then(scalar_string).unwrap_or_default(),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Metadata {
        title,
        id: get("id"),
        name: get("name"),
        status,
        level,
        description: get("description"),
        tags: string_list(map.get("tags")),
        logsource,
        references: string_list(map.get("references")),
        falsepositives: string_list(map.get("falsepositives")),
        author: get("author"),
        date: get("date"),
        modified: get("modified"),
        related,
        fields: string_list(map.get("fields")),
        license: get("license"),
        regression_tests_path: get("regression_tests_path"),
    })
}

/// Detection keys that are not selections.
const NON_SELECTION_KEYS: [&str; 2] = ["condition", "timeframe"];

fn detection(
    map: &Mapping,
    text: &DocText<'_>,
    placeholders: Option<&Placeholders>,
) -> Result<Detection, Error> {
    let mut selections = Vec::new();
    for (key, value) in map {
        let name = scalar_string(key).ok_or_else(|| {
            text.error(
                ErrorKind::Structure("selection names must be strings".into()),
                None,
            )
        })?;
        if NON_SELECTION_KEYS.contains(&name.as_str()) {
            continue;
        }
        selections.push(selection(&name, value, text, placeholders)?);
    }
    let condition_text: Vec<String> = match map.get("condition") {
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| {
                scalar_string(i).ok_or_else(|| {
                    text.error(
                        ErrorKind::Structure("each condition must be a string".into()),
                        Some("condition"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        Some(v) => vec![scalar_string(v).ok_or_else(|| {
            text.error(
                ErrorKind::Structure("'condition' must be a string or a list of strings".into()),
                Some("condition"),
            )
        })?],
        None => {
            return Err(text.error(
                ErrorKind::MissingMember("detection.condition"),
                Some("detection:"),
            ))
        }
    };
    if condition_text.is_empty() {
        return Err(text.error(
            ErrorKind::ConditionSyntax("the condition list is empty".into()),
            Some("condition"),
        ));
    }
    let names: Vec<String> = selections
        .iter()
        .map(|s: &Selection| s.name.clone())
        .collect();
    let mut conditions = Vec::new();
    for c in &condition_text {
        let cond =
            condition::parse(c, &names).map_err(|kind| text.error(kind, Some("condition")))?;
        conditions.push(cond);
    }
    let condition = if conditions.len() == 1 {
        conditions.remove(0)
    } else {
        Condition::Or(conditions)
    };
    let predicates: usize = selections
        .iter()
        .flat_map(|s| s.groups.iter().flatten())
        .map(|fm| fm.values.iter().map(Vec::len).sum::<usize>())
        .sum();
    if predicates > MAX_RULE_PREDICATES {
        return Err(text.error(
            ErrorKind::TooLarge {
                count: predicates,
                limit: MAX_RULE_PREDICATES,
            },
            Some("detection"),
        ));
    }
    Ok(Detection {
        selections,
        condition,
        condition_text,
    })
}

/// Most values one rule may hold after transformations and placeholders are
/// expanded (SigmaHQ's largest, a vulnerable-driver hash list, has ~4,500).
pub const MAX_RULE_PREDICATES: usize = 50_000;

fn selection(
    name: &str,
    value: &Value,
    text: &DocText<'_>,
    placeholders: Option<&Placeholders>,
) -> Result<Selection, Error> {
    let at = format!("{name}:");
    let empty = || {
        text.error(
            ErrorKind::Structure(format!("selection '{name}' is empty")),
            Some(&at),
        )
    };
    let mut groups = Vec::new();
    match value {
        Value::Mapping(m) => groups.push(group(m, text, placeholders)?),
        Value::Sequence(items) => {
            let mut keywords = Vec::new();
            for item in items {
                match item {
                    Value::Mapping(m) => groups.push(group(m, text, placeholders)?),
                    Value::Sequence(_) => {
                        return Err(text.error(
                            ErrorKind::Structure(format!(
                                "selection '{name}' has a list inside a list"
                            )),
                            Some(&at),
                        ))
                    }
                    scalar => keywords.push(scalar.clone()),
                }
            }
            if !keywords.is_empty() {
                let fm = field_match("", &Value::Sequence(keywords), text, placeholders)?;
                groups.push(vec![fm]);
            }
        }
        Value::Null => return Err(empty()),
        scalar => groups.push(vec![field_match("", scalar, text, placeholders)?]),
    }
    if groups.is_empty() || groups.iter().any(Vec::is_empty) {
        return Err(empty());
    }
    Ok(Selection {
        name: name.to_string(),
        groups,
    })
}

fn group(
    map: &Mapping,
    text: &DocText<'_>,
    placeholders: Option<&Placeholders>,
) -> Result<Vec<FieldMatch>, Error> {
    map.iter()
        .map(|(k, v)| {
            let key = scalar_string(k).ok_or_else(|| {
                text.error(
                    ErrorKind::Structure("field names must be strings".into()),
                    None,
                )
            })?;
            field_match(&key, v, text, placeholders)
        })
        .collect()
}

fn field_match(
    key: &str,
    value: &Value,
    text: &DocText<'_>,
    placeholders: Option<&Placeholders>,
) -> Result<FieldMatch, Error> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("").to_string();
    let needle = (!key.is_empty()).then_some(key);
    let modifiers = Modifiers::parse(parts).map_err(|kind| text.error(kind, needle))?;
    let keyword = field.is_empty();
    let invalid = |reason: &str| {
        text.error(
            ErrorKind::InvalidValue {
                field: key.to_string(),
                reason: reason.to_string(),
            },
            needle,
        )
    };
    if keyword && !(modifiers.is_string_match() || modifiers.regex.is_some()) {
        return Err(invalid(
            "keyword searches take only string-matching modifiers or 're'",
        ));
    }
    if keyword && modifiers.neq {
        return Err(invalid("'neq' needs a field"));
    }
    let ctx = ValueContext {
        key,
        modifiers: &modifiers,
        keyword,
        placeholders,
    };
    let written: Vec<&Value> = match value {
        Value::Sequence(items) => items.iter().collect(),
        Value::Mapping(_) => return Err(invalid("a field's value cannot be a mapping")),
        other => vec![other],
    };
    if written.is_empty() {
        return Err(invalid("the list of values is empty"));
    }
    let mut values = Vec::with_capacity(written.len());
    for v in written {
        let preds = ctx.predicates(v).map_err(|kind| {
            let needle = match &kind {
                ErrorKind::MissingPlaceholder(p) => format!("%{p}%"),
                _ => key.to_string(),
            };
            text.error(
                kind,
                Some(&needle).filter(|n| !n.is_empty()).map(|n| n.as_str()),
            )
        })?;
        values.push(preds);
    }
    Ok(FieldMatch {
        field: (!keyword).then_some(field),
        key: key.to_string(),
        modifiers,
        values,
    })
}
