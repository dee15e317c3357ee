//! `hypersigma demo`: the product in one command. Generates a corpus in
//! memory (benign Windows telemetry with planted attacks), runs the project's
//! bundled rule set over it (`corpus/rules`, embedded in the binary; it holds
//! an Impacket-style remote-execution rule in the spirit of the seed rule),
//! prints the first detections, the count per rule, and the throughput beside
//! the read-and-split floor measured in the same run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use hypersigma_compiler::correlation::Correlation;
use hypersigma_compiler::{parse_documents, CompileOptions, Document, Profile, Rule};
use hypersigma_runtime::correlate::{Correlator, EventRef, Limits};
use hypersigma_runtime::engine::{Engine, EngineOptions, Verdict};
use hypersigma_runtime::input::Position;
use hypersigma_runtime::pipeline::Detection;

use crate::gen::{self, Shape};
use crate::output::{CorrelationRecord, Format, Record};

/// The bundled rules (file name, YAML).
const BUNDLED: [(&str, &str); 10] = [
    (
        "certutil_download.yml",
        include_str!("../../../corpus/rules/certutil_download.yml"),
    ),
    (
        "credential_tool_keywords.yml",
        include_str!("../../../corpus/rules/credential_tool_keywords.yml"),
    ),
    (
        "encoded_powershell.yml",
        include_str!("../../../corpus/rules/encoded_powershell.yml"),
    ),
    (
        "lateral_movement_logons.yml",
        include_str!("../../../corpus/rules/lateral_movement_logons.yml"),
    ),
    (
        "logon_brute_force.yml",
        include_str!("../../../corpus/rules/logon_brute_force.yml"),
    ),
    (
        "office_spawns_shell.yml",
        include_str!("../../../corpus/rules/office_spawns_shell.yml"),
    ),
    (
        "rdp_logon_from_public_address.yml",
        include_str!("../../../corpus/rules/rdp_logon_from_public_address.yml"),
    ),
    (
        "remote_exec_impacket_style.yml",
        include_str!("../../../corpus/rules/remote_exec_impacket_style.yml"),
    ),
    (
        "rundll32_no_arguments.yml",
        include_str!("../../../corpus/rules/rundll32_no_arguments.yml"),
    ),
    (
        "self_spawn_user_folder.yml",
        include_str!("../../../corpus/rules/self_spawn_user_folder.yml"),
    ),
];

/// Options of `demo`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  hypersigma demo
  hypersigma demo --events 1000000 --show 0
  hypersigma demo -r ../shared/sigma/rules/windows/process_creation")]
