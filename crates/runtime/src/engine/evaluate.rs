//! Stage 2 of the engine: the partial parse of a candidate event, then its
//! remembered verdict (`verdict_memo.rs`) or the evaluation of each
//! candidate within its rule's log-source scope.

use serde_json::Value;

use hypersigma_compiler::{source_for, EvalOptions, Evaluation, Profile, Scope};

use super::{Scanner, Verdict, SCOPE_OUT, SCOPE_UNKNOWN, SCOPE_UNSCOPED};
use crate::partial::{
    parse_indexed_kept, parse_indexed_whole, parse_whole_into, prunes_some, validate_indexed,
    MemberFilter, Prune,
};
use crate::stage2::{selection_holds, FieldCache};

/// Bytes of stage 2's arena kept from one evaluation to the next: an
/// event's field lists and texts take a few kilobytes; a larger arena (a
/// huge value's folded text or characters) is given back.
pub(super) const ARENA_KEPT: usize = 1 << 20;

impl Scanner<'_> {
    /// Stage 2 for the candidates of the last [`Scanner::candidates`] call on
    /// `raw`: the verdict, the whole parsed event when some rule matched, and
    /// the number of candidates. The line is always validated; only the
    /// members the candidates can read are built (see `partial.rs`),
    /// none for an event without candidates.
    ///
    /// An event the last `candidates` call matched as its rewriting
    /// without hiding escapes (`unescaped.rs`) is evaluated as that
    /// rewriting: the same value, parsed from the line stage 1 read.
    pub fn stage2(&mut self, raw: &[u8], profile: &Profile) -> (Verdict, Option<Value>, usize) {
        if self.unescaped.of == Some((raw.as_ptr() as usize, raw.len())) {
            let line = std::mem::take(&mut self.unescaped.line);
            let outcome = self.stage2_of(&line, profile);
            self.unescaped.line = line;
            return outcome;
        }
        self.stage2_of(raw, profile)
    }

    /// [`Scanner::stage2`] on the line it evaluates.
    fn stage2_of(&mut self, raw: &[u8], profile: &Profile) -> (Verdict, Option<Value>, usize) {
        // The value this returns, if any, is this line's.
        self.spare_events.written(raw.len());
        let engine = self.engine;
        let candidates = self.candidates.len();
        let whole = engine.reads.some_whole_event
            && self
                .candidates
                .iter()
                .any(|&r| engine.reads.whole_event[r as usize]);
        let this_event = (raw.as_ptr() as usize, raw.len());
        if candidates == 0 && self.gate_passed == Some(this_event) {
            return (Verdict::Matched(Vec::new()), None, 0);
        }
        if self.indexed_event != Some(this_event) {
            self.index_event(raw);
            self.indexed_event = Some(this_event);
        }
        let mut memo_key = None;
        // The parse went through the kept members: the event goes back to
        // them unless it is handed on.
        let mut kept = false;
        // A nested event's key holds no flags of top-level members.
        let mut nested_key = false;
        // The verdict memo saw the event as a flat one (`key_of`).
        let mut keyed_flat = false;
        let parsed = if candidates == 0 {
            validate_indexed(raw, &self.members).map(|()| (Value::Null, false))
        } else if whole {
            parse_indexed_whole(raw, None, None, &self.members)
        } else {
            self.refresh_filter(profile);
            // Stage 1 answered the event by a key whose verdict is linked
            // (`verdict_link.rs`).
            if let Some(top) = self
                .members
                .top_members()
                .filter(|_| self.members.is_flat())
            {
                if let Some(matched) = self.verdict_links.get(raw, top, &self.candidates) {
                    let matched = matched.to_vec();
                    self.verdict_links.answered += 1;
                    return self.with_whole_event(raw, matched, candidates);
                }
            }
            let filter = self.filter.as_ref().map(|(_, _, filter)| filter);
            if let (Some(filter), Some(top)) = (filter, self.members.top_members()) {
                let serial = self
                    .members
                    .is_flat()
                    .then(|| self.compact.current_serial())
                    .flatten();
                memo_key = self
                    .verdict_memo
                    .key_of(raw, top, filter, &self.candidates, serial);
                keyed_flat = true;
                // A candidate reads an object whole (an `evtx_dump`
                // record's `Event`): key the line, unread values cut out.
                if memo_key.is_none() && self.verdict_memo.object_read() {
                    let hiding = self.members.seen().is_none_or(|s| s.hiding_escape);
                    if let Some(tree) = self.members.nested_tree().filter(|_| !hiding) {
                        memo_key = self.verdict_memo.nested_key_of(
                            raw,
                            &tree,
                            filter.leaves(),
                            &self.candidates,
                            self.compact.current_serial(),
                        );
                        nested_key = memo_key.is_some();
                    }
                }
            }
            let filter = self.filter.as_ref().map(|(_, _, filter)| filter);
            if let (Some(hash), Some(filter)) = (memo_key, filter) {
                let top = self.members.top_members().filter(|_| !nested_key);
                let found = self
                    .verdict_memo
                    .get(hash, raw, top, filter, &self.candidates);
                if let Some(matched) = found {
                    let matched = matched.to_vec();
                    if keyed_flat && !nested_key {
                        self.link_verdict(raw, &matched);
                    }
                    return self.with_whole_event(raw, matched, candidates);
                }
            }
            // A flat event equal to an evaluated one in the members that
            // evaluation read.
            if let (true, false, Some(top)) = (keyed_flat, nested_key, self.members.top_members()) {
                let found = self
                    .verdict_memo
                    .verdict_by_members_read(raw, top, &self.candidates);
                if let Some(matched) = found {
                    let matched = matched.to_vec();
                    if let Some(hash) = memo_key {
                        self.verdict_memo.remember(hash, &matched);
                    }
                    self.link_verdict(raw, &matched);
                    return self.with_whole_event(raw, matched, candidates);
                }
            }
            // Equal to an evaluated one in the results of the tests of its
            // members.
            if let (Some(filter), Some(hash), false, Some(top)) =
                (filter, memo_key, nested_key, self.members.top_members())
            {
                let found =
                    self.verdict_memo
                        .verdict_by_results(raw, top, filter, &self.candidates);
                if let Some(matched) = found {
                    let matched = matched.to_vec();
                    self.verdict_memo
                        .remember_answered_by_results(hash, &matched);
                    self.link_verdict(raw, &matched);
                    return self.with_whole_event(raw, matched, candidates);
                }
            }
            // The containers of a nested line are built with what the
            // candidates read (`partial/pruned.rs`) when a wanted one is not
            // read whole, the leaves of its names worked out once per
            // stage-1 layout.
            let prunes = match (filter, self.members.nested_tree()) {
                (Some(filter), Some(tree)) if !filter.reads_everything() => {
                    let selection = filter.select(&self.candidates);
                    let (prune_bits, candidates) = (&mut self.prune_bits, &self.candidates);
                    prunes_some(raw, &tree, &selection, filter.leaves(), || {
                        filter.leaves().union_of(candidates, prune_bits)
                    })
                }
                _ => false,
            };
            if prunes && self.compact.current_serial().is_none() {
                self.layout_of(raw);
            }
            let filter = self.filter.as_ref().map(|(_, _, filter)| filter);
            let selection = filter.map(|filter| filter.select(&self.candidates));
            let serial = self.compact.current_serial().filter(|_| prunes);
            let (prune, wanted) = match (filter, serial, self.members.nested_tree()) {
                (Some(filter), Some(serial), Some(tree)) => {
                    let names =
                        self.verdict_memo
                            .nested_leaves_of(raw, &tree, filter.leaves(), serial);
                    let prune = (names.fit(&tree) && !names.repeated_names).then_some(Prune {
                        tree,
                        names,
                        leaves: filter.leaves(),
                        bits: &self.prune_bits,
                        scratch: &mut self.prune_scratch,
                    });
                    (prune, None)
                }
                // The members the candidates read, when the memo worked
                // them out for this event (a flat one).
                _ if keyed_flat && !nested_key => (None, self.verdict_memo.read_members()),
                _ => (None, None),
            };
            kept = true;
            let members = Some(&mut self.kept_members);
            parse_indexed_kept(raw, selection, wanted, &self.members, members, prune)
        };
        // `complete`: every member was parsed (an event of one top-level
        // member, or candidates reading them all), so a match needs no
        // second parse for output.
        let (event, complete) = match parsed {
            Ok(parsed) => parsed,
            Err(reason) => return (Verdict::Rejected(reason), None, candidates),
        };
        if candidates == 0 {
            return (Verdict::Matched(Vec::new()), None, 0);
        }
        let verdict = self.evaluate_candidates(&event, profile);
        if let (Some(hash), Verdict::Matched(rules)) = (memo_key, &verdict) {
            self.verdict_memo.remember(hash, rules);
        }
        if let (true, false, Verdict::Matched(rules)) = (keyed_flat, nested_key, &verdict) {
            self.link_verdict(raw, rules);
            let filter = self.filter.as_ref().map(|(_, _, filter)| filter);
            if let (Some(filter), Some(top)) = (filter, self.members.top_members()) {
                self.verdict_memo.remember_by_members_read(
                    raw,
                    top,
                    filter,
                    &self.candidates,
                    &self.evaluated_selections,
                    rules,
                );
            }
        }
        if let Verdict::Matched(rules) = &verdict {
            if complete && !rules.is_empty() {
                return (verdict, Some(event), candidates);
            }
        }
        if kept {
            self.kept_members.keep(event);
        }
        match verdict {
            Verdict::Matched(rules) => self.with_whole_event(raw, rules, candidates),
            verdict => (verdict, None, candidates),
        }
    }

    /// Builds the member filter for `profile` unless it is the last one's.
    /// A profile equal to the last one (each input file's events come with
    /// their own copy of the profile detected for it) keeps the filter and
    /// the remembered verdicts.
    fn refresh_filter(&mut self, profile: &Profile) {
        let address = profile as *const Profile as usize;
        match &mut self.filter {
            Some((a, last, _)) if *a == address && last.name == profile.name => {}
            Some((a, last, _)) if **last == *profile => *a = address,
            _ => {
                let engine = self.engine;
                let filter = MemberFilter::with_folds(profile, &engine.reads, engine.field_folds());
                self.filter = Some((address, Box::new(profile.clone()), filter));
                // The remembered verdicts were decided under another profile.
                self.verdict_memo.clear();
                self.verdict_links.clear();
            }
        }
    }

    /// Stage 2 alone: evaluates the candidates of the last [`Scanner::candidates`] call.
    pub fn evaluate_candidates(&mut self, event: &Value, profile: &Profile) -> Verdict {
        let options = EvalOptions {
            unscoped: self.engine.options.unscoped,
        };
        let engine = self.engine;
        self.scope_state.iter_mut().for_each(|s| *s = SCOPE_UNKNOWN);
        self.evaluated_selections.clear();
        let mut matched = Vec::new();
        let lowered = engine.lowered();
        self.empty_arena();
        let mut cache =
            FieldCache::new(event, profile, &lowered.atoms, &self.hit_cache, &self.arena);
        for &r in &self.candidates {
            let i = r as usize;
            let scope_id = engine.rule_scope[i] as usize;
            let scope = &engine.scopes[scope_id];
            if self.scope_state[scope_id] == SCOPE_UNKNOWN {
                self.scope_state[scope_id] = match source_for(scope, event, profile, options) {
                    None => SCOPE_OUT,
                    Some(None) => SCOPE_UNSCOPED,
                    Some(Some(source)) => match scope {
                        Scope::Sources(list) => {
                            2 + list
                                .iter()
                                .position(|s| std::ptr::eq(s, source))
                                .unwrap_or(0) as u32
                        }
                        Scope::Unmapped => SCOPE_UNSCOPED,
                    },
                };
            }
            let source = match (self.scope_state[scope_id], scope) {
                (SCOPE_OUT, _) => continue,
                (SCOPE_UNSCOPED, _) | (_, Scope::Unmapped) => None,
                (k, Scope::Sources(list)) => list.get((k - 2) as usize),
            };
            let rule = &engine.rules[i];
            let lowered_rule = &lowered.rules[i];
            // The selections evaluated, in order: what the evaluation read.
            let evaluated = &mut self.evaluated_selections;
            let holds = engine.programs[i].run(&mut |k| {
                evaluated.push((r, k as u32));
                selection_holds(rule, lowered_rule, k, &mut cache, source)
            });
            if holds {
                matched.push(r);
            }
        }
        Verdict::Matched(matched)
    }

    /// What the reference's `evaluate_detailed` says of rule `rule` on
    /// `event` (the log source it is taken as, the selections that hold,
    /// the verdict), decided by stage 2's lowered selections and this
    /// scanner's caches, which have just seen the event's texts when it
    /// matched: what a detection's output reports, without the reference
    /// evaluator's per-character matching. An index past the rules gives
    /// no match.
    pub fn explain(&self, rule: u32, event: &Value, profile: &Profile) -> Evaluation {
        let engine = self.engine;
        let i = rule as usize;
        let (Some(rule), Some(program)) = (engine.rules.get(i), engine.programs.get(i)) else {
            return Evaluation::out_of_scope();
        };
        let options = EvalOptions {
            unscoped: engine.options.unscoped,
        };
        let Some(source) = source_for(&rule.scope, event, profile, options) else {
            return Evaluation::out_of_scope();
        };
        let lowered = engine.lowered();
        let Some(lowered_rule) = lowered.rules.get(i) else {
            return Evaluation::out_of_scope();
        };
        let arena = bumpalo::Bump::new();
        let mut cache = FieldCache::new(event, profile, &lowered.atoms, &self.hit_cache, &arena);
        let holds: Vec<bool> = (0..rule.detection.selections.len())
            .map(|k| selection_holds(rule, lowered_rule, k, &mut cache, source))
            .collect();
        let matched = program.run(&mut |k| holds.get(k).copied().unwrap_or(false));
        Evaluation::of(rule, &holds, matched, source)
    }

    /// Empties stage 2's arena for the next evaluation. It keeps its
    /// largest block (nothing is allocated once it fits an event's fields)
    /// unless a huge event made it larger than [`ARENA_KEPT`].
    fn empty_arena(&mut self) {
        if self.arena.allocated_bytes() > ARENA_KEPT {
            self.arena = bumpalo::Bump::new();
        } else {
            self.arena.reset();
        }
    }

    /// Stage-2 events this scanner answered from remembered verdicts
    /// (`verdict_memo.rs`) instead of evaluating them.
    pub fn remembered_verdicts(&self) -> u64 {
        self.verdict_memo.answered() + self.verdict_links.answered
    }

    /// Events whose candidate rules this scanner took from remembered
    /// lists (`candidate_memo.rs`) instead of running stage 1's scan.
    pub fn remembered_candidates(&self) -> u64 {
        self.candidate_memo.answered_total
    }

    /// How often this scanner's memos answered so far, all counts at once.
    pub fn memo_answers(&self) -> MemoAnswers {
        MemoAnswers {
            verdicts: self.remembered_verdicts(),
            linked: self.verdict_links.answered,
            candidates: self.remembered_candidates(),
            by_folded_keys: self.candidate_memo.answered_folded_total,
            by_hits: self.candidates_by_hits(),
        }
    }

    /// Events whose scan ran but whose candidate rules this scanner took
    /// from a list remembered under the same hits (`hits_key.rs`).
    pub fn candidates_by_hits(&self) -> u64 {
        self.hits_key.answered
    }

    /// Takes back the value of the event just matched once done with it
    /// (its detections written): the next matched event of the same
    /// layout of names is written into it, its maps and strings reused
    /// (`spare_events.rs`). Call it before matching another event.
    pub fn give_back(&mut self, event: Value) {
        if event.is_object() {
            let serial = self.compact.current_serial();
            self.spare_events.put(serial, event);
        }
    }

    /// The outcome of an event whose candidates `matched`: no match, or the
    /// matched rules with the whole event parsed for output.
    fn with_whole_event(
        &mut self,
        raw: &[u8],
        matched: Vec<u32>,
        candidates: usize,
    ) -> (Verdict, Option<Value>, usize) {
        if matched.is_empty() {
            return (Verdict::Matched(matched), None, candidates);
        }
        let spare = self.spare_events.take(self.compact.current_serial());
        match parse_whole_into(raw, &self.members, spare) {
            Ok(full) => (Verdict::Matched(matched), Some(full), candidates),
            // An escape the validating pass accepts but a value cannot hold
            // (a lone surrogate) in an unread member.
            Err(reason) => (Verdict::Rejected(reason), None, candidates),
        }
    }
}

