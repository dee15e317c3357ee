//! Stage 2: exact evaluation of a candidate rule on a parsed event.
//!
//! The semantics are the reference evaluator's ([`hypersigma_compiler::eval`]);
//! what differs is how the text predicates are decided. At build time every
//! field match's text predicates are lowered to their shape (exact, prefix,
//! suffix, substring of one folded literal); a field match with several of
//! them gets one Aho-Corasick automaton over all its literals, so a field
//! tested against 200 values is read once, not 200 times. Per event, each
//! field a rule reads is looked up once (per log source) and its text folded
//! once, in a [`FieldCache`] shared by all candidate rules of the event.
//! Other predicates (globs with `?` or sets, numbers, regexes, cidr, time
//! parts, exists, null, fieldref) go through the reference predicate code.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;

use hypersigma_compiler::eval::{all_scalars, predicate_holds_on, scalar_text, scalars, EventView};
use hypersigma_compiler::ir::{FieldMatch, Predicate, Rule};
use hypersigma_compiler::pattern::{fold_str, Shape};
use hypersigma_compiler::program::Program;
use hypersigma_compiler::{Profile, Source};

/// Field matches with at least this many literal predicates use an automaton.
const AUTOMATON_MIN: usize = 4;

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

/// One literal predicate: its shape over folded (or exact, when `cased`) text.
struct Literal {
    position: Position,
    text: String,
    cased: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

/// How one predicate of a field match is decided.
#[derive(Clone, Copy)]
enum Slot {
    /// By the literal at this index.
    Literal(usize),
    /// A wildcard pattern (`?`, sets, several literals) on the field's cached
    /// characters, `values[value][alternative]` of the rule's field match.
    Glob(usize, usize),
    /// A `re` on the field's cached texts, likewise.
    Regex(usize, usize),
    /// By the reference code, on `values[value][alternative]` of the rule's field match.
    Reference(usize, usize),
}

/// Literals of one case mode, under one automaton.
struct Automaton {
    ac: AhoCorasick,
    /// Automaton pattern id → literal index.
    literals: Vec<usize>,
    /// The mode's literals it does not hold (empty texts), tested one by one.
    rest: Vec<usize>,
}

struct LoweredMatch {
    target: Target,
    /// Slots per value written.
    values: Vec<Vec<Slot>>,
    literals: Vec<Literal>,
    /// Per case mode (folded, exact): the literals of that mode.
    by_mode: [Vec<usize>; 2],
    /// Automata over the folded and the exact literals (when there are
    /// enough), built on first use.
    folded: OnceLock<Option<Automaton>>,
    exact: OnceLock<Option<Automaton>>,
}

impl LoweredRule {
    /// Lowers a rule's selections.
    pub(crate) fn new(rule: &Rule) -> LoweredRule {
        LoweredRule {
            selections: rule
                .detection
                .selections
                .iter()
                .map(|s| {
                    s.groups
                        .iter()
                        .map(|g| g.iter().map(LoweredMatch::new).collect())
                        .collect()
                })
                .collect(),
        }
    }
}

impl LoweredMatch {
    fn new(fm: &FieldMatch) -> LoweredMatch {
        let target = match &fm.field {
            Some(f) => Target::Field(f.as_str().into()),
            None => Target::Keywords,
        };
        let mut literals = Vec::new();
        let values = fm
            .values
            .iter()
            .enumerate()
            .map(|(v, alternatives)| {
                alternatives
                    .iter()
                    .enumerate()
                    .map(|(a, p)| match literal(p) {
                        Some(l) => {
                            literals.push(l);
                            Slot::Literal(literals.len() - 1)
                        }
                        None => match p {
                            Predicate::Text { .. } => Slot::Glob(v, a),
                            Predicate::Regex(_) => Slot::Regex(v, a),
                            _ => Slot::Reference(v, a),
                        },
                    })
                    .collect()
            })
            .collect();
        let by_mode = [false, true].map(|cased| {
            (0..literals.len())
                .filter(|&j| literals[j].cased == cased)
                .collect()
        });
        LoweredMatch {
            target,
            values,
            literals,
            by_mode,
            folded: OnceLock::new(),
            exact: OnceLock::new(),
        }
    }

