//! Stage-1 databases per set of log sources.
//!
//! One database of every rule's witnesses makes every event pay for the
//! whole rule set: with all SigmaHQ rules (20,000 literals) a registry event
//! is scanned for the 7,700 process-creation literals too, and Hyperscan's
//! cost grows with the literals it holds. An event the scope gate has read
//! (ASCII, no escape that can hide a name or value, indexable: see
//! `scopes.rs`) can only be of a few scopes, and only their rules' witnesses
//! and clause literals can make or keep a candidate. [`Subsets`] builds, on
//! demand and once per engine, a database of just those literals for each
//! set of possible scopes that events show; the candidates are the same as
//! with the whole database, since stage 1 drops the rules of the other
//! scopes anyway.
//!
//! Per thread, [`SubsetCache`] maps an event's raw log-source values (its
//! *signature*, see [`crate::raw_scope::RawScopeState::signature`]) to its
//! set of possible scopes (which the scope gate and the scope checks of the
//! event then read instead of testing each scope's sources), and a set to
//! its database once the set has been seen
//! [`crate::engine::EngineOptions::subset_after`] times and the bytes of its events
//! scanned with the whole database reach
//! [`crate::engine::EngineOptions::subset_bytes_per_literal`] per literal of its
//! own: a build costs in proportion to its literals and pays back in
//! proportion to the bytes it then scans, so rare sets and short runs keep
//! the whole database. A database is built by the first thread that asks
//! for it; the others keep scanning with the whole database meanwhile.
//!
//! The scan itself (`Scanner::stage1`) lives here too: the whole database
//! or the event's own, and the pass-through patterns' verdict.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use hyperscan::prelude::*;

use super::keyword_check::SetKeywordCheck;
use super::keyword_values::literal_fits_narrow;
use super::lowering::pass_through_patterns;
use super::{witness_pattern, ClauseTable, EventKnown, Scanner, WitnessGroup};

/// A stage-1 database for one set of scopes. Cloned once per thread that
/// adopts it (the database shared): see [`SubsetCache::subset`].
#[derive(Clone)]
pub(crate) enum Subset {
    /// None of the scopes' rules has an ASCII witness or clause literal:
    /// only the non-ASCII database is scanned (in non-ASCII events).
    Empty,
    /// The scopes' witnesses and clause literals (ASCII ones), whether one
    /// of them is a keyword's (counts in any value), and the length of the
    /// longest (the longest match of a literal).
    Db {
        db: Arc<BlockDatabase>,
        keywords: bool,
        longest: usize,
    },
    /// The whole database serves these scopes: theirs would hold nearly
    /// all its literals (a rule set of one log source), or Hyperscan
    /// refused it.
    Whole,
}

impl Subset {
    /// The database an event scanned with `subset` (`None`: the whole one,
    /// `whole`) is scanned with; `None` for an empty set (only the
    /// non-ASCII literals' database then).
    pub(super) fn database<'d>(
        subset: Option<&'d Subset>,
        whole: &'d BlockDatabase,
    ) -> Option<&'d BlockDatabase> {
        match subset {
            Some(Subset::Empty) => None,
            Some(Subset::Db { db, .. }) => Some(db),
            Some(Subset::Whole) | None => Some(whole),
        }
    }

    /// The length of the longest literal of the database of `subset`, when
    /// it is its own.
    pub(super) fn longest_literal(subset: Option<&Subset>) -> Option<usize> {
        match subset {
            Some(Subset::Db { longest, .. }) => Some(*longest),
            _ => None,
        }
    }
}

