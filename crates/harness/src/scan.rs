//! `hypersigma scan`: match events against rules, one detection per line out.
//!
//! Inputs are files, directories (walked recursively) or `-` for stdin, in any
//! shape the runtime reads (JSON lines, JSON arrays, concatenated JSON, EVTX,
//! gzip, zstd). Each input's field profile is detected from its first event
//! unless `--profile` names one. Matching runs on the runtime's engine
//! (Hyperscan stage 1, verified condition programs in stage 2) in the
//! multi-threaded pipeline; detections come out in input order.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use hypersigma_compiler::{evaluate_detailed, EvalOptions, Profile, Rule};
use hypersigma_runtime::engine::{Engine, EngineOptions};
use hypersigma_runtime::input::{self, Position};
use hypersigma_runtime::pipeline::{self, Detection, Output};

/// Options of `scan`.
#[derive(clap::Args)]
pub struct Args {
    /// Rule files or directories (repeatable).
    #[arg(short = 'r', long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// YAML file of placeholder values for the `expand` modifier.
    #[arg(long)]
    placeholders: Option<PathBuf>,
    /// Field profile: sysmon, evtx, winlogbeat, ecs, or a profile YAML file
    /// (default: detected from the first event of each input).
    #[arg(long)]
    profile: Option<String>,
    /// Evaluate rules whose log source is unmapped against every event.
    #[arg(long)]
    unscoped: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Jsonl)]
    output: Format,
    /// No summary on stderr.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Worker threads (default: all cores). Output order never depends on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the stage-1 prefilter: evaluate every rule on every event (for testing and comparison).
    #[arg(long)]
    no_prefilter: bool,
    /// Inputs: files, directories, or `-` for stdin (the default).
    inputs: Vec<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// One JSON object per detection.
    Jsonl,
}

/// Resolves `--profile`: a built-in name or a YAML file.
pub fn profile_option(spec: Option<&str>) -> Result<Option<Profile>> {
    let Some(spec) = spec else { return Ok(None) };
    if let Some(p) = Profile::builtin(spec) {
        return Ok(Some(p));
    }
    let text = std::fs::read_to_string(spec).with_context(|| {
        format!(
            "--profile {spec}: neither a built-in profile ({}) nor a readable file",
            hypersigma_compiler::profile::BUILTIN.join(", ")
        )
    })?;
    let profile = Profile::from_yaml(&text).with_context(|| format!("profile file {spec}"))?;
    Ok(Some(profile))
}

/// Runs `scan`.
pub fn run(args: Args) -> Result<ExitCode> {
    let set = crate::compile::load(&args.rules, args.placeholders.as_ref())?;
    if !args.quiet {
        for e in &set.rejected {
            eprintln!("hypersigma: rule rejected: {e}");
        }
    }
    let forced = profile_option(args.profile.as_deref())?;
    let inputs = if args.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.inputs.clone()
    };
    let files = input::expand_inputs(&inputs)?;
    let options = EvalOptions {
        unscoped: args.unscoped,
    };
    let engine = Engine::new(
        set.rules,
        EngineOptions {
            no_prefilter: args.no_prefilter,
            unscoped: args.unscoped,
            ..Default::default()
        },
    )?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let start = Instant::now();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut totals = Output::default();
    let mut write_error: Option<io::Error> = None;
    let rules = engine.rules();
    pipeline::run(
        &engine,
        &files,
        forced.as_ref(),
        threads,
        |d, buf| {
            for &r in d.rules {
                let rule = &rules[r as usize];
                let result = evaluate_detailed(rule, d.event, d.profile, options);
                let record = detection(rule, d, result);
                if serde_json::to_writer(&mut *buf, &record).is_ok() {
                    buf.push(b'\n');
                }
            }
        },
        |chunk| {
            if let Err(e) = out.write_all(&chunk.stdout) {
                write_error = Some(e);
                return false;
            }
            if !args.quiet && !chunk.stderr.is_empty() {
                let _ = io::stderr().write_all(&chunk.stderr);
            }
            totals.events += chunk.events;
            totals.rejected += chunk.rejected;
            totals.detections += chunk.detections;
            totals.candidates += chunk.candidates;
            totals.bytes += chunk.bytes;
            true
        },
    )?;
    if let Some(e) = write_error {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    out.flush()?;
    let secs = start.elapsed().as_secs_f64();
    if !args.quiet {
        eprintln!(
            "{} events read, {} inputs or lines rejected, {} detections in {secs:.3} s \
             ({:.0} events/s, {:.1} MB/s, {threads} threads, {:.1}% of events reached stage 2)",
            totals.events,
            totals.rejected,
            totals.detections,
            totals.events as f64 / secs.max(1e-9),
            totals.bytes as f64 / 1e6 / secs.max(1e-9),
            100.0 * totals.candidates as f64 / (totals.events.max(1)) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn detection(
    rule: &Rule,
    d: &Detection<'_>,
    result: hypersigma_compiler::Evaluation,
) -> serde_json::Value {
    let m = &rule.meta;
    let mut source = serde_json::json!({"path": d.path.display().to_string()});
    match d.position {
        Position::Line(l) => source["line"] = l.into(),
        Position::Record(r) => source["record"] = r.into(),
    }
    serde_json::json!({
        "rule": {
            "id": m.id, "title": m.title,
            "level": m.level.map(|l| l.as_str()),
            "status": m.status.map(|s| s.as_str()),
            "tags": m.tags, "author": m.author, "references": m.references,
        },
        "source": source,
        "timestamp": d.profile.timestamp(d.event),
        "computer": d.profile.computer(d.event),
        "profile": d.profile.name,
        "logsource": result.source,
        "selections": result.selections,
        "event": d.event,
    })
}
