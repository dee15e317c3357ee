//! The matching engine: stage 1 (Hyperscan over raw bytes) picks candidate
//! rules per event, stage 2 evaluates only those on the parsed event.
//!
//! **Stage-1 contract: no false negatives.** Every rule that matches an event
//! is among the event's candidates. The witnesses come from
//! [`hypersigma_compiler::witness`]: a rule is a candidate when one of its
//! witnesses occurs in the raw event, or always (rules without witnesses);
//! an event holding a JSON `\u`/`\/` escape or a character that folds to ASCII
//! (which a raw-byte literal could miss) makes every rule a candidate. An
//! event whose log-source values stage 1 reads is scanned with a database of
//! its possible scopes' literals only (`subsets.rs`), and only over the
//! values a witness can count in (`compact.rs`), unless the candidates for
//! the same scope set, layout and scanned bytes are remembered
//! (`candidate_memo.rs`).
//!
//! Stage 2 (`evaluate.rs`) parses the members of the event the candidates
//! can read (`partial.rs`; the whole line is still validated) and runs each
//! candidate's verified condition [`Program`] over the reference selection
//! semantics, within the rule's log-source scope, unless the verdict for the
//! same candidates and the same bytes of the members they read is
//! remembered (`verdict_memo.rs`; what both memos share in `remembered.rs`),
//! or linked to the remembered stage-1 key that answered it
//! (`verdict_link.rs`).
//! An [`Engine`] is immutable and shared by all
//! threads; each thread owns a [`Scanner`] (Hyperscan scratch, marks, buffers).

use crate::partial::FieldFolds;
use hyperscan::prelude::*;
use serde_json::Value;

use hypersigma_compiler::correlation::Correlation;
use hypersigma_compiler::digit_runs::Folding;
use hypersigma_compiler::program::Program;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::accounting::Rejection;
use crate::correlate::{CorrelationError, CorrelationSet};
use crate::members::MemberIndex;
use crate::partial::{KeptMembers, MemberFilter, PruneScratch, ReadSet};
use crate::raw_scope::{RawChecks, RawScopeState};
use crate::stage2::{lower_rules, HitCache, Lowered};
use hypersigma_compiler::witness::Strategy;
use hypersigma_compiler::{Profile, Rule, Scope};

/// How the engine runs.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Skip stage 1: every rule is a candidate for every event (for testing and comparison).
    pub no_prefilter: bool,
    /// Evaluate rules with an unmapped log source against every event.
    pub unscoped: bool,
    /// How witnesses are chosen.
    pub strategy: Strategy,
    /// Scan an event whose possible log sources stage 1 reads with a
    /// database of those sources' literals only, once a thread has seen
    /// this many events of the same set of sources (see `subsets.rs`) and
    /// scanned `subset_bytes_per_literal` bytes of them with the whole
    /// database per literal of the set's; 0: always the whole database.
    pub subset_after: u32,
    /// Bytes of a set of sources' events scanned with the whole database,
    /// per literal of the set's own, before the latter is built: a build
    /// costs in proportion to its literals, and pays back in proportion to
    /// the bytes it then scans instead of the whole database, so a short
    /// run keeps the whole database (see [`DEFAULT_SUBSET_BYTES_PER_LITERAL`]);
    /// 0: after `subset_after` events whatever the size.
    pub subset_bytes_per_literal: u32,
    /// Whether stage 1 first reads each event's log-source values (the
    /// scope gate, which the per-scope databases need): `None` turns it on
    /// whenever some rule's log source can refuse an event (see
    /// `raw_scope/mod.rs`); `Some` forces it on or off, for testing both
    /// paths with any rule set.
    pub scope_gate: Option<bool>,
}

/// Events of one set of log sources a thread sees at least before the set
/// gets its own stage-1 database.
pub const DEFAULT_SUBSET_AFTER: u32 = 256;

