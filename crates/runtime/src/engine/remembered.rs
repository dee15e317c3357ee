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
/// of them, `max_key_bytes` bytes of keys and as many of lists (then it
/// starts over). The keys and lists are kept one after another in two
/// stores that keep their allocation when it starts over: remembering
/// allocates nothing once the stores have grown.
pub(super) struct RememberedLists {
    map: HashMap<u64, Remembered, foldhash::fast::FixedState>,
    /// The keys in `map` (and those replaced since the last start-over).
    keys: Vec<u8>,
    /// The lists in `map` (likewise).
    lists: Vec<u32>,
    /// Keys seen once (a list is remembered from the second sight).
    seen_once: SeenOnce,
    max_lists: usize,
    /// The bound on `keys` and on `lists`, in bytes each.
    max_key_bytes: usize,
}

/// Where a remembered key and its list lie in the stores.
struct Remembered {
    key: std::ops::Range<usize>,
    list: std::ops::Range<usize>,
}

impl RememberedLists {
    pub(super) fn new(max_lists: usize, max_key_bytes: usize) -> Self {
        RememberedLists {
            map: HashMap::default(),
            keys: Vec::new(),
            lists: Vec::new(),
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
        let found = self.map.get(&hash)?;
        if self.keys.get(found.key.clone())? != key {
            return None;
        }
        self.lists.get(found.list.clone())
    }

    /// Remembers `list` under `key` (of hash `hash`), from the second time
    /// the key is seen.
    pub(super) fn remember(&mut self, hash: u64, key: &[u8], list: &[u32]) {
        if !self.seen_once.seen_before(hash) {
            return;
        }
        if self.map.len() >= self.max_lists
            || self.keys.len() + key.len() > self.max_key_bytes
            || (self.lists.len() + list.len()) * std::mem::size_of::<u32>() > self.max_key_bytes
        {
            self.start_over();
        }
        let entry = Remembered {
            key: self.keys.len()..self.keys.len() + key.len(),
            list: self.lists.len()..self.lists.len() + list.len(),
        };
        self.keys.extend_from_slice(key);
        self.lists.extend_from_slice(list);
        // A replaced entry's key and list stay in the stores (counted by
        // the bounds) until the next start-over.
        self.map.insert(hash, entry);
    }

    /// Forgets every list (not the keys seen), keeping the allocations.
    fn start_over(&mut self) {
        self.map.clear();
        self.keys.clear();
        self.lists.clear();
    }

    /// Forgets every list and every key seen.
    pub(super) fn clear(&mut self) {
        self.start_over();
        self.seen_once.clear();
    }

    /// The lists remembered, and the bytes of their keys (their count, and
    /// what the bound holds).
    #[cfg(test)]
    pub(super) fn held(&self) -> (usize, usize, usize) {
        let held: usize = self.map.values().map(|r| r.key.len()).sum();
        (self.map.len(), self.keys.len(), held)
    }

    /// Whether every remembered list is `list`.
    #[cfg(test)]
    pub(super) fn all_are(&self, list: &[u32]) -> bool {
        self.map
            .values()
            .all(|r| self.lists.get(r.list.clone()) == Some(list))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_remembered_from_the_second_sight_in_stores_kept_across_start_overs() {
        let mut lists = RememberedLists::new(8, 64);
        let key = b"key one".as_slice();
        let hash = lists.hash(key);
        lists.remember(hash, key, &[1, 2]);
        assert_eq!(lists.get(hash, key), None);
        lists.remember(hash, key, &[1, 2]);
        assert_eq!(lists.get(hash, key), Some(&[1, 2][..]));
        // Another key under the same hash replaces it (a collision).
        lists.remember(hash, b"key two", &[3]);
        assert_eq!(lists.get(hash, key), None);
        assert_eq!(lists.get(hash, b"key two"), Some(&[3][..]));
        // Past the bounds it starts over, in the same stores.
        let mut stores = None;
        for i in 0u64..200 {
            let key = i.to_le_bytes();
            let hash = lists.hash(&key);
            lists.remember(hash, &key, &[i as u32; 3]);
            lists.remember(hash, &key, &[i as u32; 3]);
            assert_eq!(lists.get(hash, &key), Some(&[i as u32; 3][..]));
            let (held, key_bytes, _) = lists.held();
            assert!(held <= 8 && key_bytes <= 64 && lists.lists.len() * 4 <= 64);
            if held == 1 && i > 20 {
                let now = (lists.keys.as_ptr(), lists.lists.as_ptr());
                assert!(
                    stores.is_none_or(|s| s == now),
                    "a store was allocated again"
                );
                stores.get_or_insert(now);
            }
        }
        assert!(stores.is_some());
        // Forgetting forgets the keys seen too.
        lists.clear();
        let hash = lists.hash(key);
        lists.remember(hash, key, &[1]);
        assert_eq!(lists.get(hash, key), None);
    }
}
