//! Matched events' values given back once their detections were written
//! ([`super::Scanner::give_back`]), kept by the serial number of their
//! stage-1 layout (events of one layout have the same member names, so
//! the next matched event of that layout is written into the value:
//! `partial::parse_whole_into`, no map built or name hashed again).
//!
//! Real logs interleave kinds of events: one spare for all was written
//! into by an event of another layout as often as not, which the refill
//! tells only part way through, then built afresh anyway.

use serde_json::Value;

/// How many layouts keep a spare value (the oldest goes first).
const SPARE_EVENTS: usize = 8;

/// Events longer than this (as read) are not kept: the spares stay small
/// whatever the input holds.
const SPARE_BYTES: usize = 64 * 1024;

/// The spare values, oldest first, each under its layout's serial number
/// (`None`: the layout was not looked up), and the length of the line last
/// written into a value ([`SpareEvents::written`]).
#[derive(Debug, Default)]
pub(super) struct SpareEvents {
    slots: Vec<(Option<u64>, Value)>,
    last_line: usize,
}

impl SpareEvents {
    /// The spare value of layout `serial`, taken out.
    pub(super) fn take(&mut self, serial: Option<u64>) -> Option<Value> {
        let i = self.slots.iter().position(|(s, _)| *s == serial)?;
        Some(self.slots.remove(i).1)
    }

    /// Notes the length of the line stage 2 is reading (the value given
    /// back next is that line's).
    pub(super) fn written(&mut self, line: usize) {
        self.last_line = line;
    }

    /// Keeps `value` as the spare of layout `serial`, in place of the
    /// oldest when all slots are taken; not when its line was longer than
    /// [`SPARE_BYTES`].
    pub(super) fn put(&mut self, serial: Option<u64>, value: Value) {
        if self.last_line > SPARE_BYTES {
            return;
        }
        if let Some(slot) = self.slots.iter_mut().find(|(s, _)| *s == serial) {
            slot.1 = value;
            return;
        }
        if self.slots.len() == SPARE_EVENTS {
            self.slots.remove(0);
        }
        self.slots.push((serial, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_kept_by_layout_the_oldest_going_first() {
        let mut spares = SpareEvents::default();
        for n in 0..=SPARE_EVENTS as u64 {
            spares.put(Some(n), Value::from(n));
        }
        spares.put(None, Value::from("unknown"));
        // Layouts 0 and 1 went for the two last.
        assert_eq!(spares.take(Some(0)), None);
        assert_eq!(spares.take(Some(1)), None);
        assert_eq!(spares.take(Some(2)), Some(Value::from(2)));
        assert_eq!(spares.take(Some(2)), None);
        assert_eq!(spares.take(None), Some(Value::from("unknown")));
        spares.put(Some(5), Value::from("again"));
        assert_eq!(spares.take(Some(5)), Some(Value::from("again")));
        // A long line's value is not kept.
        spares.written(SPARE_BYTES + 1);
        spares.put(Some(100), Value::from("long"));
        assert_eq!(spares.take(Some(100)), None);
        spares.written(SPARE_BYTES);
        spares.put(Some(100), Value::from("short"));
        assert_eq!(spares.take(Some(100)), Some(Value::from("short")));
    }
}