/// Bytes of one set of log sources' events a thread scans with the whole
/// stage-1 database, per literal of the set's own, before building the
/// latter (rent, then buy): a build costs some 400 k instructions per
/// literal (a tenth to a quarter of a second and 20 MB of compiler memory
/// for the 5,000 process-creation literals of all SigmaHQ), and a byte
/// scanned with the whole database of all SigmaHQ some 18 (OTRF lines,
/// scanned raw), a dozen more than with a set's own. Building at 256 events
/// of a set instead spent 1.7 G instructions in compiles over 30,000 real
/// EVTX lines, more than their whole scan without them. Of 6, 8, 12 and 24
/// KiB, 8 gave the fewest instructions over 30,000 OTRF lines (where builds
/// pay back soonest) and left 30,000 EVTX or generated lines unbuilt
/// (`BENCHMARKS.md`, fast path v17).
pub const DEFAULT_SUBSET_BYTES_PER_LITERAL: u32 = 8 * 1024;

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            no_prefilter: false,
            unscoped: false,
            strategy: Strategy::default(),
            subset_after: DEFAULT_SUBSET_AFTER,
            subset_bytes_per_literal: DEFAULT_SUBSET_BYTES_PER_LITERAL,
            scope_gate: None,
        }
    }
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A rule's condition did not lower to a valid program.
    #[error("rule {rule}: {source}")]
    Program {
        /// The rule.
        rule: String,
        /// Why.
        source: hypersigma_compiler::program::VerifyError,
    },
    /// Hyperscan refused the stage-1 database or scratch space.
    #[error("stage-1 database: {0}")]
    Hyperscan(String),
    /// A correlation names an unknown rule, or correlations form a cycle.
    #[error(transparent)]
    Correlation(#[from] CorrelationError),
}

/// Stage-1 statistics of a build.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    /// Distinct witness literals.
    pub witnesses: usize,
    /// Rules that are candidates for every event of their log source.
    pub always: usize,
    /// Distinct clauses checked beyond the rules' witnesses.
    pub clauses: usize,
}

/// Compiled rules, shared by every thread.
pub struct Engine {
    pub(crate) rules: Vec<Rule>,
    pub(crate) programs: Vec<Program>,
    /// Every rule's selections lowered for stage 2, with the literal atoms
    /// of all rules by field: built on the first evaluation (a collector
    /// restarting loads its ruleset without paying for it).
    pub(crate) lowered: OnceLock<Lowered>,
    /// Distinct log-source scopes, and the scope of each rule (the scope check
    /// runs once per scope and event, not once per rule).
    pub(crate) scopes: Vec<Scope>,
    pub(crate) rule_scope: Vec<u32>,
    /// Rules without witnesses.
    pub(crate) always: Vec<u32>,
    /// The witness-free rules and witness groups by scope (derived from
    /// `always`, `groups` and `rule_scope`; not serialised).
    pub(crate) routing: ScopeRouting,
    /// Hyperscan pattern id → the witness groups it serves (none for the
    /// pass-through patterns).
    pub(crate) pattern_groups: Vec<Vec<u32>>,
    /// Each witness pattern's literal (JSON form, whose length is the
    /// length of the pattern's match) and whether it is cased.
    pub(crate) literals: Vec<(String, bool)>,
    /// The patterns of number-like witnesses (derived from `literals`; see
    /// `numbers.rs`).
    pub(crate) number_patterns: Vec<usize>,
    /// Stage-1 databases per set of scopes (derived from the literals,
    /// groups, clauses and scopes; built on demand from `literals`, not
    /// serialised).
    pub(crate) subsets: Subsets,
    /// Rules sharing one witness literal and one set of members it must lie in.
    pub(crate) groups: Vec<WitnessGroup>,
    /// Normalised member name → id (the ids [`WitnessGroup::members`] lists).
    pub(crate) member_ids: MemberIds,
    /// The fold of long runs of digits stage 1 can copy each place's
    /// values with, and those each rule's fields allow stage 2's verdict
    /// memo (derived from the literals, groups and rules on first use, as
    /// the lowering is: not serialised, not paid by a load).
    pub(crate) copy_folds: OnceLock<CopyFolds>,
    pub(crate) field_folds: OnceLock<Vec<Option<FieldFolds>>>,
    /// The clauses each candidate's rule must satisfy beyond its witnesses.
    pub(crate) clauses: ClauseTable,
    /// Pattern ids from this one on make every rule a candidate.
    pub(crate) first_pass_through: usize,
    /// Stage 1's checks of the raw event's log-source values: scopes, the
    /// event ids detections require, the scope gate.
    pub(crate) raw: RawChecks,
    /// What stage 2 reads (the fields, and the rules that read every value).
    pub(crate) reads: ReadSet,
    /// Correlation rules over the rules' matches.
    pub(crate) correlations: CorrelationSet,
    /// The stage-1 database: the ASCII witnesses and the pass-through patterns.
    pub(crate) db: BlockDatabase,
    /// The witnesses with non-ASCII bytes (emoji, lookalike letters: a few
    /// rules have thousands), scanned only in events that have such bytes.
    pub(crate) non_ascii_db: Option<BlockDatabase>,
    pub(crate) options: EngineOptions,
    pub(crate) stats: EngineStats,
}

