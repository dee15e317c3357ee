//! The multi-threaded pipeline: a reader thread cuts inputs into chunks of
//! raw events, workers match them (each with its own [`Scanner`]), and the
//! caller's writer receives the results in input order, whatever the thread count.
//!
//! JSON-lines inputs travel as raw lines (parsed only in the workers); other
//! formats (EVTX, arrays, concatenated JSON) are parsed by the readers and
//! passed on re-serialised. Channels are bounded, so memory stays flat however
//! large the input.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::bounded;
use hypersigma_compiler::Profile;
use serde_json::Value;

use crate::engine::{Engine, EngineError, Verdict};
use crate::input::{self, OpenError, Position};

/// Events per chunk.
pub const CHUNK_EVENTS: usize = 2048;

/// One event handed to the formatter.
pub struct Detection<'a> {
    /// The input.
    pub path: &'a Path,
    /// Where in it.
    pub position: Position,
    /// The event.
    pub event: &'a Value,
    /// The profile it was read with.
    pub profile: &'a Profile,
    /// The matching rules (indices into [`Engine::rules`]).
    pub rules: &'a [u32],
}

/// What the writer receives for each chunk, in input order.
#[derive(Default)]
pub struct Output {
    /// Formatted detections.
    pub stdout: Vec<u8>,
    /// One line per rejected line, record or input.
    pub stderr: Vec<u8>,
    /// Events read (parsed or not).
    pub events: u64,
    /// Lines, records or inputs rejected.
    pub rejected: u64,
    /// Detections ((event, rule) pairs).
    pub detections: u64,
    /// Events that reached stage 2 (had at least one candidate rule).
    pub candidates: u64,
    /// Bytes of raw events.
    pub bytes: u64,
    /// Candidate rules after stage 1, summed over the events.
    pub candidate_rules: u64,
    /// The field profile the chunk's events were read with.
    pub profile: Option<String>,
}

struct Chunk {
    seq: u64,
    path: Arc<PathBuf>,
    profile: Option<Arc<Profile>>,
    events: Vec<(Position, Vec<u8>)>,
    errors: Vec<String>,
}

fn located(path: &Path, position: Option<Position>) -> String {
    match position {
        Some(Position::Line(l)) => format!("{}:{l}", path.display()),
        Some(Position::Record(r)) => format!("{}: record {r}", path.display()),
        None => path.display().to_string(),
    }
}

/// Reads every input into chunks, sending them to `send`.
fn read_inputs(inputs: &[PathBuf], forced: Option<&Profile>, send: &dyn Fn(Chunk) -> bool) {
    let mut seq = 0u64;
    for path in inputs {
        let path = Arc::new(path.clone());
        let mut profile: Option<Arc<Profile>> = forced.map(|p| Arc::new(p.clone()));
        let mut chunk = Chunk {
            seq,
            path: path.clone(),
            profile: profile.clone(),
            events: Vec::new(),
            errors: Vec::new(),
        };
        let flush = |chunk: &mut Chunk, seq: &mut u64, profile: &Option<Arc<Profile>>| -> bool {
            let full = std::mem::replace(
                chunk,
                Chunk {
                    seq: *seq + 1,
                    path: path.clone(),
                    profile: profile.clone(),
                    events: Vec::new(),
                    errors: Vec::new(),
                },
            );
            *seq += 1;
            send(full)
        };
        let push = |chunk: &mut Chunk,
                    seq: &mut u64,
                    profile: &mut Option<Arc<Profile>>,
                    position: Position,
                    raw: Vec<u8>|
         -> bool {
            if profile.is_none() {
                if let Ok(v) = serde_json::from_slice::<Value>(&raw) {
                    *profile = Some(Arc::new(Profile::detect(&v)));
                    chunk.profile = profile.clone();
                }
            }
            chunk.events.push((position, raw));
            if chunk.events.len() >= CHUNK_EVENTS {
                return flush(chunk, seq, profile);
            }
            true
        };
        match open_raw(&path) {
            Err(e) => chunk.errors.push(e.to_string()),
            Ok(RawInput::Lines(reader)) => {
                for (n, line) in LineReader::new(reader).enumerate() {
                    match line {
                        Ok(Some(raw)) => {
                            if !push(
                                &mut chunk,
                                &mut seq,
                                &mut profile,
                                Position::Line(n as u64 + 1),
                                raw,
                            ) {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            chunk.errors.push(format!(
                                "{}: {e}",
                                located(&path, Some(Position::Line(n as u64 + 1)))
                            ));
                            break;
                        }
                    }
                }
            }
            Ok(RawInput::Events(events)) => {
                for item in events {
                    match item {
                        Ok(event) => {
                            let raw = serde_json::to_vec(&event.value).unwrap_or_default();
                            if !push(&mut chunk, &mut seq, &mut profile, event.position, raw) {
                                return;
                            }
                        }
                        Err(r) => chunk.errors.push(format!(
                            "{}: {}",
                            located(&path, r.position),
                            r.reason
                        )),
                    }
                }
            }
        }
        if !flush(&mut chunk, &mut seq, &profile) {
            return;
        }
    }
}

enum RawInput {
    Lines(Box<dyn BufRead + Send>),
    Events(input::Events),
}

/// JSON lines stay raw; anything else goes through the parsing readers.
fn open_raw(path: &Path) -> Result<RawInput, OpenError> {
    if path.as_os_str() != "-" {
        let io_err = |source| OpenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io_err)?;
        let mut head = [0u8; 4096];
        let n = file.read(&mut head).map_err(io_err)?;
        let head = &head[..n];
        let compressed_or_evtx = head.starts_with(&[0x1f, 0x8b])
            || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
            || head.starts_with(b"ElfFile\0");
        let first_line_is_object =
            head.iter().any(|b| !b.is_ascii_whitespace()) && input::looks_like_json_lines(head);
        if !compressed_or_evtx && first_line_is_object {
            let file = std::fs::File::open(path).map_err(io_err)?;
            return Ok(RawInput::Lines(Box::new(BufReader::with_capacity(
                1 << 20,
                file,
            ))));
        }
    }
    input::open(path).map(RawInput::Events)
}

