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

/// The events of an EVTX file held in memory; fails when the header is unusable.
pub(crate) fn events(bytes: Vec<u8>) -> Result<Events, String> {
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
                    }),
                };
                if tx.send(item).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| format!("cannot start the EVTX reader thread: {e}"))?;
    Ok(Box::new(rx.into_iter()))
}
