//! Stage 1's clause checks: a candidate stays only if every clause its rule
//! implies holds in the raw event (see [`hypersigma_compiler::clauses`]).
//!
//! The scan makes a rule a candidate on its cheapest witness set; a rule
//! that needs an image under `\Windows\` and a command line holding
//! `\..\Windows\` (or else `.exe\..\`) becomes a candidate on the image
//! alone. Its other clauses' literals are witness groups of the same scan (a
//! literal and the members it must lie in), groups that make no rule a
//! candidate by themselves and are decided from the scan's hits only when a
//! candidate's clause asks: a candidate stays only when each of its clauses
//! has a group that occurs where it counts.

use std::collections::BTreeMap;

use super::{EventKnown, Scanner};

/// The end of a pattern's linked hits.
const NO_HIT: u32 = u32::MAX;

/// Every rule's clauses beyond its scan witnesses.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ClauseTable {
    /// Per rule: the clauses to check (ids into `clauses`).
    rules: Vec<Vec<u32>>,
    /// Per clause: its witness groups (at least one must occur).
    clauses: Vec<Vec<u32>>,
}

impl ClauseTable {
    /// The table of per-rule clause ids and the clauses by id.
    pub(crate) fn new(rules: Vec<Vec<u32>>, clause_ids: BTreeMap<Vec<u32>, u32>) -> ClauseTable {
        let mut clauses: Vec<(u32, Vec<u32>)> =
            clause_ids.into_iter().map(|(c, id)| (id, c)).collect();
        clauses.sort_by_key(|(id, _)| *id);
        ClauseTable {
            rules,
            clauses: clauses.into_iter().map(|(_, c)| c).collect(),
        }
    }

    /// Whether the tables refer only to existing rules, clauses and groups.
    pub(crate) fn consistent(&self, rules: usize, groups: usize) -> bool {
        self.rules.len() == rules
            && self
                .rules
                .iter()
                .flatten()
                .all(|&c| (c as usize) < self.clauses.len())
            && self
                .clauses
                .iter()
                .flatten()
                .all(|&g| (g as usize) < groups)
    }

    /// Clauses in all.
    pub(crate) fn len(&self) -> usize {
        self.clauses.len()
    }

    /// Every witness group of rule `r`'s clauses.
    pub(crate) fn groups_of_rule(&self, r: u32) -> impl Iterator<Item = u32> + '_ {
        self.rules
            .get(r as usize)
            .into_iter()
            .flatten()
            .filter_map(|&c| self.clauses.get(c as usize))
            .flatten()
            .copied()
    }
}

impl Scanner<'_> {
    /// Drops the candidates with a clause none of whose groups occurs in
    /// `raw` where it counts.
    pub(super) fn check_clauses(&mut self, raw: &[u8], known: &mut EventKnown) {
        let engine = self.engine;
        let table = &engine.clauses;
        if table.clauses.is_empty() {
            return;
        }
        let has_clauses = |r: &u32| table.rules.get(*r as usize).is_some_and(|c| !c.is_empty());
        if !self.candidates.iter().any(has_clauses) {
            return;
        }
        self.link_hits();
        let mut kept = 0;
        for k in 0..self.candidates.len() {
            let r = self.candidates[k];
            let clauses = table.rules.get(r as usize).map_or(&[][..], Vec::as_slice);
            let holds = clauses.iter().all(|&c| {
                table
                    .clauses
                    .get(c as usize)
                    .is_some_and(|groups| groups.iter().any(|&g| self.group_holds(raw, g, known)))
            });
            if holds {
                self.candidates[kept] = r;
                kept += 1;
            }
        }
        self.candidates.truncate(kept);
    }

    /// Links each pattern's hits (`hit_heads`, `hit_next`), so a group
    /// walks its own: one pass over the hits, where sorting them by
    /// pattern took ~1 % of the instructions with all SigmaHQ
    /// (BENCHMARKS.md, "fast path v30").
    fn link_hits(&mut self) {
        let generation = self.generation;
        self.hit_next.clear();
        for (k, &(id, _)) in self.hits.iter().enumerate() {
            let before = match self.hit_heads.get_mut(id) {
                Some(head) => {
                    let before = if head.0 == generation { head.1 } else { NO_HIT };
                    *head = (generation, k as u32);
                    before
                }
                None => NO_HIT,
            };
            self.hit_next.push(before);
        }
    }

    /// Whether witness group `g` occurs in `raw` where it counts: marked by
    /// the scan, or decided here from the scan's hits (linked by pattern;
    /// remembered for the event).
    fn group_holds(&mut self, raw: &[u8], g: u32, known: &mut EventKnown) -> bool {
        let generation = self.generation;
        let g = g as usize;
        if self.group_marks.get(g) == Some(&generation) {
            return true;
        }
        if self.group_checked.get(g) == Some(&generation) {
            return false;
        }
        let engine = self.engine;
        let Some(group) = engine.groups.get(g) else {
            return false;
        };
        let pattern = group.pattern as usize;
        let mut holds = false;
        // A pattern the scan did not hit (most of them) has no hits to walk.
        let mut k = match self.hit_heads.get(pattern) {
            Some(&(linked, last)) if linked == generation => last,
            _ => NO_HIT,
        };
        while let Some(&(id, end)) = self.hits.get(k as usize) {
            k = self.hit_next.get(k as usize).copied().unwrap_or(NO_HIT);
            let Some(ids) = &group.members else {
                holds = true;
                break;
            };
            holds = self
                .place_of_hit(raw, id, end, &mut known.indexed)
                .counts_in(ids);
            if holds {
                break;
            }
        }
        if let Some(mark) = self.group_checked.get_mut(g) {
            *mark = generation;
        }
        if holds {
            if let Some(mark) = self.group_marks.get_mut(g) {
                *mark = generation;
            }
        }
        holds
    }
}
