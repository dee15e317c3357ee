//! Field profiles: where each Sigma field lives in one JSON shape of events.
//!
//! A rule names `CommandLine`; a flat Sysmon export has it at the top level, an
//! `evtx_dump` record under `Event.EventData`, Winlogbeat under
//! `winlog.event_data`, and ECS as `process.command_line`. A [`Profile`] says
//! where to look for a field (explicit paths first, then each data root), and
//! where the log-source keys are (channel, event id, provider).
//!
//! Built in: `sysmon` (flat), `evtx`, `winlogbeat`, `ecs`; [`Profile::detect`]
//! picks one from the first event of a stream. Custom profiles are YAML:
//!
//! ```yaml
//! name: mycollector
//! detect: [log.channel]          # paths that all exist in this shape (auto-detection)
//! channel: [log.channel]         # log-source keys
//! event_id: [log.event_id]
//! provider: [log.provider]
//! timestamp: ['@timestamp']
//! computer: [host.name]
//! record_id: [log.record]
//! roots: [data, '']              # where fields not listed below live ('' = top level)
//! fields:                        # Sigma field -> one or more paths, first found wins
//!   CommandLine: process.cmdline
//!   Image: [process.exe, process.path]
//! ```
//! Paths are dotted (`a.b.c`); a root segment `*` stands for every member.
//! Quirks handled for every profile: a value `{"#text": v, "#attributes": …}`
//! reads as `v`; a field name not found exactly also matches a member whose
//! name differs only by spaces (`Threat Name` for `ThreatName`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ErrorKind;

/// A dotted path split into its segments.
pub type JsonPath = Vec<String>;

fn path(p: &str) -> JsonPath {
    if p.is_empty() {
        return Vec::new();
    }
    p.split('.').map(str::to_string).collect()
}

/// Where the fields of one event shape live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name (`sysmon`, `evtx`, `winlogbeat`, `ecs`, or a custom one).
    pub name: String,
    /// Paths that all exist in events of this shape.
    pub detect: Vec<JsonPath>,
    /// Where the Windows channel is.
    pub channel: Vec<JsonPath>,
    /// Where the event id is.
    pub event_id: Vec<JsonPath>,
    /// Where the provider (source) name is.
    pub provider: Vec<JsonPath>,
    /// Where the event time is.
    pub timestamp: Vec<JsonPath>,
    /// Where the host name is.
    pub computer: Vec<JsonPath>,
    /// Where the record id is.
    pub record_id: Vec<JsonPath>,
    /// Where fields without an explicit path live, in order.
    pub roots: Vec<JsonPath>,
    /// Explicit paths of Sigma fields.
    pub fields: BTreeMap<String, Vec<JsonPath>>,
}

/// The YAML form of a profile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    #[serde(default)]
    detect: Vec<String>,
    #[serde(default)]
    channel: Vec<String>,
    #[serde(default)]
    event_id: Vec<String>,
    #[serde(default)]
    provider: Vec<String>,
    #[serde(default)]
    timestamp: Vec<String>,
    #[serde(default)]
    computer: Vec<String>,
    #[serde(default)]
    record_id: Vec<String>,
    #[serde(default)]
    roots: Option<Vec<String>>,
    #[serde(default)]
    fields: BTreeMap<String, OneOrMany>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn paths(self) -> Vec<JsonPath> {
        match self {
            OneOrMany::One(p) => vec![path(&p)],
            OneOrMany::Many(ps) => ps.iter().map(|p| path(p)).collect(),
        }
    }
}

fn paths(ps: &[&str]) -> Vec<JsonPath> {
    ps.iter().map(|p| path(p)).collect()
}

fn field_table(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<JsonPath>> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), paths(v)))
        .collect()
}

/// The names of the built-in profiles.
pub const BUILTIN: [&str; 4] = ["sysmon", "evtx", "winlogbeat", "ecs"];

impl Profile {
    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Option<Profile> {
        Some(match name {
            "sysmon" => Profile::sysmon(),
            "evtx" => Profile::evtx(),
            "winlogbeat" => Profile::winlogbeat(),
            "ecs" => Profile::ecs(),
            _ => return None,
        })
    }

