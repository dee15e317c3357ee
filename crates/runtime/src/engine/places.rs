//! Where a stage-1 hit lies: field-scoped witnesses count only inside a
//! value of a member their field is read from, so each hit is placed on the
//! event's member index (built on first need, once per event), and each
//! value's member is looked up once however many hits fall in it; a hit of
//! a scan over the event's values (`compact.rs`) carries its value's place.

use hypersigma_compiler::witness::normalize_member_into;

use super::Scanner;
use crate::members::Gated;

/// Where one stage-1 hit lies, as field-scoped witnesses see it.
#[derive(Clone, Copy)]
pub(super) enum HitPlace {
    /// Counts for every witness (`#text`, an escaped name, an unindexable event).
    Anywhere,
    /// In a value of this member.
    Member(u32),
    /// In no member any witness counts in.
    Nowhere,
}

impl HitPlace {
    /// Whether a hit here counts for a witness that must lie in one of
    /// these members (sorted ids).
    pub(super) fn counts_in(self, members: &[u32]) -> bool {
        match self {
            HitPlace::Anywhere => true,
            HitPlace::Member(m) => members.binary_search(&m).is_ok(),
            HitPlace::Nowhere => false,
        }
    }
}

impl Scanner<'_> {
    /// [`Scanner::index_event`] for stage 1, letting the member index stop
    /// at its gates when the scope gate is on (`members/gates.rs`): `None`
    /// for an event that passed one (valid, of no rule's log source, not
    /// indexed), noted for [`Scanner::stage2`].
    pub(super) fn index_event_gated(&mut self, raw: &[u8]) -> Option<bool> {
        self.gate_passed = None;
        if !self.engine.raw.gate || self.engine.options.no_prefilter {
            return Some(self.index_event(raw));
        }
        match self.members.build_gated(raw) {
            Gated::Passed => {
                // Nothing indexed: no places either.
                self.indexed(false);
                self.indexed_event = None;
                self.gate_passed = Some((raw.as_ptr() as usize, raw.len()));
                None
            }
            Gated::Built(ok) => Some(self.indexed(ok)),
        }
    }

    /// Indexes the event's members (see
    /// [`crate::members::MemberIndex::build`]); false when it cannot be
    /// indexed.
    pub(super) fn index_event(&mut self, raw: &[u8]) -> bool {
        let ok = self.members.build(raw);
        self.indexed(ok)
    }

    /// What a new member index makes stale: the event's layout and the
    /// places of its spans (one empty place per span). Returns `ok`.
    fn indexed(&mut self, ok: bool) -> bool {
        self.compact.current = None;
        self.span_places_filled = false;
        self.span_places.clear();
        self.span_places.resize(self.members.len(), None);
        ok
    }

    /// Where the stage-1 hit of pattern `id` ending at `end` lies, indexing
    /// the event on first need (`Anywhere` when it cannot be indexed).
    pub(super) fn place_of_hit(
        &mut self,
        raw: &[u8],
        id: usize,
        end: usize,
        indexed: &mut Option<bool>,
    ) -> HitPlace {
        if end == super::numbers::ANYWHERE {
            return HitPlace::Anywhere;
        }
        let len = self
            .engine
            .literals
            .get(id)
            .map_or(0, |(json, _)| json.len());
        let start = end.saturating_sub(len);
        if self.compact.active {
            return self.compact.place(start, end);
        }
        if !*indexed.get_or_insert_with(|| self.index_event(raw)) {
            return HitPlace::Anywhere;
        }
        match self.members.span_of(start, end) {
            Some(k) => self.place_of_span(raw, k),
            None => HitPlace::Nowhere,
        }
    }

    /// Where a hit in scalar span `k` of the indexed event lies (once per
    /// span: an event's hits crowd into a few values).
    pub(super) fn place_of_span(&mut self, raw: &[u8], k: usize) -> HitPlace {
        if let Some(Some(place)) = self.span_places.get(k) {
            return *place;
        }
        let place = match self.members.span_name(raw, k) {
            None => HitPlace::Nowhere,
            Some(name) if name.contains(&b'\\') => HitPlace::Anywhere,
            Some(name) => {
                normalize_member_into(name, &mut self.member_buf);
                if self.member_buf == b"#text" {
                    HitPlace::Anywhere
                } else {
                    match self.engine.member_ids.get(&self.member_buf) {
                        Some(&m) => HitPlace::Member(m),
                        None => HitPlace::Nowhere,
                    }
                }
            }
        };
        if let Some(slot) = self.span_places.get_mut(k) {
            *slot = Some(place);
        }
        place
    }
}