    /// The automaton over the literals of one case mode, when there are enough.
    fn automaton(&self, cased: bool) -> Option<&Automaton> {
        let cell = if cased { &self.exact } else { &self.folded };
        cell.get_or_init(|| {
            let literals = &self.literals;
            let chosen: Vec<usize> = (0..literals.len())
                .filter(|&i| literals[i].cased == cased && !literals[i].text.is_empty())
                .collect();
            if chosen.len() < AUTOMATON_MIN {
                return None;
            }
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(chosen.iter().map(|&i| literals[i].text.as_bytes()))
                .ok()?;
            let rest = (0..literals.len())
                .filter(|&i| literals[i].cased == cased && literals[i].text.is_empty())
                .collect();
            Some(Automaton {
                ac,
                literals: chosen,
                rest,
            })
        })
        .as_ref()
    }
}

/// The literal form of a text predicate, when it has one.
fn literal(p: &Predicate) -> Option<Literal> {
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
    Some(Literal {
        position,
        text,
        cased: *cased,
    })
}

/// One field's values in one event, as read for one log source.
struct FieldEntry<'a> {
    source: usize,
    target: &'a Target,
    found: Vec<Cow<'a, Value>>,
    present: bool,
    /// The scalars' texts: exact, and folded (computed on first use).
    exact: OnceCell<Vec<Option<String>>>,
    folded: OnceCell<Vec<Option<String>>>,
    /// The same as characters, for wildcard patterns (computed on first use).
    exact_chars: OnceCell<Vec<Option<Vec<char>>>>,
    folded_chars: OnceCell<Vec<Option<Vec<char>>>>,
}

impl FieldEntry<'_> {
    fn scalars<'s>(&'s self, event: &'s Value) -> Vec<&'s Value> {
        let mut out = Vec::new();
        match self.target {
            Target::Field(_) => {
                let refs: Vec<&Value> = self.found.iter().map(|c| c.as_ref()).collect();
                scalars(&refs, &mut out);
            }
            Target::Keywords => all_scalars(event, &mut out),
        }
        out
    }

    fn texts(&self, event: &Value, cased: bool) -> &[Option<String>] {
        let exact = self
            .exact
            .get_or_init(|| self.scalars(event).into_iter().map(scalar_text).collect());
        if cased {
            return exact;
        }
        self.folded
            .get_or_init(|| exact.iter().map(|t| t.as_deref().map(fold_str)).collect())
    }

    fn chars(&self, event: &Value, cased: bool) -> &[Option<Vec<char>>] {
        let cell = if cased {
            &self.exact_chars
        } else {
            &self.folded_chars
        };
        cell.get_or_init(|| {
            self.texts(event, cased)
                .iter()
                .map(|t| t.as_deref().map(|t| t.chars().collect()))
                .collect()
        })
    }
}

/// Field values of one event, shared by the candidate rules evaluated on it.
pub(crate) struct FieldCache<'a> {
    event: &'a Value,
    profile: &'a Profile,
    entries: Vec<FieldEntry<'a>>,
}

impl<'a> FieldCache<'a> {
    pub(crate) fn new(event: &'a Value, profile: &'a Profile) -> Self {
        FieldCache {
            event,
            profile,
            entries: Vec::new(),
        }
    }

    fn entry(&mut self, source: Option<&'a Source>, target: &'a Target) -> usize {
        let source_key = source.map_or(0, |s| s as *const Source as usize);
        let key_source = match target {
            Target::Keywords => 0,
            Target::Field(_) => source_key,
        };
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.source == key_source && e.target == target)
        {
            return i;
        }
        let view = EventView::new(self.event, self.profile, source);
        let found = match target {
            Target::Field(name) => view.field(name),
            Target::Keywords => vec![Cow::Borrowed(self.event)],
        };
        let present = found.iter().any(|v| !v.is_null());
        self.entries.push(FieldEntry {
            source: key_source,
            target,
            found,
            present,
            exact: OnceCell::new(),
            folded: OnceCell::new(),
            exact_chars: OnceCell::new(),
            folded_chars: OnceCell::new(),
        });
        self.entries.len() - 1
    }
}

