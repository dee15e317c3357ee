//! The reading side of the pipeline: inputs cut into chunks of raw events,
//! with every line, record or input that is not an event accounted for.
//!
//! JSON-lines files travel as raw lines (parsed only in the workers); lines
//! longer than [`ReadOptions::max_line_bytes`] are skipped without being held
//! in memory; a UTF-8 byte-order mark at the start of an input is dropped.
//! Other formats (EVTX, arrays, concatenated JSON, compressed inputs) go
//! through [`input::open`] and are passed on re-serialised.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hypersigma_compiler::Profile;
use serde_json::Value;

use crate::accounting::RejectKind;
use crate::input::{self, OpenError, Position};

/// Most events per chunk.
pub const CHUNK_EVENTS: usize = 2048;

/// Bytes of events after which a chunk is sent (it ends with the line that
/// crosses this), so the memory chunks in flight hold does not grow with
/// the size of events.
pub const CHUNK_BYTES: usize = 1 << 20;

/// How inputs are read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Longest line accepted, in bytes; longer ones are rejected and skipped.
    pub max_line_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_line_bytes: 16 << 20,
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Something in a chunk that is not an event.
pub(crate) struct ChunkError {
    /// `Some`: a line or record (counted as read and rejected); `None`: an
    /// input that could not be opened or ended in a read error.
    pub(crate) kind: Option<RejectKind>,
    pub(crate) message: String,
}

pub(crate) struct Chunk {
    pub(crate) seq: u64,
    pub(crate) path: Arc<PathBuf>,
    pub(crate) profile: Option<Arc<Profile>>,
    pub(crate) events: ChunkEvents,
    pub(crate) errors: Vec<ChunkError>,
}

/// Largest event buffer handed back for reuse: a chunk that held a very
/// long line gives its memory back instead.
const MAX_RECYCLED_BYTES: usize = 16 << 20;

/// A chunk's raw events: one buffer, each event a range of it, so reading
/// allocates nothing per event, and emptied buffers go back to the reader
/// ([`ChunkEvents::recycled`]) instead of fresh memory for every chunk.
#[derive(Default)]
pub(crate) struct ChunkEvents {
    bytes: Vec<u8>,
    spans: Vec<(Position, usize, usize)>,
}

impl ChunkEvents {
    /// An empty buffer with room for a chunk (which ends with the line that
    /// crosses [`CHUNK_BYTES`]): one allocation, no growth while filling.
    fn fresh() -> ChunkEvents {
        ChunkEvents {
            bytes: Vec::with_capacity(2 * CHUNK_BYTES),
            spans: Vec::with_capacity(CHUNK_EVENTS),
        }
    }