/// How often a scanner's memos answered ([`Scanner::memo_answers`]): its
/// counts since it was made, or a run's (the difference of two,
/// [`MemoAnswers::since`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoAnswers {
    /// Stage-2 events answered from remembered verdicts
    /// ([`Scanner::remembered_verdicts`]).
    pub verdicts: u64,
    /// Of `verdicts`, those answered by a verdict linked to the key stage 1
    /// answered the event by (`verdict_link.rs`), without a key of their
    /// own.
    pub linked: u64,
    /// Events whose candidate rules were remembered
    /// ([`Scanner::remembered_candidates`]).
    pub candidates: u64,
    /// Of `candidates`, those answered by a key of the values with long
    /// runs of digits (or hexadecimal words) folded (`folded_copy.rs`).
    pub by_folded_keys: u64,
    /// Events scanned whose candidate rules were remembered under their
    /// hits ([`Scanner::candidates_by_hits`]).
    pub by_hits: u64,
}

impl MemoAnswers {
    /// The answers counted after `before` (taken earlier from the same
    /// scanner: every count only grows).
    pub fn since(self, before: MemoAnswers) -> MemoAnswers {
        MemoAnswers {
            verdicts: self.verdicts - before.verdicts,
            linked: self.linked - before.linked,
            candidates: self.candidates - before.candidates,
            by_folded_keys: self.by_folded_keys - before.by_folded_keys,
            by_hits: self.by_hits - before.by_hits,
        }
    }

    /// Adds `other`'s counts (another chunk's, another scanner's).
    pub fn add(&mut self, other: &MemoAnswers) {
        self.verdicts += other.verdicts;
        self.linked += other.linked;
        self.candidates += other.candidates;
        self.by_folded_keys += other.by_folded_keys;
        self.by_hits += other.by_hits;
    }
}