/// Raw lines; `Ok(None)` for blank ones.
struct LineReader {
    reader: Box<dyn BufRead + Send>,
}

impl LineReader {
    fn new(reader: Box<dyn BufRead + Send>) -> Self {
        LineReader { reader }
    }
}

impl Iterator for LineReader {
    type Item = std::io::Result<Option<Vec<u8>>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => None,
            Ok(_) => {
                while line.last().is_some_and(|b| b.is_ascii_whitespace()) {
                    line.pop();
                }
                Some(Ok((!line.is_empty()).then_some(line)))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Matches every input with `threads` workers; `format` turns one matched event
/// into output bytes (in a worker), `write` receives each chunk's output in order.
pub fn run<F, W>(
    engine: &Engine,
    inputs: &[PathBuf],
    forced: Option<&Profile>,
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
    let mut scanners = Vec::with_capacity(threads);
    for _ in 0..threads {
        scanners.push(engine.scanner()?);
    }
    std::thread::scope(|scope| {
        let reader_tx = chunk_tx.clone();
        std::thread::Builder::new()
            .name("hypersigma-reader".into())
            .spawn_scoped(scope, move || {
                read_inputs(inputs, forced, &|c| reader_tx.send(c).is_ok())
            })
            .ok();
        drop(chunk_tx);
        for (w, mut scanner) in scanners.into_iter().enumerate() {
            let rx = chunk_rx.clone();
            let tx = out_tx.clone();
            let format = &format;
            std::thread::Builder::new()
                .name(format!("hypersigma-worker-{w}"))
                .spawn_scoped(scope, move || {
                    let fallback = Profile::sysmon();
                    for chunk in rx {
                        let mut out = Output::default();
                        for e in &chunk.errors {
                            out.rejected += 1;
                            out.stderr.extend_from_slice(e.as_bytes());
                            out.stderr.push(b'\n');
                        }
                        let profile = chunk.profile.as_deref().unwrap_or(&fallback);
                        out.profile = Some(profile.name.clone());
                        for (position, raw) in &chunk.events {
                            out.events += 1;
                            out.bytes += raw.len() as u64 + 1;
                            let (verdict, event, candidates) =
                                scanner.match_event_full(raw, profile);
                            out.candidates += u64::from(candidates > 0);
                            out.candidate_rules += candidates as u64;
                            match (verdict, event) {
                                (Verdict::Matched(rules), Some(event)) if !rules.is_empty() => {
                                    out.detections += rules.len() as u64;
                                    let d = Detection {
                                        path: &chunk.path,
                                        position: *position,
                                        event: &event,
                                        profile,
                                        rules: &rules,
                                    };
                                    format(&d, &mut out.stdout);
                                }
                                (Verdict::Rejected(reason), _) => {
                                    out.rejected += 1;
                                    out.stderr.extend_from_slice(
                                        format!(
                                            "{}: {reason}\n",
                                            located(&chunk.path, Some(*position))
                                        )
                                        .as_bytes(),
                                    );
                                }
                                _ => {}
                            }
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
