//! What the memos of stage 1 (`candidate_memo.rs`) and stage 2
//! (`verdict_memo.rs`) share: lists of rule indices remembered under byte
//! keys (hashed, then compared byte for byte), from a key's second sight and
//! within bounds; and the switch that stops the lookups while too few are
//! answered.

use std::collections::HashMap;
use std::hash::BuildHasher;

use super::seen_once::SeenOnce;

/// Events not looked up after a window that did not pay.
pub(super) const OFF_EVENTS: u32 = 8192;

/// Lists of rule indices remembered under byte keys, at most `max_lists`
/// of them and `max_key_bytes` bytes of keys (then it starts over).
pub(super) struct RememberedLists {
    map: HashMap<u64, Remembered, foldhash::fast::FixedState>,
    /// The bytes of the keys in `map`.
    key_bytes: usize,
    /// Keys seen once (a list is remembered from the second sight).
    seen_once: SeenOnce,
    max_lists: usize,
    max_key_bytes: usize,
}

struct Remembered {
    key: Box<[u8]>,
    list: Box<[u32]>,
}

impl RememberedLists {
    pub(super) fn new(max_lists: usize, max_key_bytes: usize) -> Self {
        RememberedLists {
            map: HashMap::default(),
            key_bytes: 0,
            seen_once: SeenOnce::default(),
            max_lists,
            max_key_bytes,
        }
    }

    /// The hash `key` is remembered and looked up under.
    pub(super) fn hash(&self, key: &[u8]) -> u64 {
        self.map.hasher().hash_one(key)
    }

    /// The list remembered under `key` (of hash `hash`).
    pub(super) fn get(&self, hash: u64, key: &[u8]) -> Option<&[u32]> {
        self.map
            .get(&hash)
            .filter(|r| *r.key == *key)
            .map(|r| &*r.list)
    }

    /// Remembers `list` under `key` (of hash `hash`), from the second time
    /// the key is seen.
    pub(super) fn remember(&mut self, hash: u64, key: &[u8], list: &[u32]) {
        if !self.seen_once.seen_before(hash) {
            return;
        }
        if self.map.len() >= self.max_lists || self.key_bytes + key.len() > self.max_key_bytes {
            self.map.clear();
            self.key_bytes = 0;
        }
        self.key_bytes += key.len();
        let entry = Remembered {
            key: key.into(),
            list: list.into(),
        };
        if let Some(old) = self.map.insert(hash, entry) {
            self.key_bytes = self.key_bytes.saturating_sub(old.key.len());
        }
    }

    /// Forgets every list and every key seen.
    pub(super) fn clear(&mut self) {
        self.map.clear();
        self.key_bytes = 0;
        self.seen_once.clear();
    }

    /// The lists remembered, and the bytes of their keys (their count, and
    /// what the bound holds).
    #[cfg(test)]
    pub(super) fn held(&self) -> (usize, usize, usize) {
        let held: usize = self.map.values().map(|r| r.key.len()).sum();
        (self.map.len(), self.key_bytes, held)
    }

    /// Whether every remembered list is `list`.
    #[cfg(test)]
    pub(super) fn all_are(&self, list: &[u32]) -> bool {
        self.map.values().all(|r| *r.list == *list)
    }
}

/// Whether events of one kind are looked up: on while at least one
/// looked-up event in `worth_share` per window of `window` is answered;
/// once off, for [`OFF_EVENTS`] events, then on again for a window (what
/// repeats changes along a log).
pub(super) struct Switch {
    on: bool,
    window: u32,
    worth_share: u32,
    /// While off: events left before the next window.
    off_left: u32,
    /// Looked-up events of the current window and those answered.
    looked_up: u32,
    answered: u32,
}

impl Switch {
    pub(super) fn new(window: u32, worth_share: u32) -> Switch {
        Switch {
            on: true,
            window,
            worth_share,
            off_left: 0,
            looked_up: 0,
            answered: 0,
        }
    }

    /// Whether this event is looked up (counting it while off).
    pub(super) fn looks_up(&mut self) -> bool {
        if !self.on {
            self.off_left = self.off_left.saturating_sub(1);
            self.on = self.off_left == 0;
        }
        self.on
    }

    /// Whether events are looked up now (without counting one).
    #[cfg(test)]
    pub(super) fn is_on(&self) -> bool {
        self.on
    }

    /// Counts a looked-up event, answered or not.
    pub(super) fn count(&mut self, answered: bool) {
        self.looked_up += 1;
        self.answered += u32::from(answered);
        if self.looked_up >= self.window {
            self.on = self.answered * self.worth_share >= self.window;
            self.off_left = OFF_EVENTS;
            self.looked_up = 0;
            self.answered = 0;
        }
    }
}
