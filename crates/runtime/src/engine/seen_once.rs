//! Which keys were seen once: the per-scanner caches of single values
//! (`value_hits.rs`, `keyword_values.rs`, stage 2's hit cache) remember an
//! entry the second time its key is seen, so values that never repeat
//! (times, GUIDs, process ids) cost no copy and push nothing out. (The
//! memos of candidates and verdicts remember from the first sight:
//! `remembered.rs`. Caches of single values remembering from the first
//! sight took all SigmaHQ from 23,075 to 26,473 instructions per generated
//! event: BENCHMARKS.md, v41.)

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
