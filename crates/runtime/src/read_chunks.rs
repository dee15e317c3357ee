//! The reading side of the pipeline: inputs cut into chunks of raw events,
//! with every line, record or input that is not an event accounted for.
//!
//! JSON-lines files travel as raw lines (parsed only in the workers): ranges
//! of a mapped window of the file (`mapped_lines.rs`), or with
//! [`ReadOptions::mmap`] off copies through a buffered reader, cut alike;
//! lines longer than [`ReadOptions::max_line_bytes`] are skipped without
//! being held in memory; a UTF-8 byte-order mark at the start of an input is
//! dropped.
//! Other formats (EVTX, arrays, concatenated JSON, compressed inputs) go
//! through [`input::open`] and are passed on re-serialised.
//!
//! Once a mapped file's profile is known, the reader no longer cuts its
//! lines: it sends runs of whole lines (about [`CHUNK_EVENTS`] lines as
//! long as the first ones, at most [`CHUNK_BYTES`]; finding only where each
//! run ends), and each run's worker cuts and counts its
//! lines as it matches them (`ChunkEvents::items`). The bytes are then
//! read once, by the worker, instead of first by the reader and again by a
//! worker on another core. What the reader does not count it cannot
//! number: a chunk's positions are numbered from its start, and
//! `line_numbers.rs` tells a chunk's worker how many lines precede it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hypersigma_compiler::Profile;
use memmap2::Mmap;
use serde_json::Value;

use crate::accounting::RejectKind;
use crate::input::{self, OpenError, Position};
use crate::line_numbers::FirstLine;
use crate::mapped_lines::{LineRun, MappedLine, MappedLines, RunLines, WINDOW_BYTES};

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
    /// Read JSON-lines files through memory maps (`mapped_lines.rs`) rather
    /// than copies; off for inputs that may be truncated while read.
    pub mmap: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_line_bytes: 16 << 20,
            mmap: true,
        }
    }
}

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Something in a chunk that is not an event.
pub(crate) struct ChunkError {
    /// `Some`: a line or record (counted as read and rejected); `None`: an
    /// input that could not be opened or ended in a read error.
    pub(crate) kind: Option<RejectKind>,
    /// Where: a line's number in the chunk (see [`Chunk::first_line`]) or a
    /// record; `None` when `message` names its place itself.
    pub(crate) at: Option<Position>,
    /// What, said after the input and `at`.
    pub(crate) message: String,
}

/// A line of the error output: `path:line: message` (the line numbered
/// after `base`, what [`crate::line_numbers`] says precede its chunk), or
/// `message` alone without a position.
pub(crate) fn note_text(path: &Path, base: u64, at: Option<Position>, message: &str) -> String {
    match at {
        Some(at) => format!("{}: {message}", located(path, Some(numbered(at, base)))),
        None => message.to_owned(),
    }
}

/// A position within a chunk as a position in its input: lines are
/// numbered from the chunk's start, after `base` lines; records keep their
/// ids.
pub(crate) fn numbered(at: Position, base: u64) -> Position {
    match at {
        Position::Line(line) => Position::Line(base + line),
        record => record,
    }
}

pub(crate) struct Chunk {
    pub(crate) seq: u64,
    pub(crate) path: Arc<PathBuf>,
    pub(crate) profile: Option<Arc<Profile>>,
    pub(crate) events: ChunkEvents,
    pub(crate) errors: Vec<ChunkError>,
    /// How many lines of the input precede the chunk's, when the reader
    /// knows; its positions are numbered from its own start.
    pub(crate) first_line: FirstLine,
}

/// Largest event buffer handed back for reuse: a chunk that held a very
/// long line gives its memory back instead.
const MAX_RECYCLED_BYTES: usize = 16 << 20;

/// A chunk's raw events: each a range of one buffer, the chunk's own or a
/// window of a mapped file (`mapped_lines.rs`), so reading allocates
/// nothing per event; emptied buffers go back to the reader
/// ([`ChunkEvents::recycled`]) instead of fresh memory for every chunk.
#[derive(Default)]
pub(crate) struct ChunkEvents {
    bytes: Vec<u8>,
    /// The window the events lie in, when they are mapped (`bytes` unused).
    mapped: Option<Arc<Mmap>>,
    spans: Vec<(Position, usize, usize)>,
    /// Lines of the window (`mapped`) that the chunk's worker cuts, instead
    /// of `spans`.
    run: Option<LineRun>,
    /// Lines the reader counted into the chunk (events, blank and too long
    /// ones); a run's are counted as it is cut.
    lines: u64,
}

