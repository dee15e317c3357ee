//! The member names of an indexed line's scalars, encoded one after the
//! other (length-prefixed): the key of a stage-1 layout of names
//! (`engine/compact.rs`), or of its part after the names a number tells
//! ([`MemberIndex::flat_prefix`]).

use super::{MemberIndex, NO_KEY};

impl MemberIndex {
    /// [`MemberIndex::encode_names_from`] the first scalar, into `out`
    /// emptied first (tests).
    #[cfg(test)]
    pub(crate) fn encode_names(&self, raw: &[u8], out: &mut Vec<u8>) {
        out.clear();
        self.encode_names_from(raw, 0, out);
    }

    /// Appends to `out` the member name of each scalar of the last indexed
    /// event from the `from`-th on, in order: its length as four bytes,
    /// little-endian (`u32::MAX` for a scalar without a member, told from
    /// one named ""), then its bytes. A name of up to 16 bytes is copied as
    /// one 16-byte block whose bytes past the name the next entry
    /// overwrites, not by a call per name (this runs once per event).
    pub(crate) fn encode_names_from(&self, raw: &[u8], from: usize, out: &mut Vec<u8>) {
        // Room for every entry and a block past the last. The names of a
        // flat line's scalars are distinct parts of it; scalars of an array
        // share their member's name, so the names can take more than the
        // line. Only the names written are counted (those of a number's
        // first scalars are not).
        let names: usize = if self.is_flat() {
            raw.len()
        } else {
            let written = self.spans.get(from..).unwrap_or_default();
            written
                .iter()
                .map(|s| (s.key.1 as usize).saturating_sub(s.key.0 as usize))
                .sum()
        };
        let base = out.len();
        out.resize(base + names + 4 * self.len().saturating_sub(from) + 16, 0);
        let mut at = base;
        for span in (from..self.len()).filter_map(|k| self.span(k)) {
            let (start, end) = (span.key.0 as usize, span.key.1 as usize);
            let name = (span.key != NO_KEY).then(|| raw.get(start..end)).flatten();
            let len = name.map_or(u32::MAX, |n| n.len() as u32);
            if let Some(slot) = out.get_mut(at..at + 4) {
                slot.copy_from_slice(&len.to_le_bytes());
            }
            at += 4;
            let Some(name) = name else { continue };
            match (raw.get(start..start + 16), out.get_mut(at..at + 16)) {
                (Some(block), Some(slot)) if name.len() <= 16 => slot.copy_from_slice(block),
                _ => {
                    if let Some(slot) = out.get_mut(at..at + name.len()) {
                        slot.copy_from_slice(name);
                    }
                }
            }
            at += name.len();
        }
        out.truncate(at);
    }
}
