//! Whether one fold's keys follow from another's: values alike under a
//! wider fold (one that keeps more runs) are alike under a narrower one.
//!
//! The runtime's memos fold a value twice over: stage 1's copy by the
//! fold its witness literals allow, stage 2's key by the fold its
//! candidates' tests allow. Events that stage 1 found alike may share a
//! verdict only where stage 2's fold folds every run stage 1's folded
//! (`verdict_link.rs` in the runtime).
//!
//! Why it is enough: a run is kept or folded on its own digits and the
//! characters next to it, which folding other runs leaves as they are (a
//! run is a maximal stretch of digits; the characters around it are not
//! digits and are never folded). So when every run the wider fold folds,
//! the narrower folds too, the narrower fold of a value is the narrower
//! fold of its wider fold: the runs the wider fold kept are decided alike
//! in both, and the folded ones are [`FOLDED_RUN`] in both.

use super::{decoded_at, decoded_before, key_of, DigitFold, Neighbours, FOLDED_RUN};

impl Neighbours {
    /// Whether each entry of this set for characters of `key` (of every
    /// key when `None`) is one of `wider`'s.
    fn within(&self, wider: &Neighbours, key: Option<u8>) -> bool {
        self.ends == wider.ends
            && self
                .entries
                .iter()
                .filter(|(k, _, _)| key.is_none_or(|key| *k == key))
                .all(|entry| wider.entries.binary_search(entry).is_ok())
    }
}

impl DigitFold {
    /// Whether every long run this fold keeps, `wider` keeps too: each of
    /// its rules for keeping a run (a neighbour with the digits next to
    /// it, a whole inner run, a run of digits only) is one of `wider`'s
    /// (hexadecimal words aside). Values alike under `wider`'s fold are
    /// then alike under this one's.
    pub fn keeps_no_run_beyond(&self, wider: &DigitFold) -> bool {
        self.before.within(&wider.before, None)
            && self.after.within(&wider.after, None)
            && self.inner_within(wider)
    }

    /// [`DigitFold::keeps_no_run_beyond`] for the values whose fold by
    /// `wider` (by runs, not words) is `folded` (a JSON value as written,
    /// a string's quotes included): each run `wider` folded, kept by this
    /// fold's rules only where `wider` has the same rule for the
    /// characters next to it. Every [`FOLDED_RUN`] in `folded` is taken
    /// for a folded run (a value may hold the byte itself).
    pub fn keeps_no_run_beyond_in(&self, wider: &DigitFold, folded: &[u8]) -> bool {
        if !self.inner_within(wider) {
            return false;
        }
        let body = match folded {
            [b'"', body @ .., b'"'] => body,
            _ => folded,
        };
        body.iter()
            .enumerate()
            .filter(|&(_, b)| FOLDED_RUN.first() == Some(b))
            .all(|(at, _)| {
                let before = decoded_before(body, at).map(key_of);
                let after = decoded_at(body, at + 1).map(key_of);
                before.is_none_or(|b| self.before.within(&wider.before, Some(b)))
                    && after.is_none_or(|a| self.after.within(&wider.after, Some(a)))
            })
    }

    /// Whether the whole runs and runs of digits only this fold keeps,
    /// `wider` keeps too.
    fn inner_within(&self, wider: &DigitFold) -> bool {
        self.runs.iter().all(|run| wider.runs.contains(run))
            && self.within.iter().all(|run| wider.within.contains(run))
    }
}