    /// Flat events: fields at the top level (Sysmon via NXLog, OTRF, Logstash exports).
    pub fn sysmon() -> Profile {
        Profile {
            name: "sysmon".into(),
            detect: Vec::new(),
            channel: paths(&["Channel"]),
            event_id: paths(&["EventID", "EventId"]),
            provider: paths(&["Provider_Name", "SourceName", "ProviderName"]),
            timestamp: paths(&[
                "UtcTime",
                "TimeCreated",
                "@timestamp",
                "EventTime",
                "timestamp",
            ]),
            computer: paths(&["Computer", "Hostname", "ComputerName"]),
            record_id: paths(&["EventRecordID", "RecordNumber"]),
            roots: paths(&[""]),
            fields: field_table(&[
                ("EventID", &["EventID", "EventId"]),
                ("Computer", &["Computer", "Hostname"]),
                (
                    "Provider_Name",
                    &["Provider_Name", "SourceName", "ProviderName"],
                ),
            ]),
        }
    }

    /// The shape of the `evtx` crate and `evtx_dump`: `Event.System`, `Event.EventData`, `Event.UserData`.
    pub fn evtx() -> Profile {
        Profile {
            name: "evtx".into(),
            detect: paths(&["Event.System"]),
            channel: paths(&["Event.System.Channel"]),
            event_id: paths(&["Event.System.EventID"]),
            provider: paths(&["Event.System.Provider.#attributes.Name"]),
            timestamp: paths(&["Event.System.TimeCreated.#attributes.SystemTime"]),
            computer: paths(&["Event.System.Computer"]),
            record_id: paths(&["Event.System.EventRecordID"]),
            roots: paths(&["Event.EventData", "Event.UserData.*", "Event.System"]),
            fields: field_table(&[
                ("EventID", &["Event.System.EventID"]),
                ("Channel", &["Event.System.Channel"]),
                ("Computer", &["Event.System.Computer"]),
                ("Provider_Name", &["Event.System.Provider.#attributes.Name"]),
                ("Provider_Guid", &["Event.System.Provider.#attributes.Guid"]),
                (
                    "Security_UserID",
                    &["Event.System.Security.#attributes.UserID"],
                ),
                (
                    "TimeCreated",
                    &["Event.System.TimeCreated.#attributes.SystemTime"],
                ),
                ("EventRecordID", &["Event.System.EventRecordID"]),
            ]),
        }
    }

    /// Elastic Winlogbeat: `winlog.event_data`, `winlog.event_id`, `winlog.channel`.
    pub fn winlogbeat() -> Profile {
        Profile {
            name: "winlogbeat".into(),
            detect: paths(&["winlog"]),
            channel: paths(&["winlog.channel"]),
            event_id: paths(&["winlog.event_id", "event.code"]),
            provider: paths(&["winlog.provider_name", "event.provider"]),
            timestamp: paths(&["@timestamp"]),
            computer: paths(&["winlog.computer_name", "host.name"]),
            record_id: paths(&["winlog.record_id"]),
            roots: paths(&["winlog.event_data", "winlog.user_data", "winlog", ""]),
            fields: field_table(&[
                ("EventID", &["winlog.event_id", "event.code"]),
                ("Channel", &["winlog.channel"]),
                ("Computer", &["winlog.computer_name", "host.name"]),
                ("Provider_Name", &["winlog.provider_name", "event.provider"]),
                ("EventRecordID", &["winlog.record_id"]),
            ]),
        }
    }

