//! Texts that Hyperscan reads from an address aligned to 64 bytes.
//!
//! Stage 1 copies an event's values into one text and scans it: the copy
//! of the values witnesses count in (`compact.rs`), the values not found
//! remembered (`value_hits.rs`), the values a keyword check reads
//! (`keyword_check.rs`). Where a reused buffer starts depends on the
//! allocator, and Hyperscan's literal matcher (FDR) reads a text that
//! starts on a cache line with fewer instructions: which builds were
//! quicker turned on where their buffers happened to lie (callgrind,
//! FDR per generated `evtx_dump` event with all SigmaHQ: 1,279-1,630).

/// A text for Hyperscan that starts at an address aligned to 64 bytes:
/// its literal matcher (FDR) reads such a text with ~18 % fewer
/// instructions than one that starts anywhere (callgrind, generated
/// process creations: 971 → 799 per event). The bytes before the start
/// are padding of the reused buffer; a buffer that grew while the text was
/// written leaves that text unaligned, the next one aligned again.
#[derive(Default)]
pub(super) struct AlignedText {
    buffer: Vec<u8>,
    /// Where the text starts in `buffer`.
    start: usize,
}

/// The alignment [`AlignedText`] keeps (a cache line).
const TEXT_ALIGN: usize = 64;

impl AlignedText {
    /// Empties the text, its start aligned in the buffer (the padding
    /// before it is written again only when the buffer moved).
    pub(super) fn clear(&mut self) {
        if self.buffer.capacity() < TEXT_ALIGN {
            self.buffer.reserve(TEXT_ALIGN);
        }
        let pad = self.buffer.as_ptr().align_offset(TEXT_ALIGN);
        let start = if pad < TEXT_ALIGN { pad } else { 0 };
        if start == self.start && self.buffer.len() >= start {
            self.buffer.truncate(start);
        } else {
            self.start = start;
            self.buffer.clear();
            self.buffer.resize(start, b'\n');
        }
    }

    pub(super) fn push(&mut self, byte: u8) {
        self.buffer.push(byte);
    }

    pub(super) fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }
}

/// The text written since the last [`AlignedText::clear`].
impl std::ops::Deref for AlignedText {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.buffer.get(self.start..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{AlignedText, TEXT_ALIGN};

    #[test]
    fn the_text_starts_aligned_and_holds_what_was_written() {
        let mut text = AlignedText::default();
        for round in 0..50usize {
            text.clear();
            assert_eq!(text.len(), 0);
            let aligned = (text.as_ptr() as usize).is_multiple_of(TEXT_ALIGN);
            let mut expected = Vec::new();
            for k in 0..round * 7 {
                let value = format!("value {k} of round {round}");
                text.extend_from_slice(value.as_bytes());
                text.push(b'\n');
                expected.extend_from_slice(value.as_bytes());
                expected.push(b'\n');
            }
            assert_eq!(*text, *expected);
            assert_eq!(text.len(), expected.len());
            // Once the buffer is large enough, every text starts aligned.
            assert!(aligned || round < 2, "round {round}");
        }
    }
}
