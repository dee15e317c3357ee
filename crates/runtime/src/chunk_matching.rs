//! What a pipeline worker does with one chunk: every event matched, every
//! line that is not an event accounted for, and the chunk's output
//! (formatted detections, rejections, correlation sightings) written with
//! each event's line in its input.
//!
//! A run's lines are cut and counted here as they are matched
//! (`read_chunks.rs`), so where the chunk starts in its input may not be
//! known until the chunks before it are counted ([`LineNumbers`]). What
//! needs a line number then waits in order ([`Held`]) for the chunk's end;
//! if the chunks before it are not all counted by then, the chunk is
//! [`Unnumbered`] and its worker goes on with the next chunk, finishing
//! this one after it ([`finish`]), rather than waiting idle. (Waiting at
//! the end of each chunk idled the two workers of a two-thread run 7 % of
//! the time.) A chunk holding [`MOST_HELD`] items waits for its base
//! instead of holding more.

use std::path::PathBuf;
use std::sync::Arc;

use hypersigma_compiler::Profile;
use serde_json::Value;

use crate::accounting::RejectKind;
use crate::correlate::EventRef;
use crate::engine::{Engine, Scanner, Verdict};
use crate::input::Position;
use crate::line_numbers::{FirstLine, LineNumbers};
use crate::pipeline::{Detection, Output};
use crate::read_chunks::{note_text, numbered, too_long_message, Chunk, ChunkItem};

/// Most items (detections, error lines) a chunk holds while its lines'
/// numbers are unknown; the next one waits for them.
const MOST_HELD: usize = 256;

/// Output that waits for the chunk's first line number.
enum Held {
    /// A line for the error output: `path:line: message`, or `message`
    /// alone without a position.
    Note {
        at: Option<Position>,
        message: String,
    },
    /// A detection to format.
    Detection {
        at: Position,
        /// The event's line as read (copied: the chunk may be gone when it
        /// is released).
        line: Vec<u8>,
        rules: Vec<u32>,
        event: Value,
    },
}

/// A chunk whose output waits for the count of the chunks before it.
pub(crate) struct Unnumbered {
    seq: u64,
    first: FirstLine,
    path: Arc<PathBuf>,
    profile: Option<Arc<Profile>>,
    out: Output,
    held: Vec<Held>,
}

impl Unnumbered {
    /// The chunk's number in the run.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// The output, what it held written with the chunk's lines numbered
    /// after `base`.
    fn numbered<F>(
        mut self: Box<Self>,
        scanner: &mut Scanner<'_>,
        base: u64,
        format: &F,
        fallback: &Profile,
    ) -> Output
    where
        F: Fn(&Detection<'_>, &mut Vec<u8>) + Sync,
    {
        let mut w = Writer {
            scanner,
            format,
            path: &self.path,
            profile: self.profile.as_deref().unwrap_or(fallback),
        };
        w.release(&mut self.out, &mut self.held, base);
        self.out
    }
}

/// Where the chunk's lines start, asked once; the chunk is published when
/// dropped (also if matching panicked, so that no other worker waits on it).
struct Numbering<'n> {
    numbers: &'n LineNumbers,
    seq: u64,
    first: FirstLine,
    /// Lines of the input before the chunk's, once known.
    base: Option<u64>,
    /// The chunk's lines, once all cut.
    lines: u64,
    /// Its base is asked after it is published.
    keep_base: bool,
}

impl Numbering<'_> {
    /// Lines before the chunk's first, waiting for the chunks before it.
    fn base(&mut self) -> u64 {
        *self
            .base
            .get_or_insert_with(|| self.numbers.base(self.seq, self.first))
    }
}

impl Drop for Numbering<'_> {
    fn drop(&mut self) {
        self.numbers
            .publish(self.seq, self.first, self.lines, self.keep_base);
    }
}

/// What writes a chunk's output.
struct Writer<'a, 'e, F> {
    scanner: &'a mut Scanner<'e>,
    format: &'a F,
    path: &'a std::path::Path,
    profile: &'a Profile,
}

