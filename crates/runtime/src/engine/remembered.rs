//! What the memos of stage 1 (`candidate_memo.rs`) and stage 2
//! (`verdict_memo.rs`) share: lists of rule indices remembered under byte
//! keys (hashed, then compared byte for byte), from a key's first sight and
//! within bounds, in a [`KeyedStore`] (which also keeps the remembered
//! values' hits, `value_hits.rs`); and the switch that stops the lookups
//! while too few are answered.
//!
//! A memo's list is remembered the first time its key is seen: what it
//! stands for (a scan, an evaluation) costs far more than a copy of the
//! key, and the memo's key was built for the lookup anyway. Remembering
//! from the second sight (a key's hash noted in `seen_once.rs` first),
//! which the caches of single values keep, made the second event of each
//! kind pay a scan or an evaluation again (BENCHMARKS.md, v41).

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Events not looked up after a window that did not pay.
pub(super) const OFF_EVENTS: u32 = 8192;

/// Lists of items remembered under hashed byte keys, each key with a tag
/// (what else it was made under: a database, or nothing), compared byte
/// for byte on lookup; at most `max_entries` of them, `max_bytes` bytes of
/// keys and as many of items (then it starts over). The keys and items are
/// kept one after another in two stores that keep their allocation when it
/// starts over: remembering allocates nothing once they have grown. What
/// the memos' lists and the values' hits (`value_hits.rs`) are kept in.
pub(super) struct KeyedStore<T> {
    map: HashMap<u64, Stored, foldhash::fast::FixedState>,
    /// The keys in `map` (and those replaced since the last start-over).
    keys: Vec<u8>,
    /// The items in `map` (likewise).
    items: Vec<T>,
    max_entries: usize,
    max_bytes: usize,
    /// Start-overs so far: within one, the key bytes at an offset of
    /// `keys` never change ([`KeyedStore::get_placed`]).
    epoch: u64,
}

/// Where a remembered key lies in a [`KeyedStore`]: equal places, equal
/// key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyPlace {
    epoch: u64,
    offset: usize,
}

impl KeyPlace {
    /// A number of the place for a table's slot.
    pub(super) fn slot_hash(&self) -> u64 {
        (self.offset as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ self.epoch
    }
}

/// Where a remembered key and its items lie in the stores.
struct Stored {
    tag: usize,
    key: std::ops::Range<usize>,
    items: std::ops::Range<usize>,
}

impl<T: Copy> KeyedStore<T> {
    pub(super) fn new(max_entries: usize, max_bytes: usize) -> Self {
        KeyedStore {
            map: HashMap::default(),
            keys: Vec::new(),
            items: Vec::new(),
            max_entries,
            max_bytes,
            epoch: 0,
        }
    }

    /// The hash of `what` in this store's hasher.
    pub(super) fn hash_of(&self, what: impl std::hash::Hash) -> u64 {
        self.map.hasher().hash_one(what)
    }

    /// The items remembered under `key` and `tag` (of hash `hash`).
    pub(super) fn get(&self, hash: u64, tag: usize, key: &[u8]) -> Option<&[T]> {
        self.get_placed(hash, tag, key).map(|(items, _)| items)
    }

    /// [`KeyedStore::get`], with where the remembered key lies: the store's
    /// start-overs so far and its offset in the keys' store. Keys are only
    /// appended between start-overs, so two lookups given the same place
    /// were of the same bytes.
    pub(super) fn get_placed(&self, hash: u64, tag: usize, key: &[u8]) -> Option<(&[T], KeyPlace)> {
        let found = self.map.get(&hash)?;
        if found.tag != tag || self.keys.get(found.key.clone())? != key {
            return None;
        }
        let place = KeyPlace {
            epoch: self.epoch,
            offset: found.key.start,
        };
        Some((self.items.get(found.items.clone())?, place))
    }

    /// Remembers `items` under `key` and `tag` (of hash `hash`), in place
    /// of what the hash held.
    pub(super) fn insert(
        &mut self,
        hash: u64,
        tag: usize,
        key: &[u8],
        items: impl ExactSizeIterator<Item = T>,
    ) {
        if self.map.len() >= self.max_entries
            || self.keys.len() + key.len() > self.max_bytes
            || (self.items.len() + items.len()) * std::mem::size_of::<T>() > self.max_bytes
        {
            self.start_over();
        }
        let stored = Stored {
            tag,
            key: self.keys.len()..self.keys.len() + key.len(),
            items: self.items.len()..self.items.len() + items.len(),
        };
        self.keys.extend_from_slice(key);
        self.items.extend(items);
        // A replaced entry's key and items stay in the stores (counted by
        // the bounds) until the next start-over.
        self.map.insert(hash, stored);
    }

