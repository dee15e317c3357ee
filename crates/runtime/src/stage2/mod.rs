//! Stage 2: exact evaluation of a candidate rule on a parsed event.
//!
//! The semantics are the reference evaluator's ([`hypersigma_compiler::eval`]);
//! what differs is how the text predicates are decided. At build time every
//! text predicate that is one literal in one position (exact, prefix, suffix,
//! substring of one folded or `cased` literal) becomes an atom of its field
//! in the engine's [`AtomTable`]: per event, each field a candidate reads is
//! looked up once (per log source), its text folded once, and all the
//! field's atoms, of every rule, are decided by one automaton pass, in a
//! [`FieldCache`] shared by all candidate rules of the event. A rule's
//! literal predicates are then lookups in the short list of atoms that hold.
//! Other predicates (globs with `?` or sets, numbers, regexes, cidr, time
//! parts, exists, null, fieldref) go through the reference predicate code.

mod atoms;

use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use bumpalo::collections::{String as BumpString, Vec as BumpVec};
use bumpalo::Bump;
use hypersigma_compiler::eval::{all_scalars, EventView, Scalars};
use hypersigma_compiler::ir::{FieldMatch, Predicate, Rule};
use hypersigma_compiler::pattern::{fold_char, fold_str, Piece, Shape};
use hypersigma_compiler::regex_literals;
use hypersigma_compiler::{Profile, Source};
use memchr::memmem;

use atoms::{intersects, mode, AtomTableBuilder, Position, MODES};
pub(crate) use atoms::{AtomTable, HitCache};

/// The lowered form of one rule's selections.
pub(crate) struct LoweredRule {
    /// Selection → AND-groups (ORed) → field matches (ANDed).
    selections: Vec<Vec<Vec<LoweredMatch>>>,
}

/// Where a field match reads its values.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A field.
    Field(Box<str>),
    /// Every scalar of the event (keywords).
    Keywords,
}

/// How one literal predicate is decided.
#[derive(Clone, Copy)]
enum Literal {
    /// By the atom of this id in the field's table (of the literal's mode).
    Atom { cased: bool, id: u32 },
    /// An empty literal (no automaton finds it): tested on each text.
    Empty { cased: bool, position: Position },
}

/// How one predicate of a field match is decided.
#[derive(Clone, Copy)]
enum Slot {
    /// A literal.
    Literal(Literal),
    /// A wildcard pattern (`?`, sets, several literals) on the field's cached
    /// characters, `values[value][alternative]` of the rule's field match;
    /// tried only on texts holding its longest literal pieces
    /// (`needles[k]`) when it has some.
    Glob(usize, usize, Option<u32>),
    /// A `re` on the field's cached texts, likewise; run only on texts
    /// whose folded form holds a literal of each set of the match's
    /// `needles[k]` (literals every match contains) when it has some.
    Regex(usize, usize, Option<u32>),
    /// By the reference code, on `values[value][alternative]` of the rule's field match.
    Reference(usize, usize),
}

struct LoweredMatch {
    target: Target,
    /// The target's id in the [`AtomTable`].
    target_id: u32,
    /// Slots per value written.
    values: Vec<Vec<Slot>>,
    /// Per prefiltered `re` or glob: sets of literals (folded unless a
    /// glob is `cased`), each match holding one literal of every set, as
    /// prepared searchers.
    needles: Vec<Needles>,
    /// For a match that holds when any slot holds (no `all`, no `neq`): its
    /// atoms per case mode (ascending), and its other slots. One
    /// intersection with the field's short hit list then decides every
    /// literal of a long list at once.
    any_of: Option<AnyOf>,
}

struct AnyOf {
    atoms: [Vec<u32>; MODES],
    /// Per case mode, the same atoms as decided on a text seen for the
    /// first time.
    first_sight: [FirstSight; MODES],
    others: Vec<Slot>,
}

