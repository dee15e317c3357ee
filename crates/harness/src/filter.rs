//! `hypersigma filter`: the collector hot path. Events come in on stdin, one
//! JSON object per line; out go the events that match, each with a `sigma`
//! member listing the matching rules (`--tag-only`: every event, the member
//! added only where rules matched). Output is flushed whenever the input has
//! nothing more buffered, so latency stays low under a trickle and throughput
//! high under load. Bad lines are reported on stderr (with their line number)
//! and do not stop the stream; with `--tag-only` they pass through unchanged.
//! Tags are per event: rules read only by correlations (`generate: false`)
//! do not tag, and correlations themselves, being stateful over many events,
//! are evaluated by `scan`.

use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use hypersigma_compiler::Profile;
use hypersigma_runtime::engine::Verdict;
use serde_json::{json, Value};

use crate::scan::RuleArgs;

/// Options of `filter`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  vector ... | hypersigma filter -r rules/ | kafka-console-producer ...
  tail -F /var/log/sysmon.jsonl | hypersigma filter -r sigma/rules/windows --min-level high
  hypersigma filter -r rules/ --tag-only < events.jsonl > tagged.jsonl

Exit status: 0 = the input ended (bad lines are reported, not fatal), 2 = usage
error, unreadable rules, or no rule compiled.")]
pub struct Args {
    #[command(flatten)]
    rules: RuleArgs,
    /// Pass every event through; add the `sigma` member only where rules matched.
    #[arg(long)]
    tag_only: bool,
    /// Name of the member added to matching events.
    #[arg(long, default_value = "sigma")]
    member: String,
    /// No summary on stderr at the end (bad lines are still reported).
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// Runs `filter`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (forced, engine) = args.rules.engine(false, args.quiet)?;
    let mut scanner = engine.scanner()?;
    let mut profile: Option<Profile> = forced;
    let stdin = io::stdin();
    let mut input = BufReader::with_capacity(1 << 20, stdin.lock());
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let start = Instant::now();
    let (mut lines, mut rejected, mut passed, mut tagged) = (0u64, 0u64, 0u64, 0u64);
    let mut line = Vec::new();
    let result: io::Result<()> = (|| {
        loop {
            if input.buffer().is_empty() {
                out.flush()?;
            }
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            lines += 1;
            let raw = trim_line_end(&line);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let profile = match &profile {
                Some(p) => p,
                None => match serde_json::from_slice::<Value>(raw) {
                    Ok(v) => profile.insert(Profile::detect(&v)),
                    // The line is reported below; detection waits for a good one.
                    Err(_) => &Profile::sysmon(),
                },
            };
            let (verdict, value, _) = scanner.match_event_full(raw, profile);
            match (verdict, value) {
                (Verdict::Rejected(reason), _) => {
                    rejected += 1;
                    eprintln!("stdin:{lines}: {reason}");
                    if args.tag_only {
                        out.write_all(raw)?;
                        out.write_all(b"\n")?;
                    }
                }
                (Verdict::Matched(mut matched), Some(Value::Object(mut event)))
                    if matched.iter().any(|&r| engine.correlations().reports(r)) =>
                {
                    matched.retain(|&r| engine.correlations().reports(r));
                    let list: Vec<Value> = matched
                        .iter()
                        .filter_map(|&r| engine.rules().get(r as usize))
                        .map(|r| {
                            json!({"id": r.meta.id, "title": r.meta.title,
                                   "level": r.meta.level.map(|l| l.as_str())})
                        })
                        .collect();
                    event.insert(args.member.clone(), Value::Array(list));
                    serde_json::to_writer(&mut out, &event)?;
                    out.write_all(b"\n")?;
                    tagged += 1;
                }
                _ => {
                    if args.tag_only {
                        out.write_all(raw)?;
                        out.write_all(b"\n")?;
                        passed += 1;
                    }
                }
            }
        }
        out.flush()
    })();
    // A closed stdout ends the run quietly: see `main`.
    result.context("filter")?;
    if !args.quiet {
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        eprintln!(
            "{lines} lines read, {rejected} rejected, {tagged} events matched, {passed} passed \
             through untagged ({:.0} lines/s)",
            lines as f64 / secs
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The line without its `\n` or `\r\n`.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
