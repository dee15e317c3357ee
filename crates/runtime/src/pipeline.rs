//! The multi-threaded pipeline: a reader thread cuts inputs into chunks of
//! raw events, workers match them (each with its own [`crate::engine::Scanner`]), and the
//! caller's writer receives the results in input order, whatever the thread count.
//!
//! JSON-lines inputs travel as raw lines (parsed only in the workers); other
//! formats (EVTX, arrays, concatenated JSON) are parsed by the readers and
//! passed on re-serialised. Channels are bounded, so memory stays flat however
//! large the input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crossbeam_channel::bounded;
use hypersigma_compiler::{Evaluation, Profile};
use serde_json::Value;

use crate::accounting::RejectCounts;
use crate::correlate::{EventRef, Sighting};
use crate::engine::{Engine, EngineError, Verdict};
use crate::input::Position;
use crate::read_chunks::{located, read_inputs, Chunk, ChunkEvents};

pub use crate::read_chunks::{ReadOptions, CHUNK_EVENTS};

/// One event handed to the formatter.
pub struct Detection<'a> {
    /// The input.
    pub path: &'a Path,
    /// Where in it.
    pub position: Position,
    /// The event.
    pub event: &'a Value,
    /// Its line as read (the JSON text `event` was parsed from).
    pub line: &'a [u8],
    /// The profile it was read with.
    pub profile: &'a Profile,
    /// The matching rules (indices into [`Engine::rules`]).
    pub rules: &'a [u32],
    /// What the reference's `evaluate_detailed` says of one of `rules` on
    /// the event (its log source and the selections that hold), for output.
    pub explain: &'a dyn Fn(u32) -> Evaluation,
}

/// What the writer receives for each chunk, in input order.
#[derive(Default)]
pub struct Output {
    /// Formatted detections.
    pub stdout: Vec<u8>,
    /// One line per rejected line, record or input.
    pub stderr: Vec<u8>,
    /// Events read: lines and records, evaluated or rejected.
    pub events: u64,
    /// Lines and records rejected (`events - rejected` were evaluated).
    pub rejected: u64,
    /// The rejections by kind.
    pub rejects: RejectCounts,
    /// Inputs that could not be opened, or ended in a read error.
    pub inputs_failed: u64,
    /// Detections ((event, rule) pairs).
    pub detections: u64,
    /// Events that reached stage 2 (had at least one candidate rule).
    pub candidates: u64,
    /// Bytes of raw events.
    pub bytes: u64,
    /// Candidate rules after stage 1, summed over the events.
    pub candidate_rules: u64,
    /// Stage-2 events whose verdict was remembered (not evaluated again).
    pub remembered: u64,
    /// Events whose candidate rules were remembered (stage 1 not run
    /// again).
    pub remembered_candidates: u64,
    /// The field profile the chunk's events were read with.
    pub profile: Option<String>,
    /// Matches of rules that correlations read, in input order (for the
    /// writer's [`crate::correlate::Correlator`]).
    pub sightings: Vec<Sighting>,
}

