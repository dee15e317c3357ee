//! Event inputs: files, directories and stdin, in every shape events arrive in.
//!
//! [`open`] sniffs each input: gzip and zstd are decompressed transparently (by
//! magic bytes, whatever the file is called); EVTX files (`ElfFile` magic) go
//! through the `evtx` crate, whose JSON records feed the same path as every
//! other event; text is JSON lines (the main path, streamed), one top-level
//! JSON array, or concatenated JSON objects (pretty-printed exports). Each
//! event carries its [`Position`]: the 1-based line where it starts, or the
//! EVTX record id. A bad line or record is a [`Rejected`] item with its
//! position and reason, and reading goes on.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de;
use serde_json::Value;

use crate::accounting::RejectKind;
use crate::reader::{JsonLines, LineError};

/// Where an event was in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line where the event starts (JSON inputs).
    Line(u64),
    /// The EVTX record id.
    Record(u64),
}

/// One event read from an input.
#[derive(Debug)]
pub struct Event {
    /// The event.
    pub value: Value,
    /// Where it was.
    pub position: Position,
}

/// Input that is not an event, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Where it was, when known.
    pub position: Option<Position>,
    /// Why it is not an event.
    pub reason: String,
    /// The reason's category.
    pub kind: RejectKind,
}

/// What reading an input yields.
pub type Item = Result<Event, Rejected>;

/// The events of one input, in order.
pub type Events = Box<dyn Iterator<Item = Item> + Send>;

/// An input that cannot be opened at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file or directory cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The input.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file starts like an EVTX file but its header is unusable.
    #[error("{path}: not a readable EVTX file: {reason}")]
    Evtx {
        /// The input.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// File name endings taken from a directory (inputs named explicitly are always read).
const DIRECTORY_EXTENSIONS: [&str; 6] = ["json", "jsonl", "ndjson", "evtx", "gz", "zst"];

/// Expands directories into the event files below them (sorted); files and `-`
/// stay as given. An entry that cannot be read (a dangling link, a directory
/// without permission) stays in the list by its path, so that opening it
/// fails and is reported like any unreadable input while the others are read.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, OpenError> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" || !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => match e.path() {
                    Some(bad) => {
                        out.push(bad.to_path_buf());
                        continue;
                    }
                    None => {
                        return Err(OpenError::Io {
                            path: path.clone(),
                            source: e.into(),
                        })
                    }
                },
            };
            let wanted = entry
                .path()
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| {
                    DIRECTORY_EXTENSIONS
                        .iter()
                        .any(|x| x.eq_ignore_ascii_case(e))
                });
            if entry.file_type().is_file() && wanted {
                out.push(entry.into_path());
            }
        }
    }
    Ok(out)
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// Whether an input starting with `head` is compressed (gzip, zstd) or EVTX:
/// its size says nothing about its events, and it is not read as raw lines.
pub fn is_packed(head: &[u8]) -> bool {
    [GZIP_MAGIC, ZSTD_MAGIC, EVTX_MAGIC]
        .iter()
        .any(|magic| head.starts_with(magic))
}

/// Opens one input (`-` is standard input).
pub fn open(path: &Path) -> Result<Events, OpenError> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).map_err(|source| OpenError::Io {
            path: path.to_path_buf(),
            source,
        })?)
    };
    open_reader(raw, path)
}

/// [`open`] over any reader (`path` names it in errors): decompression, EVTX
/// and the JSON shapes are recognised from its first bytes.
pub fn open_reader(raw: Box<dyn Read + Send>, path: &Path) -> Result<Events, OpenError> {
    let io_err = |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 20, raw);
    let head = reader.fill_buf().map_err(io_err)?;
    let mut reader: Box<dyn BufRead + Send> = if head.starts_with(GZIP_MAGIC) {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(reader),
        ))
    } else if head.starts_with(ZSTD_MAGIC) {
        let decoder = zstd::stream::read::Decoder::with_buffer(reader).map_err(io_err)?;
        Box::new(BufReader::with_capacity(1 << 20, decoder))
    } else {
        Box::new(reader)
    };
    let head = reader.fill_buf().map_err(io_err)?;
    if head.starts_with(EVTX_MAGIC) {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(io_err)?;
        return crate::evtx_input::events(bytes).map_err(|reason| OpenError::Evtx {
            path: path.to_path_buf(),
            reason,
        });
    }
    sniff_json(reader).map_err(io_err)
}

/// Whether text starting with `head` is JSON lines: its first non-blank line is
/// one complete JSON object (or the whole, short input is a single line).
/// Otherwise an object-first text is concatenated (pretty-printed) JSON.
pub(crate) fn looks_like_json_lines(head: &[u8]) -> bool {
    let Some(first) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        return true;
    };
    if head[first] != b'{' {
        return false;
    }
    let rest = &head[first..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(end) => {
            let line = rest[..end].trim_ascii_end();
            line.ends_with(b"}") && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
        }
        // No newline in the buffer: one line, unless it is cut off by the buffer's size.
        None => head.len() < (1 << 20),
    }
}

