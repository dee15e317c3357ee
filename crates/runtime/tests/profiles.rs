//! The same events in the `sysmon`, `evtx`, `winlogbeat` and `ecs` shapes give
//! the same detections.
//!
//! The events are the real EVTX exports in `../shared/events/evtx-attack-samples`
//! (evtx_dump's shape); the converters below write each one as a flat Sysmon
//! export, a Winlogbeat document and an ECS document, the way those tools lay
//! the fields out. Every SigmaHQ Windows rule is evaluated on every event in
//! every shape (auto-detected profile) and the verdicts must agree; the log
//! source each event is taken as must agree too.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hypersigma_compiler::{
    evaluate, evaluate_detailed, load_paths, CompileOptions, EvalOptions, Profile, Scope,
};
use hypersigma_runtime::input;
use serde_json::{json, Map, Value};

fn shared() -> PathBuf {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        shared.join("events").is_dir(),
        "{} not found",
        shared.display()
    );
    shared
}

fn unwrap_text(v: &Value) -> Value {
    v.get("#text").cloned().unwrap_or_else(|| v.clone())
}

struct Parts {
    system: Map<String, Value>,
    data: Map<String, Value>,
}

fn parts(event: &Value) -> Parts {
    let system = event["Event"]["System"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut data = Map::new();
    if let Some(d) = event["Event"]["EventData"].as_object() {
        for (k, v) in d {
            data.insert(k.clone(), unwrap_text(v));
        }
    }
    if let Some(u) = event["Event"]["UserData"].as_object() {
        for inner in u.values() {
            if let Some(o) = inner.as_object() {
                for (k, v) in o {
                    if k != "#attributes" {
                        data.insert(k.clone(), unwrap_text(v));
                    }
                }
            }
        }
    }
    Parts { system, data }
}

fn provider(system: &Map<String, Value>) -> Value {
    system
        .get("Provider")
        .and_then(|p| p.get("#attributes"))
        .and_then(|a| a.get("Name"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn system_time(system: &Map<String, Value>) -> Value {
    system
        .get("TimeCreated")
        .and_then(|t| t.get("#attributes"))
        .and_then(|a| a.get("SystemTime"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn event_id(system: &Map<String, Value>) -> Value {
    system
        .get("EventID")
        .map(unwrap_text)
        .unwrap_or(Value::Null)
}

/// A flat export (NXLog / OTRF): System and EventData members at the top level.
fn to_flat(event: &Value) -> Value {
    let p = parts(event);
    let mut flat = Map::new();
    flat.insert("EventID".into(), event_id(&p.system));
    flat.insert(
        "Channel".into(),
        p.system.get("Channel").cloned().unwrap_or(Value::Null),
    );
    flat.insert(
        "Computer".into(),
        p.system.get("Computer").cloned().unwrap_or(Value::Null),
    );
    flat.insert("Provider_Name".into(), provider(&p.system));
    flat.insert("TimeCreated".into(), system_time(&p.system));
    for (k, v) in p.data {
        flat.entry(k).or_insert(v);
    }
    Value::Object(flat)
}

/// A Winlogbeat document (event id as a string, as Winlogbeat 7+ writes it).
fn to_winlogbeat(event: &Value) -> Value {
    let p = parts(event);
    let id = event_id(&p.system);
    json!({
        "@timestamp": system_time(&p.system),
        "winlog": {
            "channel": p.system.get("Channel"),
            "event_id": id.as_i64().map(|i| i.to_string()).map(Value::from).unwrap_or(id),
            "provider_name": provider(&p.system),
            "computer_name": p.system.get("Computer"),
            "record_id": p.system.get("EventRecordID"),
            "event_data": p.data,
        }
    })
}

/// ECS: the Sysmon fields ECS names moved to their ECS homes, the rest under `winlog.event_data`.
fn to_ecs(event: &Value) -> Value {
    const ECS: [(&str, &str); 12] = [
        ("CommandLine", "process.command_line"),
        ("Image", "process.executable"),
        ("ProcessId", "process.pid"),
        ("ParentImage", "process.parent.executable"),
        ("ParentCommandLine", "process.parent.command_line"),
        ("ParentProcessId", "process.parent.pid"),
        ("User", "user.name"),
        ("DestinationIp", "destination.ip"),
        ("DestinationPort", "destination.port"),
        ("TargetFilename", "file.path"),
        ("TargetObject", "registry.path"),
        ("QueryName", "dns.question.name"),
    ];
    let p = parts(event);
    let mut data = p.data;
    let mut doc = json!({
        "@timestamp": system_time(&p.system),
        "event": {"code": event_id(&p.system).to_string().trim_matches('"'), "provider": provider(&p.system)},
        "host": {"name": p.system.get("Computer")},
        "winlog": {"channel": p.system.get("Channel")},
    });
    for (sigma, ecs) in ECS {
        if let Some(v) = data.remove(sigma) {
            let mut cur = &mut doc;
            let segments: Vec<&str> = ecs.split('.').collect();
            for seg in &segments[..segments.len() - 1] {
                cur = cur
                    .as_object_mut()
                    .unwrap()
                    .entry(seg.to_string())
                    .or_insert_with(|| json!({}));
            }
            cur[segments[segments.len() - 1]] = v;
        }
    }
    doc["winlog"]["event_data"] = Value::Object(data);
    doc
}

#[test]
fn same_detections_in_every_shape() {
    let shared = shared();
    let set = load_paths(
        &[shared.join("sigma/rules/windows")],
        &CompileOptions::default(),
    );
    assert!(set.rules.len() > 2000);
    // Rules grouped by scope: the scope decision is checked once per group.
    let mut groups: BTreeMap<String, (Scope, Vec<usize>)> = BTreeMap::new();
    for (i, rule) in set.rules.iter().enumerate() {
        let key = format!("{:?}", rule.scope);
        groups
            .entry(key)
            .or_insert_with(|| (rule.scope.clone(), Vec::new()))
            .1
            .push(i);
    }
    let files = input::expand_inputs(&[shared.join("events/evtx-attack-samples/jsonl")]).unwrap();
    let profiles = [
        Profile::evtx(),
        Profile::sysmon(),
        Profile::winlogbeat(),
        Profile::ecs(),
    ];
    let converters: [fn(&Value) -> Value; 4] = [|e| e.clone(), to_flat, to_winlogbeat, to_ecs];
    let (mut events, mut detections, mut mismatches) = (0usize, 0usize, Vec::new());
    for file in &files {
        for item in input::open(file).unwrap() {
            let original = item.unwrap().value;
            let shapes: Vec<Value> = converters.iter().map(|c| c(&original)).collect();
            for (shape, profile) in shapes.iter().zip(&profiles) {
                assert_eq!(Profile::detect(shape).name, profile.name, "{shape}");
            }
            events += 1;
            for (scope, rules) in groups.values() {
                let Scope::Sources(sources) = scope else {
                    continue;
                };
                let taken: Vec<Option<usize>> = shapes
                    .iter()
                    .zip(&profiles)
                    .map(|(s, p)| sources.iter().position(|src| src.matches(p, s)))
                    .collect();
                if taken.iter().any(|t| *t != taken[0]) {
                    mismatches.push(format!(
                        "{}: scope {:?} taken as {taken:?}",
                        file.display(),
                        sources[0].label
                    ));
                    continue;
                }
                if taken[0].is_none() {
                    continue;
                }
                for &i in rules {
                    let rule = &set.rules[i];
                    // The lazy `evaluate` must agree with `evaluate_detailed` as well.
                    let mut verdicts: Vec<bool> = shapes
                        .iter()
                        .zip(&profiles)
                        .map(|(s, p)| evaluate_detailed(rule, s, p, EvalOptions::default()).matched)
                        .collect();
                    verdicts.push(evaluate(rule, &shapes[0], &profiles[0]));
                    if verdicts.iter().any(|v| *v != verdicts[0]) {
                        mismatches.push(format!(
                            "{} in {}: evtx/sysmon/winlogbeat/ecs/evtx-lazy verdicts {verdicts:?}",
                            rule.key(),
                            file.display()
                        ));
                    }
                    detections += usize::from(verdicts[0]);
                }
            }
        }
    }
    println!(
        "{events} events in 4 shapes, {} rules, {detections} detections, {} mismatches",
        set.rules.len(),
        mismatches.len()
    );
    assert!(
        events > 8000 && detections > 1000,
        "{events} events, {detections} detections"
    );
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches[..mismatches.len().min(30)].join("\n")
    );
}