/// Normalised member name → id: looked up for every stage-1 hit, so with a
/// fast hasher (the names are short and not attacker-chosen keys of a
/// long-lived table: a per-engine fixed seed is enough).
pub(crate) type MemberIds = HashMap<Vec<u8>, u32, foldhash::fast::FixedState>;

/// The rules a witness literal makes candidates, and where it must occur.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct WitnessGroup {
    /// Sorted member ids the literal must lie in a value of; `None`: anywhere.
    pub(crate) members: Option<Vec<u32>>,
    /// The rules it makes candidates (none for a group only clauses use).
    pub(crate) rules: Vec<u32>,
    /// Its literal's pattern id.
    pub(crate) pattern: u32,
}

/// Each rule's condition as a verified program.
pub(crate) fn compile_programs(rules: &[Rule]) -> Result<Vec<Program>, EngineError> {
    rules
        .iter()
        .map(|r| {
            Program::compile(&r.detection.condition, r.detection.selections.len()).map_err(
                |source| EngineError::Program {
                    rule: r.key().to_string(),
                    source,
                },
            )
        })
        .collect()
}

/// The built-in profiles and `extra` ones.
pub(crate) fn all_profiles(extra: &[Profile]) -> Vec<Profile> {
    let mut profiles: Vec<Profile> = ["sysmon", "evtx", "winlogbeat", "ecs"]
        .iter()
        .filter_map(|n| Profile::builtin(n))
        .collect();
    profiles.extend(extra.iter().cloned());
    profiles
}

impl Engine {
    /// Lowers the rules for events of the built-in profiles.
    pub fn new(rules: Vec<Rule>, options: EngineOptions) -> Result<Engine, EngineError> {
        Engine::with_profiles(rules, options, &[])
    }

    /// Lowers the rules: programs, witnesses, the stage-1 database. Field-scoped
    /// witnesses count in the members where the built-in profiles and `extra`
    /// ones (custom profiles the events may come in) read their field.
    pub fn with_profiles(
        rules: Vec<Rule>,
        options: EngineOptions,
        extra: &[Profile],
    ) -> Result<Engine, EngineError> {
        let programs = compile_programs(&rules)?;
        let (scopes, rule_scope) = lowering::rule_scopes(&rules);
        let profiles = all_profiles(extra);
        let lowering::Witnessing {
            always,
            groups,
            pattern_groups,
            literals,
            member_ids,
            clauses,
        } = lowering::lower_witnesses(&rules, &rule_scope, &profiles, options.strategy);
        let (db, non_ascii_db) = lowering::stage1_databases(&literals)?;
        let first_pass_through = literals.len();
        let stats = EngineStats {
            witnesses: first_pass_through,
            always: always.len(),
            clauses: clauses.len(),
        };
        let reads = ReadSet::new(&rules);
        let raw = RawChecks::new(&rules, &scopes, &profiles).with_gate(options.scope_gate);
        let routing = ScopeRouting::new(&rule_scope, &always, &groups);
        let subsets = Subsets::new(&literals, &groups, &rule_scope, &clauses, scopes.len());
        let number_patterns = numbers::number_patterns(&literals);
        Ok(Engine {
            copy_folds: OnceLock::new(),
            field_folds: OnceLock::new(),
            reads,
            correlations: CorrelationSet::default(),
            rules,
            programs,
            lowered: OnceLock::new(),
            scopes,
            rule_scope,
            always,
            routing,
            pattern_groups,
            literals,
            number_patterns,
            subsets,
            groups,
            member_ids,
            clauses,
            first_pass_through,
            raw,
            db,
            non_ascii_db,
            options,
            stats,
        })
    }

    /// The fold of long runs of digits stage 1 can copy each place's values
    /// with (`folded_copy.rs`), worked out on first use.
    pub(crate) fn copy_folds(&self) -> &CopyFolds {
        self.copy_folds.get_or_init(|| {
            CopyFolds::new(
                &self.literals,
                &self.pattern_groups,
                &self.groups,
                self.member_ids.len(),
            )
        })
    }

