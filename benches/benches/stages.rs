//! One benchmark per stage on fixed inputs: the strict lexing pass, stage-1
//! scan, JSON parse, field lookup, program VM, and the whole engine on one
//! event; beside the lexing pass, a general JSON validator's pass over the
//! same lines (`serde_json` reading each into `IgnoredAny`), for scale.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use hypersigma_benches::{rules, sample_events};
use hypersigma_compiler::program::Program;
use hypersigma_compiler::Profile;
use hypersigma_runtime::engine::{Engine, EngineOptions};
use hypersigma_runtime::members::MemberIndex;

fn stages(c: &mut Criterion) {
    let events = sample_events();
    let rules = rules();
    let engine = Engine::new(rules.clone(), EngineOptions::default()).expect("engine");
    let profile = Profile::sysmon();
    let parsed: Vec<serde_json::Value> = events
        .iter()
        .filter_map(|e| serde_json::from_slice(e).ok())
        .collect();

    c.bench_function("member_index", |b| {
        let mut index = MemberIndex::default();
        b.iter(|| {
            for e in &events {
                black_box(index.build(e));
            }
        })
    });
    c.bench_function("json_validate", |b| {
        b.iter(|| {
            for e in &events {
                black_box(serde_json::from_slice::<serde::de::IgnoredAny>(e).is_ok());
            }
        })
    });
    c.bench_function("stage1_scan", |b| {
        let mut scanner = engine.scanner().expect("scanner");
        b.iter(|| {
            for e in &events {
                black_box(scanner.candidates(e).len());
            }
        })
    });
    c.bench_function("json_parse", |b| {
        b.iter(|| {
            for e in &events {
                black_box(serde_json::from_slice::<serde_json::Value>(e).ok());
            }
        })
    });
    c.bench_function("field_lookup", |b| {
        b.iter(|| {
            for e in &parsed {
                black_box(profile.lookup(e, "CommandLine").len());
                black_box(profile.lookup(e, "ParentImage").len());
            }
        })
    });
    let condition = &rules[0].detection.condition;
    let program =
        Program::compile(condition, rules[0].detection.selections.len()).expect("program");
    c.bench_function("program_vm", |b| {
        b.iter(|| black_box(program.run(&mut |i| i % 2 == 0)))
    });
    c.bench_function("whole_engine", |b| {
        let mut scanner = engine.scanner().expect("scanner");
        b.iter(|| {
            for e in &events {
                black_box(scanner.match_event(e, &profile));
            }
        })
    });
}

criterion_group!(benches, stages);
criterion_main!(benches);
