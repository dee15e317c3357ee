//! Fuzz target: any text as a rule file. Parsing, lowering and evaluating
//! whatever compiles — detection rules, filters applied to them, and
//! correlations run over a few sightings — must never panic; errors are values.
#![no_main]

use hypersigma_compiler::filter::apply_filters;
use hypersigma_compiler::program::Program;
use hypersigma_compiler::witness::{rule_witnesses, Strategy};
use hypersigma_compiler::{evaluate, parse_documents, CompileOptions, Document, Profile};
use hypersigma_runtime::correlate::{CorrelationSet, Correlator, EventRef, Limits};
use hypersigma_runtime::input::Position;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let event = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
        "CommandLine": "cmd.exe /c whoami", "Image": "C:\\Windows\\System32\\cmd.exe",
        "User": "CONTOSO\\alice", "DestinationIp": "10.1.2.3", "Count": 5,
        "UtcTime": "2026-01-01 00:00:00.000"
    });
    let profile = Profile::sysmon();
    let (mut rules, mut correlations, mut filters) = (Vec::new(), Vec::new(), Vec::new());
    for document in parse_documents(&text, None, &CompileOptions::default())
        .into_iter()
        .flatten()
    {
        match document {
            Document::Rule(r) => rules.push(r),
            Document::Correlation(c) => correlations.push(c),
            Document::Filter(f) => filters.push(f),
        }
    }
    apply_filters(&mut rules, &filters);
    for rule in &rules {
        let _ = rule_witnesses(rule, Strategy::Rarest);
        if let Ok(program) =
            Program::compile(&rule.detection.condition, rule.detection.selections.len())
        {
            let _ = program.disassemble(&[]);
        }
        let _ = evaluate(rule, &event, &profile);
    }
    if let Ok(set) = CorrelationSet::new(correlations, &rules) {
        let mut correlator = Correlator::new(
            &set,
            Limits {
                max_groups: 4,
                max_sightings: 8,
                arrival_time: true,
            },
        );
        let mut sightings = Vec::new();
        for k in 0..12u64 {
            let all: Vec<u32> = (0..rules.len() as u32).collect();
            set.sightings(
                &event,
                &profile,
                || EventRef {
                    path: "f".into(),
                    position: Position::Line(k),
                },
                &all,
                &mut sightings,
            );
            for s in sightings.drain(..) {
                let _ = correlator.observe(s);
            }
        }
    }
    for rule in rules {
        if let Ok(engine) = hypersigma_runtime::engine::Engine::new(vec![rule], Default::default())
        {
            if let Ok(mut scanner) = engine.scanner() {
                let _ = scanner.match_event(event.to_string().as_bytes(), &profile);
            }
        }
    }
});
