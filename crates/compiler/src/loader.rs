//! Loading rules: files, directory trees, multi-document YAML, collections.
//!
//! A file may hold several YAML documents (`---`). Sigma rule collections
//! (`action: global` / `reset` / `repeat`) are merged as the specification
//! describes. Every document becomes a compiled [`Rule`] or an [`Error`] with
//! its file, rule id and line; one bad rule never stops the others.

use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::correlation::{correlation_from_document, Correlation};
use crate::error::{Error, ErrorKind};
use crate::filter::{apply_filters, filter_from_document, Filter};
use crate::ir::{Origin, Rule};
use crate::logsource::LogSourceMap;
use crate::parse::{rule_from_document, DocText};
use crate::placeholders::Placeholders;

/// Options of a compilation.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Values for `expand` placeholders; without them such rules are rejected.
    pub placeholders: Option<Placeholders>,
}

/// The outcome of loading a set of rule files.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Every rule that compiled, in file order.
    pub rules: Vec<Rule>,
    /// Every rule (or file) that did not, with the reason.
    pub rejected: Vec<Error>,
    /// Correlation rules, in file order.
    pub correlations: Vec<Correlation>,
    /// Filters (already applied to `rules`), in file order.
    pub filters: Vec<Filter>,
    /// (filter title, reference) for filter references that named no rule.
    pub unknown_filter_targets: Vec<(String, String)>,
    /// Rule files read.
    pub files: usize,
}

impl RuleSet {
    /// Rule documents found: compiled plus rejected (detection rules,
    /// correlations and filters).
    pub fn found(&self) -> usize {
        self.rules.len() + self.rejected.len() + self.correlations.len() + self.filters.len()
    }
}

/// Loads every `.yml`/`.yaml` file under the given files and directories.
pub fn load_paths<P: AsRef<Path>>(paths: &[P], options: &CompileOptions) -> RuleSet {
    let mut set = RuleSet::default();
    for root in paths {
        let root = root.as_ref();
        let files = match rule_files(root) {
            Ok(files) => files,
            Err(e) => {
                set.rejected.push(Error {
                    path: Some(root.to_path_buf()),
                    ..Error::new(ErrorKind::Io(e))
                });
                continue;
            }
        };
        for file in files {
            set.files += 1;
            match std::fs::read(&file) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    for result in parse_documents(&text, Some(&file), options) {
                        match result {
                            Ok(Document::Rule(rule)) => set.rules.push(rule),
                            Ok(Document::Correlation(c)) => set.correlations.push(c),
                            Ok(Document::Filter(f)) => set.filters.push(f),
                            Err(e) => set.rejected.push(e),
                        }
                    }
                }
                Err(e) => set.rejected.push(Error {
                    path: Some(file.clone()),
                    ..Error::new(ErrorKind::Io(e.to_string()))
                }),
            }
        }
    }
    set.unknown_filter_targets = apply_filters(&mut set.rules, &set.filters);
    set
}