    /// Elastic Common Schema: `process.command_line`, `process.executable`, `event.code`, …
    pub fn ecs() -> Profile {
        Profile {
            name: "ecs".into(),
            detect: paths(&["event.code"]),
            channel: paths(&["winlog.channel"]),
            event_id: paths(&["event.code", "winlog.event_id"]),
            provider: paths(&["event.provider", "winlog.provider_name"]),
            timestamp: paths(&["@timestamp"]),
            computer: paths(&["host.name", "host.hostname"]),
            record_id: paths(&["winlog.record_id", "event.sequence"]),
            roots: paths(&["winlog.event_data", ""]),
            fields: field_table(&[
                ("EventID", &["event.code"]),
                ("Channel", &["winlog.channel"]),
                ("Computer", &["host.name", "host.hostname"]),
                ("Provider_Name", &["event.provider"]),
                ("CommandLine", &["process.command_line"]),
                ("Image", &["process.executable"]),
                ("ProcessId", &["process.pid"]),
                ("ProcessGuid", &["process.entity_id"]),
                ("CurrentDirectory", &["process.working_directory"]),
                ("OriginalFileName", &["process.pe.original_file_name"]),
                ("Company", &["process.pe.company"]),
                ("Description", &["process.pe.description"]),
                ("Product", &["process.pe.product"]),
                ("FileVersion", &["process.pe.file_version"]),
                ("ParentCommandLine", &["process.parent.command_line"]),
                ("ParentImage", &["process.parent.executable"]),
                ("ParentProcessId", &["process.parent.pid"]),
                ("ParentProcessGuid", &["process.parent.entity_id"]),
                ("User", &["user.name"]),
                ("LogonId", &["winlog.logon.id"]),
                ("DestinationIp", &["destination.ip"]),
                ("DestinationPort", &["destination.port"]),
                ("DestinationHostname", &["destination.domain"]),
                ("SourceIp", &["source.ip"]),
                ("SourcePort", &["source.port"]),
                ("SourceHostname", &["source.domain"]),
                ("Protocol", &["network.transport"]),
                ("TargetFilename", &["file.path"]),
                ("ImageLoaded", &["dll.path", "file.path"]),
                ("TargetObject", &["registry.path"]),
                ("Details", &["registry.data.strings"]),
                ("QueryName", &["dns.question.name"]),
                ("ScriptBlockText", &["powershell.file.script_block_text"]),
            ]),
        }
    }

    /// Parses a custom profile from YAML.
    pub fn from_yaml(text: &str) -> Result<Profile, ErrorKind> {
        let f: ProfileFile =
            serde_norway::from_str(text).map_err(|e| ErrorKind::Yaml(e.to_string()))?;
        let ps = |v: &[String]| v.iter().map(|p| path(p)).collect::<Vec<_>>();
        Ok(Profile {
            name: f.name,
            detect: ps(&f.detect),
            channel: ps(&f.channel),
            event_id: ps(&f.event_id),
            provider: ps(&f.provider),
            timestamp: ps(&f.timestamp),
            computer: ps(&f.computer),
            record_id: ps(&f.record_id),
            roots: f.roots.map_or_else(|| vec![Vec::new()], |r| ps(&r)),
            fields: f.fields.into_iter().map(|(k, v)| (k, v.paths())).collect(),
        })
    }

    /// The built-in profile that fits an event: `evtx` when it has `Event.System`;
    /// `ecs` when it has `event.code` or `ecs.version` (Winlogbeat 7+ writes ECS
    /// and moves fields out of `winlog.event_data`; the `ecs` profile still reads
    /// what is left there); `winlogbeat` when it has a `winlog` object; else the
    /// flat `sysmon` profile.
    pub fn detect(event: &Value) -> Profile {
        if resolve(event, &path("Event.System")).is_some() {
            Profile::evtx()
        } else if resolve(event, &path("event.code")).is_some()
            || resolve(event, &path("ecs.version")).is_some()
        {
            Profile::ecs()
        } else if event.get("winlog").is_some_and(Value::is_object) {
            Profile::winlogbeat()
        } else {
            Profile::sysmon()
        }
    }

    /// Whether an event has every `detect` path of this profile.
    pub fn fits(&self, event: &Value) -> bool {
        self.detect.iter().all(|p| resolve(event, p).is_some())
    }