    /// Forgets everything, keeping the allocations.
    pub(super) fn start_over(&mut self) {
        self.epoch += 1;
        self.map.clear();
        self.keys.clear();
        self.items.clear();
    }

    /// Entries remembered, and the bytes in the keys' store (tests).
    #[cfg(test)]
    pub(super) fn held(&self) -> (usize, usize) {
        (self.map.len(), self.keys.len())
    }

    /// The bytes of the remembered entries' keys, replaced ones left out
    /// (tests).
    #[cfg(test)]
    pub(super) fn live_key_bytes(&self) -> usize {
        self.map.values().map(|r| r.key.len()).sum()
    }

    /// The items in the items' store (tests).
    #[cfg(test)]
    pub(super) fn item_count(&self) -> usize {
        self.items.len()
    }

    /// Where the two stores lie, and the keys' room (tests: they keep
    /// their allocation).
    #[cfg(test)]
    pub(super) fn stores_at(&self) -> (*const u8, usize, *const T) {
        (
            self.keys.as_ptr(),
            self.keys.capacity(),
            self.items.as_ptr(),
        )
    }

    /// Whether every remembered entry's items are `items` (tests).
    #[cfg(test)]
    pub(super) fn all_are(&self, items: &[T]) -> bool
    where
        T: PartialEq,
    {
        self.map
            .values()
            .all(|r| self.items.get(r.items.clone()) == Some(items))
    }
}

/// Lists of rule indices remembered under byte keys (a [`KeyedStore`] of
/// `max_lists` lists, `max_key_bytes` bytes of keys and as many of lists),
/// from a key's first sight.
pub(super) struct RememberedLists {
    store: KeyedStore<u32>,
}

impl RememberedLists {
    pub(super) fn new(max_lists: usize, max_key_bytes: usize) -> Self {
        RememberedLists {
            store: KeyedStore::new(max_lists, max_key_bytes),
        }
    }

    /// The hash `key` is remembered and looked up under.
    pub(super) fn hash(&self, key: &[u8]) -> u64 {
        super::key_hash::hash_key(key)
    }

    /// The list remembered under `key` (of hash `hash`).
    pub(super) fn get(&self, hash: u64, key: &[u8]) -> Option<&[u32]> {
        self.store.get(hash, 0, key)
    }

    /// [`RememberedLists::get`], with where the key lies in the store.
    pub(super) fn get_placed(&self, hash: u64, key: &[u8]) -> Option<(&[u32], KeyPlace)> {
        self.store.get_placed(hash, 0, key)
    }

    /// Remembers `list` under `key` (of hash `hash`).
    pub(super) fn remember(&mut self, hash: u64, key: &[u8], list: &[u32]) {
        self.store.insert(hash, 0, key, list.iter().copied());
    }

    /// Forgets every list.
    pub(super) fn clear(&mut self) {
        self.store.start_over();
    }

    /// The lists remembered, the bytes of the keys' store, and those of
    /// the remembered keys (their count, and what the bound holds).
    #[cfg(test)]
    pub(super) fn held(&self) -> (usize, usize, usize) {
        let (lists, key_bytes) = self.store.held();
        (lists, key_bytes, self.store.live_key_bytes())
    }

    /// Whether every remembered list is `list`.
    #[cfg(test)]
    pub(super) fn all_are(&self, list: &[u32]) -> bool {
        self.store.all_are(list)
    }
}

/// Whether events of one kind are looked up: on while at least one
/// looked-up event in `worth_share` per window of `window` is answered;
/// once off, for [`OFF_EVENTS`] events, then on again for a window (what
/// repeats changes along a log).
#[derive(Debug)]
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
    fn lists_are_remembered_from_the_first_sight_in_stores_kept_across_start_overs() {
        let mut lists = RememberedLists::new(8, 64);
        let key = b"key one".as_slice();
        let hash = lists.hash(key);
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
            assert_eq!(lists.get(hash, &key), Some(&[i as u32; 3][..]));
            let (held, key_bytes, _) = lists.held();
            assert!(held <= 8 && key_bytes <= 64 && lists.store.item_count() * 4 <= 64);
            if held == 1 && i > 20 {
                let now = lists.store.stores_at();
                assert!(
                    stores.is_none_or(|s| s == now),
                    "a store was allocated again"
                );
                stores.get_or_insert(now);
            }
        }
        assert!(stores.is_some());
        // Forgetting forgets every list.
        let hash = lists.hash(b"199");
        lists.remember(hash, b"199", &[1]);
        assert_eq!(lists.get(hash, b"199"), Some(&[1][..]));
        lists.clear();
        assert_eq!(lists.get(hash, b"199"), None);
    }
}
