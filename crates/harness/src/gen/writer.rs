//! Writes one event as a JSON line in one of the four shapes: `sysmon` (flat),
//! `evtx` (evtx_dump), `winlogbeat` and `ecs`, the way those tools lay it out.

use super::fields::{escape_into, number_into, time_into, Fields, Header, Val};

/// The output shape.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// Flat fields at the top level (NXLog / OTRF style).
    Sysmon,
    /// `Event.System` / `Event.EventData` (evtx_dump).
    Evtx,
    /// `winlog.event_data` (Winlogbeat 6).
    Winlogbeat,
    /// Elastic Common Schema (Winlogbeat 7+).
    Ecs,
}

/// Sigma field → ECS path, for the fields ECS names (as the `ecs` profile reads them).
const ECS_FIELDS: [(&str, &[&str]); 17] = [
    ("CommandLine", &["process", "command_line"]),
    ("Image", &["process", "executable"]),
    ("ProcessId", &["process", "pid"]),
    ("ProcessGuid", &["process", "entity_id"]),
    ("CurrentDirectory", &["process", "working_directory"]),
    ("OriginalFileName", &["process", "pe", "original_file_name"]),
    ("ParentImage", &["process", "parent", "executable"]),
    ("ParentCommandLine", &["process", "parent", "command_line"]),
    ("ParentProcessId", &["process", "parent", "pid"]),
    ("ParentProcessGuid", &["process", "parent", "entity_id"]),
    ("User", &["user", "name"]),
    ("DestinationIp", &["destination", "ip"]),
    ("DestinationPort", &["destination", "port"]),
    ("SourceIp", &["source", "ip"]),
    ("TargetFilename", &["file", "path"]),
    ("TargetObject", &["registry", "path"]),
    ("QueryName", &["dns", "question", "name"]),
];

fn key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    escape_into(out, name);
    out.extend_from_slice(b"\":");
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

fn value(out: &mut Vec<u8>, fields: &Fields, v: Val) {
    match v {
        Val::Num(n) => number_into(out, n),
        Val::Str(..) => string(out, fields.get(v).unwrap_or("")),
    }
}

/// Writes `"k":v,` for each field whose name passes `keep`, with a leading
/// comma unless `first`.
fn members(
    out: &mut Vec<u8>,
    fields: &Fields,
    keep: impl Fn(&str) -> bool,
    mut first: bool,
) -> bool {
    for (name, v) in fields.names.iter().zip(&fields.values) {
        if !keep(name) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        key(out, name);
        value(out, fields, *v);
    }
    first
}

