//! `bench --stream`: every replay reads the inputs from disk through the
//! pipeline `scan` runs (a reader thread cutting chunks of raw lines,
//! workers matching them, results back in input order), so the run holds
//! no corpus: its peak resident set is what matching takes, whatever the
//! inputs' size. The floors read the same inputs with the same reader on
//! one thread, splitting (and for the parse floor parsing) each event and
//! matching none. What the workers do with a detection besides counting it
//! (formatting output) is not timed, and stage 1 and stage 2 are not timed
//! apart.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use hypersigma_compiler::Profile;
use hypersigma_runtime::engine::Engine;
use hypersigma_runtime::pipeline::{self, Output, ReadOptions};

use super::{run_json, Args, LoadedMemory, Measured, Measurement, RunFigures};

/// What one streamed replay counted.
#[derive(Default)]
struct Totals {
    events: u64,
    counts: Measured,
    profiles: Vec<String>,
}

/// One replay of every input (files, directories expanded) through the
/// pipeline on `threads` workers.
fn replay(
    inputs: &[PathBuf],
    engine: &Engine,
    forced: Option<&Profile>,
    read: ReadOptions,
    threads: usize,
) -> Result<Totals> {
    let mut totals = Totals::default();
    pipeline::run(
        engine,
        inputs,
        forced,
        read,
        threads,
        |_, _| {},
        |out: Output| {
            totals.events += out.events;
            totals.counts = totals.counts.merged(Measured {
                // As in memory: every rule matched, reported alone or not.
                detections: out.matches,
                stage2_events: out.candidates,
                candidates: out.candidate_rules,
                ..Measured::default()
            });
            if let Some(p) = out.profile {
                if !totals.profiles.contains(&p) {
                    totals.profiles.push(p);
                }
            }
            true
        },
    )?;
    Ok(totals)
}

/// The benchmark with the inputs streamed from disk on every replay.
pub(super) fn measure(
    args: &Args,
    engine: &Engine,
    forced: Option<&Profile>,
    repeat: u32,
) -> Result<Measurement> {
    let inputs = hypersigma_runtime::input::expand_inputs(&args.inputs)?;
    // Every replay reads every input again: standard input cannot be read
    // twice, and an input that cannot be opened is said now, not counted
    // as none.
    for path in &inputs {
        if path.as_os_str() == "-" {
            bail!("--stream reads its inputs again on every replay: standard input cannot be; save it to a file, or measure it without --stream");
        }
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    let read_options = ReadOptions {
        mmap: !args.no_mmap,
        ..ReadOptions::default()
    };
    let floor = |parse: bool| {
        let t = Instant::now();
        let mut count = pipeline::ReadCount::default();
        for _ in 0..repeat {
            count = pipeline::read_only(&inputs, forced, read_options, parse);
        }
        (count, t.elapsed().as_secs_f64() / f64::from(repeat))
    };
    // Untimed: the first read of an input may come from the disk; the
    // replays find it in the page cache.
    pipeline::read_only(&inputs, forced, read_options, false);
    let (read, split_secs) = floor(false);
    if read.events == 0 {
        bail!("no events in the inputs");
    }
    let (_, parse_secs) = floor(true);
    let megabytes = read.bytes as f64 / 1e6;
    eprintln!(
        "bench: {} rules, {} events, {megabytes:.1} MB streamed from disk on each of {repeat} replays",
        engine.rules().len(),
        read.events,
    );

    let loaded = LoadedMemory::now();
    // One untimed replay first, as in memory: what the engine builds on
    // first use is then built.
    let warm = replay(&inputs, engine, forced, read_options, 1)?;
    let mut measured = Measurement {
        events: read.events,
        megabytes,
        profiles: warm.profiles,
        split_secs,
        parse_secs,
        runs: Vec::new(),
        memory: serde_json::Value::Null,
        peak_rss: None,
        per_rule: Vec::new(),
    };
    for &threads in &args.threads {
        let threads = threads.max(1);
        let t = Instant::now();
        let mut totals = Totals::default();
        for _ in 0..repeat {
            totals = replay(&inputs, engine, forced, read_options, threads)?;
        }
        let seconds = t.elapsed().as_secs_f64() / f64::from(repeat);
        if totals.events != read.events {
            bail!(
                "the inputs changed while measured: {} events read, then {}",
                read.events,
                totals.events
            );
        }
        let figures = RunFigures {
            threads,
            seconds,
            counts: totals.counts,
            stages_timed: false,
        };
        measured.runs.push(run_json(&figures, &measured));
    }
    (measured.peak_rss, measured.memory) = loaded.at_end(None);
    Ok(measured)
}
