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

use std::hash::BuildHasher;

/// Events not looked up after a window that did not pay.
pub(super) const OFF_EVENTS: u32 = 8192;

/// Lists of items remembered under hashed byte keys, each key with a tag
/// (what else it was made under: a database, or nothing), compared byte
/// for byte on lookup; one entry per hash (a key of the same hash replaces
/// it), at most `max_entries` of them, `max_bytes` bytes of keys and as
/// many of items (then it starts over). What the memos' lists and the
/// values' hits (`value_hits.rs`) are kept in.
///
/// Laid out for few cache misses a lookup: a table of 32-bit slots (the
/// hash's top bits over where its entry lies; 256 KiB for 32,768 entries),
/// and the entries one after another, each its hash, tag and lengths, then
/// its key, then its items, so that the key's compare brings in the items.
/// A `HashMap` of the entries' places (48-byte buckets, 3 MiB for 32,768
/// entries), with keys and items in stores of their own, missed on the
/// bucket, then on the key and the items; slots of 64 bits (512 KiB) still
/// missed about as often as the entries (BENCHMARKS.md, v57). Both stores
/// keep their allocation when it starts over: remembering allocates
/// nothing once they have grown.
pub(super) struct KeyedStore<T> {
    /// Open addressing, linear probing, a power of two of slots at most
    /// half used (none before the first insert): 0 for an empty slot, else
    /// the hash's top [`TAG_BITS`] bits over the entry's offset in
    /// `entries` plus one.
    slots: Vec<u32>,
    /// The entries (also those replaced since the last start-over), each
    /// from a word offset: [`HEADER_WORDS`] words (hash, tag, key length
    /// over item count), then the key's bytes and the items' bytes, each
    /// padded to a word.
    entries: Vec<u64>,
    /// Slots in use.
    used: usize,
    /// Key bytes and items in `entries`.
    key_bytes: usize,
    item_count: usize,
    max_entries: usize,
    max_bytes: usize,
    /// Start-overs so far: within one, the entry at an offset of `entries`
    /// never changes ([`KeyedStore::get_placed`]).
    epoch: u64,
    hasher: foldhash::fast::FixedState,
    items: std::marker::PhantomData<T>,
}

/// Words before an entry's key: its hash, its tag, its key's length (high
/// half) and item count (low half).
const HEADER_WORDS: usize = 3;

/// Keys from this many bytes are written a word at a time, not zeroed and
/// then copied (where the two library calls cost less).
const LONG_KEY: usize = 512;

/// Where a remembered key lies in a [`KeyedStore`]: equal places, equal
/// key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Bits of a slot for the entry's offset plus one: entries lie within
/// `2^OFFSET_BITS` words (32 MiB).
const OFFSET_BITS: u32 = 22;

/// Bits of a slot for its hash's top bits.
const TAG_BITS: u32 = 32 - OFFSET_BITS;

/// The entries' words at most.
const MAX_WORDS: usize = (1 << OFFSET_BITS) - 1;

/// The slot of the entry at `offset` (below [`MAX_WORDS`]) of hash `hash`.
fn slot_of(hash: u64, offset: usize) -> u32 {
    tag_of(hash) << OFFSET_BITS | (offset as u32 + 1)
}

/// The top bits of a hash, as a slot holds them.
fn tag_of(hash: u64) -> u32 {
    (hash >> (64 - TAG_BITS)) as u32
}

/// The offset of the entry a used slot names.
fn offset_in(slot: u32) -> usize {
    ((slot & MAX_WORDS as u32) as usize).wrapping_sub(1)
}

impl<T: bytemuck::Pod> KeyedStore<T> {
    pub(super) fn new(max_entries: usize, max_bytes: usize) -> Self {
        KeyedStore {
            slots: Vec::new(),
            entries: Vec::new(),
            used: 0,
            key_bytes: 0,
            item_count: 0,
            max_entries,
            max_bytes,
            epoch: 0,
            hasher: foldhash::fast::FixedState::default(),
            items: std::marker::PhantomData,
        }
    }

    /// The hash of `what` in this store's hasher.
    pub(super) fn hash_of(&self, what: impl std::hash::Hash) -> u64 {
        self.hasher.hash_one(what)
    }