pub struct Args {
    /// Events to generate.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rules to run instead of the bundled set (files or directories).
    #[arg(short = 'r', long = "rules")]
    rules: Vec<PathBuf>,
    /// Detections to print (the rest are counted).
    #[arg(long, default_value_t = 15)]
    show: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn bundled_rules() -> Result<(Vec<Rule>, Vec<Correlation>)> {
    let (mut rules, mut correlations) = (Vec::new(), Vec::new());
    for (name, text) in BUNDLED {
        for d in parse_documents(text, Some(Path::new(name)), &CompileOptions::default()) {
            match d.with_context(|| format!("bundled rule {name}"))? {
                Document::Rule(r) => rules.push(r),
                Document::Correlation(c) => correlations.push(c),
                Document::Filter(_) => {}
            }
        }
    }
    Ok((rules, correlations))
}

/// Runs `demo`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (rules, correlations) = if args.rules.is_empty() {
        bundled_rules()?
    } else {
        let set = crate::compile::load(&args.rules, None)?;
        (set.rules, set.correlations)
    };
    let gen_args = gen::Args::for_demo(args.events, args.seed);
    let mut corpus = Vec::new();
    let t = Instant::now();
    let stats = gen::generate(&gen_args, Box::new(&mut corpus), None)?;
    let gen_secs = t.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "generated {} events ({:.1} MB, {} planted attacks) in {gen_secs:.2} s; running {} rules \
         and {} correlations",
        args.events,
        corpus.len() as f64 / 1e6,
        stats.planted,
        rules.len(),
        correlations.len()
    )?;
    let mut engine = Engine::new(rules, EngineOptions::default())?;
    engine.set_correlations(correlations)?;
    let lines: Vec<(usize, usize)> = line_spans(&corpus);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let profile = Profile::sysmon();
    // Floor: the same lines split, nothing matched.
    let t = Instant::now();
    let floor_lines = crate::bench::split_floor(&corpus);
    let floor_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let chunk = lines.len().div_ceil(threads).max(1);
    let found: Vec<(usize, Vec<u32>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| {
                let (engine, corpus, profile) = (&engine, &corpus, &profile);
                scope.spawn(move || -> Result<Vec<(usize, Vec<u32>)>> {
                    let mut scanner = engine.scanner()?;
                    let mut hits = Vec::new();
                    for (i, &(s, e)) in part.iter().enumerate() {
                        if let Verdict::Matched(r) = scanner.match_event(&corpus[s..e], profile) {
                            if !r.is_empty() {
                                hits.push((k * chunk + i, r));
                            }
                        }
                    }
                    Ok(hits)
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            match h.join() {
                Ok(part) => all.extend(part?),
                Err(_) => anyhow::bail!("a matching thread panicked"),
            }
        }
        Ok(all)
    })?;
    // Correlations: the matches in input order through one correlator.
    let set = engine.correlations();
    let mut correlator = Correlator::new(set, Limits::default());
    let mut hits = Vec::new();
    let path = PathBuf::from("<generated>");
    let mut sightings = Vec::new();
    for (line, rules) in &found {
        if !rules.iter().any(|&r| set.reads(r)) {
            continue;
        }
        let (s, e) = lines[*line];
        let Ok(event) = serde_json::from_slice::<serde_json::Value>(&corpus[s..e]) else {
            continue;
        };
        let at = || EventRef::new(&path, Position::Line(*line as u64 + 1));
        set.sightings(&event, &profile, at, rules, &mut sightings);
        for sighting in sightings.drain(..) {
            hits.extend(correlator.observe(sighting));
        }
    }
    let found: Vec<(usize, Vec<u32>)> = found
        .into_iter()
        .filter_map(|(line, mut rules)| {
            rules.retain(|&r| set.reports(r));
            (!rules.is_empty()).then_some((line, rules))
        })
        .collect();
    let secs = t.elapsed().as_secs_f64().max(1e-9);
    let detections: usize = found.iter().map(|(_, r)| r.len()).sum::<usize>() + hits.len();
    let mut per_rule = vec![0usize; engine.rules().len()];
    for &r in found.iter().flat_map(|(_, rules)| rules) {
        per_rule[r as usize] += 1;
    }
    if args.show > 0 && !found.is_empty() {
        let mut shown = Format::Table.header(false);
        let scanner = engine.scanner()?;
        for (line, rules) in found.iter().take(args.show) {
            let (s, e) = lines[*line];
            let Ok(event) = serde_json::from_slice(&corpus[s..e]) else {
                continue;
            };
            let explain = |r: u32| scanner.explain(r, &event, &profile);
            let d = Detection {
                path: &path,
                position: Position::Line(*line as u64 + 1),
                event: &event,
                line: &corpus[s..e],
                profile: &profile,
                rules,
                explain: &explain,
            };
            for &r in rules {
                let rule = &engine.rules()[r as usize];
                let result = explain(r);
                Record {
                    rule,
                    detection: &d,
                    result: &result,
                    event_json: None,
                    rule_json: None,
                }
                .write(Format::Table, false, &mut shown);
            }
        }
        out.write_all(&shown)?;
        if found.len() > args.show {
            writeln!(
                out,
                "… and {} more events with detections",
                found.len() - args.show
            )?;
        }
    }
    if !hits.is_empty() {
        writeln!(
            out,
            "\ncorrelation detections (stateful, over the matches above):"
        )?;
        let mut shown = Vec::new();
        for hit in &hits {
            CorrelationRecord {
                correlation: &set.correlations()[hit.correlation],
                hit,
            }
            .write(Format::Table, false, &mut shown);
        }
        out.write_all(&shown)?;
    }
    writeln!(out, "\ndetections per rule:")?;
    for (r, (rule, n)) in engine.rules().iter().zip(&per_rule).enumerate() {
        if !set.reports(r as u32) {
            continue;
        }
        let level = rule.meta.level.map_or("", |l| l.as_str());
        writeln!(out, "  {n:>7}  {level:<9} {}", rule.meta.title)?;
    }
    for (c, correlation) in set.correlations().iter().enumerate() {
        let n = hits.iter().filter(|h| h.correlation == c).count();
        let level = correlation.meta.level.map_or("", |l| l.as_str());
        writeln!(
            out,
            "  {n:>7}  {level:<9} {} (correlation)",
            correlation.meta.title
        )?;
    }
    let mb = corpus.len() as f64 / 1e6;
    writeln!(
        out,
        "\n{detections} detections in {} events: {:.0} events/s, {:.0} MB/s with {threads} threads \
         ({:.2} of the single-thread read-and-split floor, {:.0} events/s)",
        lines.len(),
        lines.len() as f64 / secs,
        mb / secs,
        floor_secs / secs,
        floor_lines as f64 / floor_secs.max(1e-9)
    )?;
    Ok(ExitCode::SUCCESS)
}

fn line_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    let newlines = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i);
    for end in newlines {
        if end > start {
            spans.push((start, end));
        }
        start = end + 1;
    }
    if start < bytes.len() {
        spans.push((start, bytes.len()));
    }
    spans
}

impl gen::Args {
    /// A sysmon-shaped corpus with planted attacks, as `demo` generates it.
    pub fn for_demo(events: u64, seed: u64) -> gen::Args {
        gen::Args {
            events,
            seed,
            profile: Shape::Sysmon,
            attacks: true,
            attack_rate: 500,
            sequence_rate: 20,
            truth: None,
            output: None,
            quiet: true,
        }
    }
}