    /// The values of a Sigma field in an event: its explicit paths first, then
    /// each root in order (see the module documentation).
    pub fn lookup<'a>(&self, event: &'a Value, field: &str) -> Vec<&'a Value> {
        let mut found = Vec::new();
        self.lookup_each(event, field, |v| found.push(v));
        found
    }

    /// [`Profile::lookup`], handing each value to `each` in order (no
    /// list built: stage 2 looks fields up once per event and field).
    pub fn lookup_each<'a>(&self, event: &'a Value, field: &str, mut each: impl FnMut(&'a Value)) {
        if let Some(ps) = self.fields.get(field) {
            for p in ps {
                if let Some(v) = resolve(event, p) {
                    each(unwrap_text(v));
                    return;
                }
            }
        }
        for root in &self.roots {
            let mut found = 0;
            let mut counted = |v: &'a Value| {
                found += 1;
                each(unwrap_text(v));
            };
            if root.is_empty() {
                // The event itself: no list of bases.
                find_field_each(event, field, &mut counted);
            } else {
                for base in resolve_roots(event, root) {
                    find_field_each(base, field, &mut counted);
                }
            }
            if found > 0 {
                return;
            }
        }
    }

    /// The event's channel.
    pub fn channel<'a>(&self, event: &'a Value) -> Option<&'a str> {
        first(event, &self.channel).and_then(Value::as_str)
    }

    /// The event's provider name.
    pub fn provider<'a>(&self, event: &'a Value) -> Option<&'a str> {
        first(event, &self.provider).and_then(Value::as_str)
    }

    /// The event id, whether written as a number, a string or `{"#text": …}`.
    pub fn event_id(&self, event: &Value) -> Option<i64> {
        match first(event, &self.event_id)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The event time as written.
    pub fn timestamp<'a>(&self, event: &'a Value) -> Option<&'a Value> {
        first(event, &self.timestamp)
    }

    /// The host name.
    pub fn computer<'a>(&self, event: &'a Value) -> Option<&'a Value> {
        first(event, &self.computer)
    }
}

fn first<'a>(event: &'a Value, ps: &[JsonPath]) -> Option<&'a Value> {
    ps.iter().find_map(|p| resolve(event, p)).map(unwrap_text)
}

/// Objects of up to this many members are searched in order for a name:
/// comparing names (lengths first) costs less than hashing the one looked
/// up (serde_json's map hashes with SipHash; an event's lookups took ~290
/// instructions each that way, callgrind over generated process creations).
const SEARCHED_IN_ORDER: usize = 16;

/// The member `name` of an object (names are unique: the one a hashed
/// lookup finds).
fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if object.len() <= SEARCHED_IN_ORDER {
        object.iter().find_map(|(k, v)| (k == name).then_some(v))
    } else {
        object.get(name)
    }
}

/// The member `name` of a value, when it is an object.
fn member_of<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    member(value.as_object()?, name)
}

/// The value at a path, if every step exists.
pub fn resolve<'a>(event: &'a Value, p: &[String]) -> Option<&'a Value> {
    let mut cur = event;
    for seg in p {
        cur = member_of(cur, seg)?;
    }
    Some(cur)
}

/// The objects a root path names (`*` = every member that is an object).
fn resolve_roots<'a>(event: &'a Value, root: &[String]) -> Vec<&'a Value> {
    let mut cur = vec![event];
    for seg in root {
        let mut next = Vec::new();
        for v in cur {
            let Some(obj) = v.as_object() else { continue };
            if seg == "*" {
                next.extend(obj.values().filter(|v| v.is_object()));
            } else if let Some(child) = member(obj, seg) {
                next.push(child);
            }
        }
        cur = next;
    }
    cur
}

/// `{"#text": v, …}` reads as `v`.
fn unwrap_text(v: &Value) -> &Value {
    match member_of(v, "#text") {
        Some(text) => text,
        None => v,
    }
}

/// A field inside one object: the exact member, else a dotted path through
/// nested objects (arrays searched element by element), else a member whose
/// name equals the field once spaces are removed.
pub fn find_field<'a>(base: &'a Value, field: &str) -> Vec<&'a Value> {
    let mut found = Vec::new();
    find_field_each(base, field, |v| found.push(v));
    found
}

