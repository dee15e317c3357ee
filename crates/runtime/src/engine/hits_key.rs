//! A last key for an event the candidate memo did not answer: its stage-1
//! hits, each with the place it lies in.
//!
//! The candidate memo keys an event by the values its scan reads
//! (`candidate_memo.rs`), so two events with the same hits but other
//! values in members whose values hold no witness (a logon's user, host
//! and address; a registry path's user SID; the user directory of a
//! process creation) get two keys and two scans' work. Yet once the scan
//! has run, the candidates depend on its hits alone: each hit makes
//! candidates through its pattern's groups, where it lies deciding which
//! groups it counts for ([`HitPlace`]: the member of the value it lies
//! in), and the scope checks, event ids and clauses that follow read the
//! scope set, the event-id tokens and those same hits (`clauses.rs`), all
//! in the key's first part, which is the candidate key's own (layout,
//! scope set, flags, event-id tokens). Number hits are added from the flag
//! there. So after the scan, the candidates are looked up under that first
//! part and the sorted, distinct (pattern, place) pairs of the hits; the
//! work of turning hits into candidates (placing each hit, its groups,
//! every scope check, the clauses) is skipped when they are answered. A
//! value scanned with a whole database has hits a set's own database
//! lacks (literals of other log sources' rules): such an event gets
//! another key, whose list is the same.
//!
//! The key costs the places of every hit, a sort and a hash; a switch per
//! scope set stops it while too few are answered (the events of a set
//! whose hits vary as much as its values gain nothing). An answer counts
//! as one for the candidate memo's own switch: the key's first part is
//! the own key's, and with that switch on, the own keys of other scope
//! sets' events go on answering (not counted, measured: +2-3 %
//! instructions over real logs with all SigmaHQ).

use super::places::HitPlace;
use super::remembered::Switch;
use super::{EventKnown, Scanner};

/// The byte after the key's first part: no copied value starts with it
/// (copied values are JSON, which this byte cannot begin), so no other key
/// of the candidate memo's is one of these.
const BY_HITS: u8 = 0xff;

/// Looked-up events per window, and the share answered (one in this many)
/// for lookups by hits to go on.
const WINDOW_EVENTS: u32 = 256;
/// Events with more hits get no key (16 KiB of pairs, the longest key of
/// values the candidate memo builds).
const MAX_HITS: usize = 2048;
const WORTH_SHARE: u32 = 8;

/// The current event's key by hits, and whether such keys are tried.
#[derive(Default)]
pub(super) struct HitsKey {
    /// The key (scratch) and the pairs it is made of.
    pub(super) key: Vec<u8>,
    pairs: Vec<u64>,
    /// Events answered since the start.
    pub(super) answered: u64,
    /// Per scope set (those past the first [`SETS`] share the last): whether
    /// keys by hits are tried; the current event's set.
    switches: Vec<Switch>,
    set: usize,
    /// Set by tests: no key by hits is built.
    #[cfg(test)]
    off: bool,
}

/// Scope sets with a switch of their own.
const SETS: usize = 64;

impl HitsKey {
    /// No more keys by hits (for tests of the other keys).
    #[cfg(test)]
    pub(super) fn turn_off(&mut self) {
        self.off = true;
    }

    /// Counts a lookup of the current event's key, answered or not.
    pub(super) fn count(&mut self, answered: bool) {
        if let Some(switch) = self.switches.get_mut(self.set) {
            switch.count(answered);
        }
    }
}

/// A place as four bytes of the key.
fn place_code(place: HitPlace) -> u32 {
    match place {
        HitPlace::Anywhere => u32::MAX,
        HitPlace::Nowhere => u32::MAX - 1,
        HitPlace::Member(m) => m,
    }
}

impl Scanner<'_> {
    /// After a scan of an event whose candidate key (`prefix`: its first
    /// part) was not answered: the key by its hits, and its hash; `None`
    /// when such keys are off or the event has more than [`MAX_HITS`] hits.
    pub(super) fn hits_key(
        &mut self,
        raw: &[u8],
        prefix_len: usize,
        known: &mut EventKnown,
    ) -> Option<u64> {
        #[cfg(test)]
        if self.hits_key.off {
            return None;
        }
        if self.hits.len() > MAX_HITS {
            return None;
        }
        let set = self.subset_cache.current?.min(SETS - 1);
        let switches = &mut self.hits_key.switches;
        if switches.len() <= set {
            switches.resize_with(set + 1, || Switch::new(WINDOW_EVENTS, WORTH_SHARE));
        }
        self.hits_key.set = set;
        if !switches.get_mut(set)?.looks_up() {
            return None;
        }
        let mut pairs = std::mem::take(&mut self.hits_key.pairs);
        pairs.clear();
        for k in 0..self.hits.len() {
            let (id, end) = self.hits[k];
            let place = self.place_of_hit(raw, id, end, &mut known.indexed);
            // One word a pair: a quicker sort than of tuples.
            pairs.push((id as u64) << 32 | u64::from(place_code(place)));
        }
        pairs.sort_unstable();
        pairs.dedup();
        let memo = &self.candidate_memo;
        let hits_key = &mut self.hits_key;
        hits_key.key.clear();
        hits_key.key.extend_from_slice(memo.key.get(..prefix_len)?);
        hits_key.key.push(BY_HITS);
        for &pair in &pairs {
            hits_key.key.extend_from_slice(&pair.to_le_bytes());
        }
        hits_key.pairs = pairs;
        Some(memo.hash_of_key(&hits_key.key))
    }

    /// After the scan of an event none of whose own keys answered (or
    /// that was not looked up by them: `looked_up` false): its candidates
    /// from the list remembered under its hits (`Ok`), else the hash to
    /// remember the list under once made, when a key was built. An answer
    /// counts as one for the candidate memo's switch.
    pub(super) fn take_candidates_by_hits(
        &mut self,
        raw: &[u8],
        known: &mut EventKnown,
        looked_up: bool,
    ) -> Result<(), Option<u64>> {
        let prefix = self.candidate_memo.values_at().ok_or(None)?;
        let hash = self.hits_key(raw, prefix, known).ok_or(None)?;
        let Some(candidates) = self.candidate_memo.get_key(hash, &self.hits_key.key) else {
            self.hits_key.count(false);
            return Err(Some(hash));
        };
        self.candidates.extend_from_slice(candidates);
        self.hits_key.count(true);
        self.hits_key.answered += 1;
        if looked_up {
            self.candidate_memo.count_answered_by_hits();
        }
        Ok(())
    }

    /// Remembers the candidates made from the hits under the key by hits
    /// built for them (hash `hash`).
    pub(super) fn remember_by_hits(&mut self, hash: u64) {
        self.candidate_memo
            .remember_key(hash, &self.hits_key.key, &self.candidates);
    }
}