/// The rule files under a path: the path itself when it is a file, else every
/// `.yml`/`.yaml` file below it, sorted.
pub fn rule_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(root).map_err(|e| e.to_string())?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| e.to_string())?;
        let is_yaml = entry
            .path()
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if entry.file_type().is_file() && is_yaml {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// One document of a rule file.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per document, moved once
pub enum Document {
    /// A detection rule.
    Rule(Rule),
    /// A correlation rule.
    Correlation(Correlation),
    /// A filter.
    Filter(Filter),
}

impl Document {
    /// The document with the file and line it was read at.
    fn read_at(mut self, origin: Origin) -> Document {
        match &mut self {
            Document::Rule(r) => r.origin = origin,
            Document::Correlation(c) => c.origin = origin,
            Document::Filter(f) => f.origin = origin,
        }
        self
    }
}

/// Parses every detection rule of one YAML text (one or more documents);
/// correlation and filter documents are left out (see [`parse_documents`]).
pub fn parse_rules(
    text: &str,
    path: Option<&Path>,
    options: &CompileOptions,
) -> Vec<Result<Rule, Error>> {
    parse_documents(text, path, options)
        .into_iter()
        .filter_map(|d| match d {
            Ok(Document::Rule(r)) => Some(Ok(r)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect()
}

/// Parses every document of one YAML text: detection rules, correlations
/// and filters.
pub fn parse_documents(
    text: &str,
    path: Option<&Path>,
    options: &CompileOptions,
) -> Vec<Result<Document, Error>> {
    let mut results = Vec::new();
    let mut global: Option<Value> = None;
    let mut previous: Option<Value> = None;
    for (doc_text, first_line) in split_documents(text) {
        let doc = DocText {
            text: doc_text,
            first_line,
        };
        let located = |mut e: Error, value: Option<&Value>| {
            e.path = path.map(Path::to_path_buf);
            if e.line.is_none() {
                e.line = Some(first_line);
            }
            if let Some(v) = value {
                let get = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
                e.rule_id = e.rule_id.or_else(|| get("id"));
                e.title = e.title.or_else(|| get("title"));
            }
            e
        };
        let mut value: Value = match serde_norway::from_str(doc_text) {
            Ok(v) => v,
            Err(e) => {
                let line = e.location().map(|l| l.line() + first_line - 1);
                let err = Error {
                    line,
                    rule_id: top_level_scalar(doc_text, "id"),
                    title: top_level_scalar(doc_text, "title"),
                    ..Error::new(ErrorKind::Yaml(e.to_string()))
                };
                results.push(Err(located(err, None)));
                continue;
            }
        };
        if let Err(e) = value.apply_merge() {
            results.push(Err(located(
                Error::new(ErrorKind::Yaml(e.to_string())),
                Some(&value),
            )));
            continue;
        }
        let action = value
            .get("action")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(map) = value.as_mapping_mut() {
            map.remove("action");
        }
        let merged = match action.as_deref() {
            Some("global") => {
                global = Some(match global.take() {
                    Some(g) => deep_merge(g, value),
                    None => value,
                });
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => match previous.clone() {
                Some(prev) => deep_merge(prev, value),
                None => {
                    let e = Error::new(ErrorKind::Structure(
                        "'action: repeat' without a previous rule".into(),
                    ));
                    results.push(Err(located(e, Some(&value))));
                    continue;
                }
            },
            Some(other) => {
                let e = Error::new(ErrorKind::Structure(format!(
                    "unknown collection action '{other}' (expected global, reset or repeat)"
                )));
                results.push(Err(located(e, Some(&value))));
                continue;
            }
            None => match &global {
                Some(g) => deep_merge(g.clone(), value),
                None => value,
            },
        };
        previous = Some(merged.clone());
        let origin = Origin {
            path: path.map(Path::to_path_buf),
            line: first_line,
        };
        let placeholders = options.placeholders.as_ref();
        let document = match merged.as_mapping() {
            Some(map) if map.contains_key("correlation") => {
                correlation_from_document(map, &doc).map(Document::Correlation)
            }
            Some(map) if map.contains_key("filter") => {
                filter_from_document(map, &doc, placeholders).map(Document::Filter)
            }
            _ => rule_from_document(&merged, &doc, placeholders).map(|mut rule| {
                rule.scope = LogSourceMap::builtin().resolve(&rule.meta.logsource);
                Document::Rule(rule)
            }),
        };
        results.push(
            document
                .map(|d| d.read_at(origin))
                .map_err(|e| located(e, Some(&merged))),
        );
    }
    results
}

/// Parses a single rule from YAML text (the first document).
pub fn parse_rule(text: &str, options: &CompileOptions) -> Result<Rule, Error> {
    let kind = |k: &str| {
        Err(Error::new(ErrorKind::Structure(format!(
            "the document is a {k}, not a detection rule"
        ))))
    };
    match parse_documents(text, None, options).into_iter().next() {
        Some(Ok(Document::Rule(rule))) => Ok(rule),
        Some(Ok(Document::Correlation(_))) => kind("correlation rule"),
        Some(Ok(Document::Filter(_))) => kind("filter"),
        Some(Err(e)) => Err(e),
        None => Err(Error::new(ErrorKind::Structure("no YAML document".into()))),
    }
}

/// Splits YAML text at `---` document markers; skips documents with no content.
/// Returns each document's text and its first line (1-based).
fn split_documents(text: &str) -> Vec<(&str, usize)> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end();
        let is_marker = trimmed == "---"
            || trimmed.starts_with("--- ")
            || trimmed.starts_with("---\t")
            || trimmed == "...";
        if is_marker {
            docs.push((&text[start..offset], start_line));
            start = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    docs.push((&text[start..], start_line));
    docs.into_iter()
        .filter(|(d, _)| {
            d.lines().any(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#') && !t.starts_with('%')
            })
        })
        .collect()
}

/// The value of a top-level `key: value` line, read from the text (for
/// documents that are not valid YAML, so that their error can name the rule).
fn top_level_scalar(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let value = rest
            .split(" #")
            .next()?
            .trim()
            .trim_matches(|c| c == '\'' || c == '"');
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// Merges `over` into `base`: mappings recursively, anything else replaced.
fn deep_merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Mapping(mut b), Value::Mapping(o)) => {
            for (k, v) in o {
                let merged = match b.remove(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Mapping(b)
        }
        (_, over) => over,
    }
}