    /// The folds of long runs of digits each rule's fields allow
    /// (`partial/digit_folds.rs`), worked out on first use.
    pub(crate) fn field_folds(&self) -> &[Option<FieldFolds>] {
        self.field_folds
            .get_or_init(|| crate::partial::field_folds_of(&self.rules))
    }

    /// The rules, in the order rule indices refer to.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Adds correlation rules over the engine's rules (references resolved
    /// by id or name; see [`crate::correlate`]).
    pub fn set_correlations(&mut self, correlations: Vec<Correlation>) -> Result<(), EngineError> {
        self.correlations = CorrelationSet::new(correlations, &self.rules)?;
        Ok(())
    }

    /// The correlation rules (empty when none were added).
    pub fn correlations(&self) -> &CorrelationSet {
        &self.correlations
    }

    /// Stage-1 statistics.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Every rule's selections lowered for stage 2 (built on first use).
    pub(crate) fn lowered(&self) -> &Lowered {
        self.lowered.get_or_init(|| lower_rules(&self.rules))
    }

    /// Size of the stage-1 Hyperscan database in bytes.
    pub fn database_bytes(&self) -> usize {
        let non_ascii = self.non_ascii_db.as_ref().and_then(|db| db.size().ok());
        self.db.size().unwrap_or(0) + non_ascii.unwrap_or(0)
    }

    /// A per-thread scanner.
    pub fn scanner(&self) -> Result<Scanner<'_>, EngineError> {
        let hs_err = |e: hyperscan::Error| EngineError::Hyperscan(e.to_string());
        let mut scratch = self.db.alloc_scratch().map_err(hs_err)?;
        if let Some(db) = &self.non_ascii_db {
            db.realloc_scratch(&mut scratch).map_err(hs_err)?;
        }
        Ok(Scanner {
            engine: self,
            scratch,
            hit_cache: RefCell::default(),
            scope_state: vec![SCOPE_UNKNOWN; self.scopes.len()],
            marks: vec![0; self.rules.len()],
            group_marks: vec![0; self.groups.len()],
            group_checked: vec![0; self.groups.len()],
            hit_heads: vec![(0, 0); self.pattern_groups.len()],
            hit_next: Vec::new(),
            generation: 0,
            keyword_checked: (0, false),
            keyword_ranges: Vec::new(),
            hits: Vec::new(),
            hits_key: hits_key::HitsKey::default(),
            candidates: Vec::new(),
            members: MemberIndex::default(),
            span_places: Vec::new(),
            span_copied: Vec::new(),
            span_places_filled: false,
            member_buf: Vec::new(),
            raw_scope: RawScopeState::default(),
            scope_marks: vec![(0, false); self.scopes.len()],
            indexed_event: None,
            gate_passed: None,
            subset_cache: SubsetCache::default(),
            compact: CompactEvent::default(),
            filter: None,
            value_hits: ValueHits::new(&self.literals),
            verdict_memo: VerdictMemo::default(),
            arena: bumpalo::Bump::new(),
            evaluated_selections: Vec::new(),
            candidate_memo: CandidateMemo::default(),
            verdict_links: VerdictLinks::default(),
            keyword_values: KeywordValues::default(),
            kept_members: KeptMembers::default(),
            prune_bits: Vec::new(),
            prune_scratch: PruneScratch::default(),
            spare_events: SpareEvents::default(),
            unescaped: UnescapedLine::default(),
        })
    }
}