/// An item of a chunk, its position numbered from the chunk's start.
pub(crate) enum ChunkItem<'a> {
    /// An event's raw bytes.
    Event(Position, &'a [u8]),
    /// A line of this many bytes, longer than `max` (a run's, cut by its
    /// worker).
    TooLong {
        at: Position,
        bytes: u64,
        max: usize,
    },
}

/// A chunk's items in input order ([`ChunkEvents::items`]).
pub(crate) struct ChunkItems<'a> {
    data: &'a [u8],
    spans: std::slice::Iter<'a, (Position, usize, usize)>,
    run: Option<RunLines<'a>>,
    lines: u64,
}

impl ChunkItems<'_> {
    /// The lines the chunk holds (events, blank and too long ones): all of
    /// them once the items are all taken.
    pub(crate) fn lines(&self) -> u64 {
        self.lines
    }
}

impl<'a> Iterator for ChunkItems<'a> {
    type Item = ChunkItem<'a>;

    fn next(&mut self) -> Option<ChunkItem<'a>> {
        let Some(run) = &mut self.run else {
            return self.spans.next().map(|&(position, start, end)| {
                ChunkItem::Event(position, self.data.get(start..end).unwrap_or_default())
            });
        };
        loop {
            let cut = run.next()?;
            self.lines += 1;
            let at = Position::Line(self.lines);
            match cut {
                MappedLine::Line(start, end) => {
                    let window = run.window();
                    return Some(ChunkItem::Event(
                        at,
                        window.get(start..end).unwrap_or_default(),
                    ));
                }
                MappedLine::TooLong(bytes) => {
                    return Some(ChunkItem::TooLong {
                        at,
                        bytes,
                        max: run.max_line_bytes(),
                    })
                }
                _ => {}
            }
        }
    }
}

impl ChunkEvents {
    /// The buffer the events' ranges are of.
    fn data(&self) -> &[u8] {
        match &self.mapped {
            Some(window) => window,
            None => &self.bytes,
        }
    }

    /// The events in input order, with their positions; a run's lines cut
    /// as they are taken.
    pub(crate) fn items(&self) -> ChunkItems<'_> {
        let data = self.data();
        ChunkItems {
            data,
            spans: self.spans.iter(),
            run: self.run.map(|run| run.lines(data)),
            // A run's chunk holds nothing the reader counted.
            lines: self.lines,
        }
    }

    /// Bytes from the first event's start to the last one's end.
    fn byte_len(&self) -> usize {
        match (self.spans.first(), self.spans.last()) {
            (Some(first), Some(last)) => last.2.saturating_sub(first.1),
            _ => 0,
        }
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
        self.mapped = None;
        self.spans.clear();
        self.run = None;
        self.lines = 0;
        Some(self)
    }

    /// The last event (the one being added).
    fn last(&self) -> &[u8] {
        self.spans
            .last()
            .and_then(|&(_, start, end)| self.data().get(start..end))
            .unwrap_or_default()
    }
}

/// What is said of a line longer than the maximum.
pub(crate) fn too_long_message(bytes: u64, max_line_bytes: usize) -> String {
    format!("line of {bytes} bytes, longer than the maximum of {max_line_bytes} (skipped)")
}

pub(crate) fn located(path: &Path, position: Option<Position>) -> String {
    match position {
        Some(Position::Line(l)) => format!("{}:{l}", path.display()),
        Some(Position::Record(r)) => format!("{}: record {r}", path.display()),
        None => path.display().to_string(),
    }
}

/// Fills one input's chunks and sends them, numbered in order.
struct Chunker<'s> {
    path: Arc<PathBuf>,
    /// The input's profile: given, or detected from its first event.
    profile: Option<Arc<Profile>>,
    /// The chunk being filled.
    chunk: Chunk,
    /// Lines of the input before the chunk being filled; `None` once a run
    /// was sent (its lines are counted by its worker).
    lines_before: Option<u64>,
    /// Bytes and count of the events the reader cut itself (the first
    /// lines of a mapped file): what sizes its runs.
    cut: (u64, u64),
    send: &'s dyn Fn(Chunk) -> bool,
    recycled: &'s dyn Fn() -> Option<ChunkEvents>,
}

