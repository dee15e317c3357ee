//! Log-source mapping: which events a rule's `logsource` applies to.
//!
//! The mapping is data (`data/logsources.yml`, embedded): each entry matches a
//! rule's product / category / service and lists [`Source`]s, one kind of
//! event each (Windows channel and event ids, or the fields a non-Windows shape
//! always has), with the field renames that kind needs (Security 4688 names
//! the image `NewProcessName`). A rule whose log source no entry maps is
//! [`Scope::Unmapped`]: it is reported, and by default matches nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::ir::LogSource;
use crate::profile::Profile;

const BUILTIN_MAP: &str = include_str!("../data/logsources.yml");

/// The events a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    /// No mapping knows this log source.
    Unmapped,
    /// Events of any of these sources.
    Sources(Vec<Source>),
}

/// One kind of event a log source stands for.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Source {
    /// For people: "Sysmon Event ID 1: Process creation".
    pub label: String,
    /// Windows channels (case-insensitive); empty = not a channel-based source.
    pub channels: Vec<String>,
    /// Provider names accepted when an event carries no channel.
    pub providers: Vec<String>,
    /// Allowed event ids; empty = any.
    pub event_ids: Vec<i64>,
    /// Other fields that must equal (case-insensitively) one of the values.
    pub conditions: Vec<(String, Vec<String>)>,
    /// Fields that must be present.
    pub require: Vec<String>,
    /// Any Windows event (one with a channel or an event id).
    pub any_windows: bool,
    /// Sigma field → where this source keeps it.
    pub fields: BTreeMap<String, FieldSource>,
}