/// [`find_field`], handing each value to `each` in order.
fn find_field_each<'a>(base: &'a Value, field: &str, mut each: impl FnMut(&'a Value)) {
    if let Some(v) = member_of(base, field) {
        return each(v);
    }
    if field.contains('.') {
        let mut found = false;
        each_at_dotted_path(base, field, &mut |v| {
            found = true;
            each(v);
        });
        if found {
            return;
        }
    }
    if let Some(obj) = base.as_object() {
        // A name that reads as the field once its spaces go is longer than
        // the field: shorter names (most of an event's) are not searched.
        let spaced = |k: &str| {
            k.len() > field.len()
                && k.contains(' ')
                && k.chars().filter(|c| *c != ' ').eq(field.chars())
        };
        if let Some((_, v)) = obj.iter().find(|(k, _)| spaced(k)) {
            each(v);
        }
    }
}

/// Each value at the dotted `path` below `v`, in document order: the
/// member named by the first segment (of `v`, or of each element of an
/// array, arrays within arrays too), then the rest of the path below it.
/// Depth first, so no list of the values at each level is built; the order
/// is that of reading level by level, as every value of a level comes
/// after its parent's earlier siblings' descendants.
fn each_at_dotted_path<'a>(v: &'a Value, path: &str, each: &mut dyn FnMut(&'a Value)) {
    let (part, rest) = match path.split_once('.') {
        Some((part, rest)) => (part, Some(rest)),
        None => (path, None),
    };
    match v {
        Value::Object(map) => {
            if let Some(m) = member(map, part) {
                match rest {
                    Some(rest) => each_at_dotted_path(m, rest, each),
                    None => each(m),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|i| each_at_dotted_path(i, path, each)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_found_as_a_hashed_lookup_finds_them() {
        // Objects on both sides of the size searched in order, names of
        // equal lengths and prefixes of one another.
        for size in [
            0,
            1,
            2,
            SEARCHED_IN_ORDER - 1,
            SEARCHED_IN_ORDER,
            SEARCHED_IN_ORDER + 1,
            40,
        ] {
            let object: Map<String, Value> = (0..size)
                .map(|k| (format!("{}{k:02}", "a".repeat(k % 3)), json!(k)))
                .collect();
            let value = Value::Object(object.clone());
            for k in 0..size + 2 {
                for name in [
                    format!("{}{k:02}", "a".repeat(k % 3)),
                    format!("{k:02}"),
                    format!("a{k}"),
                ] {
                    assert_eq!(member(&object, &name), object.get(&name), "{size} {name}");
                    assert_eq!(member_of(&value, &name), value.get(&name));
                }
            }
        }
        assert_eq!(member_of(&json!(["a"]), "0"), None);
        assert_eq!(member_of(&json!("a"), "a"), None);
    }

    /// The values at a dotted path read level by level: every value of a
    /// level (arrays opened) before the next level's.
    fn level_by_level<'a>(base: &'a Value, field: &str) -> Vec<&'a Value> {
        fn members<'a>(v: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
            match v {
                Value::Object(map) => out.extend(map.get(name)),
                Value::Array(items) => items.iter().for_each(|i| members(i, name, out)),
                _ => {}
            }
        }
        let mut current = vec![base];
        for part in field.split('.') {
            let mut next = Vec::new();
            for v in current {
                members(v, part, &mut next);
            }
            current = next;
        }
        current
    }

    #[test]
    fn dotted_paths_give_the_values_of_every_level_in_document_order() {
        let event = json!({
            "a": [
                {"b": [{"c": 1}, [{"c": 2}, {"c": 3}], {"d": 4}]},
                [{"b": {"c": 5}}, {"b": [{"c": [6, 7]}]}],
                {"x": {"c": 8}},
                "a.b"
            ],
            "e": {"": {"f": 9}, "g.h": 10},
            "s": {"t": null}
        });
        for field in [
            "a.b.c", "a.b", "a.x.c", "a.b.d", "e..f", "e.", "e.g.h", "s.t", "s.t.u", "a.b.c.d",
            "q.r",
        ] {
            let mut found = Vec::new();
            each_at_dotted_path(&event, field, &mut |v| found.push(v));
            assert_eq!(found, level_by_level(&event, field), "{field}");
        }
        let mut found = Vec::new();
        each_at_dotted_path(&event, "a.b.c", &mut |v| found.push(v));
        assert_eq!(
            found,
            [json!(1), json!(2), json!(3), json!(5), json!([6, 7])]
                .iter()
                .collect::<Vec<_>>()
        );
        // A dotted name that is a member of its own is read whole first.
        let named = json!({"g.h": 1, "g": {"h": 2}});
        assert_eq!(find_field(&named, "g.h"), vec![&json!(1)]);
        let nested = json!({"g": {"h": 2}});
        assert_eq!(find_field(&nested, "g.h"), vec![&json!(2)]);
        // No value at the path: the name without its spaces, as before.
        let spaced = json!({"g .h": 3});
        assert_eq!(find_field(&spaced, "g.h"), vec![&json!(3)]);
    }

    #[test]
    fn evtx_quirks() {
        let p = Profile::evtx();
        let ev = json!({"Event": {"System": {"EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688}, "Channel": "Security"},
                                   "EventData": {"NewProcessName": "C:\\x.exe", "Threat Name": "EICAR"},
                                   "UserData": {"LogFileCleared": {"SubjectUserName": "bob"}}}});
        assert_eq!(p.event_id(&ev), Some(4688));
        assert_eq!(p.channel(&ev), Some("Security"));
        assert_eq!(p.lookup(&ev, "NewProcessName"), vec![&json!("C:\\x.exe")]);
        assert_eq!(p.lookup(&ev, "ThreatName"), vec![&json!("EICAR")]);
        assert_eq!(p.lookup(&ev, "SubjectUserName"), vec![&json!("bob")]);
        assert_eq!(p.lookup(&ev, "EventID"), vec![&json!(4688)]);
        let null_data = json!({"Event": {"System": {"EventID": "1"}, "EventData": null}});
        assert_eq!(p.event_id(&null_data), Some(1));
        assert!(p.lookup(&null_data, "Image").is_empty());
    }

    #[test]
    fn unnamed_data_list_and_mixed_types() {
        let p = Profile::evtx();
        let ev = json!({"Event": {"System": {"EventID": 7045}, "EventData": {"Data": ["svc", "C:\\x.exe"]}}});
        assert_eq!(p.lookup(&ev, "Data"), vec![&json!(["svc", "C:\\x.exe"])]);
        let wrapped = json!({"Event": {"System": {"EventID": 1}, "EventData": {"Data": {"#text": ["a", "b"]}}}});
        assert_eq!(p.lookup(&wrapped, "Data"), vec![&json!(["a", "b"])]);
    }

    #[test]
    fn detection() {
        assert_eq!(
            Profile::detect(&json!({"Event": {"System": {}}})).name,
            "evtx"
        );
        assert_eq!(
            Profile::detect(&json!({"winlog": {"channel": "Security"}})).name,
            "winlogbeat"
        );
        assert_eq!(
            Profile::detect(&json!({"event": {"code": "1"}})).name,
            "ecs"
        );
        assert_eq!(Profile::detect(&json!({"EventID": 1})).name, "sysmon");
    }

    #[test]
    fn custom_profile() {
        let p = Profile::from_yaml(
            "name: mine\ndetect: [log.channel]\nchannel: [log.channel]\nevent_id: [log.id]\nroots: [data]\nfields: {CommandLine: [proc.cmd, proc.cmdline]}\n",
        )
        .unwrap();
        let ev = json!({"log": {"channel": "Security", "id": "4688"}, "data": {"User": "x"}, "proc": {"cmdline": "c"}});
        assert!(p.fits(&ev));
        assert_eq!(p.event_id(&ev), Some(4688));
        assert_eq!(p.lookup(&ev, "CommandLine"), vec![&json!("c")]);
        assert_eq!(p.lookup(&ev, "User"), vec![&json!("x")]);
        assert!(Profile::from_yaml("name: x\nbogus: 1\n").is_err());
    }
}
