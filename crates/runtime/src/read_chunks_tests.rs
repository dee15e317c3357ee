//! Tests of the readers: lines cut into chunks, the buffered and the mapped
//! reader giving the same events and errors.

use super::*;
use crate::line_numbers::LineNumbers;
use proptest::prelude::*;

fn lines(input: &[u8], max: usize) -> Vec<String> {
    let mut reader = LineReader::new(std::io::Cursor::new(input.to_vec()), max, true);
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
    let numbers = LineNumbers::default();
    read_inputs(
        std::slice::from_ref(&path),
        None,
        ReadOptions {
            max_line_bytes: 8000,
            ..ReadOptions::default()
        },
        &|chunk: Chunk| {
            let base = numbers.base(chunk.seq, chunk.first_line);
            let mut events = Vec::new();
            let mut too_long = chunk.errors.len();
            let mut items = chunk.events.items();
            for item in items.by_ref() {
                match item {
                    ChunkItem::Event(at, e) => events.push((numbered(at, base), e.to_vec())),
                    ChunkItem::TooLong { .. } => too_long += 1,
                }
            }
            numbers.publish(chunk.seq, chunk.first_line, items.lines(), false);
            let (bytes, limit) = match chunk.events.run {
                Some(run) => (run.end - run.start, usize::MAX),
                None => (chunk.events.byte_len(), CHUNK_EVENTS),
            };
            assert!(events.len() <= limit);
            chunks
                .borrow_mut()
                .push((chunk.seq, events, too_long, bytes));
            spare.borrow_mut().extend(chunk.events.recycled());
            true
        },
        &|| spare.borrow_mut().pop(),
    );
    let chunks = chunks.into_inner();
    let mut got = Vec::new();
    for (k, (seq, events, _, bytes)) in chunks.iter().enumerate() {
        // Runs are cut by bytes alone (the reader does not count their
        // events); the reader's chunks by events too (checked as sent).
        assert_eq!(*seq, k as u64);
        assert!(*bytes < CHUNK_BYTES + 8000 + 2, "{bytes}");
        got.extend(events.iter().cloned());
    }
    assert!(chunks.len() > 10, "{}", chunks.len());
    assert_eq!(chunks.iter().map(|c| c.2).sum::<usize>(), 6);
    assert_eq!(got.len(), expected.len());
    assert!(got == expected);
}

/// Everything one read of `path` sent: per chunk its events (position and
/// bytes) and its errors (kind and message), and whether each chunk's
/// events lie in one buffer within the limits.
type Sent = Vec<(Events, Errors)>;
type Events = Vec<(Position, Vec<u8>)>;
type Errors = Vec<(Option<RejectKind>, String)>;

fn read_all(path: &Path, max_line_bytes: usize, mmap: bool, window_bytes: usize) -> Sent {
    let sent = std::cell::RefCell::new(Sent::new());
    let spare = std::cell::RefCell::new(Vec::new());
    // Chunks numbered as workers number them, one after another here.
    let numbers = LineNumbers::default();
    read_windowed(
        &[path.to_path_buf()],
        None,
        ReadOptions {
            max_line_bytes,
            mmap,
        },
        window_bytes,
        &|chunk: Chunk| {
            assert!(chunk.events.len() <= CHUNK_EVENTS);
            assert!(chunk.events.byte_len() < CHUNK_BYTES + max_line_bytes + 2);
            if chunk.events.mapped.is_some() {
                assert!(chunk.events.bytes.is_empty());
            }
            if let Some(run) = chunk.events.run {
                assert!(chunk.events.spans.is_empty() && chunk.errors.is_empty());
                assert!(run.start < run.end && run.end - run.start <= window_bytes);
            }
            let base = numbers.base(chunk.seq, chunk.first_line);
            let mut events = Vec::new();
            let mut errors: Errors = chunk
                .errors
                .iter()
                .map(|e| (e.kind, note_text(path, base, e.at, &e.message)))
                .collect();
            let mut items = chunk.events.items();
            for item in items.by_ref() {
                match item {
                    ChunkItem::Event(at, e) => events.push((numbered(at, base), e.to_vec())),
                    ChunkItem::TooLong { at, bytes, max } => errors.push((
                        Some(RejectKind::LineTooLong),
                        note_text(path, base, Some(at), &too_long_message(bytes, max)),
                    )),
                }
            }
            numbers.publish(chunk.seq, chunk.first_line, items.lines(), false);
            sent.borrow_mut().push((events, errors));
            spare.borrow_mut().extend(chunk.events.recycled());
            true
        },
        &|| spare.borrow_mut().pop(),
    );
    sent.into_inner()
}

/// The events and errors of a read, in order, whatever the chunks.
fn flattened(sent: &Sent) -> (Events, Errors) {
    let events = sent.iter().flat_map(|c| c.0.iter().cloned()).collect();
    let errors = sent.iter().flat_map(|c| c.1.iter().cloned()).collect();
    (events, errors)
}