/// Runs a rule's verified program with the lowered selections.
pub(crate) fn rule_holds<'a>(
    rule: &Rule,
    lowered: &'a LoweredRule,
    program: &Program,
    cache: &mut FieldCache<'a>,
    source: Option<&'a Source>,
) -> bool {
    program.run(&mut |i| {
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
    })
}

fn match_holds<'a>(
    lm: &'a LoweredMatch,
    fm: &FieldMatch,
    cache: &mut FieldCache<'a>,
    source: Option<&'a Source>,
) -> bool {
    let event = cache.event;
    let at = cache.entry(source, &lm.target);
    let entry = &cache.entries[at];
    let present = entry.present;
    // Up to 64 literals on the stack (most field matches), else on the heap.
    let mut small = [false; 64];
    let mut large = Vec::new();
    let hit: &mut [bool] = if lm.literals.len() <= small.len() {
        &mut small[..lm.literals.len()]
    } else {
        large.resize(lm.literals.len(), false);
        &mut large
    };
    if !lm.literals.is_empty() {
        literal_hits(lm, entry, event, hit);
    }
    let hit = &*hit;
    let view = EventView::new(event, cache.profile, source);
    let mut scalar_values: Option<Vec<&Value>> = None;
    let mut value_holds = |slots: &Vec<Slot>| {
        let any = slots.iter().any(|slot| match *slot {
            Slot::Literal(j) => hit[j],
            Slot::Glob(vi, ai) => match fm.values.get(vi).and_then(|alts| alts.get(ai)) {
                Some(Predicate::Text { pattern, cased }) => entry
                    .chars(event, *cased)
                    .iter()
                    .flatten()
                    .any(|chars| pattern.matches_chars(chars, *cased)),
                _ => false,
            },
            Slot::Regex(vi, ai) => match fm.values.get(vi).and_then(|alts| alts.get(ai)) {
                Some(Predicate::Regex(r)) => r.regex().is_some_and(|re| {
                    entry
                        .texts(event, true)
                        .iter()
                        .flatten()
                        .any(|t| re.is_match(t).unwrap_or(false))
                }),
                _ => false,
            },
            Slot::Reference(vi, ai) => {
                let values = scalar_values.get_or_insert_with(|| entry.scalars(event));
                fm.values
                    .get(vi)
                    .and_then(|alts| alts.get(ai))
                    .is_some_and(|p| predicate_holds_on(p, present, values, &view))
            }
        });
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

/// Marks the literals that hold for at least one scalar of the field.
fn literal_hits(lm: &LoweredMatch, entry: &FieldEntry<'_>, event: &Value, hit: &mut [bool]) {
    for cased in [false, true] {
        let in_mode = &lm.by_mode[usize::from(cased)];
        if in_mode.is_empty() {
            continue;
        }
        let automaton = lm.automaton(cased);
        let direct: &[usize] = automaton.map_or(in_mode, |a| &a.rest);
        for text in entry.texts(event, cased).iter().flatten() {
            if let Some(a) = automaton {
                for m in a.ac.find_overlapping_iter(text.as_bytes()) {
                    let Some(&j) = a.literals.get(m.pattern().as_usize()) else {
                        continue;
                    };
                    let ok = match lm.literals[j].position {
                        Position::Contains => true,
                        Position::Prefix => m.start() == 0,
                        Position::Suffix => m.end() == text.len(),
                        Position::Exact => m.start() == 0 && m.end() == text.len(),
                    };
                    hit[j] |= ok;
                }
            }
            for &j in direct {
                if hit[j] {
                    continue;
                }
                let l = &lm.literals[j];
                hit[j] = match l.position {
                    Position::Exact => *text == l.text,
                    Position::Prefix => text.starts_with(&l.text),
                    Position::Suffix => text.ends_with(&l.text),
                    Position::Contains => {
                        memchr::memmem::find(text.as_bytes(), l.text.as_bytes()).is_some()
                    }
                };
            }
        }
    }
}