/// Chooses between JSON lines, a JSON array and concatenated JSON objects.
fn sniff_json(mut reader: Box<dyn BufRead + Send>) -> io::Result<Events> {
    let head = reader.fill_buf()?;
    let first = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Ok(Box::new(lines(reader)));
    };
    if head[first] == b'[' {
        let mut text = Vec::new();
        reader.read_to_end(&mut text)?;
        return Ok(Box::new(json_array(&text).into_iter()));
    }
    if looks_like_json_lines(head) {
        return Ok(Box::new(lines(reader)));
    }
    let mut text = Vec::new();
    reader.read_to_end(&mut text)?;
    Ok(Box::new(concatenated(&text).into_iter()))
}

fn lines(reader: Box<dyn BufRead + Send>) -> impl Iterator<Item = Item> + Send {
    JsonLines::new(reader).map(|line| {
        let position = Some(Position::Line(line.number));
        match line.event {
            Ok(value) => Ok(Event {
                value,
                position: Position::Line(line.number),
            }),
            Err(e) => Err(Rejected {
                position,
                kind: match &e {
                    LineError::Io(_) => RejectKind::ReadError,
                    LineError::NotAnObject => RejectKind::NotAnObject,
                    _ => RejectKind::InvalidJson,
                },
                reason: e.to_string(),
            }),
        }
    })
}

/// 1-based lines of byte offsets of one text, asked in increasing order:
/// each byte is counted once, however many events the text holds.
struct LineCounter<'t> {
    text: &'t [u8],
    /// Bytes counted so far, and the line at that offset.
    counted: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t [u8]) -> Self {
        LineCounter {
            text,
            counted: 0,
            line: 1,
        }
    }

    /// The line of byte `offset` (counted afresh from the start if it lies
    /// before an offset asked already).
    fn line_of(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.text.len());
        if offset < self.counted {
            (self.counted, self.line) = (0, 1);
        }
        let newlines = memchr::memchr_iter(b'\n', &self.text[self.counted..offset]).count();
        self.line += newlines as u64;
        self.counted = offset;
        self.line
    }
}

fn object_or_reject(value: Value, line: u64) -> Item {
    if value.is_object() {
        Ok(Event {
            value,
            position: Position::Line(line),
        })
    } else {
        Err(Rejected {
            position: Some(Position::Line(line)),
            reason: LineError::NotAnObject.to_string(),
            kind: RejectKind::NotAnObject,
        })
    }
}

