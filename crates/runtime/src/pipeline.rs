//! The multi-threaded pipeline: a reader thread cuts inputs into chunks of
//! raw events, workers match them (each with its own [`crate::engine::Scanner`]), and the
//! caller's writer receives the results in input order, whatever the thread count.
//!
//! JSON-lines inputs travel as raw lines (parsed only in the workers); other
//! formats (EVTX, arrays, concatenated JSON) are parsed by the readers and
//! passed on re-serialised. Channels are bounded, so memory stays flat however
//! large the input.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use crossbeam_channel::bounded;
use hypersigma_compiler::{Evaluation, Profile};
use serde_json::Value;

use crate::accounting::RejectCounts;
use crate::chunk_matching::{finish, match_chunk, try_finish, Unnumbered};
use crate::correlate::Sighting;
use crate::engine::{Engine, EngineError, MemoAnswers};
use crate::input::Position;
use crate::line_numbers::LineNumbers;
use crate::read_chunks::{read_inputs, Chunk, ChunkEvents, ChunkItem};

pub use crate::read_chunks::{ReadOptions, CHUNK_EVENTS};

/// Most chunks a worker holds while their output waits for the line count
/// of the chunks before them (`chunk_matching.rs`); with more, it waits.
const MOST_UNNUMBERED: usize = 4;

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
    /// Detections ((event, rule) pairs reported).
    pub detections: u64,
    /// (event, rule) pairs matched, those of rules only correlations read
    /// (not reported alone) included.
    pub matches: u64,
    /// Events that reached stage 2 (had at least one candidate rule).
    pub candidates: u64,
    /// Bytes of raw events.
    pub bytes: u64,
    /// Candidate rules after stage 1, summed over the events.
    pub candidate_rules: u64,
    /// How often the memos answered: verdicts remembered (not evaluated
    /// again), candidate lists remembered (stage 1 not run again) and
    /// remembered under their stage-1 hits, and of which kind.
    pub memo: MemoAnswers,
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
    let numbers = &LineNumbers::default();
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
                    // Chunks whose output waits for the line count of
                    // the chunks before them, oldest first: finished as
                    // soon as that is known, waited for only when too
                    // many wait or the input ends.
                    let mut waiting: VecDeque<Box<Unnumbered>> = VecDeque::new();
                    // The bytes of the last chunk's detections: the next
                    // one's room.
                    let mut stdout_capacity = 0;
                    for chunk in rx {
                        let matched = match_chunk(
                            engine,
                            &mut scanner,
                            numbers,
                            &chunk,
                            format,
                            &fallback,
                            stdout_capacity,
                        );
                        if let Ok(out) = &matched {
                            stdout_capacity = out.stdout.len();
                        }
                        let seq = chunk.seq;
                        if let Some(events) = chunk.events.recycled() {
                            // The reader may have enough already: then it is dropped.
                            let _ = recycle.try_send(events);
                        }
                        // The oldest first, waited for while too many wait.
                        while let Some(earlier) = waiting.pop_front() {
                            let seq = earlier.seq();
                            let out = if waiting.len() + 1 >= MOST_UNNUMBERED {
                                finish(&mut scanner, numbers, earlier, format, &fallback)
                            } else {
                                match try_finish(&mut scanner, numbers, earlier, format, &fallback)
                                {
                                    Ok(out) => out,
                                    Err(earlier) => {
                                        waiting.push_front(earlier);
                                        break;
                                    }
                                }
                            };
                            if tx.send((seq, out)).is_err() {
                                return;
                            }
                        }
                        match matched {
                            Ok(out) => {
                                if tx.send((seq, out)).is_err() {
                                    return;
                                }
                            }
                            Err(chunk) => waiting.push_back(chunk),
                        }
                    }
                    for earlier in waiting {
                        let seq = earlier.seq();
                        let out = finish(&mut scanner, numbers, earlier, format, &fallback);
                        if tx.send((seq, out)).is_err() {
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

/// What reading the inputs alone found ([`read_only`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadCount {
    /// Events read: lines and records, and the ones the reader rejects.
    pub events: u64,
    /// Bytes of raw events (each with its line end, as [`Output::bytes`]).
    pub bytes: u64,
    /// Events serde_json parsed (with `parse`).
    pub parsed: u64,
}

/// Reads every input as [`run`]'s reader does (raw lines cut into chunks
/// of reused buffers, runs of a mapped file's lines cut as its workers cut
/// them; other formats parsed and re-serialised), on this thread, matching
/// nothing: the read-and-split floor of a run over the
/// same inputs. With `parse`, each event is also parsed with serde_json
/// (the parse floor).
pub fn read_only(
    inputs: &[PathBuf],
    forced: Option<&Profile>,
    read: ReadOptions,
    parse: bool,
) -> ReadCount {
    let count = std::cell::Cell::new(ReadCount::default());
    // The one buffer in use goes back to the reader, as the workers'
    // emptied ones do.
    let spare = std::cell::Cell::new(None::<ChunkEvents>);
    read_inputs(
        inputs,
        forced,
        read,
        &|chunk| {
            let mut c = count.get();
            c.events += chunk.errors.iter().filter(|e| e.kind.is_some()).count() as u64;
            // A run's lines are cut here, as its worker would cut them.
            for item in chunk.events.items() {
                c.events += 1;
                let ChunkItem::Event(_, raw) = item else {
                    continue;
                };
                c.bytes += raw.len() as u64 + 1;
                if parse {
                    let value = serde_json::from_slice::<Value>(raw);
                    c.parsed += u64::from(std::hint::black_box(value).is_ok());
                }
            }
            count.set(c);
            spare.set(chunk.events.recycled());
            true
        },
        &|| spare.take(),
    );
    count.get()
}

#[cfg(test)]
mod tests {
    use hypersigma_compiler::{parse_rule, CompileOptions};

    use super::{read_only, run, Output, ReadOptions};
    use crate::engine::{Engine, EngineOptions};
    use crate::input::Position;

    /// One process-creation rule: an `Image` ending in `\evil.exe`.
    fn evil_image_engine() -> Engine {
        let rule = parse_rule(
            "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n    s: {Image|endswith: '\\evil.exe'}\n    condition: s",
            &CompileOptions::default(),
        )
        .unwrap();
        Engine::new(vec![rule], EngineOptions::default()).unwrap()
    }

    #[test]
    fn reading_alone_counts_what_a_run_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut text = String::new();
        for n in 0..5000 {
            match n % 500 {
                3 => text.push('\n'),
                5 => text.push_str("{\"EventID\":1,\"Image\":\n"),
                7 => text.push_str(&format!("{{\"pad\":\"{}\"}}\n", "p".repeat(300))),
                _ => text.push_str(&format!(
                    "{{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Image\":\"C:\\\\{}.exe\",\"n\":{n}}}\n",
                    if n % 7 == 0 { "evil" } else { "good" }
                )),
            }
        }
        std::fs::write(&path, text).unwrap();
        let inputs = [path];
        let read = ReadOptions {
            max_line_bytes: 200,
            ..ReadOptions::default()
        };
        let engine = evil_image_engine();
        for threads in [1, 2] {
            let mut total = Output::default();
            run(
                &engine,
                &inputs,
                None,
                read,
                threads,
                |_, _| {},
                |out| {
                    total.events += out.events;
                    total.bytes += out.bytes;
                    total.rejected += out.rejected;
                    total.matches += out.matches;
                    total.detections += out.detections;
                    true
                },
            )
            .unwrap();
            // Blank lines are not events; a line too long and an invalid
            // one are, rejected (the reader rejects the first, the workers
            // the second).
            assert_eq!(total.events, 4990);
            assert_eq!(total.rejected, 20);
            assert_eq!((total.matches, total.detections), (711, 711));
            let alone = read_only(&inputs, None, read, false);
            assert_eq!((alone.events, alone.bytes), (total.events, total.bytes));
            assert_eq!(alone.parsed, 0);
            let parsed = read_only(&inputs, None, read, true);
            assert_eq!((parsed.events, parsed.bytes), (alone.events, alone.bytes));
            assert_eq!(parsed.parsed, 4970);
        }
    }

    #[test]
    fn every_detection_and_rejection_names_its_line_whatever_the_threads() {
        // ~9 MB: runs of whole lines cut by the workers, their line
        // numbers resolved across chunks; detections, invalid lines, too
        // long and blank lines all through it. In the first half every
        // third event is detected: more per chunk than a chunk holds while
        // its base is unknown.
        let evil = |n: u64| {
            if n <= 15_000 {
                n.is_multiple_of(3)
            } else {
                n.is_multiple_of(13)
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut text = String::new();
        for n in 1..=30_000u64 {
            let line = match n {
                _ if n % 701 == 0 => String::new(),
                _ if n % 997 == 0 => format!("{{\"EventID\":1,\"n\":{n},"),
                _ if n % 1499 == 0 => format!("{{\"n\":{n},\"pad\":\"{}\"}}", "p".repeat(5000)),
                _ => format!(
                    "{{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Image\":\"C:\\\\{}.exe\",\"n\":{n},\"pad\":\"{}\"}}",
                    if evil(n) { "evil" } else { "good" },
                    "q".repeat((n as usize * 7) % 500)
                ),
            };
            text.push_str(&line);
            text.push_str(if n % 5 == 0 { "\r\n" } else { "\n" });
        }
        std::fs::write(&path, text).unwrap();
        let inputs = [path];
        let engine = evil_image_engine();
        let mut outputs = Vec::new();
        for (threads, mmap) in [(1, true), (2, true), (4, true), (2, false)] {
            let read = ReadOptions {
                max_line_bytes: 4000,
                mmap,
            };
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            run(
                &engine,
                &inputs,
                None,
                read,
                threads,
                |d, out| {
                    let n = d.event["n"].as_u64().unwrap();
                    // Each event's `n` is its line's number.
                    assert_eq!(d.position, Position::Line(n));
                    out.extend(format!("{n}\n").bytes());
                },
                |out| {
                    stdout.extend(out.stdout);
                    stderr.extend(out.stderr);
                    true
                },
            )
            .unwrap();
            let stdout = String::from_utf8(stdout).unwrap();
            let stderr = String::from_utf8(stderr).unwrap();
            let detected: Vec<u64> = stdout.lines().map(|l| l.parse().unwrap()).collect();
            let expected: Vec<u64> = (1..=30_000u64)
                .filter(|&n| evil(n) && n % 701 != 0 && n % 997 != 0 && n % 1499 != 0)
                .collect();
            assert_eq!(detected, expected, "{threads} threads, mmap {mmap}");
            // Rejections name their lines: the invalid ones and the too
            // long ones, each once.
            let mut rejected: Vec<u64> = stderr
                .lines()
                .map(|l| {
                    let (_, rest) = l.split_once(".jsonl:").unwrap();
                    rest.split(':').next().unwrap().parse().unwrap()
                })
                .collect();
            rejected.sort_unstable();
            let expected: Vec<u64> = (1..=30_000u64)
                .filter(|n| n % 701 != 0 && (n % 997 == 0 || n % 1499 == 0))
                .collect();
            assert_eq!(rejected, expected, "{threads} threads, mmap {mmap}");
            outputs.push(stdout);
        }
        assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    }
}