/// Per-thread matching state.
pub struct Scanner<'e> {
    engine: &'e Engine,
    scratch: Scratch,
    /// Stage 2's recently decided field texts.
    hit_cache: RefCell<HitCache>,
    /// Per scope, for the current event: unknown, out of scope, or the index
    /// of the source (+2; 1 = in scope without a source).
    scope_state: Vec<u32>,
    /// `marks[rule] == generation` when the rule is already a candidate.
    marks: Vec<u32>,
    /// `group_marks[group] == generation` when the group already counted.
    group_marks: Vec<u32>,
    /// `group_checked[group] == generation` when a clause check decided it.
    group_checked: Vec<u32>,
    /// Per pattern, when its generation is the event's (the event's scan
    /// hit it): the index in `hits` of its last hit, whose `hit_next` links
    /// the one before, and so on (linked for the clause checks,
    /// `clauses.rs`).
    hit_heads: Vec<(u32, u32)>,
    hit_next: Vec<u32>,
    generation: u32,
    /// The generation of the event whose line was last checked for its
    /// scope set's keyword literals, and whether one was found
    /// (`keyword_check.rs`).
    keyword_checked: (u32, bool),
    /// The ranges of the line a keyword check searches (scratch).
    keyword_ranges: Vec<(usize, usize)>,
    /// Stage-1 matches of the current event: (pattern id, end offset).
    hits: Vec<(usize, usize)>,
    /// The current event's key by its stage-1 hits (`hits_key.rs`).
    hits_key: hits_key::HitsKey,
    candidates: Vec<u32>,
    members: MemberIndex,
    /// Per scalar span of the indexed event: where its hits lie, once known.
    span_places: Vec<Option<HitPlace>>,
    /// The scalars of the indexed event some witness counts in (its
    /// layout's list), filled with `span_places` from the layout.
    span_copied: Vec<u32>,
    /// Whether `span_places` and `span_copied` hold the indexed event's
    /// layout's lists (filled once per event, however many ask).
    span_places_filled: bool,
    member_buf: Vec<u8>,
    /// The raw event's log-source values (for the scope filter).
    raw_scope: RawScopeState,
    /// Per scope: (generation, whether the raw event may be in it).
    scope_marks: Vec<(u32, bool)>,

    /// Which stage-1 database serves which raw log-source values.
    subset_cache: SubsetCache,
    /// The event `members` indexes (its address and length), when it is the
    /// last [`Scanner::candidates`] call's: stage 2 then reuses the index.
    indexed_event: Option<(usize, usize)>,
    /// The event that passed a gate of `members` (`members/gates.rs`),
    /// when it is the last [`Scanner::candidates`] call's: valid, of no
    /// rule's log source, not indexed.
    gate_passed: Option<(usize, usize)>,
    /// The members stage 2 builds, for the profile last seen (its address
    /// and a copy).
    filter: Option<(usize, Box<Profile>, MemberFilter)>,
    /// The values stage 1 scanned, when not the whole line (inactive from
    /// the start of each event's stage 1 until `compact_event` fills it).
    compact: CompactEvent,
    /// The stage-1 hits of recently scanned values (`value_hits.rs`).
    value_hits: ValueHits,
    /// Stage 2's remembered verdicts (`verdict_memo.rs`).
    verdict_memo: VerdictMemo,
    /// Stage 2's arena: the field entries of an evaluation, their lists
    /// and the texts they write, emptied before the next (see
    /// [`Scanner::empty_arena`]).
    arena: bumpalo::Bump,
    /// The selections the last evaluation ran (rule, selection), in order.
    evaluated_selections: Vec<(u32, u32)>,
    /// Stage 1's remembered candidate lists (`candidate_memo.rs`).
    candidate_memo: CandidateMemo,
    /// Verdicts linked to the candidate memo's keys (`verdict_link.rs`).
    verdict_links: VerdictLinks,
    /// The keyword patterns of values no field-scoped witness counts in,
    /// for the candidate memo's keys of keyword scans (`keyword_values.rs`).
    keyword_values: KeywordValues,
    /// The members stage 2 built for recent lists of wanted names, refilled
    /// for later events wanting the same names (`partial/kept.rs`).
    kept_members: KeptMembers,
    /// The leaves the candidates of the event in stage 2 read, as a bit set
    /// (which members of its containers are built: `partial/pruned.rs`).
    prune_bits: Vec<u64>,
    /// Buffers of the pruned build (`partial/pruned.rs`).
    prune_scratch: PruneScratch,
    /// Matched events' values given back once written out, by layout.
    spare_events: SpareEvents,
    /// The line matched in place of the last event when that one holds
    /// hiding escapes (`unescaped.rs`).
    unescaped: UnescapedLine,
}

/// What one event's stage 1 learnt of its member index and log-source
/// values.
#[derive(Clone, Copy, Default)]
struct EventKnown {
    /// Whether the member index is built (it could index the event);
    /// `None`: not tried yet.
    indexed: Option<bool>,
    /// Whether `Scanner::raw_scope` holds this event's values.
    read: bool,
    /// Whether an escape or a character folding to ASCII may make a name
    /// or value read otherwise than its bytes; `None`: not asked yet.
    hiding: Option<bool>,
}