/// The elements of a top-level JSON array, each with the line where it
/// starts. The array is checked whole first (one error for a malformed
/// array, at its line); then each element is found (skipped without being
/// built) and read on its own, so a bad element is rejected alone.
fn json_array(text: &[u8]) -> Vec<Item> {
    let whole_error = |line: u64, reason: String| {
        vec![Err(Rejected {
            position: Some(Position::Line(line)),
            reason: format!("invalid JSON array: {reason}"),
            kind: RejectKind::InvalidJson,
        })]
    };
    let mut lines = LineCounter::new(text);
    if let Err(e) = std::str::from_utf8(text) {
        return whole_error(lines.line_of(e.valid_up_to()), e.to_string());
    }
    if let Err(e) = serde_json::from_slice::<Vec<de::IgnoredAny>>(text) {
        return whole_error(e.line() as u64, e.to_string());
    }
    let skip_space = |mut at: usize| {
        while text.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    // Past the opening bracket (the check above found one).
    let mut at = skip_space(0) + 1;
    let mut out = Vec::new();
    loop {
        at = skip_space(at);
        match text.get(at) {
            None | Some(b']') => break,
            Some(b',') => {
                at += 1;
                continue;
            }
            Some(_) => {}
        }
        let rest = text.get(at..).unwrap_or_default();
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<de::IgnoredAny>();
        let end = match stream.next() {
            Some(Ok(_)) => at + stream.byte_offset(),
            // Not after the check above; stop rather than loop.
            _ => break,
        };
        let line = lines.line_of(at);
        out.push(
            match serde_json::from_slice::<Value>(text.get(at..end).unwrap_or_default()) {
                Ok(v) => object_or_reject(v, line),
                Err(e) => Err(Rejected {
                    position: Some(Position::Line(line)),
                    reason: format!("invalid JSON: {e}"),
                    kind: RejectKind::InvalidJson,
                }),
            },
        );
        at = end;
    }
    out
}

/// Concatenated JSON values (pretty-printed or not). After a syntax error,
/// reading resumes at the next line that starts with `{`.
fn concatenated(text: &[u8]) -> Vec<Item> {
    let mut lines = LineCounter::new(text);
    let mut items = Vec::new();
    let mut start = 0usize;
    while start < text.len() {
        let mut stream = serde_json::Deserializer::from_slice(&text[start..]).into_iter::<Value>();
        let mut resume = None;
        loop {
            let before = start + stream.byte_offset();
            let value_start = before
                + text[before..]
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(text.len() - before);
            match stream.next() {
                None => break,
                Some(Ok(v)) => items.push(object_or_reject(v, lines.line_of(value_start))),
                Some(Err(e)) => {
                    let at = start + stream.byte_offset().max(value_start - start);
                    items.push(Err(Rejected {
                        position: Some(Position::Line(lines.line_of(value_start))),
                        reason: format!("invalid JSON: {e}"),
                        kind: RejectKind::InvalidJson,
                    }));
                    resume = next_object_line(text, at.max(value_start) + 1);
                    break;
                }
            }
        }
        match resume {
            Some(next) => start = next,
            None => break,
        }
    }
    items
}

/// The offset of the next line at or after `from` that starts with `{`.
fn next_object_line(text: &[u8], from: usize) -> Option<usize> {
    let mut i = from.min(text.len());
    while i < text.len() {
        let line_start = i == 0 || text[i - 1] == b'\n';
        if line_start && text[i] == b'{' {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(bytes: &[u8]) -> Vec<Item> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("input");
        std::fs::write(&p, bytes).unwrap();
        open(&p).unwrap().collect()
    }

    fn lines_of(items: &[Item]) -> Vec<Result<u64, Option<Position>>> {
        items
            .iter()
            .map(|i| match i {
                Ok(e) => match e.position {
                    Position::Line(l) => Ok(l),
                    Position::Record(r) => Ok(r),
                },
                Err(r) => Err(r.position),
            })
            .collect()
    }

    #[test]
    fn json_lines() {
        let items = read(b"{\"a\":1}\n{\"a\":2}\nbad\n{\"a\":3}\n");
        assert_eq!(
            lines_of(&items),
            vec![Ok(1), Ok(2), Err(Some(Position::Line(3))), Ok(4)]
        );
    }

    #[test]
    fn json_array_with_lines() {
        let items = read(b"[\n  {\"a\": 1},\n  {\"a\": 2},\n  3\n]\n");
        assert_eq!(
            lines_of(&items),
            vec![Ok(2), Ok(3), Err(Some(Position::Line(4)))]
        );
    }

    #[test]
    fn json_array_elements_are_judged_alone() {
        // A bad element (a lone surrogate) is rejected alone; brackets and
        // commas inside strings and nested values do not cut elements.
        let items = read(
            b"[{\"a\": \"],[\"}, {\"b\": [1, {\"c\": \",\"}]},\n\"\\ud800\", {\"x\": \"\\ud800\"}, 5, {}]",
        );
        assert_eq!(
            lines_of(&items),
            vec![
                Ok(1),
                Ok(1),
                Err(Some(Position::Line(2))),
                Err(Some(Position::Line(2))),
                Err(Some(Position::Line(2))),
                Ok(2)
            ]
        );
        // serde_json's private raw-value key is an ordinary member name.
        let raw_key = read(b"[{\"$serde_json::private::RawValue\": 1}]");
        assert_eq!(lines_of(&raw_key), vec![Ok(1)]);
        // A malformed array, or one that is not UTF-8: one error, at its line.
        assert_eq!(
            lines_of(&read(b"[\n{\"a\": 1},\n{\"a\": }\n]")),
            vec![Err(Some(Position::Line(3)))]
        );
        assert_eq!(
            lines_of(&read(b"[\n{\"a\": \"caf\xc3\x28\"}]")),
            vec![Err(Some(Position::Line(2)))]
        );
        assert!(read(b"[]").is_empty());
    }

    #[test]
    fn line_counter_gives_the_lines_of_offsets_in_any_order() {
        let text = b"a\nbb\n\nc"; // lines 1 "a", 2 "bb", 3 "", 4 "c"
        let mut lines = LineCounter::new(text);
        let asked = [0, 1, 2, 2, 5, 6, 7, 99, 3, 0];
        let got: Vec<u64> = asked.iter().map(|&at| lines.line_of(at)).collect();
        assert_eq!(got, [1, 1, 2, 2, 3, 4, 4, 4, 2, 1]);
    }

    #[test]
    fn concatenated_pretty_objects() {
        let items =
            read(b"{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n{\n  \"a\": oops\n}\n{\n  \"a\": 4\n}\n");
        assert_eq!(
            lines_of(&items),
            vec![Ok(1), Ok(4), Err(Some(Position::Line(7))), Ok(10)]
        );
    }

    #[test]
    fn gzip_and_zstd() {
        let text = b"{\"a\":1}\n{\"a\":2}\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        assert_eq!(lines_of(&read(&gz.finish().unwrap())), vec![Ok(1), Ok(2)]);
        let zst = zstd::encode_all(&text[..], 1).unwrap();
        assert_eq!(lines_of(&read(&zst)), vec![Ok(1), Ok(2)]);
    }

    #[test]
    fn empty_and_single_line_inputs() {
        assert!(read(b"").is_empty());
        assert!(read(b"\n\n").is_empty());
        assert_eq!(lines_of(&read(b"{\"a\":1}")), vec![Ok(1)]);
    }

    #[test]
    fn bad_evtx_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.evtx");
        std::fs::write(&p, b"ElfFile\0garbage").unwrap();
        assert!(matches!(open(&p), Err(OpenError::Evtx { .. })));
    }
}
