//! JSON-lines files read through memory maps of the page cache instead of
//! copies of it.
//!
//! The buffered reader (`read_chunks::LineReader`) copies every byte twice:
//! the kernel copies it from the page cache into the reader's buffer, the
//! reader copies it into a chunk's. With two workers matching, that reader
//! took 10-20 % of the two cores, much of the gap between a run over a file
//! and one over the same events in memory; mapped, two-thread runs read
//! 2-14 % more events per second (BENCHMARKS.md, "fast path v30").
//! A regular file is instead mapped a window at a time ([`WINDOW_BYTES`],
//! its pages mapped at once), and a chunk's events are ranges of its window:
//! the chunk holds the window (an `Arc`) until its worker is done, and the
//! window is unmapped when the last chunk over it goes. What the mapped
//! pages add to the resident memory is the windows of the chunks in flight,
//! whatever the file's size.
//!
//! Once the file's profile is known, the reader takes runs of whole lines
//! instead ([`MappedLines::next_run`]: it reads only around each run's
//! end), and the run's worker cuts them ([`LineRun::lines`]), as
//! [`MappedLines::next`] would, asking the bytes a few lines ahead into the
//! cache: reading every byte in the reader cost it 100-140 ns an event, and
//! the worker then read each line again from the reader's core (BENCHMARKS.md,
//! "fast path v58").
//!
//! Lines are cut exactly as the buffered reader cuts them (the same ranges,
//! line numbers, blank and too long lines, the byte-order mark of the first
//! line): `read_chunks`' tests compare both readers over random inputs.
//! What a window cannot hold is left to the buffered reader: a line longer
//! than a window (mapping resumes after it), and what follows the file's
//! last line end as it was when opened (a last line without a line end, and
//! whatever is appended while the file is read).
//!
//! A mapped file must not shrink while it is read: touching a page past its
//! new end raises SIGBUS, which ends the process. Inputs that may be
//! truncated while read (a log rotated by copy and truncate) are read with
//! `ReadOptions::mmap` off (`--no-mmap`).

use std::fs::File;
use std::sync::Arc;

use memmap2::{Mmap, MmapOptions};

use crate::prefetch::prefetch;
use crate::read_chunks::BOM;

/// Bytes mapped at a time. A line crossing a window's end starts the next
/// window; one longer than a window goes to the buffered reader. The
/// windows of the chunks in flight (on two threads, up to ten chunks of
/// ~1 MiB) count in the resident memory: windows of 16 MiB held two or
/// three of them at the peak (45-62 MB mapped), of 8 MiB 38 MB, for no
/// change in the floor or the matching rate that the host's noise shows
/// (BENCHMARKS.md, "after v59").
pub(crate) const WINDOW_BYTES: usize = 8 << 20;

/// What [`MappedLines::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MappedLine {
    /// A line of the current window ([`MappedLines::window`]): its range
    /// there, without its line end and trailing whitespace (and the
    /// byte-order mark of the file's first line).
    Line(usize, usize),
    /// A line of whitespace only.
    Blank,
    /// A line longer than the maximum, this many bytes with its line end.
    TooLong(u64),
    /// The line at this offset of the file is longer than a window: the
    /// buffered reader reads it, then [`MappedLines::resume_at`] the offset
    /// after it.
    Unfit(u64),
    /// The buffered reader reads the file from this offset on: what follows
    /// the last line end of the file as opened, or everything from there
    /// when a window could not be mapped.
    Rest(u64),
}

/// The lines of one regular file, a mapped window at a time.
pub(crate) struct MappedLines<'f> {
    file: &'f File,
    /// The file's length when opened: nothing past it is mapped.
    len: u64,
    max_line_bytes: usize,
    window_bytes: usize,
    /// The current window and the offset of its first byte in the file.
    window: Option<(Arc<Mmap>, u64)>,
    /// The next line's position in the window.
    at: usize,
    /// Where the next window starts, when there is none.
    next_offset: u64,
    /// The next line is the file's first.
    first: bool,
}