    /// The events in input order, with their positions.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Position, &[u8])> + '_ {
        self.spans.iter().map(|&(position, start, end)| {
            (position, self.bytes.get(start..end).unwrap_or_default())
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Emptied for another chunk; `None` when its buffer grew past
    /// [`MAX_RECYCLED_BYTES`].
    pub(crate) fn recycled(mut self) -> Option<ChunkEvents> {
        if self.bytes.capacity() > MAX_RECYCLED_BYTES {
            return None;
        }
        self.bytes.clear();
        self.spans.clear();
        Some(self)
    }

    /// The last event (the one being added).
    fn last(&self) -> &[u8] {
        self.spans
            .last()
            .and_then(|&(_, start, end)| self.bytes.get(start..end))
            .unwrap_or_default()
    }
}

pub(crate) fn located(path: &Path, position: Option<Position>) -> String {
    match position {
        Some(Position::Line(l)) => format!("{}:{l}", path.display()),
        Some(Position::Record(r)) => format!("{}: record {r}", path.display()),
        None => path.display().to_string(),
    }
}

/// Reads every input into chunks, sending them to `send`; each chunk's
/// event buffer comes from `recycled` when it has one.
pub(crate) fn read_inputs(
    inputs: &[PathBuf],
    forced: Option<&Profile>,
    options: ReadOptions,
    send: &dyn Fn(Chunk) -> bool,
    recycled: &dyn Fn() -> Option<ChunkEvents>,
) {
    let mut seq = 0u64;
    for path in inputs {
        let path = Arc::new(path.clone());
        let mut profile: Option<Arc<Profile>> = forced.map(|p| Arc::new(p.clone()));
        let mut chunk = Chunk {
            seq,
            path: path.clone(),
            profile: profile.clone(),
            events: recycled().unwrap_or_else(ChunkEvents::fresh),
            errors: Vec::new(),
        };
        let flush = |chunk: &mut Chunk, seq: &mut u64, profile: &Option<Arc<Profile>>| -> bool {
            let full = std::mem::replace(
                chunk,
                Chunk {
                    seq: *seq + 1,
                    path: path.clone(),
                    profile: profile.clone(),
                    events: recycled().unwrap_or_else(ChunkEvents::fresh),
                    errors: Vec::new(),
                },
            );
            *seq += 1;
            send(full)
        };
        // Records the event at `start..end` of the chunk's buffer.
        let push = |chunk: &mut Chunk,
                    seq: &mut u64,
                    profile: &mut Option<Arc<Profile>>,
                    position: Position,
                    (start, end): (usize, usize)|
         -> bool {
            chunk.events.spans.push((position, start, end));
            if profile.is_none() {
                if let Ok(v) = serde_json::from_slice::<Value>(chunk.events.last()) {
                    *profile = Some(Arc::new(Profile::detect(&v)));
                    chunk.profile = profile.clone();
                }
            }
            if chunk.events.len() >= CHUNK_EVENTS || chunk.events.bytes.len() >= CHUNK_BYTES {
                return flush(chunk, seq, profile);
            }
            true
        };
        match open_raw(&path) {
            Err(e) => chunk.errors.push(ChunkError {
                kind: None,
                message: e.to_string(),
            }),
            Ok(RawInput::Lines(reader)) => {
                let mut lines = LineReader::new(reader, options.max_line_bytes);
                let mut n = 0u64;
                while let Some(line) = lines.next_into(&mut chunk.events.bytes) {
                    n += 1;
                    match line {
                        Ok(RawLine::Line(start, end)) => {
                            if !push(
                                &mut chunk,
                                &mut seq,
                                &mut profile,
                                Position::Line(n),
                                (start, end),
                            ) {
                                return;
                            }
                        }
                        Ok(RawLine::Blank) => {}
                        Ok(RawLine::TooLong(bytes)) => chunk.errors.push(ChunkError {
                            kind: Some(RejectKind::LineTooLong),
                            message: format!(
                                "{}: line of {bytes} bytes, longer than the maximum of {} (skipped)",
                                located(&path, Some(Position::Line(n))),
                                options.max_line_bytes
                            ),
                        }),
                        Err(e) => {
                            chunk.errors.push(ChunkError {
                                kind: None,
                                message: format!(
                                    "{}: read error, the rest of the input is lost: {e}",
                                    located(&path, Some(Position::Line(n)))
                                ),
                            });
                            break;
                        }
                    }
                }
            }
            Ok(RawInput::Events(events)) => {
                for item in events {
                    match item {
                        Ok(event) => {
                            let bytes = &mut chunk.events.bytes;
                            let start = bytes.len();
                            if serde_json::to_writer(&mut *bytes, &event.value).is_err() {
                                bytes.truncate(start);
                            }
                            let end = bytes.len();
                            if !push(
                                &mut chunk,
                                &mut seq,
                                &mut profile,
                                event.position,
                                (start, end),
                            ) {
                                return;
                            }
                        }
                        Err(r) => chunk.errors.push(ChunkError {
                            // A read error ends the input: it is not one line's fault.
                            kind: (r.kind != RejectKind::ReadError).then_some(r.kind),
                            message: format!("{}: {}", located(&path, r.position), r.reason),
                        }),
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
        let head = head[..n].strip_prefix(BOM).unwrap_or(&head[..n]);
        let compressed_or_evtx = input::is_packed(head);
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

/// One line of a JSON-lines input, appended to a buffer.
enum RawLine {
    /// The line without its line end and trailing whitespace: its range in
    /// the buffer.
    Line(usize, usize),
    /// Only whitespace (nothing left in the buffer).
    Blank,
    /// Longer than the maximum: skipped, this many bytes (nothing left in
    /// the buffer).
    TooLong(u64),
}

/// Raw lines, each at most `max` bytes held; a BOM before the first is dropped.
struct LineReader {
    reader: Box<dyn BufRead + Send>,
    max: usize,
    first: bool,
}

impl LineReader {
    fn new(reader: Box<dyn BufRead + Send>, max: usize) -> Self {
        LineReader {
            reader,
            max,
            first: true,
        }
    }

    /// Appends the next line to `out`; `None` at the end of the input. A
    /// read error leaves `out` as it was.
    fn next_into(&mut self, out: &mut Vec<u8>) -> Option<std::io::Result<RawLine>> {
        let start = out.len();
        let mut total: u64 = 0;
        let mut too_long = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    out.truncate(start);
                    return Some(Err(e));
                }
            };
            if buf.is_empty() {
                if total == 0 {
                    return None;
                }
                break;
            }
            let (part, ends) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..=i], true),
                None => (buf, false),
            };
            let n = part.len();
            total += n as u64;
            if !too_long {
                if out.len() - start + n > self.max.saturating_add(1) {
                    too_long = true;
                    out.truncate(start);
                } else {
                    out.extend_from_slice(part);
                }
            }
            self.reader.consume(n);
            if ends {
                break;
            }
        }
        if std::mem::take(&mut self.first) && out[start..].starts_with(BOM) {
            out.drain(start..start + BOM.len());
        }
        if too_long {
            return Some(Ok(RawLine::TooLong(total)));
        }
        let mut end = out.len();
        while end > start && out[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        out.truncate(end);
        Some(Ok(if end == start {
            RawLine::Blank
        } else {
            RawLine::Line(start, end)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut reader = LineReader::new(Box::new(std::io::Cursor::new(input.to_vec())), max);
        // One buffer for all lines, as in a chunk: each line lies after the last.
        let mut buffer = b"previous".to_vec();
        let mut out = Vec::new();
        while let Some(line) = reader.next_into(&mut buffer) {
            out.push(match line {
                Ok(RawLine::Line(start, end)) => {
                    assert_eq!(end, buffer.len());
                    String::from_utf8_lossy(&buffer[start..end]).into_owned()
                }
                Ok(RawLine::Blank) => "<blank>".into(),
                Ok(RawLine::TooLong(n)) => format!("<too long {n}>"),
                Err(e) => format!("<error {e}>"),
            });
        }
        assert!(buffer.starts_with(b"previous"));
        out
    }

    #[test]
    fn long_lines_are_skipped_bom_and_crlf_dropped() {
        let mut input = b"\xEF\xBB\xBF{\"a\":1}\r\n".to_vec();
        input.extend(vec![b'x'; 100]);
        input.extend(b"\n\n{\"b\":2}");
        assert_eq!(
            lines(&input, 50),
            vec!["{\"a\":1}", "<too long 101>", "<blank>", "{\"b\":2}"]
        );
        // Exactly the maximum is accepted (the line end does not count).
        assert_eq!(lines(b"12345\n123456\n", 5), vec!["12345", "<too long 7>"]);
    }

    #[test]
    fn chunks_hold_every_line_in_order_within_their_limits() {
        // Lines from 10 bytes to 6 kB, blank and too long ones among them.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut text = String::new();
        let mut expected = Vec::new();
        for n in 1..=6000u64 {
            match n % 1000 {
                7 => text.push_str("   \n"),
                9 => text.push_str(&format!("{{\"long\":\"{}\"}}\n", "x".repeat(9000))),
                _ => {
                    let line = format!(
                        "{{\"n\":{n},\"pad\":\"{}\"}}",
                        "p".repeat((n as usize * 37) % 6000)
                    );
                    text.push_str(&line);
                    text.push_str(if n % 2 == 0 { "\r\n" } else { "\n" });
                    expected.push((Position::Line(n), line.into_bytes()));
                }
            }
        }
        std::fs::write(&path, text).unwrap();
        let chunks = std::cell::RefCell::new(Vec::new());
        // Used buffers come back, as the workers hand them back.
        let spare = std::cell::RefCell::new(Vec::new());
        read_inputs(
            std::slice::from_ref(&path),
            None,
            ReadOptions {
                max_line_bytes: 8000,
            },
            &|chunk: Chunk| {
                chunks.borrow_mut().push((
                    chunk.seq,
                    chunk
                        .events
                        .iter()
                        .map(|(p, e)| (p, e.to_vec()))
                        .collect::<Vec<_>>(),
                    chunk.errors.len(),
                    chunk.events.bytes.len(),
                ));
                spare.borrow_mut().extend(chunk.events.recycled());
                true
            },
            &|| spare.borrow_mut().pop(),
        );
        let chunks = chunks.into_inner();
        let mut got = Vec::new();
        for (k, (seq, events, _, bytes)) in chunks.iter().enumerate() {
            assert_eq!(*seq, k as u64);
            assert!(events.len() <= CHUNK_EVENTS);
            assert!(*bytes < CHUNK_BYTES + 8000, "{bytes}");
            got.extend(events.iter().cloned());
        }
        assert!(chunks.len() > 10, "{}", chunks.len());
        assert_eq!(chunks.iter().map(|c| c.2).sum::<usize>(), 6);
        assert_eq!(got.len(), expected.len());
        assert!(got == expected);
    }
}