/// The per-scope literals of an engine, and the databases built from them.
pub(crate) struct Subsets {
    /// Per scope: the ids of the ASCII patterns its rules' witness groups
    /// and clauses need (sorted). Non-ASCII literals have their own
    /// database, scanned whole in non-ASCII events.
    scope_patterns: Vec<Vec<u32>>,
    /// ASCII patterns in all (those of the whole database).
    ascii_patterns: usize,
    /// Per scope: the ids of the ASCII patterns of its rules' keyword
    /// groups (witnesses or clause literals counting in any value; sorted).
    /// A database of scopes none of which has one never looks for a
    /// keyword: a literal that is another scope's keyword found anywhere
    /// makes only candidates the scope filter drops.
    scope_keywords: Vec<Vec<u32>>,
    /// Per scope: whether its rules have a non-ASCII keyword literal (in
    /// the database of non-ASCII events).
    scope_non_ascii_keywords: Vec<bool>,
    /// Per pattern: a keyword's witness (some group of it counts anywhere).
    keyword_patterns: Vec<bool>,
    /// Whether some keyword's witness is an ASCII literal (in the whole
    /// database), a non-ASCII one (in the database of non-ASCII events).
    ascii_keywords: bool,
    non_ascii_keywords: bool,
    /// Databases by set of scopes (sorted ids); `None` while one thread
    /// builds it.
    built: Mutex<HashMap<Vec<u32>, Option<Arc<Subset>>>>,
    /// Held while a database is built: one build at a time, since
    /// Hyperscan's compiler takes tens of megabytes for thousands of
    /// literals (peak memory stays that of one build).
    building: Mutex<()>,
}

/// Most distinct scope sets one engine builds databases for.
const MAX_SUBSETS: usize = 64;

