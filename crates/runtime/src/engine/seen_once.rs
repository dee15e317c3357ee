//! Which keys were seen once: stage 2's hit cache and the keyword values
//! (`keyword_values.rs`) remember an entry the second time its key is
//! seen, so texts that never repeat (times, GUIDs, process ids) cost no
//! work and push nothing out. (The memos of candidates and verdicts, and
//! the values' stage-1 hits, remember from the first sight: a scan or an
//! evaluation costs more than the copy. Stage 2's hit cache remembering
//! from the first sight took all SigmaHQ from 23,056 to 26,637
//! instructions per generated event, the keyword values changed nothing:
//! BENCHMARKS.md, v41.)

/// Slots of the table (a power of two).
const SLOTS: usize = 1 << 12;

/// Hashes of keys seen once, one per slot (the newest wins); allocated on
/// first use.
#[derive(Default)]
pub(crate) struct SeenOnce {
    slots: Vec<u64>,
}

impl SeenOnce {
    /// Whether `key` was seen before (since its slot last held another);
    /// notes it as seen.
    pub(crate) fn seen_before(&mut self, key: u64) -> bool {
        if self.slots.len() != SLOTS {
            self.slots = vec![0; SLOTS];
        }
        let Some(slot) = self.slots.get_mut((key as usize) & (SLOTS - 1)) else {
            return false;
        };
        if *slot == key {
            return true;
        }
        *slot = key;
        false
    }
}
