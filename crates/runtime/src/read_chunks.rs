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

/// Events per chunk.
pub const CHUNK_EVENTS: usize = 2048;

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
    pub(crate) events: Vec<(Position, Vec<u8>)>,
    pub(crate) errors: Vec<ChunkError>,
}

pub(crate) fn located(path: &Path, position: Option<Position>) -> String {
    match position {
        Some(Position::Line(l)) => format!("{}:{l}", path.display()),
        Some(Position::Record(r)) => format!("{}: record {r}", path.display()),
        None => path.display().to_string(),
    }
}

/// Reads every input into chunks, sending them to `send`.
pub(crate) fn read_inputs(
    inputs: &[PathBuf],
    forced: Option<&Profile>,
    options: ReadOptions,
    send: &dyn Fn(Chunk) -> bool,
) {
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
            Err(e) => chunk.errors.push(ChunkError {
                kind: None,
                message: e.to_string(),
            }),
            Ok(RawInput::Lines(reader)) => {
                for (n, line) in LineReader::new(reader, options.max_line_bytes).enumerate() {
                    match line {
                        Ok(RawLine::Line(raw)) => {
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
                        Ok(RawLine::Blank) => {}
                        Ok(RawLine::TooLong(bytes)) => chunk.errors.push(ChunkError {
                            kind: Some(RejectKind::LineTooLong),
                            message: format!(
                                "{}: line of {bytes} bytes, longer than the maximum of {} (skipped)",
                                located(&path, Some(Position::Line(n as u64 + 1))),
                                options.max_line_bytes
                            ),
                        }),
                        Err(e) => {
                            chunk.errors.push(ChunkError {
                                kind: None,
                                message: format!(
                                    "{}: read error, the rest of the input is lost: {e}",
                                    located(&path, Some(Position::Line(n as u64 + 1)))
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
                            let raw = serde_json::to_vec(&event.value).unwrap_or_default();
                            if !push(&mut chunk, &mut seq, &mut profile, event.position, raw) {
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

/// One line of a JSON-lines input.
enum RawLine {
    /// The line without its line end and trailing whitespace.
    Line(Vec<u8>),
    /// Only whitespace.
    Blank,
    /// Longer than the maximum: skipped, this many bytes.
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
}

impl Iterator for LineReader {
    type Item = std::io::Result<RawLine>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Vec::new();
        let mut total: u64 = 0;
        let mut too_long = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e)),
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
                if line.len() + n > self.max.saturating_add(1) {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(part);
                }
            }
            self.reader.consume(n);
            if ends {
                break;
            }
        }
        if std::mem::take(&mut self.first) && line.starts_with(BOM) {
            line.drain(..BOM.len());
        }
        if too_long {
            return Some(Ok(RawLine::TooLong(total)));
        }
        while line.last().is_some_and(|b| b.is_ascii_whitespace()) {
            line.pop();
        }
        Some(Ok(if line.is_empty() {
            RawLine::Blank
        } else {
            RawLine::Line(line)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        LineReader::new(Box::new(std::io::Cursor::new(input.to_vec())), max)
            .map(|l| match l {
                Ok(RawLine::Line(b)) => String::from_utf8_lossy(&b).into_owned(),
                Ok(RawLine::Blank) => "<blank>".into(),
                Ok(RawLine::TooLong(n)) => format!("<too long {n}>"),
                Err(e) => format!("<error {e}>"),
            })
            .collect()
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
}