impl Subsets {
    /// The subsets of an engine whose pattern `id` is `literals[id]` (the
    /// engine's literal table, which builds take again), for rules of
    /// scopes `rule_scope` (`scopes` in all).
    pub(crate) fn new(
        literals: &[(String, bool)],
        groups: &[WitnessGroup],
        rule_scope: &[u32],
        clauses: &ClauseTable,
        scopes: usize,
    ) -> Subsets {
        let mut per_scope: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); scopes];
        let mut keywords_per_scope: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); scopes];
        let ascii = |pattern: u32| {
            literals
                .get(pattern as usize)
                .is_some_and(|(json, _)| json.is_ascii())
        };
        let mut non_ascii_keywords_per_scope = vec![false; scopes];
        let mut add = |rule: u32, group: &WitnessGroup| {
            let Some(s) = rule_scope.get(rule as usize).map(|&s| s as usize) else {
                return;
            };
            if !ascii(group.pattern) {
                if group.members.is_none() {
                    if let Some(k) = non_ascii_keywords_per_scope.get_mut(s) {
                        *k = true;
                    }
                }
                return;
            }
            if let Some(set) = per_scope.get_mut(s) {
                set.insert(group.pattern);
            }
            if group.members.is_none() {
                if let Some(set) = keywords_per_scope.get_mut(s) {
                    set.insert(group.pattern);
                }
            }
        };
        for group in groups {
            for &r in &group.rules {
                add(r, group);
            }
        }
        for r in 0..rule_scope.len() as u32 {
            for g in clauses.groups_of_rule(r) {
                if let Some(group) = groups.get(g as usize) {
                    add(r, group);
                }
            }
        }
        let mut keyword_patterns = vec![false; literals.len()];
        let (mut ascii_keywords, mut non_ascii_keywords) = (false, false);
        for group in groups.iter().filter(|g| g.members.is_none()) {
            if let Some(k) = keyword_patterns.get_mut(group.pattern as usize) {
                *k = true;
            }
            if ascii(group.pattern) {
                ascii_keywords = true;
            } else {
                non_ascii_keywords = true;
            }
        }
        Subsets {
            ascii_patterns: literals.iter().filter(|(json, _)| json.is_ascii()).count(),
            keyword_patterns,
            ascii_keywords,
            non_ascii_keywords,
            scope_keywords: keywords_per_scope
                .into_iter()
                .map(|set| set.into_iter().collect())
                .collect(),
            scope_non_ascii_keywords: non_ascii_keywords_per_scope,
            scope_patterns: per_scope
                .into_iter()
                .map(|set| set.into_iter().collect())
                .collect(),
            built: Mutex::default(),
            building: Mutex::default(),
        }
    }

    /// Whether a scan with `subset` (`None`: the whole database) of an
    /// event (`ascii`: of ASCII bytes only) may look for a keyword's
    /// witness: one of its ASCII literals, or a non-ASCII one in a
    /// non-ASCII event. `set_keywords`, when the event's scope set is
    /// known, tells whether its rules have ASCII and non-ASCII keyword
    /// literals ([`Subsets::has_keywords`]): the whole database and the
    /// non-ASCII one hold other scopes' keywords too, whose candidates the
    /// scope filter drops.
    pub(crate) fn scans_keywords(
        &self,
        subset: Option<&Subset>,
        set_keywords: Option<(bool, bool)>,
        ascii: bool,
    ) -> bool {
        let ascii_keywords = match subset {
            Some(Subset::Db { keywords, .. }) => *keywords,
            Some(Subset::Empty) => false,
            Some(Subset::Whole) | None => set_keywords.map_or(self.ascii_keywords, |k| k.0),
        };
        let non_ascii_keywords = set_keywords.map_or(self.non_ascii_keywords, |k| k.1);
        ascii_keywords || (non_ascii_keywords && !ascii)
    }

    /// The ASCII keyword literals (pattern ids, ascending) of the rules of
    /// the scopes `scopes`.
    pub(crate) fn keyword_ids(&self, scopes: &[u32]) -> Vec<u32> {
        let mut ids: Vec<u32> = scopes
            .iter()
            .filter_map(|&s| self.scope_keywords.get(s as usize))
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Whether some rule of the scopes `scopes` has an ASCII keyword
    /// literal (a witness or clause literal that counts in any value), and
    /// whether one has a non-ASCII one.
    pub(crate) fn has_keywords(&self, scopes: &[u32]) -> (bool, bool) {
        let ascii = scopes.iter().any(|&s| {
            self.scope_keywords
                .get(s as usize)
                .is_some_and(|k| !k.is_empty())
        });
        let non_ascii = scopes
            .iter()
            .any(|&s| self.scope_non_ascii_keywords.get(s as usize) == Some(&true));
        (ascii, non_ascii)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<Vec<u32>, Option<Arc<Subset>>>> {
        // A panic while building leaves nothing half-written in the map.
        self.built.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pattern ids of the scopes `scopes`' literals (what their
    /// database holds).
    fn pattern_ids(&self, scopes: &[u32]) -> BTreeSet<u32> {
        scopes
            .iter()
            .filter_map(|&s| self.scope_patterns.get(s as usize))
            .flatten()
            .copied()
            .collect()
    }

    /// Whether pattern `id` is a keyword's witness or clause literal (some
    /// group of it counts anywhere).
    pub(crate) fn is_keyword(&self, id: usize) -> bool {
        self.keyword_patterns.get(id).copied().unwrap_or(false)
    }

    /// Whether no keyword literal of the scopes `scopes` (ASCII ones, by
    /// pattern id in `literals`) could lie in a value of narrow bytes
    /// (`keyword_values.rs`): then such a value of an ASCII event of those
    /// scopes holds none that can make or keep a candidate. (A keyword
    /// literal of another scope's rule found there makes only candidates
    /// the scope filter drops.)
    pub(crate) fn narrow_free(&self, scopes: &[u32], literals: &[(String, bool)]) -> bool {
        !scopes
            .iter()
            .filter_map(|&s| self.scope_keywords.get(s as usize))
            .flatten()
            .any(|&id| {
                literals
                    .get(id as usize)
                    .is_none_or(|(json, _)| literal_fits_narrow(json))
            })
    }

    /// The number of literals the database of the scopes `scopes` would
    /// hold.
    pub(crate) fn literals_of(&self, scopes: &[u32]) -> usize {
        self.pattern_ids(scopes).len()
    }

    /// The database of the scopes `scopes` (sorted ids) if it is built.
    pub(crate) fn get(&self, scopes: &[u32]) -> Option<Arc<Subset>> {
        self.lock().get(scopes).cloned().flatten()
    }

    /// The database of the scopes `scopes` (sorted ids), built here when no
    /// thread has yet; `None` while another thread builds one, or when the
    /// engine already holds [`MAX_SUBSETS`] of them.
    pub(crate) fn get_or_build(
        &self,
        literals: &[(String, bool)],
        scopes: &[u32],
    ) -> Option<Arc<Subset>> {
        if let Some(Some(done)) = self.lock().get(scopes) {
            return Some(done.clone());
        }
        let _building = match self.building.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        {
            let mut built = self.lock();
            match built.get(scopes) {
                Some(done) => return done.clone(),
                None if built.len() >= MAX_SUBSETS => return None,
                None => {
                    built.insert(scopes.to_vec(), None);
                }
            }
        }
        let subset = Arc::new(self.build(literals, scopes));
        self.lock().insert(scopes.to_vec(), Some(subset.clone()));
        Some(subset)
    }

    /// Builds the database of `scopes`' literals (`literals` by pattern id).
    fn build(&self, literals: &[(String, bool)], scopes: &[u32]) -> Subset {
        let ids = self.pattern_ids(scopes);
        if !ids.is_empty() && ids.len() * 10 >= self.ascii_patterns * 9 {
            return Subset::Whole;
        }
        let keywords = self.has_keywords(scopes).0;
        let mut patterns = Vec::with_capacity(ids.len());
        let mut longest = 0;
        for id in ids {
            let Some((json, cased)) = literals.get(id as usize) else {
                continue;
            };
            longest = longest.max(json.len());
            let Ok(p) = witness_pattern(json, *cased, id as usize) else {
                return Subset::Whole;
            };
            patterns.push(p);
        }
        if patterns.is_empty() {
            return Subset::Empty;
        }
        // The pass-through patterns too (`lowering::pass_through_patterns`:
        // a database of a few literals alone misses some of them).
        match pass_through_patterns(literals.len(), false) {
            Ok(pass_through) => patterns.extend(pass_through),
            Err(_) => return Subset::Whole,
        }
        // On a thread of its own: the compiler's scratch memory then stays in
        // the allocator arena short-lived threads share, not in each worker's.
        let built = std::thread::scope(|s| {
            s.spawn(|| -> Option<BlockDatabase> { Patterns::from(patterns).build().ok() })
                .join()
                .ok()
                .flatten()
        });
        match built {
            Some(db) => Subset::Db {
                db: Arc::new(db),
                keywords,
                longest,
            },
            None => Subset::Whole,
        }
    }
}

/// Most event ids a set remembers its rules without witnesses for (then it
/// starts over).
const MAX_IDS_PER_SET: usize = 256;

/// Most signatures one thread remembers (then it starts over).
const MAX_SIGNATURES: usize = 4096;

/// One thread's view of the subsets: signatures to scope sets, and the
/// databases it adopted (its scratch fits them).
#[derive(Default)]
pub(crate) struct SubsetCache {
    /// The current event's signature.
    pub(crate) signature: Vec<u8>,
    /// The current event's scope set, once known (reset per event).
    pub(crate) current: Option<usize>,
    by_signature: HashMap<Vec<u8>, usize, foldhash::fast::FixedState>,
    sets: Vec<SetState>,
}

struct SetState {
    scopes: Vec<u32>,
    choice: Choice,
    /// Bytes of its events scanned with the whole database so far.
    scanned: u64,
    /// The bytes after which its database is built (decided once the set
    /// reaches the engine's `subset_after` events).
    due: Option<u64>,
    /// The rules without witnesses of its scopes (once asked).
    always: Option<Vec<u32>>,
    /// Those of them an event whose event id is one integer may match, by
    /// that integer (once asked; bounded).
    always_by_id: HashMap<i64, Vec<u32>>,
    /// [`Subsets::narrow_free`] of its scopes (once asked).
    narrow_free: Option<bool>,
    /// [`Subsets::has_keywords`] of its scopes (once asked).
    keywords: Option<(bool, bool)>,
    /// This thread's check of its keyword literals (once asked,
    /// `keyword_check.rs`).
    keyword_check: Option<SetKeywordCheck>,
}

/// Which database a thread scans a set's events with.
enum Choice {
    /// The whole one, so far: `seen` events of the set.
    Pending { seen: u32 },
    /// Its own (this thread's copy).
    Adopted(Arc<Subset>),
    /// The whole one for good (its own was refused or cannot fit).
    Whole,
}

impl SubsetCache {
    /// Counts `bytes` of the current event scanned with the whole database.
    pub(crate) fn charge(&mut self, bytes: usize) {
        if let Some(set) = self.current.and_then(|k| self.sets.get_mut(k)) {
            set.scanned = set.scanned.saturating_add(bytes as u64);
        }
    }

    /// The set index of the current signature, if known.
    pub(crate) fn lookup(&self) -> Option<usize> {
        self.by_signature.get(&self.signature).copied()
    }

    /// Whether the current event can be of scope `s`, when its set is known.
    pub(crate) fn possible(&self, s: usize) -> Option<bool> {
        let set = self.sets.get(self.current?)?;
        Some(set.scopes.binary_search(&(s as u32)).is_ok())
    }

    /// The rules without witnesses that the current event's scopes hold
    /// (of `always`, the rules of each scope), when its set is known:
    /// collected once per set instead of asking each scope per event.
    pub(crate) fn current_always(&mut self, always: &[(u32, Vec<u32>)]) -> Option<&[u32]> {
        let set = self.sets.get_mut(self.current?)?;
        let scopes = &set.scopes;
        let rules = set.always.get_or_insert_with(|| {
            always
                .iter()
                .filter(|(s, _)| scopes.binary_search(s).is_ok())
                .flat_map(|(_, rules)| rules.iter().copied())
                .collect()
        });
        Some(rules)
    }

    /// [`SubsetCache::current_always`] less the rules whose required event
    /// ids cannot include `id` (`admits`), for an event whose event id is
    /// the one integer `id`: a Security event's scopes hold a hundred rules
    /// without witnesses, told apart by event id. Worked out once per set
    /// and id.
    pub(crate) fn current_always_for_id(
        &mut self,
        always: &[(u32, Vec<u32>)],
        id: i64,
        admits: impl Fn(u32) -> bool,
    ) -> Option<&[u32]> {
        self.current_always(always)?;
        let set = self.sets.get_mut(self.current?)?;
        if set.always_by_id.len() >= MAX_IDS_PER_SET && !set.always_by_id.contains_key(&id) {
            set.always_by_id.clear();
        }
        let all = set.always.as_deref().unwrap_or_default();
        let rules = set
            .always_by_id
            .entry(id)
            .or_insert_with(|| all.iter().copied().filter(|&r| admits(r)).collect());
        Some(rules)
    }

    /// [`Subsets::narrow_free`] of the current event's scopes, when its set
    /// is known (worked out once per set).
    pub(crate) fn current_narrow_free(
        &mut self,
        subsets: &Subsets,
        literals: &[(String, bool)],
    ) -> Option<bool> {
        let set = self.sets.get_mut(self.current?)?;
        let scopes = &set.scopes;
        Some(
            *set.narrow_free
                .get_or_insert_with(|| subsets.narrow_free(scopes, literals)),
        )
    }

    /// [`Subsets::has_keywords`] of the current event's scopes, when its set
    /// is known (worked out once per set).
    pub(crate) fn current_keywords(&mut self, subsets: &Subsets) -> Option<(bool, bool)> {
        let set = self.sets.get_mut(self.current?)?;
        let scopes = &set.scopes;
        Some(
            *set.keywords
                .get_or_insert_with(|| subsets.has_keywords(scopes)),
        )
    }

    /// The scopes of set `k`.
    pub(crate) fn scopes(&self, k: usize) -> Option<&[u32]> {
        self.sets.get(k).map(|s| s.scopes.as_slice())
    }

    /// Set `k`'s keyword check, once asked.
    pub(super) fn keyword_check(&mut self, k: usize) -> Option<&mut SetKeywordCheck> {
        self.sets.get_mut(k)?.keyword_check.as_mut()
    }

    /// Notes set `k`'s keyword check.
    pub(super) fn set_keyword_check(&mut self, k: usize, check: SetKeywordCheck) {
        if let Some(set) = self.sets.get_mut(k) {
            set.keyword_check = Some(check);
        }
    }

    /// Whether set `k` holds no scope.
    pub(crate) fn is_empty(&self, k: usize) -> bool {
        self.sets.get(k).is_some_and(|s| s.scopes.is_empty())
    }

    /// Records the current signature's scope set (sorted ids); its index.
    pub(crate) fn insert(&mut self, scopes: Vec<u32>) -> usize {
        if self.by_signature.len() >= MAX_SIGNATURES {
            self.by_signature.clear();
        }
        let k = match self.sets.iter().position(|s| s.scopes == scopes) {
            Some(k) => k,
            None => {
                self.sets.push(SetState {
                    scopes,
                    choice: Choice::Pending { seen: 0 },
                    scanned: 0,
                    due: None,
                    always: None,
                    narrow_free: None,
                    keywords: None,
                    keyword_check: None,
                    always_by_id: HashMap::new(),
                });
                self.sets.len() - 1
            }
        };
        self.by_signature.insert(self.signature.clone(), k);
        k
    }

    /// The database of set `k` for one more event of it: its own once
    /// adopted, `None` (the whole database) before. Takes it from the
    /// engine on the set's first event and every 64th if it is built
    /// already; asks the engine to build it once the set has been seen
    /// `after` times and `per_literal` bytes per literal of its database
    /// were scanned with the whole one (then on every 64th event, while
    /// another thread builds it); `adopt` fits the scratch to a new one
    /// (false: keep the whole database).
    pub(crate) fn subset(
        &mut self,
        k: usize,
        subsets: &Subsets,
        literals: &[(String, bool)],
        (after, per_literal): (u32, u32),
        adopt: impl FnOnce(&BlockDatabase) -> bool,
    ) -> Option<Arc<Subset>> {
        let set = self.sets.get_mut(k)?;
        let seen = match &mut set.choice {
            Choice::Adopted(subset) => return Some(subset.clone()),
            Choice::Whole => return None,
            Choice::Pending { seen } => {
                *seen = seen.saturating_add(1);
                *seen
            }
        };
        let due = match set.due {
            Some(due) => Some(due),
            None if seen >= after => {
                let size = subsets.literals_of(&set.scopes) as u64;
                set.due = Some(u64::from(per_literal).saturating_mul(size));
                set.due
            }
            None => None,
        };
        // `due` is known from the `after`th event on: asked then, and every
        // 64th event after while another thread builds it.
        let subset =
            if due.is_some_and(|due| set.scanned >= due) && (seen - after).is_multiple_of(64) {
                subsets.get_or_build(literals, &set.scopes)?
            } else if seen == 1 || seen.is_multiple_of(64) {
                // Another thread (or an earlier scanner) may have built it.
                subsets.get(&set.scopes)?
            } else {
                return None;
            };
        let usable = match subset.as_ref() {
            Subset::Empty => true,
            Subset::Db { db, .. } => adopt(db),
            Subset::Whole => false,
        };
        if usable {
            // A copy of this thread's own (its database shared): the copy's
            // count, which every event's `clone` and drop write, is then not
            // a cache line the workers pass back and forth.
            let own = Arc::new(Subset::clone(&subset));
            set.choice = Choice::Adopted(own.clone());
            Some(own)
        } else {
            set.choice = Choice::Whole;
            None
        }
    }
}

impl Scanner<'_> {
    /// The set of scopes the event whose log-source values the scope gate
    /// read can be of (by its signature; computed on a miss), remembered as
    /// the current event's for [`Scanner::scope_kept`] and the database.
    pub(super) fn scope_set(&mut self, raw: &[u8], known: &mut EventKnown) -> usize {
        let engine = self.engine;
        if let Some(k) = self.known_scope_set(raw) {
            self.subset_cache.current = Some(k);
            return k;
        }
        self.write_signature(raw);
        let k = match self.subset_cache.lookup() {
            Some(k) => k,
            None => {
                let scopes: Vec<u32> = (0..engine.scopes.len())
                    .filter(|&s| self.scope_kept(raw, s, known))
                    .map(|s| s as u32)
                    .collect();
                self.subset_cache.insert(scopes)
            }
        };
        self.remember_scope_set(raw, k);
        self.subset_cache.current = Some(k);
        k
    }

    /// [`Subsets::scans_keywords`] for the current event `raw` (its scope
    /// set told, when known): false too when the set's only keyword
    /// literals are ASCII ones and the line holds none of them
    /// (`keyword_check.rs`).
    pub(super) fn scans_keywords(
        &mut self,
        subset: Option<&Subset>,
        ascii: bool,
        raw: &[u8],
    ) -> bool {
        let engine = self.engine;
        let set_keywords = self.subset_cache.current_keywords(&engine.subsets);
        let scans = engine.subsets.scans_keywords(subset, set_keywords, ascii);
        match set_keywords {
            // Only ASCII keyword literals are looked for first: a non-ASCII
            // event of a set with non-ASCII ones keeps the keyword path.
            Some((_, non_ascii)) if scans && (ascii || !non_ascii) => self.holds_set_keyword(raw),
            _ => scans,
        }
    }

    /// The stage-1 database of the current event (its scope set known):
    /// `None` for the whole one.
    pub(super) fn subset_for(&mut self) -> Option<Arc<Subset>> {
        let engine = self.engine;
        let after = engine.options.subset_after;
        let k = self.subset_cache.current?;
        if after == 0 {
            return None;
        }
        let scratch = &mut self.scratch;
        let when = (after, engine.options.subset_bytes_per_literal);
        self.subset_cache
            .subset(k, &engine.subsets, &engine.literals, when, |db| {
                db.realloc_scratch(scratch).is_ok()
            })
    }

    /// Scans with the whole database, or `subset`'s; true when the event
    /// must pass on to every rule.
    pub(super) fn stage1(
        &mut self,
        raw: &[u8],
        subset: Option<&Subset>,
        known: &EventKnown,
    ) -> bool {
        self.hits.clear();
        // An empty set of ASCII literals still leaves the non-ASCII ones,
        // which no per-scope database holds.
        let db = Subset::database(subset, &self.engine.db);
        // The strict pass saw whether the line is ASCII when it indexed it.
        let ascii = match (known.indexed, self.members.seen()) {
            (Some(true), Some(seen)) => !seen.non_ascii,
            _ => raw.is_ascii(),
        };
        if db.is_none() && (self.engine.non_ascii_db.is_none() || ascii) {
            return false;
        }
        // The event's values alone when the gate read it (`compact.rs`);
        // all of them when a keyword's witness may be scanned for.
        let keywords = self.scans_keywords(subset, ascii, raw);
        let compact = self.engine.raw.gate && self.compact_event(raw, known, keywords);
        // What the set's own database would scan instead (see `charge`).
        let whole = matches!(subset, Some(Subset::Whole) | None);
        if let (true, Some(db)) = (compact, db) {
            if let Some(worth) = self.value_hits.worth_looking_up(db) {
                let longest = Subset::longest_literal(subset);
                let pass = self.scan_values_remembered(db, worth, (longest, ascii));
                if whole {
                    self.subset_cache.charge(self.value_hits.scanned_bytes());
                }
                return pass;
            }
        }
        let text: &[u8] = if compact { &self.compact.bytes } else { raw };
        if whole {
            self.subset_cache.charge(text.len());
        }
        let hits = &mut self.hits;
        let first_pass_through = self.engine.first_pass_through;
        let mut pass = false;
        let mut on_match = |id: u32, _, to: u64, _| {
            let id = id as usize;
            if id >= first_pass_through {
                pass = true;
                return Matching::Terminate;
            }
            hits.push((id, to as usize));
            Matching::Continue
        };
        let mut scanned = db.map_or(Ok(()), |db| db.scan(text, &self.scratch, &mut on_match));
        if let (Ok(()), Some(db)) = (&scanned, &self.engine.non_ascii_db) {
            // The copy of an ASCII line is ASCII.
            if !ascii && !text.is_ascii() {
                scanned = db.scan(text, &self.scratch, &mut on_match);
            }
        }
        pass || scanned.is_err()
    }
}

#[cfg(test)]
#[path = "subsets_tests.rs"]
mod tests;