/// Appends one event and a newline.
pub fn write_event(out: &mut Vec<u8>, shape: Shape, h: &Header, computer: &str, fields: &Fields) {
    match shape {
        Shape::Sysmon => {
            out.extend_from_slice(b"{\"EventID\":");
            number_into(out, u64::from(h.event_id));
            out.extend_from_slice(b",\"Channel\":");
            string(out, h.channel);
            out.extend_from_slice(b",\"Provider_Name\":");
            string(out, h.provider);
            out.extend_from_slice(b",\"Computer\":");
            string(out, computer);
            out.extend_from_slice(b",\"EventRecordID\":");
            number_into(out, h.record_id);
            out.extend_from_slice(b",\"TimeCreated\":\"");
            time_into(out, h.time_ms, false);
            out.push(b'"');
            members(out, fields, |_| true, false);
            out.push(b'}');
        }
        Shape::Evtx => {
            out.extend_from_slice(b"{\"Event\":{\"#attributes\":{\"xmlns\":\"http://schemas.microsoft.com/win/2004/08/events/event\"},\"System\":{\"Provider\":{\"#attributes\":{\"Name\":");
            string(out, h.provider);
            out.extend_from_slice(b",\"Guid\":");
            string(out, h.provider_guid);
            out.extend_from_slice(b"}},\"EventID\":");
            number_into(out, u64::from(h.event_id));
            out.extend_from_slice(b",\"Version\":");
            number_into(out, u64::from(h.version));
            out.extend_from_slice(b",\"Level\":");
            number_into(out, u64::from(h.level));
            out.extend_from_slice(b",\"Task\":");
            number_into(out, u64::from(h.task));
            out.extend_from_slice(b",\"Opcode\":0,\"Keywords\":");
            string(out, h.keywords);
            out.extend_from_slice(b",\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"");
            time_into(out, h.time_ms, false);
            out.extend_from_slice(b"\"}},\"EventRecordID\":");
            number_into(out, h.record_id);
            out.extend_from_slice(
                b",\"Correlation\":null,\"Execution\":{\"#attributes\":{\"ProcessID\":",
            );
            number_into(out, u64::from(h.process_id));
            out.extend_from_slice(b",\"ThreadID\":");
            number_into(out, u64::from(h.thread_id));
            out.extend_from_slice(b"}},\"Channel\":");
            string(out, h.channel);
            out.extend_from_slice(b",\"Computer\":");
            string(out, computer);
            out.extend_from_slice(b",\"Security\":{\"#attributes\":{\"UserID\":");
            string(out, h.user_sid);
            out.extend_from_slice(b"}}},\"EventData\":{");
            members(out, fields, |_| true, true);
            out.extend_from_slice(b"}}}");
        }
        Shape::Winlogbeat => {
            out.extend_from_slice(b"{\"@timestamp\":\"");
            time_into(out, h.time_ms, false);
            out.extend_from_slice(b"\",\"host\":{\"name\":");
            string(out, computer);
            out.extend_from_slice(b"},\"winlog\":{\"channel\":");
            string(out, h.channel);
            out.extend_from_slice(b",\"event_id\":\"");
            number_into(out, u64::from(h.event_id));
            out.extend_from_slice(b"\",\"provider_name\":");
            string(out, h.provider);
            out.extend_from_slice(b",\"computer_name\":");
            string(out, computer);
            out.extend_from_slice(b",\"record_id\":");
            number_into(out, h.record_id);
            out.extend_from_slice(b",\"event_data\":{");
            members(out, fields, |_| true, true);
            out.extend_from_slice(b"}}}");
        }
        Shape::Ecs => write_ecs(out, h, computer, fields),
    }
    out.push(b'\n');
}

fn write_ecs(out: &mut Vec<u8>, h: &Header, computer: &str, fields: &Fields) {
    out.extend_from_slice(b"{\"@timestamp\":\"");
    time_into(out, h.time_ms, false);
    out.extend_from_slice(b"\",\"ecs\":{\"version\":\"8.11.0\"},\"event\":{\"code\":\"");
    number_into(out, u64::from(h.event_id));
    out.extend_from_slice(b"\",\"provider\":");
    string(out, h.provider);
    out.extend_from_slice(b",\"kind\":\"event\"},\"host\":{\"name\":");
    string(out, computer);
    out.push(b'}');
    // The ECS members, grouped by their first path segments (in ECS_FIELDS order).
    let present: Vec<(&[&str], Val)> = ECS_FIELDS
        .iter()
        .filter_map(|(sigma, path)| {
            let i = fields.names.iter().position(|n| n == sigma)?;
            Some((*path, fields.values[i]))
        })
        .collect();
    // A comma goes before every member except the first of an object.
    let mut open: Vec<&str> = Vec::new();
    let mut need_comma = true;
    for (path, v) in &present {
        let (parents, leaf) = path.split_at(path.len() - 1);
        let common = open.iter().zip(parents).take_while(|(a, b)| a == b).count();
        while open.len() > common {
            out.push(b'}');
            open.pop();
            need_comma = true;
        }
        for seg in &parents[common..] {
            if need_comma {
                out.push(b',');
            }
            key(out, seg);
            out.push(b'{');
            open.push(seg);
            need_comma = false;
        }
        if need_comma {
            out.push(b',');
        }
        key(out, leaf[0]);
        value(out, fields, *v);
        need_comma = true;
    }
    for _ in open.drain(..) {
        out.push(b'}');
    }
    out.extend_from_slice(b",\"winlog\":{\"channel\":");
    string(out, h.channel);
    out.extend_from_slice(b",\"record_id\":");
    number_into(out, h.record_id);
    out.extend_from_slice(b",\"event_data\":{");
    members(
        out,
        fields,
        |n| !ECS_FIELDS.iter().any(|(s, _)| *s == n),
        true,
    );
    out.extend_from_slice(b"}}}");
}