    /// The items remembered under `key` and `tag` (of hash `hash`).
    pub(super) fn get(&self, hash: u64, tag: usize, key: &[u8]) -> Option<&[T]> {
        self.get_placed(hash, tag, key).map(|(items, _)| items)
    }

    /// [`KeyedStore::get`], with where the remembered key lies: the store's
    /// start-overs so far and its entry's offset. Entries are only appended
    /// between start-overs, so two lookups given the same place were of the
    /// same bytes.
    pub(super) fn get_placed(&self, hash: u64, tag: usize, key: &[u8]) -> Option<(&[T], KeyPlace)> {
        let offset = self.slot_for(hash)?.1?;
        let (entry_tag, entry_key, items) = self.entry_at(offset)?;
        if entry_tag != tag as u64 || entry_key != key {
            return None;
        }
        let place = KeyPlace {
            epoch: self.epoch,
            offset,
        };
        Some((items, place))
    }

    /// The slot of hash `hash`: the index of the one naming its entry, with
    /// that entry's offset, else of the first empty one (`None` before the
    /// first insert).
    fn slot_for(&self, hash: u64) -> Option<(usize, Option<usize>)> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = hash as usize & mask;
        // At most half the slots are used: an empty one ends the probe.
        for _ in 0..self.slots.len() {
            let slot = *self.slots.get(i)?;
            if slot == 0 {
                return Some((i, None));
            }
            if slot >> OFFSET_BITS == tag_of(hash) {
                let offset = offset_in(slot);
                if self.entries.get(offset) == Some(&hash) {
                    return Some((i, Some(offset)));
                }
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// The tag, key and items of the entry at `offset`.
    fn entry_at(&self, offset: usize) -> Option<(u64, &[u8], &[T])> {
        let (header, rest) = self.entries.get(offset..)?.split_at_checked(HEADER_WORDS)?;
        let &[_, tag, lengths] = header else {
            return None;
        };
        let (key_len, count) = ((lengths >> 32) as usize, (lengths & 0xffff_ffff) as usize);
        let (key_words, rest) = rest.split_at_checked(key_len.div_ceil(8))?;
        let key = bytemuck::cast_slice::<u64, u8>(key_words).get(..key_len)?;
        let item_words = rest.get(..(count * std::mem::size_of::<T>()).div_ceil(8))?;
        let items = bytemuck::try_cast_slice::<u64, T>(item_words)
            .ok()?
            .get(..count)?;
        Some((tag, key, items))
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
        let count = items.len();
        let item_bytes = count * std::mem::size_of::<T>();
        let key_words = key.len().div_ceil(8);
        let words = HEADER_WORDS + key_words + item_bytes.div_ceil(8);
        if key.len() > self.max_bytes || item_bytes > self.max_bytes || words > MAX_WORDS {
            // Past the bounds on its own: not remembered.
            return;
        }
        if self.slots.is_empty() {
            let slots = (2 * self.max_entries).next_power_of_two().max(8);
            self.slots = vec![0; slots];
            // Address space, not memory: pages are faulted in as entries
            // fill them. Where it is refused (a host that commits no more
            // than it has), the entries grow as they need instead.
            let _ = self.entries.try_reserve_exact(self.bound_words());
        }
        if self.used >= self.max_entries
            || 2 * (self.used + 1) > self.slots.len()
            || self.key_bytes + key.len() > self.max_bytes
            || self.item_count * std::mem::size_of::<T>() + item_bytes > self.max_bytes
            || self.entries.len() + words > MAX_WORDS
        {
            self.start_over();
        }
        let offset = self.entries.len();
        self.entries.extend_from_slice(&[
            hash,
            tag as u64,
            (key.len() as u64) << 32 | count as u64,
        ]);
        if key.len() < LONG_KEY {
            self.entries.resize(offset + words, 0);
            let key_room = &mut self.entries[offset + HEADER_WORDS..][..key_words];
            bytemuck::cast_slice_mut::<u64, u8>(key_room)[..key.len()].copy_from_slice(key);
        } else {
            // A long key's words written as they are read, the last one
            // padded with zeros: zeroing its room first, then copying,
            // wrote it twice (~1 % of the real logs' instructions).
            let (whole, tail) = key.as_chunks::<8>();
            self.entries
                .extend(whole.iter().map(|word| u64::from_ne_bytes(*word)));
            if !tail.is_empty() {
                let mut last = [0u8; 8];
                last[..tail.len()].copy_from_slice(tail);
                self.entries.push(u64::from_ne_bytes(last));
            }
            self.entries.resize(offset + words, 0);
        }
        let item_room = &mut self.entries[offset + HEADER_WORDS + key_words..];
        if let Ok(item_room) = bytemuck::try_cast_slice_mut::<u64, T>(item_room) {
            for (room, item) in item_room.iter_mut().zip(items) {
                *room = item;
            }
        }
        self.key_bytes += key.len();
        self.item_count += count;
        // The hash's slot: the one of its entry (replaced), else the first
        // empty one.
        if let Some((i, replaced)) = self.slot_for(hash) {
            self.used += usize::from(replaced.is_none());
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = slot_of(hash, offset);
            }
        }
    }

    /// The words the entries fill at most between start-overs, each
    /// padded to words, when no two keys share a hash: their room taken at
    /// the first insert. Grown by doubling instead, the store copied itself
    /// at each step into pages the kernel then had to supply, the old ones
    /// left to the allocator (BENCHMARKS.md, v67).
    fn bound_words(&self) -> usize {
        let padded = HEADER_WORDS + 2;
        (padded * self.max_entries + 2 * self.max_bytes.div_ceil(8)).min(MAX_WORDS)
    }

    /// Forgets everything, keeping the allocations.
    pub(super) fn start_over(&mut self) {
        self.epoch += 1;
        self.slots.fill(0);
        self.entries.clear();
        self.used = 0;
        self.key_bytes = 0;
        self.item_count = 0;
    }

    /// The offsets of the remembered entries (tests).
    #[cfg(test)]
    fn live_entries(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .filter(|&&slot| slot != 0)
            .map(|&slot| offset_in(slot))
    }

    /// Entries remembered, and the bytes of keys in the entries' store
    /// (tests).
    #[cfg(test)]
    pub(super) fn held(&self) -> (usize, usize) {
        (self.used, self.key_bytes)
    }

    /// The bytes of the remembered entries' keys, replaced ones left out
    /// (tests).
    #[cfg(test)]
    pub(super) fn live_key_bytes(&self) -> usize {
        self.live_entries()
            .filter_map(|offset| self.entry_at(offset))
            .map(|(_, key, _)| key.len())
            .sum()
    }

    /// The items in the entries' store (tests).
    #[cfg(test)]
    pub(super) fn item_count(&self) -> usize {
        self.item_count
    }

    /// Where the two stores lie, and the entries' room (tests: they keep
    /// their allocation).
    #[cfg(test)]
    pub(super) fn stores_at(&self) -> (*const u64, usize, *const u32) {
        (
            self.entries.as_ptr(),
            self.entries.capacity(),
            self.slots.as_ptr(),
        )
    }

    /// Whether every remembered entry's items are `items` (tests).
    #[cfg(test)]
    pub(super) fn all_are(&self, items: &[T]) -> bool
    where
        T: PartialEq,
    {
        self.live_entries()
            .all(|offset| self.entry_at(offset).map(|(_, _, held)| held) == Some(items))
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
    use crate::test_rng::TestRng;
    use std::collections::HashMap;

    /// A model's entry: tag, key, items.
    type ModelEntry = (usize, Vec<u8>, Vec<[u32; 2]>);

    /// A store against a model (one entry per hash, the last inserted;
    /// forgotten when the store starts over), with hashes drawn from a few
    /// so that the top bits, the slots and the whole hashes collide: every
    /// lookup answers as the model does, and lookups answered at one place
    /// within one epoch were of one key.
    #[test]
    fn the_store_answers_as_a_map_of_hashes_to_their_last_entry() {
        let mut rng = TestRng::new(57);
        for round in 0..40 {
            let (max_entries, max_bytes) = (1 + rng.below(64), 1 + rng.below(4096));
            let mut store = KeyedStore::<[u32; 2]>::new(max_entries, max_bytes);
            let mut model: HashMap<u64, ModelEntry> = HashMap::new();
            let mut places: HashMap<KeyPlace, Vec<u8>> = HashMap::new();
            let mut epoch = store.epoch;
            // Hashes sharing their top bits, their low bits, or neither.
            let hashes: Vec<u64> = (0..1 + rng.below(96))
                .map(|_| match rng.below(3) {
                    0 => rng.next_u64() >> 60 << 60 | rng.below(4) as u64,
                    1 => (rng.below(4) as u64) << 62 | rng.next_u64() & 0xff,
                    _ => rng.next_u64(),
                })
                .collect();
            // Long keys of each length past a whole word, differing only
            // in their last byte or two.
            let stem = rng.text(b"ab", LONG_KEY + 16);
            let long_keys: Vec<Vec<u8>> = (0..8)
                .flat_map(|tail| {
                    let mut key = stem[..LONG_KEY + tail].to_vec();
                    let mut other = key.clone();
                    if let Some(last) = other.last_mut() {
                        *last ^= 0x20;
                    }
                    key.push(b'z');
                    [key, other]
                })
                .collect();
            for _ in 0..2000 {
                let hash = hashes[rng.below(hashes.len())];
                let tag = rng.below(3);
                // Short keys, and now and then one of the long ones,
                // written a word at a time.
                let key = match rng.below(8) {
                    0 => long_keys[rng.below(long_keys.len())].clone(),
                    _ => {
                        let len = rng.below(24);
                        rng.text(b"ab", len)
                    }
                };
                if rng.below(2) == 0 {
                    let items: Vec<[u32; 2]> = (0..rng.below(6))
                        .map(|_| [rng.below(9) as u32, rng.below(9) as u32])
                        .collect();
                    store.insert(hash, tag, &key, items.iter().copied());
                    if store.epoch != epoch {
                        model.clear();
                        places.clear();
                        epoch = store.epoch;
                    }
                    let fits = key.len() <= max_bytes && 8 * items.len() <= max_bytes;
                    if fits {
                        model.insert(hash, (tag, key, items));
                    }
                } else {
                    let expected = model
                        .get(&hash)
                        .filter(|(t, k, _)| *t == tag && *k == key)
                        .map(|(_, _, items)| &items[..]);
                    let found = store.get_placed(hash, tag, &key);
                    assert_eq!(found.map(|(items, _)| items), expected, "round {round}");
                    if let Some((_, place)) = found {
                        let bytes = places.entry(place).or_insert_with(|| key.clone());
                        assert_eq!(*bytes, key, "round {round}: one place, two keys");
                    }
                }
                let (held, key_bytes) = store.held();
                assert!(
                    held <= max_entries && key_bytes <= max_bytes,
                    "round {round}"
                );
                assert!(store.item_count() * 8 <= max_bytes, "round {round}");
                assert_eq!(held, model.len(), "round {round}");
            }
        }
    }

    /// The entries' room is taken whole at the first insert: from then on
    /// the store neither moves nor grows, through start-overs too, whatever
    /// the lengths of the keys and lists within its bounds.
    #[test]
    fn the_entries_room_is_taken_at_the_first_insert() {
        let mut rng = TestRng::new(67);
        for (max_entries, max_bytes) in [(8, 64), (64, 4096), (512, 1 << 16)] {
            let mut store = KeyedStore::<u32>::new(max_entries, max_bytes);
            let mut room = None;
            for _ in 0..20 * max_entries {
                let len = 1 + rng.below(max_bytes / 4);
                let key = rng.text(b"abcdef", len);
                let items: Vec<u32> = (0..rng.below(max_bytes / 16)).map(|i| i as u32).collect();
                store.insert(rng.next_u64(), 0, &key, items.iter().copied());
                let (entries, capacity, _) = store.stores_at();
                let now = (entries, capacity);
                assert_eq!(
                    *room.get_or_insert(now),
                    now,
                    "{max_entries} entries: moved"
                );
            }
        }
    }

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
