//! EVTX files through the `evtx` crate: each record's JSON feeds the same path
//! as JSON inputs, positioned by its record id.
//!
//! The parser runs on its own thread and hands records over a bounded channel,
//! so a large file streams instead of being held as JSON all at once.

use std::sync::mpsc::sync_channel;

use evtx::EvtxParser;

use crate::input::{Event, Events, Position, Rejected};

/// Records buffered between the parser thread and the reader.
const CHANNEL_DEPTH: usize = 1024;

/// EVTX layout: a 4 KiB file header, then 64 KiB chunks.
const HEADER_BYTES: usize = 4096;
const CHUNK_BYTES: usize = 65536;

/// The events of an EVTX file held in memory; fails when the header is
/// unusable. A file cut inside a chunk (which the parser skips silently) ends
/// with a read error naming the lost bytes.
pub(crate) fn events(bytes: Vec<u8>) -> Result<Events, String> {
    let partial = bytes.len().saturating_sub(HEADER_BYTES) % CHUNK_BYTES;
    let mut parser = EvtxParser::from_buffer(bytes).map_err(|e| e.to_string())?;
    let (tx, rx) = sync_channel(CHANNEL_DEPTH);
    std::thread::Builder::new()
        .name("evtx-reader".into())
        .spawn(move || {
            for record in parser.records_json_value() {
                let item = match record {
                    Ok(r) => Ok(Event {
                        value: r.data,
                        position: Position::Record(r.event_record_id),
                    }),
                    Err(e) => Err(Rejected {
                        position: None,
                        reason: format!("unreadable EVTX record: {e}"),
                        kind: crate::accounting::RejectKind::InvalidRecord,
                    }),
                };
                if tx.send(item).is_err() {
                    return;
                }
            }
            if partial > 0 {
                let _ = tx.send(Err(Rejected {
                    position: None,
                    reason: format!(
                        "truncated EVTX: the last chunk has {partial} of {CHUNK_BYTES} bytes; its records are lost"
                    ),
                    kind: crate::accounting::RejectKind::ReadError,
                }));
            }
        })
        .map_err(|e| format!("cannot start the EVTX reader thread: {e}"))?;
    Ok(Box::new(rx.into_iter()))
}