impl AnyOf {
    fn new(values: &[Vec<Slot>], target: u32, table: &AtomTableBuilder) -> AnyOf {
        let mut atoms: [Vec<u32>; MODES] = Default::default();
        let mut others = Vec::new();
        for &slot in values.iter().flatten() {
            match slot {
                Slot::Literal(Literal::Atom { cased, id }) => atoms[mode(cased)].push(id),
                other => others.push(other),
            }
        }
        for list in &mut atoms {
            list.sort_unstable();
            list.dedup();
        }
        let first_sight = std::array::from_fn(|m| FirstSight::new(&atoms[m], target, m, table));
        AnyOf {
            atoms,
            first_sight,
            others,
        }
    }
}

/// Fewest substring atoms a match searches for in one pass over a text
/// seen for the first time (fewer: one search each).
const ONE_PASS_MIN: usize = 4;

/// What one pass of a match's searcher costs against the budget of atoms
/// decided on their own ([`DIRECT_ATOMS`]), in searches of one atom.
const ONE_PASS_COST: usize = 2;

/// How a match's atoms of one case mode are decided on a text seen for the
/// first time: the substrings together, in one search for any of them (a
/// command-line match lists dozens: one search each cost more than the
/// rest of the rule), the other atoms one by one.
#[derive(Default)]
struct FirstSight {
    /// The atoms decided one by one (ascending).
    alone: Vec<u32>,
    /// The substring atoms' texts (in the mode: folded unless `cased`),
    /// when there are at least [`ONE_PASS_MIN`].
    together: Vec<String>,
    /// Their searcher, built on the first pass (`None` when it cannot
    /// be: each atom is then decided on its own).
    searcher: OnceLock<Option<Searcher>>,
}

/// A search for any of several literals at once (SIMD, Teddy). Built for
/// up to a few dozen literals only: an automaton for more (whose byte
/// prefilters the spaces and punctuation of command lines defeat) costs
/// more to build than a short log repays.
type Searcher = aho_corasick::packed::Searcher;

fn searcher(texts: &[String]) -> Option<Searcher> {
    aho_corasick::packed::Config::new()
        .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(texts)
        .build()
}

impl FirstSight {
    fn new(ids: &[u32], target: u32, mode: usize, table: &AtomTableBuilder) -> FirstSight {
        let mut alone = Vec::new();
        let mut together = Vec::new();
        for &id in ids {
            match table.literal(target, mode, id) {
                Some((Position::Contains, text)) => together.push(text.to_string()),
                _ => alone.push(id),
            }
        }
        if together.len() < ONE_PASS_MIN {
            return FirstSight {
                alone: ids.to_vec(),
                ..FirstSight::default()
            };
        }
        FirstSight {
            alone,
            together,
            searcher: OnceLock::new(),
        }
    }

    /// The searcher of the substrings, when they are searched together.
    fn searcher(&self) -> Option<&Searcher> {
        if self.together.is_empty() {
            return None;
        }
        self.searcher
            .get_or_init(|| searcher(&self.together))
            .as_ref()
    }
}

/// A `re`'s required literal sets (rarest first) or a glob's longest
/// pieces, as prepared searchers.
type Needles = Vec<Vec<memmem::Finder<'static>>>;

/// Most literal sets a `re` or glob is prefiltered with (each one a search
/// of the text).
const MAX_NEEDLE_SETS: usize = 3;

/// Every rule of an engine lowered, and their literals' atoms.
pub(crate) struct Lowered {
    /// Per rule, in the engine's order.
    pub(crate) rules: Vec<LoweredRule>,
    pub(crate) atoms: AtomTable,
}

/// Lowers every rule's selections, collecting their literals into one
/// [`AtomTable`].
pub(crate) fn lower_rules(rules: &[Rule]) -> Lowered {
    let mut atoms = AtomTableBuilder::default();
    let lowered = rules
        .iter()
        .map(|rule| LoweredRule {
            selections: rule
                .detection
                .selections
                .iter()
                .map(|s| {
                    s.groups
                        .iter()
                        .map(|g| {
                            g.iter()
                                .map(|fm| LoweredMatch::new(fm, &mut atoms))
                                .collect()
                        })
                        .collect()
                })
                .collect(),
        })
        .collect();
    Lowered {
        rules: lowered,
        atoms: atoms.finish(),
    }
}

