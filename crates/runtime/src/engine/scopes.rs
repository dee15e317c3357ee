//! Stage 1's log-source checks on the raw event: the scope gate (an event
//! of no rule's log source skips the scan), and the candidates dropped
//! because their scope, or the event ids their detection requires, cannot
//! be the event's (see [`crate::raw_scope`]). Only for events stage 1 does
//! not pass to every rule, so escapes never hide a name or value here.

use super::{EventKnown, Scanner, WitnessGroup};
use crate::special_bytes::utf8_has_ascii_folding;

/// The rules and witness groups of each scope, so that stage 1 asks whether
/// the event may be of a scope before it collects the scope's rules: an
/// event is of few of a large rule set's log sources, and most of its
/// witness hits and every witness-free rule belong to others.
#[derive(Debug, Default)]
pub(crate) struct ScopeRouting {
    /// Rules without witnesses, by scope: (scope, its rules ascending).
    pub(crate) always: Vec<(u32, Vec<u32>)>,
    /// Per witness group: the one scope all its rules share (`None` when
    /// they have several, or the group has no rules).
    pub(crate) group_scope: Vec<Option<u32>>,
}

impl ScopeRouting {
    /// The routing of rules of scopes `rule_scope`, of which `always` have no
    /// witnesses, with witness groups `groups`.
    pub(crate) fn new(rule_scope: &[u32], always: &[u32], groups: &[WitnessGroup]) -> Self {
        let scope_of = |r: u32| rule_scope.get(r as usize).copied();
        let mut by_scope: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for &r in always {
            if let Some(s) = scope_of(r) {
                by_scope.entry(s).or_default().push(r);
            }
        }
        let group_scope = groups
            .iter()
            .map(|g| {
                let first = scope_of(*g.rules.first()?)?;
                g.rules
                    .iter()
                    .all(|&r| scope_of(r) == Some(first))
                    .then_some(first)
            })
            .collect();
        ScopeRouting {
            always: by_scope.into_iter().collect(),
            group_scope,
        }
    }
}