impl<F> Writer<'_, '_, F>
where
    F: Fn(&Detection<'_>, &mut Vec<u8>) + Sync,
{
    /// Formats a detection of `rules` on `event`, read at `at` (in its
    /// input) from `line`; the event's memory goes back to the scanner.
    fn detection(
        &mut self,
        out: &mut Output,
        at: Position,
        line: &[u8],
        rules: &[u32],
        event: Value,
    ) {
        let scanner = &*self.scanner;
        let explain = |r: u32| scanner.explain(r, &event, self.profile);
        let d = Detection {
            path: self.path,
            position: at,
            event: &event,
            line,
            profile: self.profile,
            rules,
            explain: &explain,
        };
        (self.format)(&d, &mut out.stdout);
        // The next matched event is written into it.
        self.scanner.give_back(event);
    }

    /// A line of the error output: `path:line: message`, or `message`
    /// alone without a position.
    fn note(&self, out: &mut Output, base: u64, at: Option<Position>, message: &str) {
        out.stderr
            .extend_from_slice(note_text(self.path, base, at, message).as_bytes());
        out.stderr.push(b'\n');
    }

    /// Writes what waited for the chunk's base, in order, and numbers the
    /// sightings taken meanwhile.
    fn release(&mut self, out: &mut Output, held: &mut Vec<Held>, base: u64) {
        for item in held.drain(..) {
            match item {
                Held::Note { at, message } => self.note(out, base, at, &message),
                Held::Detection {
                    at,
                    line,
                    rules,
                    event,
                } => self.detection(out, numbered(at, base), &line, &rules, event),
            }
        }
        for sighting in &mut out.sightings {
            sighting.event.position = numbered(sighting.event.position, base);
        }
    }
}

/// A chunk's output as it is matched: written at once when the chunk's
/// base is known, else held in order.
struct ChunkOutput<'a, 'e, 'n, F> {
    w: Writer<'a, 'e, F>,
    out: Output,
    held: Vec<Held>,
    numbering: Numbering<'n>,
}