impl LoweredMatch {
    fn new(fm: &FieldMatch, atoms: &mut AtomTableBuilder) -> LoweredMatch {
        let target = match &fm.field {
            Some(f) => Target::Field(f.as_str().into()),
            None => Target::Keywords,
        };
        let target_id = atoms.target(fm.field.as_deref());
        let mut needles: Vec<Needles> = Vec::new();
        let values: Vec<Vec<Slot>> = fm
            .values
            .iter()
            .enumerate()
            .map(|(v, alternatives)| {
                alternatives
                    .iter()
                    .enumerate()
                    .map(|(a, p)| match literal(p) {
                        Some((cased, position, text)) if text.is_empty() => {
                            Slot::Literal(Literal::Empty { cased, position })
                        }
                        Some((cased, position, text)) => Slot::Literal(Literal::Atom {
                            cased,
                            id: atoms.atom(target_id, cased, position, &text),
                        }),
                        None => match p {
                            Predicate::Text { pattern, cased } => {
                                let sets = glob_literals(pattern, *cased);
                                Slot::Glob(v, a, add_needles(&mut needles, &sets))
                            }
                            Predicate::Regex(r) => {
                                let sets = regex_literals::parse(r).map_or(Vec::new(), |hir| {
                                    regex_literals::required_literal_sets(&hir, MAX_NEEDLE_SETS)
                                });
                                Slot::Regex(v, a, add_needles(&mut needles, &sets))
                            }
                            _ => Slot::Reference(v, a),
                        },
                    })
                    .collect()
            })
            .collect();
        let any_of =
            (!fm.modifiers.all && !fm.modifiers.neq).then(|| AnyOf::new(&values, target_id, atoms));
        LoweredMatch {
            target,
            target_id,
            values,
            needles,
            any_of,
        }
    }
}

/// Adds prepared searchers for `sets` to a match's needles: their index,
/// `None` when there are no sets (nothing to prefilter with).
fn add_needles(needles: &mut Vec<Needles>, sets: &[Vec<String>]) -> Option<u32> {
    if sets.is_empty() {
        return None;
    }
    needles.push(
        sets.iter()
            .map(|set| {
                set.iter()
                    .map(|n| memmem::Finder::new(n.as_bytes()).into_owned())
                    .collect()
            })
            .collect(),
    );
    Some((needles.len() - 1) as u32)
}

/// The longest literal pieces of a wildcard pattern (folded unless `cased`),
/// each a set of one: a text the pattern matches holds every one.
fn glob_literals(pattern: &hypersigma_compiler::pattern::Pattern, cased: bool) -> Vec<Vec<String>> {
    let mut pieces: Vec<String> = pattern
        .pieces()
        .iter()
        .filter_map(|piece| match piece {
            Piece::Literal(text) if cased => Some(text.clone()),
            Piece::Literal(text) => Some(fold_str(text)),
            _ => None,
        })
        .collect();
    pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
    pieces.dedup();
    pieces.truncate(MAX_NEEDLE_SETS);
    pieces.into_iter().map(|p| vec![p]).collect()
}

/// Whether `text` holds a literal of every set.
fn holds_needles(sets: &Needles, text: &str) -> bool {
    sets.iter()
        .all(|set| set.iter().any(|n| n.find(text.as_bytes()).is_some()))
}