impl<'s> Chunker<'s> {
    fn new(
        path: Arc<PathBuf>,
        profile: Option<Arc<Profile>>,
        seq: u64,
        send: &'s dyn Fn(Chunk) -> bool,
        recycled: &'s dyn Fn() -> Option<ChunkEvents>,
    ) -> Self {
        let chunk = Chunk {
            seq,
            path: path.clone(),
            profile: profile.clone(),
            events: recycled().unwrap_or_default(),
            errors: Vec::new(),
            first_line: FirstLine::After(0),
        };
        Chunker {
            path,
            profile,
            chunk,
            lines_before: Some(0),
            cut: (0, 0),
            send,
            recycled,
        }
    }

    /// Sends the chunk and starts the next; false when the receiver is gone.
    fn flush(&mut self) -> bool {
        let events = &self.chunk.events;
        self.lines_before = match self.lines_before {
            Some(before) if events.run.is_none() => Some(before + events.lines),
            _ => None,
        };
        let next = Chunk {
            seq: self.chunk.seq + 1,
            path: self.path.clone(),
            profile: self.profile.clone(),
            events: (self.recycled)().unwrap_or_default(),
            errors: Vec::new(),
            first_line: self
                .lines_before
                .map_or(FirstLine::AfterPrevious, FirstLine::After),
        };
        (self.send)(std::mem::replace(&mut self.chunk, next))
    }

    /// The next line's position in the chunk, counted.
    fn next_line(&mut self) -> Position {
        self.chunk.events.lines += 1;
        Position::Line(self.chunk.events.lines)
    }

    /// Sends a run of whole lines of a mapped window as a chunk of its own,
    /// after the chunk being filled when it holds anything.
    fn push_run(&mut self, window: &Arc<Mmap>, run: LineRun) -> bool {
        let holds = &self.chunk;
        if (holds.events.lines > 0 || !holds.errors.is_empty()) && !self.flush() {
            return false;
        }
        self.chunk.events.mapped = Some(window.clone());
        self.chunk.events.run = Some(run);
        self.flush()
    }

    /// The buffer the next event's bytes are appended to: the chunk's own
    /// (one holding mapped events is sent first).
    fn owned_bytes(&mut self) -> Option<&mut Vec<u8>> {
        if self.chunk.events.mapped.is_some() {
            if !self.chunk.events.spans.is_empty() && !self.flush() {
                return None;
            }
            self.chunk.events.mapped = None;
        }
        let bytes = &mut self.chunk.events.bytes;
        if bytes.capacity() == 0 {
            // Room for a chunk (which ends with the line that crosses
            // `CHUNK_BYTES`): one allocation, no growth while filling.
            bytes.reserve(2 * CHUNK_BYTES);
        }
        Some(bytes)
    }

    /// Counts the next line and records it, the event at `start..end` of a
    /// mapped window; a chunk holding events of another buffer is sent
    /// first (the line is then the next chunk's).
    fn push_mapped(&mut self, window: &Arc<Mmap>, (start, end): (usize, usize)) -> bool {
        let events = &self.chunk.events;
        let same = events
            .mapped
            .as_ref()
            .is_some_and(|held| Arc::ptr_eq(held, window));
        if !same {
            if !events.spans.is_empty() && !self.flush() {
                return false;
            }
            self.chunk.events.mapped = Some(window.clone());
        }
        self.cut.0 += (end - start + 1) as u64;
        self.cut.1 += 1;
        let at = self.next_line();
        self.push(at, (start, end))
    }

    /// How many bytes a run should hold: about [`CHUNK_EVENTS`] lines as
    /// long as those the reader cut, between 64 KiB and [`CHUNK_BYTES`]
    /// ([`CHUNK_BYTES`] when it cut none: a profile was given). (The
    /// reader does not count a run's lines: sized by bytes alone, a run of
    /// short lines would hold many times the events of a chunk, and its
    /// output with them.)
    fn run_bytes(&self) -> usize {
        let (bytes, lines) = self.cut;
        let per_line = bytes.checked_div(lines).unwrap_or(u64::MAX) as usize;
        per_line
            .saturating_mul(CHUNK_EVENTS)
            .clamp(64 << 10, CHUNK_BYTES)
    }

