//! `bench --stream`: every replay reads the inputs from disk through the
//! pipeline `scan` runs (a reader thread cutting chunks of raw lines,
//! workers matching them, results back in input order), so the run holds
//! no corpus: its peak resident set is what matching takes, whatever the
//! inputs' size. The floors read the same inputs with the same reader on
//! one thread, splitting (and for the parse floor parsing) each event and
//! matching none, in the same rounds as the matching (`rounds.rs`). What
//! the workers do with a detection besides counting it (formatting
//! output) is not timed, and stage 1 and stage 2 are not timed apart.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use hypersigma_compiler::Profile;
use hypersigma_runtime::engine::Engine;
use hypersigma_runtime::pipeline::{self, Output, ReadOptions};

use super::{rounds, run_json, Args, LoadedMemory, Measured, Measurement, RunFigures};

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
    // Untimed: the first read of an input may come from the disk; the
    // replays find it in the page cache. It counts the events and bytes
    // every replay must find.
    let read = pipeline::read_only(&inputs, forced, read_options, false);
    if read.events == 0 {
        bail!("no events in the inputs");
    }
    let megabytes = read.bytes as f64 / 1e6;
    eprintln!(
        "bench: {} rules, {} events, {megabytes:.1} MB streamed from disk in each of {repeat} rounds",
        engine.rules().len(),
        read.events,
    );
    let unchanged = |events: u64| {
        if events != read.events {
            bail!(
                "the inputs changed while measured: {} events read, then {events}",
                read.events
            );
        }
        Ok(())
    };
    let floor =
        |parse: bool| unchanged(pipeline::read_only(&inputs, forced, read_options, parse).events);

    let loaded = LoadedMemory::now();
    // One untimed replay first, as in memory: what the engine builds on
    // first use is then built.
    let warm = replay(&inputs, engine, forced, read_options, 1)?;
    let timed = rounds::run(
        repeat,
        &args.threads,
        || floor(false),
        || floor(true),
        |threads| {
            let totals = replay(&inputs, engine, forced, read_options, threads)?;
            unchanged(totals.events)?;
            Ok(totals.counts)
        },
    )?;
    let mut measured = Measurement {
        events: read.events,
        megabytes,
        profiles: warm.profiles,
        split: timed.split,
        parse: timed.parse,
        runs: Vec::new(),
        memory: serde_json::Value::Null,
        peak_rss: None,
        per_rule: Vec::new(),
    };
    for (threads, replays, counts) in timed.runs {
        let figures = RunFigures {
            threads,
            replays,
            counts,
            stages_timed: false,
        };
        measured.runs.push(run_json(&figures, &measured));
    }
    (measured.peak_rss, measured.memory) = loaded.at_end(None);
    Ok(measured)
}