/// The literal form of a text predicate, when it has one: whether it is
/// `cased`, its position and its text (folded unless cased).
fn literal(p: &Predicate) -> Option<(bool, Position, String)> {
    let Predicate::Text { pattern, cased } = p else {
        return None;
    };
    let (position, text) = match pattern.shape(*cased) {
        Shape::Exact(t) => (Position::Exact, t),
        Shape::Prefix(t) => (Position::Prefix, t),
        Shape::Suffix(t) => (Position::Suffix, t),
        Shape::Contains(t) => (Position::Contains, t),
        Shape::Glob => return None,
    };
    Some((*cased, position, text))
}

/// One field's values in one event, as read for one log source. Its lists
/// and what it writes (numbers' texts, folded texts, characters) are kept
/// in the scanner's arena, emptied before its next evaluation: stage 2
/// allocates nothing per field in steady state.
pub(crate) struct FieldEntry<'a> {
    arena: &'a Bump,
    source: usize,
    target: &'a Target,
    target_id: u32,
    found: BumpVec<'a, Cow<'a, Value>>,
    present: bool,
    /// The scalars' texts as the event holds them (borrowed where the event
    /// holds a string; computed on first use).
    exact: OnceCell<&'a [&'a str]>,
    /// The same folded (on first use: only globs, empty literals and the
    /// literals prefiltering a `re` need it).
    folded: OnceCell<&'a [&'a str]>,
    /// The same as characters, for wildcard patterns (computed on first use).
    exact_chars: OnceCell<&'a [&'a [char]]>,
    folded_chars: OnceCell<&'a [&'a [char]]>,
    /// Per case mode, the field's atoms that hold (sorted ids, once the
    /// full pass ran or the hit cache knew the text).
    atom_hits: [OnceCell<Arc<[u32]>>; MODES],
    /// Per case mode, atoms still to be decided one by one before the full
    /// pass runs; `None` until the hit cache was asked about the text.
    direct_left: [Cell<Option<u32>>; MODES],
    /// The scalars the reference's predicates read (numbers, ranges,
    /// field references, ...), built on first use for all of the event's
    /// matches on this field; `None` inside when a value is not the
    /// event's own (the matches then build their own).
    reference_scalars: OnceCell<Option<Scalars<'a>>>,
}

/// Atoms of one field decided one by one, per event and case mode, for a
/// text seen for the first time: past this many, one automaton pass over
/// the text (which decides all of them) is cheaper.
const DIRECT_ATOMS: u32 = 64;

/// The text of each scalar of `value` (arrays opened; null, objects
/// skipped) into `out`, as the reference's `scalar_text` writes it: a
/// string through `keep` (borrowed from the event, or copied into the
/// arena when the value is not the event's), a number or a boolean written
/// in the arena.
fn scalar_texts<'v, 'a>(
    arena: &'a Bump,
    value: &'v Value,
    out: &mut BumpVec<'a, &'a str>,
    keep: &impl Fn(&'v str) -> &'a str,
) {
    match value {
        Value::String(s) => out.push(keep(s)),
        Value::Array(items) => items
            .iter()
            .for_each(|item| scalar_texts(arena, item, out, keep)),
        Value::Number(n) => out.push(bumpalo::format!(in arena, "{}", n).into_bump_str()),
        Value::Bool(b) => out.push(if *b { "true" } else { "false" }),
        Value::Null | Value::Object(_) => {}
    }
}

/// `text` folded ([`fold_str`]'s folding) into the arena.
fn fold_in<'a>(arena: &'a Bump, text: &str) -> &'a str {
    if text.is_ascii() {
        let folded = arena.alloc_str(text);
        folded.make_ascii_lowercase();
        folded
    } else {
        BumpString::from_iter_in(text.chars().map(fold_char), arena).into_bump_str()
    }
}