    /// Records the event at `start..end` of the chunk's buffer (its own,
    /// or the window [`Chunker::push_mapped`] set).
    fn push(&mut self, position: Position, (start, end): (usize, usize)) -> bool {
        let events = &mut self.chunk.events;
        events.spans.push((position, start, end));
        if self.profile.is_none() {
            if let Ok(v) = serde_json::from_slice::<Value>(events.last()) {
                self.profile = Some(Arc::new(Profile::detect(&v)));
                self.chunk.profile = self.profile.clone();
            }
        }
        if events.len() >= CHUNK_EVENTS || events.byte_len() >= CHUNK_BYTES {
            return self.flush();
        }
        true
    }

    fn error(&mut self, error: ChunkError) {
        self.chunk.errors.push(error);
    }

    /// Counts the next line, too long, as rejected.
    fn too_long(&mut self, bytes: u64, max_line_bytes: usize) {
        let at = self.next_line();
        self.error(ChunkError {
            kind: Some(RejectKind::LineTooLong),
            at: Some(at),
            message: too_long_message(bytes, max_line_bytes),
        });
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
    read_windowed(inputs, forced, options, WINDOW_BYTES, send, recycled);
}

/// [`read_inputs`] mapping `window_bytes` at a time (tests use small
/// windows).
fn read_windowed(
    inputs: &[PathBuf],
    forced: Option<&Profile>,
    options: ReadOptions,
    window_bytes: usize,
    send: &dyn Fn(Chunk) -> bool,
    recycled: &dyn Fn() -> Option<ChunkEvents>,
) {
    let mut seq = 0u64;
    for path in inputs {
        let profile = forced.map(|p| Arc::new(p.clone()));
        let mut chunker = Chunker::new(Arc::new(path.clone()), profile, seq, send, recycled);
        let read = match open_raw(path) {
            Err(e) => {
                chunker.error(ChunkError {
                    kind: None,
                    at: None,
                    message: e.to_string(),
                });
                true
            }
            Ok(RawInput::Lines(file)) => read_lines(&file, options, window_bytes, &mut chunker),
            Ok(RawInput::Events(events)) => read_events(events, &mut chunker),
        };
        if !read || !chunker.flush() {
            return;
        }
        seq = chunker.chunk.seq;
    }
}

/// Reads a JSON-lines file into chunks: mapped a window at a time unless
/// `options.mmap` is off, the rest through the buffered reader; false when
/// the receiver is gone.
fn read_lines(
    file: &File,
    options: ReadOptions,
    window_bytes: usize,
    chunker: &mut Chunker,
) -> bool {
    let max = options.max_line_bytes;
    let mut rest_from = 0u64;
    if let Some(mut lines) = options
        .mmap
        .then(|| MappedLines::new(file, max, window_bytes))
        .flatten()
    {
        loop {
            // Runs once the profile is known; until then the reader cuts
            // the lines, to detect it from the first event.
            let next = if chunker.profile.is_some() {
                match lines.next_run(chunker.run_bytes()) {
                    None => None,
                    Some(Ok(run)) => {
                        let Some(window) = lines.window().cloned() else {
                            continue;
                        };
                        if !chunker.push_run(&window, run) {
                            return false;
                        }
                        continue;
                    }
                    Some(Err(line)) => Some(line),
                }
            } else {
                lines.next()
            };
            match next {
                None => return true,
                Some(MappedLine::Line(start, end)) => {
                    let Some(window) = lines.window() else {
                        continue;
                    };
                    if !chunker.push_mapped(window, (start, end)) {
                        return false;
                    }
                }
                Some(MappedLine::Blank) => {
                    chunker.next_line();
                }
                Some(MappedLine::TooLong(bytes)) => chunker.too_long(bytes, max),
                Some(MappedLine::Unfit(offset)) => {
                    let mut reader = match lines_from(file, offset, 64 << 10, max) {
                        Ok(reader) => reader,
                        Err(e) => {
                            read_error(chunker, &e);
                            return true;
                        }
                    };
                    match read_buffered(&mut reader, Some(1), chunker) {
                        // Nothing read: the file ended there (it shrank).
                        Buffered::Read if reader.consumed == 0 => return true,
                        Buffered::Read => lines.resume_at(offset + reader.consumed),
                        Buffered::Failed => return true,
                        Buffered::Stopped => return false,
                    }
                }
                Some(MappedLine::Rest(offset)) => {
                    rest_from = offset;
                    break;
                }
            }
        }
    }
    let mut reader = match lines_from(file, rest_from, 1 << 20, max) {
        Ok(reader) => reader,
        Err(e) => {
            read_error(chunker, &e);
            return true;
        }
    };
    !matches!(read_buffered(&mut reader, None, chunker), Buffered::Stopped)
}

/// The lines of `file` from `offset` through a buffer of `capacity` bytes,
/// at most `max` each (a BOM dropped when `offset` is the file's start).
fn lines_from(
    file: &File,
    offset: u64,
    capacity: usize,
    max: usize,
) -> std::io::Result<LineReader<BufReader<&File>>> {
    let mut file = file;
    file.seek(SeekFrom::Start(offset))?;
    Ok(LineReader::new(
        BufReader::with_capacity(capacity, file),
        max,
        offset == 0,
    ))
}

/// How [`read_buffered`] ended.
enum Buffered {
    /// It read the lines it was asked for, or to the end.
    Read,
    /// A read error ended the input (recorded in the chunk).
    Failed,
    /// The receiver is gone.
    Stopped,
}

/// Reads `limit` lines (all with `None`) through the buffered reader into
/// chunks.
fn read_buffered<R: BufRead>(
    lines: &mut LineReader<R>,
    limit: Option<usize>,
    chunker: &mut Chunker,
) -> Buffered {
    let mut read = 0usize;
    while limit.is_none_or(|limit| read < limit) {
        read += 1;
        let Some(bytes) = chunker.owned_bytes() else {
            return Buffered::Stopped;
        };
        let Some(next) = lines.next_into(bytes) else {
            break;
        };
        match next {
            Ok(RawLine::Line(start, end)) => {
                let at = chunker.next_line();
                if !chunker.push(at, (start, end)) {
                    return Buffered::Stopped;
                }
            }
            Ok(RawLine::Blank) => {
                chunker.next_line();
            }
            Ok(RawLine::TooLong(bytes)) => chunker.too_long(bytes, lines.max),
            Err(e) => {
                read_error(chunker, &e);
                return Buffered::Failed;
            }
        }
    }
    Buffered::Read
}

/// Records a read error at the next line, which ends the input.
fn read_error(chunker: &mut Chunker, e: &std::io::Error) {
    let at = Position::Line(chunker.chunk.events.lines + 1);
    chunker.error(ChunkError {
        kind: None,
        at: Some(at),
        message: format!("read error, the rest of the input is lost: {e}"),
    });
}

/// Reads the events of a parsing reader (EVTX, arrays, concatenated JSON,
/// compressed inputs) into chunks, re-serialised; false when the receiver
/// is gone.
fn read_events(events: input::Events, chunker: &mut Chunker) -> bool {
    for item in events {
        match item {
            Ok(event) => {
                let Some(bytes) = chunker.owned_bytes() else {
                    return false;
                };
                let start = bytes.len();
                if serde_json::to_writer(&mut *bytes, &event.value).is_err() {
                    bytes.truncate(start);
                }
                let end = bytes.len();
                if !chunker.push(event.position, (start, end)) {
                    return false;
                }
            }
            Err(r) => {
                // These inputs' positions are their own (their chunks'
                // lines are numbered after none).
                let message = match r.position {
                    Some(_) => r.reason.to_string(),
                    None => format!("{}: {}", located(&chunker.path, None), r.reason),
                };
                chunker.error(ChunkError {
                    // A read error ends the input: it is not one line's fault.
                    kind: (r.kind != RejectKind::ReadError).then_some(r.kind),
                    at: r.position,
                    message,
                });
            }
        }
    }
    true
}

enum RawInput {
    Lines(File),
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
            return Ok(RawInput::Lines(file));
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

/// Raw lines, each at most `max` bytes held; a BOM before the first is
/// dropped when the reader starts at the input's start (`first`).
struct LineReader<R> {
    reader: R,
    max: usize,
    first: bool,
    /// Bytes read so far, line ends included.
    consumed: u64,
}

impl<R: BufRead> LineReader<R> {
    fn new(reader: R, max: usize, first: bool) -> Self {
        LineReader {
            reader,
            max,
            first,
            consumed: 0,
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
            self.consumed += n as u64;
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
#[path = "read_chunks_tests.rs"]
mod tests;
