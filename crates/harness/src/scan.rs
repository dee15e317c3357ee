//! `hypersigma scan`: match JSON-lines events against rules, one detection per line out.
//!
//! This version evaluates with the compiler's reference evaluator over events
//! whose fields are named as the rules name them; log-source scoping, field
//! profiles and the fast path come with their own issues.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use hypersigma_compiler::evaluate_detailed;
use hypersigma_runtime::reader::JsonLines;

/// Options of `scan`.
#[derive(clap::Args)]
pub struct Args {
    /// Rule files or directories (repeatable).
    #[arg(short = 'r', long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// YAML file of placeholder values for the `expand` modifier.
    #[arg(long)]
    placeholders: Option<PathBuf>,
    /// JSON-lines inputs; `-` or none reads standard input.
    inputs: Vec<PathBuf>,
}

/// Runs `scan`.
pub fn run(args: Args) -> Result<ExitCode> {
    let set = crate::compile::load(&args.rules, args.placeholders.as_ref())?;
    for e in &set.rejected {
        eprintln!("hypersigma: rule rejected: {e}");
    }
    let inputs = if args.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.inputs
    };
    let start = Instant::now();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let (mut events, mut rejected, mut detections) = (0u64, 0u64, 0u64);
    for input in &inputs {
        let reader: Box<dyn BufRead> = if input.as_os_str() == "-" {
            Box::new(BufReader::new(io::stdin()))
        } else {
            Box::new(BufReader::new(
                File::open(input).with_context(|| format!("cannot open {}", input.display()))?,
            ))
        };
        for line in JsonLines::new(reader) {
            let event = match line.event {
                Ok(e) => e,
                Err(err) => {
                    rejected += 1;
                    eprintln!("{}:{}: {err}", input.display(), line.number);
                    continue;
                }
            };
            events += 1;
            for rule in &set.rules {
                let result = evaluate_detailed(rule, &event);
                if !result.matched {
                    continue;
                }
                detections += 1;
                let m = &rule.meta;
                let record = serde_json::json!({
                    "rule": {
                        "id": m.id, "title": m.title,
                        "level": m.level.map(|l| l.as_str()),
                        "status": m.status.map(|s| s.as_str()),
                        "tags": m.tags, "author": m.author, "references": m.references,
                    },
                    "source": {"path": input.display().to_string(), "line": line.number},
                    "selections": result.selections,
                    "event": event,
                });
                serde_json::to_writer(&mut out, &record)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{events} events read, {rejected} lines rejected, {detections} detections in {secs:.3} s ({:.0} events/s)",
        events as f64 / secs.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