impl<'a> FieldEntry<'a> {
    /// The field's scalars for the reference's predicates, when its values
    /// are the event's own (borrowed from it).
    fn borrowed_scalars(&self) -> Option<&Scalars<'a>> {
        self.reference_scalars
            .get_or_init(|| {
                let borrowed = matches!(self.target, Target::Field(_))
                    && self.found.iter().all(|f| matches!(f, Cow::Borrowed(_)));
                borrowed.then(|| {
                    Scalars::of_values(self.found.iter().filter_map(|f| match f {
                        Cow::Borrowed(value) => Some(*value),
                        Cow::Owned(_) => None,
                    }))
                })
            })
            .as_ref()
    }

    /// The field's scalars for the reference's predicates, when they are
    /// not all the event's own (see [`FieldEntry::borrowed_scalars`]).
    fn scalars<'s>(&'s self, event: &'s Value) -> Scalars<'s> {
        match self.target {
            Target::Field(_) => Scalars::of_values(self.found.iter().map(|f| f.as_ref())),
            Target::Keywords => {
                let mut out = Vec::new();
                all_scalars(event, &mut out);
                Scalars::new(&out)
            }
        }
    }

    /// The field's texts as the event holds them.
    fn exact(&self, event: &'a Value) -> &'a [&'a str] {
        let arena = self.arena;
        self.exact.get_or_init(|| {
            let mut out = BumpVec::new_in(arena);
            let borrowed = |s: &'a str| s;
            match self.target {
                Target::Keywords => {
                    let mut values = Vec::new();
                    all_scalars(event, &mut values);
                    for v in values {
                        scalar_texts(arena, v, &mut out, &borrowed);
                    }
                }
                Target::Field(_) => {
                    for found in &self.found {
                        match found {
                            Cow::Borrowed(v) => scalar_texts(arena, v, &mut out, &borrowed),
                            Cow::Owned(v) => {
                                scalar_texts(arena, v, &mut out, &|s| &*arena.alloc_str(s))
                            }
                        }
                    }
                }
            }
            out.into_bump_slice()
        })
    }

    /// The field's texts folded, in the order of [`FieldEntry::exact`].
    fn folded(&self, event: &'a Value) -> &'a [&'a str] {
        let arena = self.arena;
        self.folded.get_or_init(|| {
            let exact = self.exact(event);
            BumpVec::from_iter_in(exact.iter().map(|t| fold_in(arena, t)), arena).into_bump_slice()
        })
    }

    /// Whether any text of the field satisfies `test` (given its position
    /// and the text), in the case mode asked.
    fn any_text(
        &self,
        event: &'a Value,
        cased: bool,
        mut test: impl FnMut(usize, &str) -> bool,
    ) -> bool {
        let texts = if cased {
            self.exact(event)
        } else {
            self.folded(event)
        };
        texts.iter().enumerate().any(|(k, t)| test(k, t))
    }

    /// Whether any text of the field satisfies `test`, given as it is and
    /// folded.
    fn any_text_pair(&self, event: &'a Value, mut test: impl FnMut(&str, &str) -> bool) -> bool {
        let exact = self.exact(event);
        exact
            .iter()
            .zip(self.folded(event))
            .any(|(e, f)| test(e, f))
    }

    fn chars(&self, event: &'a Value, cased: bool) -> &'a [&'a [char]] {
        let (cell, texts) = if cased {
            (&self.exact_chars, self.exact(event))
        } else {
            (&self.folded_chars, self.folded(event))
        };
        let arena = self.arena;
        cell.get_or_init(|| {
            let chars = texts
                .iter()
                .map(|t| BumpVec::from_iter_in(t.chars(), arena).into_bump_slice() as &[char]);
            BumpVec::from_iter_in(chars, arena).into_bump_slice()
        })
    }

    /// Whether any of the atoms `ids` (ascending) of the field in a case
    /// mode holds in at least one text: from the field's list of atoms that
    /// hold when it is known (or the hit cache knows it), one by one for a
    /// text seen for the first time (within [`DIRECT_ATOMS`]), else from
    /// the list, computed now.
    fn any_atom_holds(
        &self,
        event: &'a Value,
        atoms: &AtomTable,
        cache: &RefCell<HitCache>,
        cased: bool,
        ids: &[u32],
        first_sight: Option<&FirstSight>,
    ) -> bool {
        let m = mode(cased);
        if let Some(hits) = self.atom_hits[m].get() {
            return intersects(hits, ids);
        }
        let left = match self.direct_left[m].get() {
            Some(left) => left,
            None => {
                let known =
                    cache
                        .borrow_mut()
                        .hits_unless_new(atoms, self.target_id, m, self.exact(event));
                if let Some(hits) = known {
                    return intersects(self.atom_hits[m].get_or_init(|| hits), ids);
                }
                DIRECT_ATOMS
            }
        };
        // The substrings searched together, when the match has enough.
        let searcher = first_sight.and_then(|f| f.searcher().map(|s| (&f.alone, s)));
        let (alone, cost) = match searcher {
            Some((alone, _)) => (alone.as_slice(), alone.len() + ONE_PASS_COST),
            None => (ids, ids.len()),
        };
        match u32::try_from(cost).ok().and_then(|n| left.checked_sub(n)) {
            Some(rest) => {
                self.direct_left[m].set(Some(rest));
                alone.iter().any(|&id| {
                    self.any_text(event, cased, |_, text| {
                        atoms.holds(self.target_id, m, id, text)
                    })
                }) || searcher.is_some_and(|(_, searcher)| {
                    self.any_text(event, cased, |_, text| searcher.find(text).is_some())
                })
            }
            None => {
                let hits = self.atom_hits[m].get_or_init(|| {
                    cache
                        .borrow_mut()
                        .hits(atoms, self.target_id, m, self.exact(event))
                });
                intersects(hits, ids)
            }
        }
    }

    /// Whether a literal holds for at least one scalar of the field.
    fn literal_holds(
        &self,
        event: &'a Value,
        atoms: &AtomTable,
        cache: &RefCell<HitCache>,
        literal: Literal,
    ) -> bool {
        match literal {
            Literal::Atom { cased, id } => {
                self.any_atom_holds(event, atoms, cache, cased, &[id], None)
            }
            Literal::Empty { cased, position } => {
                self.any_text(event, cased, |_, text| position.test(text, ""))
            }
        }
    }
}

/// Field values of one event, shared by the candidate rules evaluated on it.
pub(crate) struct FieldCache<'a> {
    event: &'a Value,
    profile: &'a Profile,
    atoms: &'a AtomTable,
    hit_cache: &'a RefCell<HitCache>,
    /// Where the entries, their lists and texts are kept.
    arena: &'a Bump,
    entries: BumpVec<'a, FieldEntry<'a>>,
}

impl<'a> FieldCache<'a> {
    /// The field cache of `event`, kept in `arena` (the scanner empties it
    /// between events).
    pub(crate) fn new(
        event: &'a Value,
        profile: &'a Profile,
        atoms: &'a AtomTable,
        hit_cache: &'a RefCell<HitCache>,
        arena: &'a Bump,
    ) -> Self {
        FieldCache {
            event,
            profile,
            atoms,
            hit_cache,
            arena,
            entries: BumpVec::new_in(arena),
        }
    }

    fn entry(&mut self, source: Option<&'a Source>, lm: &'a LoweredMatch) -> usize {
        let source_key = source.map_or(0, |s| s as *const Source as usize);
        let key_source = match lm.target {
            Target::Keywords => 0,
            Target::Field(_) => source_key,
        };
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.source == key_source && e.target_id == lm.target_id)
        {
            return i;
        }
        let view = EventView::new(self.event, self.profile, source);
        let mut found = BumpVec::new_in(self.arena);
        match &lm.target {
            Target::Field(name) => view.field_each(name, |v| found.push(v)),
            Target::Keywords => found.push(Cow::Borrowed(self.event)),
        }
        let present = found.iter().any(|v| !v.is_null());
        self.entries.push(FieldEntry {
            arena: self.arena,
            source: key_source,
            target: &lm.target,
            target_id: lm.target_id,
            found,
            present,
            exact: OnceCell::new(),
            folded: OnceCell::new(),
            exact_chars: OnceCell::new(),
            folded_chars: OnceCell::new(),
            atom_hits: Default::default(),
            direct_left: Default::default(),
            reference_scalars: OnceCell::new(),
        });
        self.entries.len() - 1
    }
}

