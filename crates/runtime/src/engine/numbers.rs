//! Witnesses made of digits and number signs (`123456789`, `-1`, `4.2`).
//!
//! The reference reads a JSON number into a value and matches its text, which
//! is the token as written only for integers: `1.23456789e8` reads as
//! `123456789`, `0.10` as `0.1`, `-0` as `-0.0`, and an integer too long for
//! 64 bits becomes a float. A [`number_like`] witness can so hold in the
//! reference's text of a number whose raw token lacks it. Such witnesses are
//! kept (a rule like
//! "weak passwords in the command line" has no other), and an event holding
//! a number token the reference rewrites (found on the member index, which
//! lists every scalar token) counts each of them as occurring anywhere, so
//! their rules stay candidates and their clauses hold. Events whose numbers
//! are all short integers, nearly all Windows telemetry, pay one pass over
//! the index's spans.

use hypersigma_compiler::witness::number_like;

use super::{EventKnown, Scanner};

/// The `end` of a stage-1 hit added for a number-like witness: it lies
/// anywhere (see [`super::places`]).
pub(super) const ANYWHERE: usize = usize::MAX;

/// The patterns (ids into the engine's literals) of number-like witnesses.
pub(crate) fn number_patterns(literals: &[(String, bool)]) -> Vec<usize> {
    literals
        .iter()
        .enumerate()
        .filter(|(_, (json, _))| number_like(json))
        .map(|(id, _)| id)
        .collect()
}

impl Scanner<'_> {
    /// Adds a hit that counts anywhere for every number-like witness when
    /// the event holds a number the reference writes otherwise than its
    /// token (or cannot be indexed, so its tokens are unknown).
    pub(super) fn add_number_hits(&mut self, raw: &[u8], known: &mut EventKnown) {
        let engine = self.engine;
        if engine.number_patterns.is_empty() {
            return;
        }
        let indexed = *known.indexed.get_or_insert_with(|| self.index_event(raw));
        if indexed && !self.members.has_rewritten_number(raw) {
            return;
        }
        self.hits
            .extend(engine.number_patterns.iter().map(|&id| (id, ANYWHERE)));
    }
}