impl Scanner<'_> {
    /// Reads the event's log-source values into `raw_scope` (indexing its
    /// members first), once per event; false when it cannot be indexed.
    fn read_raw_scope(&mut self, raw: &[u8], known: &mut EventKnown) -> bool {
        let indexed = *known.indexed.get_or_insert_with(|| self.index_event(raw));
        if indexed && !known.read {
            self.read_scope_values(raw);
            known.read = true;
        }
        indexed
    }

    /// Whether an escape (`\u`, `\/`) or a character folding to ASCII may
    /// make a name or value of the indexed event `raw` read otherwise than
    /// its bytes: then the raw checks conclude nothing. Decided once per
    /// event.
    fn may_hide(&mut self, raw: &[u8], known: &mut EventKnown) -> bool {
        if let Some(hiding) = known.hiding {
            return hiding;
        }
        // The strict pass saw every escape and non-ASCII byte on its way.
        let hiding = match self.members.seen() {
            Some(seen) => seen.hiding_escape || seen.ascii_folding,
            None => has_hiding_escape(raw) || has_ascii_folding(raw),
        };
        known.hiding = Some(hiding);
        hiding
    }

    /// Whether the raw event can belong to no rule's scope (see
    /// [`super::RawChecks::gate`]). Only for events stage 1 would not pass to
    /// every rule (no escape or character folding to ASCII that can hide a
    /// name or value), so the
    /// answer is the one [`Scanner::filter_scopes`] would give after a scan.
    /// Records what it learnt: the member index and the log-source values.
    pub(super) fn outside_every_scope(&mut self, raw: &[u8], known: &mut EventKnown) -> bool {
        let engine = self.engine;
        if !engine.raw.gate {
            return false;
        }
        if !*known.indexed.get_or_insert_with(|| self.index_event(raw)) {
            return false;
        }
        if self.may_hide(raw, known) || !self.read_raw_scope(raw, known) {
            return false;
        }
        let k = self.scope_set(raw, known);
        let outside = self.subset_cache.is_empty(k);
        self.teach_gates(raw, outside);
        outside
    }

    /// Whether the raw event may be of scope `s`: false for an unmapped
    /// scope (unless unscoped), and for a scope none of whose sources the
    /// event's raw log-source values allow (see [`crate::raw_scope`]).
    /// Decided once per scope and event (`generation`).
    // The answer is usually known already (asked once per hit group and
    // candidate): that check is inlined, the first ask per event is not.
    #[inline(always)]
    pub(super) fn scope_kept(&mut self, raw: &[u8], s: usize, known: &mut EventKnown) -> bool {
        match self.scope_marks.get(s) {
            Some(&(g, keep)) if g == self.generation => keep,
            Some(_) => self.decide_scope(raw, s, known),
            None => true,
        }
    }

    /// [`Scanner::scope_kept`] asked the first time in the event.
    #[inline(never)]
    fn decide_scope(&mut self, raw: &[u8], s: usize, known: &mut EventKnown) -> bool {
        let engine = self.engine;
        let generation = self.generation;
        let unscoped = engine.options.unscoped;
        let keep = if let Some(possible) = self.subset_cache.possible(s) {
            possible
        } else if engine.raw.scopes.unmapped(s) {
            unscoped
        } else {
            !self.read_raw_scope(raw, known)
                || self
                    .raw_scope
                    .scope_possible(&engine.raw.scopes, s, raw, unscoped)
        };
        self.scope_marks[s] = (generation, keep);
        keep
    }

    /// Drops the candidates whose log source the raw event cannot be of
    /// (see [`Scanner::scope_kept`]).
    pub(super) fn filter_scopes(&mut self, raw: &[u8], known: &mut EventKnown) {
        let engine = self.engine;
        let mut k = 0;
        while k < self.candidates.len() {
            let r = self.candidates[k] as usize;
            let s = engine.rule_scope[r] as usize;
            if self.scope_kept(raw, s, known) {
                k += 1;
            } else {
                self.candidates.swap_remove(k);
            }
        }
    }

    /// The integer the raw event's `EventID` holds, when the event was read
    /// and its event id is one scalar reading as an integer.
    pub(super) fn event_id_integer(&mut self, raw: &[u8], known: &EventKnown) -> Option<i64> {
        let field = self.engine.raw.scopes.event_id_field()?;
        if !known.read {
            return None;
        }
        self.raw_scope.single_integer(field, raw)
    }

    /// Drops the candidates whose detection requires event ids the raw
    /// event's `EventID` holds none of (see [`crate::raw_scope`]).
    pub(super) fn filter_event_ids(&mut self, raw: &[u8], known: &mut EventKnown) {
        let engine = self.engine;
        let mut k = 0;
        while k < self.candidates.len() {
            let r = self.candidates[k] as usize;
            let Some(Some(ids)) = engine.raw.rule_event_ids.get(r) else {
                k += 1;
                continue;
            };
            if !self.read_raw_scope(raw, known) {
                return;
            }
            if self.raw_scope.possible(ids, raw) {
                k += 1;
            } else {
                self.candidates.swap_remove(k);
            }
        }
    }

    /// Drops the candidates whose detection requires values of a field
    /// (other than `EventID`) that the raw event's field holds none of
    /// (see [`crate::raw_scope`], [`super::RawChecks::rule_requirements`]).
    /// Only for events whose names and values read as their bytes (no
    /// `\u` or `\/` escape, no character folding to ASCII): the candidates
    /// then keep their order.
    pub(super) fn filter_required_values(&mut self, raw: &[u8], known: &mut EventKnown) {
        let engine = self.engine;
        if !engine.raw.any_requirements || self.candidates.is_empty() {
            return;
        }
        let required = |r: u32| {
            engine
                .raw
                .rule_requirements
                .get(r as usize)
                .map_or(&[][..], Vec::as_slice)
        };
        if self.candidates.iter().all(|&r| required(r).is_empty()) {
            return;
        }
        if !self.read_raw_scope(raw, known) {
            return;
        }
        if self.may_hide(raw, known) {
            return;
        }
        let mut kept = 0;
        for k in 0..self.candidates.len() {
            let r = self.candidates[k];
            let possible = required(r)
                .iter()
                .all(|requirement| self.raw_scope.possible(requirement, raw));
            if possible {
                self.candidates[kept] = r;
                kept += 1;
            }
        }
        self.candidates.truncate(kept);
    }
}

/// Whether raw bytes hold a character that folds to an ASCII one (the
/// Kelvin sign, long s: `witness::folds_to_ascii`), or are not UTF-8: stage 1
/// then passes the event to every rule, and a name or value could read
/// otherwise than its bytes. Other non-ASCII characters (`®`, `é`) fold to
/// non-ASCII ones and compare as bytes, as the raw checks do.
pub(super) fn has_ascii_folding(raw: &[u8]) -> bool {
    !raw.is_ascii() && (simdutf8::basic::from_utf8(raw).is_err() || utf8_has_ascii_folding(raw))
}

/// Whether raw JSON text holds a `\u` or `\/` escape (an odd run of
/// backslashes before `u` or `/`): names and values may then read otherwise
/// than their raw bytes.
pub(super) fn has_hiding_escape(raw: &[u8]) -> bool {
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\\', &raw[at..]) {
        let start = at + i;
        let mut end = start;
        while raw.get(end) == Some(&b'\\') {
            end += 1;
        }
        if (end - start) % 2 == 1 && matches!(raw.get(end), Some(b'u' | b'/')) {
            return true;
        }
        at = end;
    }
    false
}