const SCOPE_UNKNOWN: u32 = u32::MAX;
const SCOPE_OUT: u32 = 0;
const SCOPE_UNSCOPED: u32 = 1;

/// The outcome of matching one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The event parsed; these rules matched (ascending rule indices).
    Matched(Vec<u32>),
    /// The event is not a JSON object.
    Rejected(Rejection),
}

impl Scanner<'_> {
    /// Stage 1: the candidate rules of a raw event (ascending).
    ///
    /// A line holding a `\u` or `\/` escape that the strict pass accepts
    /// is matched as its rewriting without them (`unescaped.rs`), which
    /// [`Scanner::stage2`] then evaluates in its place.
    pub fn candidates(&mut self, raw: &[u8]) -> &[u32] {
        self.unescaped.of = None;
        // Reset here, not in `find_candidates` (reached only from here):
        // a line the gate does not index returns before it.
        self.verdict_links.start_event();
        let Some(indexed) = self.index_event_gated(raw) else {
            self.candidates.clear();
            return &self.candidates;
        };
        let hiding = indexed && self.members.seen().is_some_and(|seen| seen.hiding_escape);
        if hiding && !self.engine.options.no_prefilter {
            let mut line = std::mem::take(&mut self.unescaped.line);
            let decoded = unescaped::decode_hiding_escapes(raw, &mut line);
            if decoded {
                self.find_candidates_of(&line, EventKnown::default());
            }
            // Moved back: the line keeps its address, which
            // `indexed_event` may hold.
            self.unescaped.line = line;
            if decoded {
                self.unescaped.of = Some((raw.as_ptr() as usize, raw.len()));
                return &self.candidates;
            }
        }
        let known = EventKnown {
            indexed: Some(indexed),
            ..EventKnown::default()
        };
        self.find_candidates_of(raw, known);
        &self.candidates
    }

    /// [`Scanner::find_candidates`] with what is known of `raw` so far;
    /// notes whether `members` indexes it.
    fn find_candidates_of(&mut self, raw: &[u8], mut known: EventKnown) {
        self.find_candidates(raw, &mut known);
        self.indexed_event = known.indexed.map(|_| (raw.as_ptr() as usize, raw.len()));
    }

    fn find_candidates(&mut self, raw: &[u8], known: &mut EventKnown) {
        let engine = self.engine;
        self.candidates.clear();
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.group_marks.iter_mut().for_each(|m| *m = 0);
            self.group_checked.iter_mut().for_each(|m| *m = 0);
            self.hit_heads.iter_mut().for_each(|m| *m = (0, 0));
            self.scope_marks.iter_mut().for_each(|m| *m = (0, false));
            self.keyword_checked = (0, false);
            self.generation = 1;
        }
        self.subset_cache.current = None;
        self.compact.active = false;
        self.compact.made = None;
        self.keyword_values.pending = false;
        self.candidate_memo.start_event();
        if !engine.options.no_prefilter && self.outside_every_scope(raw, known) {
            return;
        }
        let subset = self.subset_for();
        let memo_key = if engine.options.no_prefilter {
            None
        } else {
            self.candidate_key(raw, subset.as_deref(), known)
        };
        if let Some(hash) = memo_key {
            if let Some((candidates, place)) = self.candidate_memo.get(hash) {
                self.candidates.extend_from_slice(candidates);
                self.verdict_links
                    .answered_at((raw.as_ptr() as usize, raw.len()), place, false);
                self.candidate_memo.count(true);
                self.filter_required_values(raw, known);
                return;
            }
            // The same values but for long runs of digits no literal reads,
            // then for hexadecimal words too.
            for folding in [Folding::Runs, Folding::RunsAndWords] {
                if let Some(hash) = self.second_candidate_key(raw, folding) {
                    if let Some((candidates, place)) = self.candidate_memo.get_second(folding, hash)
                    {
                        self.candidates.extend_from_slice(candidates);
                        // Events folded alike may share a verdict
                        // (`verdict_link.rs`); words are left out.
                        if folding == Folding::Runs {
                            let event = (raw.as_ptr() as usize, raw.len());
                            self.verdict_links.answered_at(event, place, true);
                        }
                        self.candidate_memo.count_second(folding, true);
                        self.candidate_memo.count(true);
                        self.filter_required_values(raw, known);
                        return;
                    }
                    self.candidate_memo.count_second(folding, false);
                }
            }
        }
        let all = engine.options.no_prefilter || self.stage1(raw, subset.as_deref(), known);
        // The key by hits to remember the candidates under, when one was
        // built and not answered.
        let mut by_hits = None;
        let mut answered_by_hits = false;
        if all {
            self.candidates.extend(0..engine.rules.len() as u32);
        } else {
            if self.keyword_values.pending {
                self.note_keyword_values(subset.as_deref());
            }
            match self.take_candidates_by_hits(raw, known, memo_key.is_some()) {
                Ok(()) => answered_by_hits = true,
                Err(hash) => {
                    by_hits = hash;
                    self.stage1_candidates(raw, known);
                }
            }
        }
        if let Some(hash) = memo_key {
            if !answered_by_hits {
                self.candidate_memo.count(false);
            }
            self.candidate_memo.remember(hash, &self.candidates);
        }
        if let Some(hash) = by_hits {
            self.remember_by_hits(hash);
        }
        // After the memo: the values required are not in its key (a port
        // or a logon type would split it), so each event filters its own.
        if !engine.options.no_prefilter {
            self.filter_required_values(raw, known);
        }
    }

    /// [`Scanner::match_event`] for every line of a buffer of JSON lines
    /// (blank lines skipped): appends `(line offset in the buffer, verdict)`
    /// for each, in order.
    pub fn match_batch(
        &mut self,
        buffer: &[u8],
        profile: &Profile,
        out: &mut Vec<(usize, Verdict)>,
    ) {
        let mut start = 0;
        while start < buffer.len() {
            let end = memchr::memchr(b'\n', &buffer[start..]).map_or(buffer.len(), |i| start + i);
            let line = buffer[start..end].trim_ascii();
            if !line.is_empty() {
                out.push((start, self.match_event(line, profile)));
            }
            start = end + 1;
        }
    }

    /// Stage 1 then stage 2 on one raw event (one JSON object).
    pub fn match_event(&mut self, raw: &[u8], profile: &Profile) -> Verdict {
        self.match_event_full(raw, profile).0
    }

    /// [`Scanner::match_event`], also returning the parsed event (when some
    /// rule matched) and how many rules were candidates after stage 1.
    pub fn match_event_full(
        &mut self,
        raw: &[u8],
        profile: &Profile,
    ) -> (Verdict, Option<Value>, usize) {
        self.candidates(raw);
        self.stage2(raw, profile)
    }

    /// Stage 2 alone for `rules` (rule indices; others ignored), as if stage
    /// 1 had chosen them: what evaluating those rules on an event costs.
    pub fn evaluate_rules(&mut self, raw: &[u8], profile: &Profile, rules: &[u32]) -> Verdict {
        let n = self.engine.rules.len();
        self.indexed_event = None;
        self.gate_passed = None;
        self.unescaped.of = None;
        self.verdict_links.start_event();
        self.candidates.clear();
        self.candidates
            .extend(rules.iter().copied().filter(|&r| (r as usize) < n));
        self.candidates.sort_unstable();
        self.candidates.dedup();
        self.stage2(raw, profile).0
    }
}

