//! Placeholder values for the `expand` modifier.
//!
//! A placeholder file is YAML mapping each placeholder name (with or without
//! the surrounding `%`) to one value or a list of values:
//!
//! ```yaml
//! Workstations: ['WS-*', 'LAPTOP-*']
//! '%dc_ip_addresses%': 10.0.0.10
//! ```
//! Values are Sigma strings (wildcards and escapes apply). A rule that expands
//! a placeholder with no value is rejected with the placeholder's name.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, ErrorKind};

/// Placeholder name → values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    values: BTreeMap<String, Vec<String>>,
}

impl Placeholders {
    /// Parses placeholder YAML.
    pub fn from_yaml(text: &str) -> Result<Placeholders, ErrorKind> {
        let doc: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| ErrorKind::Yaml(e.to_string()))?;
        let mut values = BTreeMap::new();
        let map = match doc {
            serde_norway::Value::Mapping(m) => m,
            serde_norway::Value::Null => return Ok(Placeholders::default()),
            _ => {
                return Err(ErrorKind::Structure(
                    "a placeholder file is a mapping of name to values".into(),
                ))
            }
        };
        for (k, v) in map {
            let name = scalar_text(&k)
                .ok_or_else(|| ErrorKind::Structure("placeholder names must be strings".into()))?;
            let name = name.trim_matches('%').to_string();
            let list = match v {
                serde_norway::Value::Sequence(items) => items
                    .iter()
                    .map(scalar_text)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        ErrorKind::Structure(format!("placeholder %{name}% values must be scalars"))
                    })?,
                other => vec![scalar_text(&other).ok_or_else(|| {
                    ErrorKind::Structure(format!("placeholder %{name}% value must be a scalar"))
                })?],
            };
            values.insert(name, list);
        }
        Ok(Placeholders { values })
    }

    /// Reads a placeholder file.
    pub fn from_file(path: &Path) -> Result<Placeholders, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error {
            path: Some(path.to_path_buf()),
            ..Error::new(ErrorKind::Io(e.to_string()))
        })?;
        Placeholders::from_yaml(&text).map_err(|kind| Error {
            path: Some(path.to_path_buf()),
            ..Error::new(kind)
        })
    }

    /// The values of a placeholder (name without `%`).
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.values.get(name).map(Vec::as_slice)
    }

    /// Adds or replaces a placeholder.
    pub fn insert(&mut self, name: &str, values: Vec<String>) {
        self.values
            .insert(name.trim_matches('%').to_string(), values);
    }
}

fn scalar_text(v: &serde_norway::Value) -> Option<String> {
    match v {
        serde_norway::Value::String(s) => Some(s.clone()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        serde_norway::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Splits a raw value at `%name%` placeholders: text and placeholder names alternate.
pub(crate) fn split_placeholders(raw: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let Some(len) = after.find('%') else { break };
        let name = &after[..len];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            // Not a placeholder: keep the first '%' as text and go on after it.
            out.push(Segment::Text(&rest[..start + 1]));
            rest = after;
            continue;
        }
        out.push(Segment::Text(&rest[..start]));
        out.push(Segment::Placeholder(name));
        rest = &after[len + 1..];
    }
    out.push(Segment::Text(rest));
    out
}

/// A part of a value with placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}