/// Pieces of JSON-lines input: text, line ends of both kinds, blank
/// space, byte-order marks (only the first line's is dropped), and lines
/// around the limits.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z{}\":,]{1,12}".prop_map(String::into_bytes),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b" \t".to_vec()),
        Just(BOM.to_vec()),
        (20usize..90).prop_map(|n| vec![b'x'; n]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The mapped reader cuts a file into the same events (positions and
    /// bytes), blank lines, too long lines and errors as the buffered one,
    /// whatever the window's size: lines crossing windows' ends, lines
    /// longer than a window, a last line without a line end, a
    /// byte-order mark.
    #[test]
    fn mapped_and_buffered_reads_agree(
        bom in any::<bool>(),
        lead in "[ \n]{0,3}",
        first in "[a-z]{0,30}",
        crlf in any::<bool>(),
        pieces in proptest::collection::vec(piece(), 0..40),
        max_line_bytes in 1usize..60,
        window_bytes in 1usize..100,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        // A first line that makes the file JSON lines, then anything.
        let mut text = if bom { BOM.to_vec() } else { Vec::new() };
        text.extend(format!("{lead}{{\"k\":\"{first}\"}}").bytes());
        text.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        text.extend(pieces.concat());
        std::fs::write(&path, &text).unwrap();
        prop_assert!(matches!(open_raw(&path), Ok(RawInput::Lines(_))));
        let buffered = flattened(&read_all(&path, max_line_bytes, false, window_bytes));
        let mapped = flattened(&read_all(&path, max_line_bytes, true, window_bytes));
        prop_assert_eq!(&mapped, &buffered);
        // Each line is an event, a too long line, or blank.
        let lines = text.split(|&b| b == b'\n').count() - usize::from(text.ends_with(b"\n"));
        prop_assert!(mapped.0.len() + mapped.1.len() <= lines);
        prop_assert!(mapped.1.iter().all(|e| e.0 == Some(RejectKind::LineTooLong)));
    }
}

#[test]
fn mapped_reads_of_a_large_file_agree_with_buffered_ones() {
    // Windows of 4 kB over ~600 kB of lines from 10 bytes to 6 kB (some
    // longer than a window, some over the maximum), chunks cut by count
    // and by bytes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let mut text = String::new();
    for n in 1..=3000u64 {
        let pad = "p".repeat(((n * 7919) % 6000) as usize % if n % 10 == 0 { 6000 } else { 300 });
        text.push_str(&format!("{{\"n\":{n},\"pad\":\"{pad}\"}}"));
        text.push_str(if n % 3 == 0 { "\r\n" } else { "\n" });
    }
    std::fs::write(&path, &text).unwrap();
    let buffered = read_all(&path, 5000, false, 4096);
    let mapped = read_all(&path, 5000, true, 4096);
    assert_eq!(flattened(&mapped), flattened(&buffered));
    assert!(flattened(&mapped).1.len() > 10, "some lines are too long");
    // Through the default windows (the file in one window): the same
    // events and errors.
    let whole = read_all(&path, 5000, true, WINDOW_BYTES);
    assert_eq!(flattened(&whole), flattened(&buffered));
}

#[test]
fn an_empty_file_and_a_file_without_line_ends_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    for text in [&b""[..], b"{\"a\":1}", b"\xEF\xBB\xBF{\"a\":1}", b"   "] {
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            flattened(&read_all(&path, 100, true, 8)),
            flattened(&read_all(&path, 100, false, 8)),
            "{text:?}"
        );
    }
}

#[test]
fn runs_of_short_lines_hold_about_a_chunk_of_events() {
    // 100,000 lines of 41 bytes: sized by bytes alone, a 1 MiB run would
    // hold ~25,000 of them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let text: String = (0..100_000u64)
        .map(|n| format!("{{\"EventID\":1,\"n\":\"{n:020}\"}}\n"))
        .collect();
    assert!(text.lines().all(|l| l.len() == 40));
    std::fs::write(&path, text).unwrap();
    let runs = std::cell::RefCell::new(Vec::new());
    read_inputs(
        std::slice::from_ref(&path),
        None,
        ReadOptions::default(),
        &|chunk: Chunk| {
            if chunk.events.run.is_some() {
                let mut items = chunk.events.items();
                items.by_ref().for_each(drop);
                runs.borrow_mut().push(items.lines());
            }
            true
        },
        &|| None,
    );
    let runs = runs.into_inner();
    assert!(runs.len() > 40, "{} runs", runs.len());
    // A chunk's worth of lines (84 KiB, more than the least run), and the
    // line that crosses it.
    assert!(
        runs[..runs.len() - 1]
            .iter()
            .all(|&lines| (CHUNK_EVENTS as u64..=CHUNK_EVENTS as u64 + 1).contains(&lines)),
        "{runs:?}"
    );
}