mod aligned_text;
mod candidate_memo;
mod from_hits;
mod spare_events;
use spare_events::SpareEvents;
mod remembered;
use candidate_memo::CandidateMemo;
mod key_hash;
mod keyword_check;
mod keyword_grams;
mod keyword_values;
use keyword_values::KeywordValues;
mod clauses;
pub(super) mod compact;
mod lowering;
use compact::CompactEvent;
mod numbers;
pub(crate) use numbers::number_patterns;
mod places;
mod scopes;

pub(crate) use clauses::ClauseTable;
pub(crate) use lowering::witness_pattern;
use places::HitPlace;
pub(crate) use scopes::ScopeRouting;
mod subsets;
use subsets::SubsetCache;
mod evaluate;
pub use evaluate::MemoAnswers;
pub(crate) mod seen_once;
mod unescaped;
use unescaped::UnescapedLine;
mod folded_copy;
pub(crate) use folded_copy::CopyFolds;
mod hits_key;
mod value_hits;
mod value_pieces;
mod verdict_link;
mod verdict_memo;
pub(crate) use subsets::Subsets;
use value_hits::ValueHits;
use verdict_link::VerdictLinks;
use verdict_memo::VerdictMemo;
#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod gate_tests;
#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod stage2_tests;
#[cfg(test)]
mod tests;