/// Whether selection `i` of a rule holds: one of its groups has every
/// field match holding.
pub(crate) fn selection_holds<'a>(
    rule: &Rule,
    lowered: &'a LoweredRule,
    i: usize,
    cache: &mut FieldCache<'a>,
    source: Option<&'a Source>,
) -> bool {
    let (Some(groups), Some(selection)) =
        (lowered.selections.get(i), rule.detection.selections.get(i))
    else {
        return false;
    };
    groups.iter().zip(&selection.groups).any(|(group, fms)| {
        group
            .iter()
            .zip(fms)
            .all(|(lm, fm)| match_holds(lm, fm, cache, source))
    })
}

fn match_holds<'a>(
    lm: &'a LoweredMatch,
    fm: &FieldMatch,
    cache: &mut FieldCache<'a>,
    source: Option<&'a Source>,
) -> bool {
    let event = cache.event;
    let atoms = cache.atoms;
    let hit_cache = cache.hit_cache;
    let at = cache.entry(source, lm);
    let entry = &cache.entries[at];
    let present = entry.present;
    let view = EventView::new(event, cache.profile, source);
    // Prepared once for all the match's other predicates.
    let mut scalar_values: Option<Scalars<'_>> = None;
    let mut slot_holds = |slot: Slot| match slot {
        Slot::Literal(literal) => entry.literal_holds(event, atoms, hit_cache, literal),
        Slot::Glob(vi, ai, needle) => match fm.values.get(vi).and_then(|alts| alts.get(ai)) {
            Some(Predicate::Text { pattern, cased }) => {
                let sets = needle.and_then(|k| lm.needles.get(k as usize));
                entry.any_text(event, *cased, |k, text| {
                    sets.is_none_or(|sets| holds_needles(sets, text))
                        && entry
                            .chars(event, *cased)
                            .get(k)
                            .is_some_and(|chars| pattern.matches_chars(chars, *cased))
                })
            }
            _ => false,
        },
        Slot::Regex(vi, ai, needle) => match fm.values.get(vi).and_then(|alts| alts.get(ai)) {
            Some(Predicate::Regex(r)) => {
                let needles = needle.and_then(|k| lm.needles.get(k as usize));
                match needles {
                    None => entry.any_text(event, true, |_, t| r.is_match(t)),
                    Some(sets) => entry.any_text_pair(event, |exact, folded| {
                        holds_needles(sets, folded) && r.is_match(exact)
                    }),
                }
            }
            _ => false,
        },
        Slot::Reference(vi, ai) => {
            let values = match entry.borrowed_scalars() {
                Some(values) => values,
                None => scalar_values.get_or_insert_with(|| entry.scalars(event)),
            };
            fm.values
                .get(vi)
                .and_then(|alts| alts.get(ai))
                .is_some_and(|p| values.holds(p, present, &view))
        }
    };
    if let Some(any_of) = &lm.any_of {
        let by_atoms = (0..MODES).any(|m| {
            !any_of.atoms[m].is_empty()
                && entry.any_atom_holds(
                    event,
                    atoms,
                    hit_cache,
                    m == mode(true),
                    &any_of.atoms[m],
                    any_of.first_sight.get(m),
                )
        });
        return by_atoms || any_of.others.iter().any(|&slot| slot_holds(slot));
    }
    let mut value_holds = |slots: &Vec<Slot>| {
        let any = slots.iter().any(|&slot| slot_holds(slot));
        if fm.modifiers.neq {
            present && !any
        } else {
            any
        }
    };
    if fm.modifiers.all {
        lm.values.iter().all(&mut value_holds)
    } else {
        lm.values.iter().any(&mut value_holds)
    }
}
