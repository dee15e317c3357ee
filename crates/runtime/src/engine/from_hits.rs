//! Stage 1's candidates from its hits, once the scan is done: the rules
//! without witnesses of the event's scopes, each hit's groups where the
//! hit counts (placed on the member index), then the scope checks, the
//! event ids and the clauses. What the candidate memo and the key by hits
//! (`candidate_memo.rs`, `hits_key.rs`) spare an event they answer.

use super::{EventKnown, HitPlace, Scanner};

impl Scanner<'_> {
    /// The candidates from stage 1's hits (the scan done, not passed to
    /// every rule).
    pub(super) fn stage1_candidates(&mut self, raw: &[u8], known: &mut EventKnown) {
        let engine = self.engine;
        let generation = self.generation;
        self.add_number_hits(raw, known);
        // Scopes first: an event is of few of the rule set's log sources.
        // Of their rules without witnesses, those its event id allows when
        // it is one integer (`filter_event_ids` then decides exactly).
        let id = self.event_id_integer(raw, known);
        let always = &engine.routing.always;
        let admits = |r: u32| {
            let required = engine.raw.rule_event_ids.get(r as usize);
            match (required, id) {
                (Some(Some(required)), Some(id)) => required.admits_integer(id),
                _ => true,
            }
        };
        let known_always = match id {
            Some(id) => self.subset_cache.current_always_for_id(always, id, admits),
            None => self.subset_cache.current_always(always),
        };
        if let Some(rules) = known_always {
            add_candidates(&mut self.candidates, &mut self.marks, generation, rules);
        } else {
            for (s, rules) in &engine.routing.always {
                if self.scope_kept(raw, *s as usize, known) {
                    add_candidates(&mut self.candidates, &mut self.marks, generation, rules);
                }
            }
        }
        for k in 0..self.hits.len() {
            let (id, end) = self.hits[k];
            let mut place: Option<HitPlace> = None;
            for &g in &engine.pattern_groups[id] {
                let group = &engine.groups[g as usize];
                // Groups only clauses use are decided when a clause asks.
                if self.group_marks[g as usize] == generation || group.rules.is_empty() {
                    continue;
                }
                if let Some(Some(s)) = engine.routing.group_scope.get(g as usize) {
                    if !self.scope_kept(raw, *s as usize, known) {
                        continue;
                    }
                }
                let counts = match &group.members {
                    None => true,
                    Some(ids) => {
                        let here = match place {
                            Some(p) => p,
                            None => {
                                let p = self.place_of_hit(raw, id, end, &mut known.indexed);
                                place = Some(p);
                                p
                            }
                        };
                        here.counts_in(ids)
                    }
                };
                if counts {
                    self.group_marks[g as usize] = generation;
                    add_candidates(
                        &mut self.candidates,
                        &mut self.marks,
                        generation,
                        &group.rules,
                    );
                }
            }
        }
        self.filter_scopes(raw, known);
        self.filter_event_ids(raw, known);
        self.check_clauses(raw, known);
        self.candidates.sort_unstable();
    }
}

/// Appends the `rules` not yet marked with `generation` to `candidates`,
/// marking them.
fn add_candidates(candidates: &mut Vec<u32>, marks: &mut [u32], generation: u32, rules: &[u32]) {
    for &r in rules {
        if let Some(mark) = marks.get_mut(r as usize) {
            if *mark != generation {
                *mark = generation;
                candidates.push(r);
            }
        }
    }
}