impl<F> ChunkOutput<'_, '_, '_, F>
where
    F: Fn(&Detection<'_>, &mut Vec<u8>) + Sync,
{
    /// The chunk's base for the next item: asked (waiting) and what was
    /// held written when [`MOST_HELD`] items are held already.
    fn base_for_next(&mut self) -> Option<u64> {
        if self.numbering.base.is_none() && self.held.len() >= MOST_HELD {
            let base = self.numbering.base();
            self.w.release(&mut self.out, &mut self.held, base);
        }
        self.numbering.base
    }

    /// A line of the error output (its position in the chunk).
    fn note(&mut self, at: Option<Position>, message: String) {
        match self.base_for_next() {
            Some(base) => self.w.note(&mut self.out, base, at, &message),
            None => self.held.push(Held::Note { at, message }),
        }
    }

    /// A detection of `rules` on `event`, read from `line` (its position in
    /// the chunk).
    fn detection(&mut self, at: Position, line: &[u8], rules: Vec<u32>, event: Value) {
        match self.base_for_next() {
            Some(base) => self
                .w
                .detection(&mut self.out, numbered(at, base), line, &rules, event),
            None => self.held.push(Held::Detection {
                at,
                line: line.to_vec(),
                rules,
                event,
            }),
        }
    }
}

/// Matches one chunk's events with `scanner`, formatting detections with
/// `format`; `numbers` is the pipeline's, shared by its workers. The
/// output, every position numbered in its input; or the chunk, if its
/// output waits for where it starts ([`try_finish`], [`finish`]).
/// `stdout_capacity`: the room the formatted detections start with (the
/// worker's last chunk's bytes: grown from nothing by doubling, a chunk
/// of many detections copied its output again at every step, ~120
/// instructions a line of the real logs with all SigmaHQ rules).
pub(crate) fn match_chunk<F>(
    engine: &Engine,
    scanner: &mut Scanner<'_>,
    numbers: &LineNumbers,
    chunk: &Chunk,
    format: &F,
    fallback: &Profile,
    stdout_capacity: usize,
) -> Result<Output, Box<Unnumbered>>
where
    F: Fn(&Detection<'_>, &mut Vec<u8>) + Sync,
{
    let profile = chunk.profile.as_deref().unwrap_or(fallback);
    let memo_before = scanner.memo_answers();
    let mut o = ChunkOutput {
        w: Writer {
            scanner,
            format,
            path: &chunk.path,
            profile,
        },
        out: Output {
            stdout: Vec::with_capacity(stdout_capacity),
            profile: Some(profile.name.clone()),
            ..Output::default()
        },
        held: Vec::new(),
        numbering: Numbering {
            numbers,
            seq: chunk.seq,
            first: chunk.first_line,
            base: match chunk.first_line {
                FirstLine::After(lines) => Some(lines),
                FirstLine::AfterPrevious => None,
            },
            lines: 0,
            keep_base: false,
        },
    };
    for e in &chunk.errors {
        match e.kind {
            Some(kind) => {
                o.out.events += 1;
                o.out.rejected += 1;
                o.out.rejects.add(kind);
            }
            None => o.out.inputs_failed += 1,
        }
        o.note(e.at, e.message.clone());
    }
    let mut items = chunk.events.items();
    for item in items.by_ref() {
        let (at, raw) = match item {
            ChunkItem::Event(at, raw) => (at, raw),
            ChunkItem::TooLong { at, bytes, max } => {
                o.out.events += 1;
                o.out.rejected += 1;
                o.out.rejects.add(RejectKind::LineTooLong);
                o.note(Some(at), too_long_message(bytes, max));
                continue;
            }
        };
        o.out.events += 1;
        o.out.bytes += raw.len() as u64 + 1;
        let (verdict, event, candidates) = o.w.scanner.match_event_full(raw, profile);
        o.out.candidates += u64::from(candidates > 0);
        o.out.candidate_rules += candidates as u64;
        match (verdict, event) {
            (Verdict::Matched(mut rules), Some(event)) if !rules.is_empty() => {
                o.out.matches += rules.len() as u64;
                let correlations = engine.correlations();
                // Numbered from the chunk's start while its base is
                // unknown: `release` numbers them in the input.
                let sighted_at = o.numbering.base.map_or(at, |base| numbered(at, base));
                correlations.sightings(
                    &event,
                    profile,
                    || EventRef::new(&chunk.path, sighted_at),
                    &rules,
                    &mut o.out.sightings,
                );
                rules.retain(|&r| correlations.reports(r));
                if rules.is_empty() {
                    o.w.scanner.give_back(event);
                    continue;
                }
                o.out.detections += rules.len() as u64;
                o.detection(at, raw, rules, event);
            }
            (Verdict::Rejected(reason), _) => {
                o.out.rejected += 1;
                o.out.rejects.add(reason.kind);
                o.note(Some(at), reason.to_string());
            }
            _ => {}
        }
    }
    let ChunkOutput {
        w,
        mut out,
        held,
        mut numbering,
    } = o;
    numbering.lines = items.lines();
    out.memo = w.scanner.memo_answers().since(memo_before);
    if numbering.base.is_some() || (held.is_empty() && out.sightings.is_empty()) {
        return Ok(out);
    }
    // Published (when `numbering` drops) before its base is asked, kept
    // for it.
    numbering.keep_base = true;
    drop(numbering);
    let unnumbered = Box::new(Unnumbered {
        seq: chunk.seq,
        first: chunk.first_line,
        path: chunk.path.clone(),
        profile: chunk.profile.clone(),
        out,
        held,
    });
    try_finish(w.scanner, numbers, unnumbered, format, fallback)
}

/// The output of an [`Unnumbered`] chunk if where it starts is known now;
/// the chunk back if not.
pub(crate) fn try_finish<F>(
    scanner: &mut Scanner<'_>,
    numbers: &LineNumbers,
    chunk: Box<Unnumbered>,
    format: &F,
    fallback: &Profile,
) -> Result<Output, Box<Unnumbered>>
where
    F: Fn(&Detection<'_>, &mut Vec<u8>) + Sync,
{
    match numbers.try_base(chunk.seq, chunk.first) {
        Some(base) => Ok(chunk.numbered(scanner, base, format, fallback)),
        None => Err(chunk),
    }
}

/// The output of an [`Unnumbered`] chunk, once the chunks before it are
/// counted (waiting for them).
pub(crate) fn finish<F>(
    scanner: &mut Scanner<'_>,
    numbers: &LineNumbers,
    chunk: Box<Unnumbered>,
    format: &F,
    fallback: &Profile,
) -> Output
where
    F: Fn(&Detection<'_>, &mut Vec<u8>) + Sync,
{
    let base = numbers.base(chunk.seq, chunk.first);
    chunk.numbered(scanner, base, format, fallback)
}