/// Matches every input with `threads` workers; `format` turns one matched event
/// into output bytes (in a worker), `write` receives each chunk's output in order.
pub fn run<F, W>(
    engine: &Engine,
    inputs: &[PathBuf],
    forced: Option<&Profile>,
    read: ReadOptions,
    threads: usize,
    format: F,
    mut write: W,
) -> Result<(), EngineError>
where
    F: Fn(&Detection<'_>, &mut Vec<u8>) + Sync,
    W: FnMut(Output) -> bool,
{
    let threads = threads.max(1);
    let (chunk_tx, chunk_rx) = bounded::<Chunk>(threads * 4);
    let (out_tx, out_rx) = bounded::<(u64, Output)>(threads * 4);
    // Emptied event buffers, back to the reader.
    let (recycle_tx, recycle_rx) = bounded::<ChunkEvents>(threads + 2);
    let mut scanners = Vec::with_capacity(threads);
    for _ in 0..threads {
        scanners.push(engine.scanner()?);
    }
    let format = &format;
    // The channels move into the scope: when the writer stops early (its
    // reader went away), returning drops them, so the workers' and the
    // reader's sends fail and they end instead of waiting for room.
    std::thread::scope(move |scope| {
        let reader_tx = chunk_tx.clone();
        std::thread::Builder::new()
            .name("hypersigma-reader".into())
            .spawn_scoped(scope, move || {
                read_inputs(
                    inputs,
                    forced,
                    read,
                    &|c| reader_tx.send(c).is_ok(),
                    &|| recycle_rx.try_recv().ok(),
                )
            })
            .ok();
        drop(chunk_tx);
        for (w, mut scanner) in scanners.into_iter().enumerate() {
            let rx = chunk_rx.clone();
            let tx = out_tx.clone();
            let recycle = recycle_tx.clone();
            std::thread::Builder::new()
                .name(format!("hypersigma-worker-{w}"))
                .spawn_scoped(scope, move || {
                    let fallback = Profile::sysmon();
                    for chunk in rx {
                        let mut out = Output::default();
                        for e in &chunk.errors {
                            match e.kind {
                                Some(kind) => {
                                    out.events += 1;
                                    out.rejected += 1;
                                    out.rejects.add(kind);
                                }
                                None => out.inputs_failed += 1,
                            }
                            out.stderr.extend_from_slice(e.message.as_bytes());
                            out.stderr.push(b'\n');
                        }
                        let profile = chunk.profile.as_deref().unwrap_or(&fallback);
                        out.profile = Some(profile.name.clone());
                        let remembered_before = scanner.remembered_verdicts();
                        let candidates_before = scanner.remembered_candidates();
                        for (position, raw) in chunk.events.iter() {
                            out.events += 1;
                            out.bytes += raw.len() as u64 + 1;
                            let (verdict, event, candidates) =
                                scanner.match_event_full(raw, profile);
                            out.candidates += u64::from(candidates > 0);
                            out.candidate_rules += candidates as u64;
                            match (verdict, event) {
                                (Verdict::Matched(mut rules), Some(event)) if !rules.is_empty() => {
                                    let correlations = engine.correlations();
                                    correlations.sightings(
                                        &event,
                                        profile,
                                        || EventRef::new(&chunk.path, position),
                                        &rules,
                                        &mut out.sightings,
                                    );
                                    rules.retain(|&r| correlations.reports(r));
                                    if rules.is_empty() {
                                        continue;
                                    }
                                    out.detections += rules.len() as u64;
                                    let explain = |r: u32| scanner.explain(r, &event, profile);
                                    let d = Detection {
                                        path: &chunk.path,
                                        position,
                                        event: &event,
                                        line: raw,
                                        profile,
                                        rules: &rules,
                                        explain: &explain,
                                    };
                                    format(&d, &mut out.stdout);
                                }
                                (Verdict::Rejected(reason), _) => {
                                    out.rejected += 1;
                                    out.rejects.add(reason.kind);
                                    out.stderr.extend_from_slice(
                                        format!(
                                            "{}: {reason}\n",
                                            located(&chunk.path, Some(position))
                                        )
                                        .as_bytes(),
                                    );
                                }
                                _ => {}
                            }
                        }
                        out.remembered = scanner.remembered_verdicts() - remembered_before;
                        out.remembered_candidates =
                            scanner.remembered_candidates() - candidates_before;
                        if let Some(events) = chunk.events.recycled() {
                            // The reader may have enough already: then it is dropped.
                            let _ = recycle.try_send(events);
                        }
                        if tx.send((chunk.seq, out)).is_err() {
                            return;
                        }
                    }
                })
                .ok();
        }
        drop(out_tx);
        // Restore input order.
        let mut pending: BTreeMap<u64, Output> = BTreeMap::new();
        let mut next = 0u64;
        for (seq, out) in out_rx.iter() {
            pending.insert(seq, out);
            while let Some(out) = pending.remove(&next) {
                next += 1;
                if !write(out) {
                    return;
                }
            }
        }
        for (_, out) in std::mem::take(&mut pending) {
            write(out);
        }
    });
    Ok(())
}