impl<'f> MappedLines<'f> {
    /// The lines of `file`, at most `max_line_bytes` each, mapped
    /// `window_bytes` at a time ([`WINDOW_BYTES`] but in tests); `None`
    /// when it is not a regular file or is empty (the buffered reader
    /// reads it).
    pub(crate) fn new(
        file: &'f File,
        max_line_bytes: usize,
        window_bytes: usize,
    ) -> Option<MappedLines<'f>> {
        let metadata = file.metadata().ok()?;
        (metadata.is_file() && metadata.len() > 0).then_some(MappedLines {
            file,
            len: metadata.len(),
            max_line_bytes,
            window_bytes: window_bytes.max(1),
            window: None,
            at: 0,
            next_offset: 0,
            first: true,
        })
    }

    /// The window the last [`MappedLine::Line`] lies in.
    pub(crate) fn window(&self) -> Option<&Arc<Mmap>> {
        self.window.as_ref().map(|(map, _)| map)
    }

    /// Goes on from `offset` of the file (after a line the buffered reader
    /// read).
    pub(crate) fn resume_at(&mut self, offset: u64) {
        self.first = false;
        self.window = None;
        self.next_offset = offset;
    }

    /// The next line; `None` after the file's last line end when nothing
    /// follows it.
    pub(crate) fn next(&mut self) -> Option<MappedLine> {
        match self.step(|rest| memchr::memchr(b'\n', rest))? {
            Ok((from, line_end)) => Some(self.cut(from, line_end)),
            Err(other) => Some(other),
        }
    }

    /// The line at `from..line_end` of the window (`line_end` the index of
    /// its `\n`), as the buffered reader cuts it.
    fn cut(&mut self, from: usize, line_end: usize) -> MappedLine {
        let first = std::mem::take(&mut self.first);
        let Some(bytes) = self.window.as_ref().map(|(map, _)| &map[..]) else {
            return MappedLine::Blank;
        };
        cut_line(bytes, from, line_end, first, self.max_line_bytes)
    }

    /// The next run of whole lines of the current window, from the next
    /// line to the first line end at least `wanted` bytes on (or the
    /// window's last line end before that); what [`MappedLines::next`]
    /// answers when the window holds no line end from there.
    pub(crate) fn next_run(&mut self, wanted: usize) -> Option<Result<LineRun, MappedLine>> {
        let run_end = |rest: &[u8]| {
            let probe = wanted.saturating_sub(1).min(rest.len());
            match memchr::memchr(b'\n', rest.get(probe..).unwrap_or_default()) {
                Some(i) => Some(probe + i),
                None => memchr::memrchr(b'\n', rest.get(..probe).unwrap_or_default()),
            }
        };
        Some(self.step(run_end)?.map(|(from, last_end)| LineRun {
            start: from,
            end: last_end + 1,
            first: std::mem::take(&mut self.first),
            max_line_bytes: self.max_line_bytes,
        }))
    }

    /// From the next line to the line end `line_end` finds in the rest of
    /// the window (the range in the window, the line end's index; mapping
    /// windows as needed), or what lies there when the window holds none:
    /// the rest of the file for the buffered reader, or a line longer than
    /// a window. `None` after the file's last line end.
    fn step(
        &mut self,
        line_end: impl Fn(&[u8]) -> Option<usize>,
    ) -> Option<Result<(usize, usize), MappedLine>> {
        loop {
            let Some((map, start)) = &self.window else {
                let offset = self.next_offset;
                if offset >= self.len {
                    return None;
                }
                match self.map(offset) {
                    Ok(map) => {
                        self.window = Some((Arc::new(map), offset));
                        self.at = 0;
                        continue;
                    }
                    Err(_) => return Some(Err(MappedLine::Rest(offset))),
                }
            };
            let (bytes, start) = (&map[..], *start);
            let from = self.at;
            let rest = bytes.get(from..)?;
            if let Some(i) = line_end(rest) {
                self.at = from + i + 1;
                return Some(Ok((from, from + i)));
            }
            let offset = start + from as u64;
            let window_end = start + bytes.len() as u64;
            if offset >= self.len {
                return None;
            }
            if window_end >= self.len {
                return Some(Err(MappedLine::Rest(offset)));
            }
            if from == 0 {
                return Some(Err(MappedLine::Unfit(offset)));
            }
            // The line goes on past the window: the next one starts with it.
            self.window = None;
            self.next_offset = offset;
        }
    }

    /// A window of the file from `offset`, its pages mapped at once.
    fn map(&self, offset: u64) -> std::io::Result<Mmap> {
        let len = (self.len - offset).min(self.window_bytes as u64) as usize;
        // SAFETY: the map is read-only and private to this reader; the
        // bytes it shows are only read, as `&[u8]`. What mapping cannot
        // rule out is another process changing the file meanwhile: bytes
        // rewritten in place are read as they are at the time (any bytes
        // are valid input: lines are validated, never trusted), and a file
        // truncated below a mapped page raises SIGBUS, which the module
        // documentation and `--no-mmap` are about.
        unsafe {
            MmapOptions::new()
                .offset(offset)
                .len(len)
                .populate()
                .map(self.file)
        }
    }
}