/// Where a source keeps a Sigma field.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FieldSource {
    /// Candidates in order; a candidate of several fields joins them with `separator`.
    pub candidates: Vec<Vec<String>>,
    /// Join separator.
    pub separator: String,
    /// `0x…` text becomes a decimal number.
    pub hex: bool,
    /// Value translations (case-insensitive keys).
    pub map: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    channels: BTreeMap<String, Vec<String>>,
    providers: BTreeMap<String, Vec<String>>,
    logsources: Vec<EntryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    #[serde(rename = "match")]
    matches: MatchFile,
    sources: Vec<SourceFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MatchFile {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    label: String,
    channel: Option<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    event_ids: Vec<i64>,
    #[serde(default)]
    conditions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    require: Vec<String>,
    #[serde(default)]
    any_windows: bool,
    #[serde(default)]
    fields: BTreeMap<String, FieldFile>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FieldFile {
    Name(String),
    Spec {
        from: Vec<Candidate>,
        #[serde(default)]
        sep: String,
        #[serde(default)]
        hex: bool,
        #[serde(default)]
        map: BTreeMap<String, String>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Candidate {
    One(String),
    Joined(Vec<String>),
}

/// A log-source mapping.
#[derive(Debug, Clone)]
pub struct LogSourceMap {
    entries: Vec<(MatchFileKey, Vec<Source>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct MatchFileKey {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
}

impl LogSourceMap {
    /// The built-in mapping (parsed once).
    pub fn builtin() -> &'static LogSourceMap {
        static MAP: OnceLock<LogSourceMap> = OnceLock::new();
        MAP.get_or_init(|| {
            LogSourceMap::from_yaml(BUILTIN_MAP).unwrap_or_else(|e| {
                // The embedded data is checked by a unit test; reaching this is a build defect.
                panic!("the built-in log-source mapping is invalid: {e}")
            })
        })
    }

    /// Parses a mapping from YAML (the format of `data/logsources.yml`).
    pub fn from_yaml(text: &str) -> Result<LogSourceMap, String> {
        let file: MapFile = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        for entry in file.logsources {
            let mut sources = Vec::new();
            for s in entry.sources {
                let (mut channels, mut providers) = (s.channels, Vec::new());
                if let Some(name) = &s.channel {
                    channels.extend(
                        file.channels
                            .get(name)
                            .ok_or_else(|| format!("unknown channel name '{name}'"))?
                            .iter()
                            .cloned(),
                    );
                    providers.extend(file.providers.get(name).into_iter().flatten().cloned());
                }
                let fields = s
                    .fields
                    .into_iter()
                    .map(|(k, f)| (k, f.into_source()))
                    .collect();
                sources.push(Source {
                    label: s.label,
                    channels,
                    providers,
                    event_ids: s.event_ids,
                    conditions: s.conditions.into_iter().collect(),
                    require: s.require,
                    any_windows: s.any_windows,
                    fields,
                });
            }
            let m = entry.matches;
            let key = MatchFileKey {
                product: m.product.map(|s| s.to_lowercase()),
                category: m.category.map(|s| s.to_lowercase()),
                service: m.service.map(|s| s.to_lowercase()),
            };
            entries.push((key, sources));
        }
        Ok(LogSourceMap { entries })
    }

    fn exact(&self, key: &MatchFileKey) -> Option<&Vec<Source>> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// The scope of a rule's log source: the entry with exactly its product,
    /// category and service; for a rule naming both a category and a service,
    /// the category's sources on that service's channels.
    pub fn resolve(&self, ls: &LogSource) -> Scope {
        let low = |s: &Option<String>| s.as_ref().map(|s| s.to_lowercase());
        let key = MatchFileKey {
            product: low(&ls.product),
            category: low(&ls.category),
            service: low(&ls.service),
        };
        if let Some(sources) = self.exact(&key) {
            return Scope::Sources(sources.clone());
        }
        if key.category.is_some() && key.service.is_some() {
            let by_category = self.exact(&MatchFileKey {
                service: None,
                ..key.clone()
            });
            let by_service = self.exact(&MatchFileKey {
                category: None,
                ..key.clone()
            });
            if let (Some(cat), Some(svc)) = (by_category, by_service) {
                let channels: Vec<String> = svc
                    .iter()
                    .flat_map(|s| s.channels.iter().map(|c| c.to_lowercase()))
                    .collect();
                let kept: Vec<Source> = cat
                    .iter()
                    .filter(|s| {
                        s.channels
                            .iter()
                            .any(|c| channels.contains(&c.to_lowercase()))
                    })
                    .cloned()
                    .collect();
                if !kept.is_empty() {
                    return Scope::Sources(kept);
                }
            }
        }
        Scope::Unmapped
    }
}

impl FieldFile {
    fn into_source(self) -> FieldSource {
        match self {
            FieldFile::Name(n) => FieldSource {
                candidates: vec![vec![n]],
                ..Default::default()
            },
            FieldFile::Spec {
                from,
                sep,
                hex,
                map,
            } => FieldSource {
                candidates: from
                    .into_iter()
                    .map(|c| match c {
                        Candidate::One(n) => vec![n],
                        Candidate::Joined(ns) => ns,
                    })
                    .collect(),
                separator: sep,
                hex,
                map: map.into_iter().collect(),
            },
        }
    }
}

impl Source {
    /// Whether an event (read through a profile) is of this source.
    pub fn matches(&self, profile: &Profile, event: &Value) -> bool {
        if self.any_windows {
            return profile.channel(event).is_some() || profile.event_id(event).is_some();
        }
        if !self.channels.is_empty() || !self.providers.is_empty() {
            let by_channel = profile
                .channel(event)
                .map(|c| self.channels.iter().any(|x| x.eq_ignore_ascii_case(c)));
            let ok = match by_channel {
                Some(ok) => ok,
                None => profile
                    .provider(event)
                    .is_some_and(|p| self.providers.iter().any(|x| x.eq_ignore_ascii_case(p))),
            };
            if !ok {
                return false;
            }
        }
        if !self.event_ids.is_empty()
            && !profile
                .event_id(event)
                .is_some_and(|id| self.event_ids.contains(&id))
        {
            return false;
        }
        let conditions_hold = self.conditions.iter().all(|(field, allowed)| {
            profile.lookup(event, field).iter().any(|v| {
                crate::eval::scalar_text(v)
                    .is_some_and(|t| allowed.iter().any(|a| a.eq_ignore_ascii_case(&t)))
            })
        });
        conditions_hold
            && self
                .require
                .iter()
                .all(|f| profile.lookup(event, f).iter().any(|v| !v.is_null()))
    }
}

impl FieldSource {
    /// The field's values in an event of this source; empty when no candidate is present.
    pub fn resolve<'a>(&self, profile: &Profile, event: &'a Value) -> Vec<Cow<'a, Value>> {
        self.resolve_one(profile, event).into_iter().collect()
    }

    /// [`FieldSource::resolve`]'s value, when a candidate is present: a
    /// candidate of one field is read without building a list (stage 2
    /// reads renamed fields once per event and field).
    pub fn resolve_one<'a>(&self, profile: &Profile, event: &'a Value) -> Option<Cow<'a, Value>> {
        let usable = |v: &Value| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty() && s != "-",
            _ => true,
        };
        let first_usable = |field: &str| {
            let mut first: Option<&'a Value> = None;
            profile.lookup_each(event, field, |v| {
                if first.is_none() && usable(v) {
                    first = Some(v);
                }
            });
            first
        };
        for candidate in &self.candidates {
            let value: Cow<'a, Value> = match candidate.as_slice() {
                [one] => match first_usable(one) {
                    Some(v) => Cow::Borrowed(v),
                    None => continue,
                },
                many => {
                    let parts: Option<Vec<&Value>> = many.iter().map(|f| first_usable(f)).collect();
                    let Some(parts) = parts else { continue };
                    Cow::Owned(Value::String(
                        parts
                            .iter()
                            .filter_map(|v| crate::eval::scalar_text(v))
                            .collect::<Vec<_>>()
                            .join(&self.separator),
                    ))
                }
            };
            return Some(self.transform(value));
        }
        None
    }

    fn transform<'a>(&self, value: Cow<'a, Value>) -> Cow<'a, Value> {
        let Some(text) = value.as_str() else {
            return value;
        };
        if self.hex {
            if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                if let Ok(n) = u64::from_str_radix(hex, 16) {
                    return Cow::Owned(Value::from(n));
                }
            }
        }
        if let Some((_, to)) = self
            .map
            .iter()
            .find(|(from, _)| from.eq_ignore_ascii_case(text))
        {
            return Cow::Owned(Value::String(to.clone()));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ls(product: &str, category: Option<&str>, service: Option<&str>) -> LogSource {
        LogSource {
            product: Some(product.into()),
            category: category.map(Into::into),
            service: service.map(Into::into),
            definition: None,
        }
    }

    #[test]
    fn builtin_map_parses_and_resolves() {
        let map = LogSourceMap::builtin();
        let Scope::Sources(pc) = map.resolve(&ls("windows", Some("process_creation"), None)) else {
            panic!("process_creation must be mapped")
        };
        assert_eq!(pc.len(), 2);
        assert_eq!(
            map.resolve(&ls("macos", Some("process_creation"), None)),
            Scope::Unmapped
        );
        let Scope::Sources(s) = map.resolve(&ls("windows", None, Some("security"))) else {
            panic!()
        };
        assert_eq!(s[0].channels, vec!["Security".to_string()]);
        let Scope::Sources(both) =
            map.resolve(&ls("windows", Some("process_creation"), Some("sysmon")))
        else {
            panic!()
        };
        assert_eq!(both.len(), 1);
    }

    #[test]
    fn security_4688_renames() {
        let map = LogSourceMap::builtin();
        let Scope::Sources(pc) = map.resolve(&ls("windows", Some("process_creation"), None)) else {
            panic!()
        };
        let profile = Profile::sysmon();
        let ev = json!({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\a.exe",
            "NewProcessId": "0x1a2c", "SubjectDomainName": "CORP", "SubjectUserName": "bob",
            "TargetUserName": "-", "MandatoryLabel": "S-1-16-12288"});
        let security = pc.iter().find(|s| s.matches(&profile, &ev)).unwrap();
        let get = |f: &str| {
            security.fields[f].resolve(&profile, &ev)[0]
                .clone()
                .into_owned()
        };
        assert_eq!(get("Image"), json!("C:\\a.exe"));
        assert_eq!(get("ProcessId"), json!(6700));
        assert_eq!(get("User"), json!("CORP\\bob"));
        assert_eq!(get("IntegrityLevel"), json!("High"));
        let sysmon3 = json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3});
        assert!(!pc.iter().any(|s| s.matches(&profile, &sysmon3)));
        let by_provider = json!({"SourceName": "Microsoft-Windows-Sysmon", "EventID": "1"});
        assert!(pc.iter().any(|s| s.matches(&profile, &by_provider)));
    }
}
