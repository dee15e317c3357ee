//! `hypersigma scan`: match events against rules, one detection per line out.
//!
//! Inputs are files, directories (walked recursively) or `-` for stdin, in any
//! shape the runtime reads (JSON lines, JSON arrays, concatenated JSON, EVTX,
//! gzip, zstd). Each input's field profile is detected from its first event
//! unless `--profile` names one. Matching uses the compiler's reference
//! evaluator with log-source scoping; the fast path replaces it with its issue.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use hypersigma_compiler::{evaluate_detailed, EvalOptions, Profile, Rule};
use hypersigma_runtime::input::{self, Event, Position};

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

#[derive(Default)]
struct Totals {
    events: u64,
    rejected: u64,
    detections: u64,
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
    let start = Instant::now();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut totals = Totals::default();
    for path in &files {
        let events = match input::open(path) {
            Ok(events) => events,
            Err(e) => {
                eprintln!("hypersigma: {e}");
                totals.rejected += 1;
                continue;
            }
        };
        let mut profile = forced.clone();
        for item in events {
            let event = match item {
                Ok(event) => event,
                Err(rejected) => {
                    totals.rejected += 1;
                    if !args.quiet {
                        eprintln!("{}: {}", located(path, rejected.position), rejected.reason);
                    }
                    continue;
                }
            };
            totals.events += 1;
            let profile = profile.get_or_insert_with(|| Profile::detect(&event.value));
            for rule in &set.rules {
                let result = evaluate_detailed(rule, &event.value, profile, options);
                if result.matched {
                    totals.detections += 1;
                    let record = detection(rule, &event, path, profile, result);
                    serde_json::to_writer(&mut out, &record)?;
                    out.write_all(b"\n")?;
                }
            }
        }
    }
    out.flush()?;
    let secs = start.elapsed().as_secs_f64();
    if !args.quiet {
        eprintln!(
            "{} events read, {} inputs or lines rejected, {} detections in {secs:.3} s ({:.0} events/s)",
            totals.events,
            totals.rejected,
            totals.detections,
            totals.events as f64 / secs.max(1e-9)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn located(path: &std::path::Path, position: Option<Position>) -> String {
    match position {
        Some(Position::Line(l)) => format!("{}:{l}", path.display()),
        Some(Position::Record(r)) => format!("{}: record {r}", path.display()),
        None => path.display().to_string(),
    }
}

fn detection(
    rule: &Rule,
    event: &Event,
    path: &std::path::Path,
    profile: &Profile,
    result: hypersigma_compiler::Evaluation,
) -> serde_json::Value {
    let m = &rule.meta;
    let mut source = serde_json::json!({"path": path.display().to_string()});
    match event.position {
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
        "timestamp": profile.timestamp(&event.value),
        "computer": profile.computer(&event.value),
        "profile": profile.name,
        "logsource": result.source,
        "selections": result.selections,
        "event": event.value,
    })
}