/// Whole lines of a window, cut by their chunk's worker rather than by the
/// reader: `start..end` of the window, `end` just after a line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineRun {
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// The run starts with the file's first line (a byte-order mark there
    /// is dropped).
    pub(crate) first: bool,
    pub(crate) max_line_bytes: usize,
}

/// How far ahead of the line being cut [`RunLines`] asks for the run's
/// bytes: a few lines, so that their misses overlap the matching of the
/// lines before them.
const PREFETCH_BYTES: usize = 4096;

impl LineRun {
    /// The lines of the run in `window` (the window it was cut from), in
    /// order, each cut as [`MappedLines::next`] cuts it.
    pub(crate) fn lines(self, window: &[u8]) -> RunLines<'_> {
        let end = self.end.min(window.len());
        RunLines {
            window,
            at: self.start.min(end),
            end,
            first: self.first,
            max_line_bytes: self.max_line_bytes,
            asked: self.start.min(end),
        }
    }
}

/// The lines of a [`LineRun`]: [`MappedLine::Line`], `Blank` or `TooLong`.
///
/// The bytes a few lines on are asked into the cache as the lines are
/// cut: the run is read here first (the reader only found its end), so
/// without the hints every line would start with misses to memory.
pub(crate) struct RunLines<'w> {
    window: &'w [u8],
    /// The next line's start.
    at: usize,
    end: usize,
    first: bool,
    max_line_bytes: usize,
    /// Bytes before this were asked into the cache.
    asked: usize,
}

impl<'w> RunLines<'w> {
    /// The window the lines' ranges are of.
    pub(crate) fn window(&self) -> &'w [u8] {
        self.window
    }

    /// The longest line the run's input accepts.
    pub(crate) fn max_line_bytes(&self) -> usize {
        self.max_line_bytes
    }
}

impl Iterator for RunLines<'_> {
    type Item = MappedLine;

    fn next(&mut self) -> Option<MappedLine> {
        let from = self.at;
        let rest = self.window.get(from..self.end)?;
        let ahead = from.saturating_add(PREFETCH_BYTES).min(self.end);
        while self.asked < ahead {
            if let Some(byte) = self.window.get(self.asked) {
                prefetch(byte);
            }
            self.asked += 64;
        }
        let Some(i) = memchr::memchr(b'\n', rest) else {
            // A run ends with a line end; nothing follows the last one.
            self.at = self.end;
            return None;
        };
        self.at = from + i + 1;
        let first = std::mem::take(&mut self.first);
        Some(cut_line(
            self.window,
            from,
            from + i,
            first,
            self.max_line_bytes,
        ))
    }
}

/// The line at `from..line_end` of `bytes` (`line_end` the index of its
/// `\n`), as the buffered reader cuts it.
fn cut_line(bytes: &[u8], from: usize, line_end: usize, first: bool, max: usize) -> MappedLine {
    let with_end = line_end + 1 - from;
    if with_end > max.saturating_add(1) {
        return MappedLine::TooLong(with_end as u64);
    }
    let mut start = from;
    if first
        && bytes
            .get(from..=line_end)
            .is_some_and(|l| l.starts_with(BOM))
    {
        start += BOM.len();
    }
    let mut end = line_end;
    while end > start && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
        end -= 1;
    }
    if end == start {
        MappedLine::Blank
    } else {
        MappedLine::Line(start, end)
    }
}
