//! Literal atoms shared by every rule of an engine.
//!
//! Most of stage 2's work is deciding literal predicates: "the value of
//! `CommandLine` contains ` -enc `", "`Image` ends with `\rundll32.exe`".
//! Rules repeat the same fields, and an event's candidates often read the
//! same few fields, so deciding each rule's literals on its own reads a
//! field once per rule. Here every distinct literal of one field and case
//! mode (over folded text, or exact text for `cased`) is one *atom*, and the
//! atoms of a field are decided together: one Aho-Corasick pass over each of
//! the field's texts marks every atom that holds, whatever rule it belongs
//! to. The automaton of a field is built on first use, so a field no event
//! reaches costs nothing.
//!
//! That pass costs the same whatever few atoms an event's candidates ask
//! for: over a long command line, thousands of short literals match dozens
//! of times. A text seen for the first time is therefore decided atom by
//! atom, only for the atoms asked (up to a budget, [`AtomTable::holds`];
//! a match listing several substrings searches for them together, see
//! `FirstSight` in the parent module); a text seen again gets the full
//! pass, whose list the [`HitCache`] keeps.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::engine::seen_once::SeenOnce;
use hypersigma_compiler::pattern::fold_str;

/// Where a literal must lie in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Position {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

impl Position {
    /// Whether a match of the literal at `start..end` of a text of `len`
    /// bytes puts the literal in this position.
    fn holds(self, start: usize, end: usize, len: usize) -> bool {
        match self {
            Position::Contains => true,
            Position::Prefix => start == 0,
            Position::Suffix => end == len,
            Position::Exact => start == 0 && end == len,
        }
    }

    /// The same test without an automaton.
    pub(crate) fn test(self, text: &str, literal: &str) -> bool {
        match self {
            Position::Exact => text == literal,
            Position::Prefix => text.starts_with(literal),
            Position::Suffix => text.ends_with(literal),
            Position::Contains => {
                memchr::memmem::find(text.as_bytes(), literal.as_bytes()).is_some()
            }
        }
    }
}

/// Case modes: atoms over folded text, and over exact text (`cased`).
pub(crate) const MODES: usize = 2;

/// The mode index of a literal.
pub(crate) fn mode(cased: bool) -> usize {
    usize::from(cased)
}

/// One field's atoms in one case mode.
#[derive(Default)]
struct ModeAtoms {
    /// Atom id → (position, non-empty text).
    atoms: Vec<(Position, String)>,
    automaton: OnceLock<Option<Automaton>>,
    /// Per atom, a prepared search for a substring atom, built the first
    /// time the atom is decided on its own (a field has thousands of
    /// atoms; the events of a run ask for a few of them).
    finders: OnceLock<Vec<OnceLock<Box<memchr::memmem::Finder<'static>>>>>,
}

/// One automaton over a mode's distinct texts.
struct Automaton {
    ac: AhoCorasick,
    /// Automaton pattern id → the atoms with that text.
    atoms: Vec<Vec<u32>>,
}

/// The atoms of every field (and of keywords), by target id.
#[derive(Default)]
pub(crate) struct AtomTable {
    targets: Vec<[ModeAtoms; MODES]>,
}

/// Builds an [`AtomTable`], giving each distinct (target, mode, position,
/// text) one atom id.
#[derive(Default)]
pub(crate) struct AtomTableBuilder {
    table: AtomTable,
    target_ids: HashMap<Option<Box<str>>, u32>,
    /// (target, mode, position) → text → atom id.
    atom_ids: HashMap<(u32, usize, Position), HashMap<Box<str>, u32>>,
}

impl AtomTableBuilder {
    /// The id of a target: a field name, or `None` for keywords.
    pub(crate) fn target(&mut self, field: Option<&str>) -> u32 {
        let next = self.target_ids.len() as u32;
        let id = *self.target_ids.entry(field.map(Box::from)).or_insert(next);
        if id == next {
            self.table.targets.push(Default::default());
        }
        id
    }

    /// The id of a literal atom of `target` (texts must not be empty: an
    /// empty literal has no automaton match to find it by).
    pub(crate) fn atom(&mut self, target: u32, cased: bool, position: Position, text: &str) -> u32 {
        let m = mode(cased);
        let atoms = &mut self.table.targets[target as usize][m].atoms;
        let ids = self.atom_ids.entry((target, m, position)).or_default();
        if let Some(&id) = ids.get(text) {
            return id;
        }
        let id = atoms.len() as u32;
        ids.insert(text.into(), id);
        atoms.push((position, text.to_string()));
        id
    }

    /// The position and text of atom `id` of `target` in `mode`.
    pub(crate) fn literal(&self, target: u32, mode: usize, id: u32) -> Option<(Position, &str)> {
        let atoms = &self.table.targets.get(target as usize)?.get(mode)?.atoms;
        atoms
            .get(id as usize)
            .map(|(position, text)| (*position, text.as_str()))
    }

    pub(crate) fn finish(self) -> AtomTable {
        self.table
    }
}

impl AtomTable {
    /// Lists, in `hits` (cleared here; sorted, without repeats), every atom
    /// of `target` in `mode` that holds in at least one of `texts`. A field
    /// has thousands of atoms and a value holds a handful: a list, not a bit
    /// set, is what is cheap to build, cache and copy.
    pub(crate) fn hits<'t>(
        &self,
        target: u32,
        mode: usize,
        texts: impl Iterator<Item = &'t str>,
        hits: &mut Vec<u32>,
    ) {
        hits.clear();
        let Some(atoms) = self.targets.get(target as usize).and_then(|t| t.get(mode)) else {
            return;
        };
        let Some(automaton) = atoms.automaton() else {
            // No automaton could be built (too large): each atom on its own.
            for text in texts {
                for (id, (position, literal)) in atoms.atoms.iter().enumerate() {
                    if position.test(text, literal) {
                        hits.push(id as u32);
                    }
                }
            }
            hits.sort_unstable();
            hits.dedup();
            return;
        };
        for text in texts {
            for m in automaton.ac.find_overlapping_iter(text.as_bytes()) {
                let Some(ids) = automaton.atoms.get(m.pattern().as_usize()) else {
                    continue;
                };
                for &id in ids {
                    let (position, _) = atoms.atoms[id as usize];
                    if position.holds(m.start(), m.end(), text.len()) {
                        hits.push(id);
                    }
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
    }
}

impl AtomTable {
    /// Whether atom `id` of `target` in `mode` holds in `text` (already in
    /// the mode: folded for folded atoms), decided on its own.
    pub(crate) fn holds(&self, target: u32, mode: usize, id: u32, text: &str) -> bool {
        let Some(atoms) = self.targets.get(target as usize).and_then(|t| t.get(mode)) else {
            return false;
        };
        match atoms.atoms.get(id as usize) {
            Some((Position::Contains, literal)) => atoms
                .finder(id, literal)
                .is_some_and(|f| f.find(text.as_bytes()).is_some()),
            Some((position, literal)) => position.test(text, literal),
            None => false,
        }
    }
}

/// Whether atom `id` is in a list from [`AtomTable::hits`].
#[cfg(test)]
fn is_hit(hits: &[u32], id: u32) -> bool {
    hits.binary_search(&id).is_ok()
}

impl ModeAtoms {
    /// The prepared search for substring atom `id` of text `literal`.
    fn finder(&self, id: u32, literal: &str) -> Option<&memchr::memmem::Finder<'static>> {
        let finders = self
            .finders
            .get_or_init(|| self.atoms.iter().map(|_| OnceLock::new()).collect());
        let finder = finders
            .get(id as usize)?
            .get_or_init(|| Box::new(memchr::memmem::Finder::new(literal.as_bytes()).into_owned()));
        Some(finder)
    }

    fn automaton(&self) -> Option<&Automaton> {
        self.automaton
            .get_or_init(|| {
                if self.atoms.is_empty() {
                    return None;
                }
                let mut texts: Vec<&str> = Vec::new();
                let mut by_text: HashMap<&str, usize> = HashMap::new();
                let mut atoms: Vec<Vec<u32>> = Vec::new();
                for (id, (_, text)) in self.atoms.iter().enumerate() {
                    let p = *by_text.entry(text).or_insert_with(|| {
                        texts.push(text);
                        atoms.push(Vec::new());
                        texts.len() - 1
                    });
                    atoms[p].push(id as u32);
                }
                // The crate's first form, a noncontiguous NFA, not the DFA
                // or contiguous NFA it builds from it by default: those
                // builds never paid back (callgrind, all SigmaHQ, 30,000
                // real EVTX lines: 3,662.2 M instructions with the
                // default, 3,495.7 M without; the next 30,000 lines took
                // 2,218 M and 2,193 M, 30,000 OTRF lines 3,997.0 M and
                // 3,814.8 M): new texts are few, and short.
                let ac = AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                    .build(&texts)
                    .ok()?;
                Some(Automaton { ac, atoms })
            })
            .as_ref()
    }
}

/// Texts cached at most (then the cache starts over).
const HIT_CACHE_ENTRIES: usize = 8192;
/// Longer texts are decided afresh each time.
const HIT_CACHE_TEXT_MAX: usize = 2048;

/// Recently decided texts of one scanner: the atoms that hold in one text of
/// one target and mode. Telemetry repeats its values (the same images,
/// parents, users and many command lines), so most texts are decided once.
/// Keyed by the text as the event holds it (not folded), so a repeated value
/// costs one hash and one comparison, no folding. Bounded: it is emptied
/// when full.
#[derive(Default)]
pub(crate) struct HitCache {
    map: HashMap<u64, CachedHits, foldhash::fast::FixedState>,
    /// Texts seen once, by the hash of their key.
    seen_once: SeenOnce,
    scratch: Vec<u32>,
}

struct CachedHits {
    target: u32,
    mode: usize,
    text: Box<str>,
    hits: Arc<[u32]>,
}

/// A text as matched in `mode`: folded for folded atoms, as is for `cased` ones.
fn in_mode(text: &str, mode: usize) -> Cow<'_, str> {
    if mode == self::mode(true) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(fold_str(text))
    }
}

impl HitCache {
    /// The atoms of `target` in `mode` that hold in at least one of `texts`,
    /// as [`HitCache::hits`] gives them, unless `texts` is a single text
    /// seen for the first time (noted as seen) or too long to keep: `None`,
    /// and the caller decides the atoms it needs on their own (within its
    /// budget, past which it asks for the whole list). A long text is
    /// seldom seen twice (a PowerShell script block, a long command line),
    /// and the automaton pass over it reports every match of every atom:
    /// over 2,000 generated script blocks of ~21 kB with all SigmaHQ, that
    /// pass took ~300 µs per event, most of the run, where the four
    /// candidates' searches for their own atoms take a few microseconds
    /// each.
    pub(crate) fn hits_unless_new(
        &mut self,
        table: &AtomTable,
        target: u32,
        mode: usize,
        texts: &[&str],
    ) -> Option<Arc<[u32]>> {
        if let &[text] = texts {
            if text.len() > HIT_CACHE_TEXT_MAX {
                return None;
            }
            let key = self.key(target, mode, text);
            if let Some(hits) = self.cached(key, target, mode, text) {
                return Some(hits);
            }
            if !self.seen_once.seen_before(key) {
                return None;
            }
            return Some(self.decide_and_keep(table, key, target, mode, text));
        }
        Some(self.hits(table, target, mode, texts))
    }

    fn key(&self, target: u32, mode: usize, text: &str) -> u64 {
        use std::hash::BuildHasher;
        self.map.hasher().hash_one((target, mode, text))
    }

    fn cached(&self, key: u64, target: u32, mode: usize, text: &str) -> Option<Arc<[u32]>> {
        self.map
            .get(&key)
            .filter(|c| c.target == target && c.mode == mode && *c.text == *text)
            .map(|c| Arc::clone(&c.hits))
    }

    /// The atoms of `target` in `mode` that hold in at least one of `texts`
    /// (exact texts, folded here for folded atoms): from the cache for a
    /// single text it holds, else decided by the [`AtomTable`] (and kept).
    pub(crate) fn hits(
        &mut self,
        table: &AtomTable,
        target: u32,
        mode: usize,
        texts: &[&str],
    ) -> Arc<[u32]> {
        let text = match *texts {
            [text] if text.len() <= HIT_CACHE_TEXT_MAX => text,
            _ => {
                let folded: Vec<Cow<'_, str>> = texts.iter().map(|t| in_mode(t, mode)).collect();
                table.hits(
                    target,
                    mode,
                    folded.iter().map(|t| t.as_ref()),
                    &mut self.scratch,
                );
                return Arc::from(self.scratch.as_slice());
            }
        };
        let key = self.key(target, mode, text);
        match self.cached(key, target, mode, text) {
            Some(hits) => hits,
            None => self.decide_and_keep(table, key, target, mode, text),
        }
    }

    /// Decides the atoms of a single text the cache does not hold (under
    /// `key`) and keeps them.
    fn decide_and_keep(
        &mut self,
        table: &AtomTable,
        key: u64,
        target: u32,
        mode: usize,
        text: &str,
    ) -> Arc<[u32]> {
        let matched = in_mode(text, mode);
        table.hits(
            target,
            mode,
            std::iter::once(matched.as_ref()),
            &mut self.scratch,
        );
        let hits: Arc<[u32]> = Arc::from(self.scratch.as_slice());
        if self.map.len() >= HIT_CACHE_ENTRIES {
            self.map.clear();
        }
        self.map.insert(
            key,
            CachedHits {
                target,
                mode,
                text: text.into(),
                hits: Arc::clone(&hits),
            },
        );
        hits
    }
}

/// Whether two ascending lists share an element: each element of the
/// shorter is looked up in the longer.
pub(crate) fn intersects(a: &[u32], b: &[u32]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.iter().any(|x| long.binary_search(x).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(table: &AtomTable, target: u32, mode: usize, texts: &[&str], ids: &[u32]) -> Vec<bool> {
        let mut hits = Vec::new();
        table.hits(target, mode, texts.iter().copied(), &mut hits);
        ids.iter().map(|&id| is_hit(&hits, id)).collect()
    }

    #[test]
    fn each_atom_holds_only_in_its_position() {
        let mut b = AtomTableBuilder::default();
        let cmd = b.target(Some("CommandLine"));
        let ids = [
            b.atom(cmd, false, Position::Contains, "whoami"),
            b.atom(cmd, false, Position::Prefix, "cmd"),
            b.atom(cmd, false, Position::Suffix, "whoami"),
            b.atom(cmd, false, Position::Exact, "cmd /c whoami"),
            b.atom(cmd, false, Position::Prefix, "whoami"),
            b.atom(cmd, false, Position::Exact, "cmd"),
            b.atom(cmd, false, Position::Suffix, "cmd"),
            // Overlapping literals are all found.
            b.atom(cmd, false, Position::Contains, "/c w"),
            b.atom(cmd, false, Position::Contains, "c"),
        ];
        // The same literal again is the same atom; another target or mode is not.
        assert_eq!(b.atom(cmd, false, Position::Contains, "whoami"), ids[0]);
        let image = b.target(Some("Image"));
        assert_eq!(b.target(Some("CommandLine")), cmd);
        let on_image = b.atom(image, false, Position::Contains, "whoami");
        let cased = b.atom(cmd, true, Position::Contains, "WHOAMI");
        let table = b.finish();
        let expected = [true, true, true, true, false, false, false, true, true];
        assert_eq!(held(&table, cmd, 0, &["cmd /c whoami"], &ids), expected);
        // Any of several texts.
        let got = held(&table, cmd, 0, &["x", "cmd", "whoami"], &ids);
        assert_eq!(
            got,
            [true, true, true, false, true, true, true, false, true]
        );
        assert_eq!(held(&table, image, 0, &["cmd"], &[on_image]), [false]);
        assert_eq!(held(&table, image, 0, &["a whoami"], &[on_image]), [true]);
        assert_eq!(held(&table, cmd, 1, &["WHOAMI"], &[cased]), [true]);
        assert_eq!(held(&table, cmd, 1, &["whoami"], &[cased]), [false]);
        // Unknown targets and modes hold nothing.
        assert_eq!(held(&table, 7, 0, &["cmd"], &[0]), [false]);
    }

    #[test]
    fn an_atom_decided_on_its_own_agrees_with_the_full_pass() {
        let mut b = AtomTableBuilder::default();
        let cmd = b.target(Some("CommandLine"));
        let mut ids = Vec::new();
        for cased in [false, true] {
            for position in [
                Position::Contains,
                Position::Prefix,
                Position::Suffix,
                Position::Exact,
            ] {
                for text in ["cmd", "whoami", "c", "/c w", "cmd /c whoami", "σ"] {
                    ids.push((b.atom(cmd, cased, position, text), mode(cased)));
                }
            }
        }
        let table = b.finish();
        let texts = [
            "cmd /c whoami",
            "whoami cmd",
            "x",
            "ccc",
            "σς",
            "CMD /C WHOAMI",
        ];
        let mut hits = Vec::new();
        for text in texts {
            for m in 0..MODES {
                let in_mode = in_mode(text, m);
                table.hits(cmd, m, std::iter::once(in_mode.as_ref()), &mut hits);
                for &(id, _) in ids.iter().filter(|(_, im)| *im == m) {
                    assert_eq!(
                        table.holds(cmd, m, id, &in_mode),
                        is_hit(&hits, id),
                        "{text:?} {id} {m}"
                    );
                }
            }
        }
        // Unknown targets, modes and atoms hold nothing.
        assert!(!table.holds(cmd + 1, 0, 0, "cmd"));
        assert!(!table.holds(cmd, 0, 10_000, "cmd"));
    }

    #[test]
    fn a_text_seen_once_or_too_long_is_left_to_the_caller_and_decided_when_seen_again() {
        let mut b = AtomTableBuilder::default();
        let t = b.target(Some("CommandLine"));
        let id = b.atom(t, false, Position::Contains, "who");
        let table = b.finish();
        let mut cache = HitCache::default();
        let text = ["WHOAMI"];
        assert!(cache.hits_unless_new(&table, t, 0, &text).is_none());
        // Another mode or target is another key.
        assert!(cache.hits_unless_new(&table, t, 1, &text).is_none());
        let again = cache.hits_unless_new(&table, t, 0, &text).unwrap();
        assert_eq!(*again, [id]);
        assert_eq!(*cache.hits_unless_new(&table, t, 0, &text).unwrap(), [id]);
        // Several texts are decided at once.
        let two = ["x", "who"];
        assert_eq!(*cache.hits_unless_new(&table, t, 0, &two).unwrap(), [id]);
        // A text too long to keep is left to the caller, however often seen.
        let long = [format!("who{}", "x".repeat(HIT_CACHE_TEXT_MAX))];
        for _ in 0..3 {
            assert!(cache
                .hits_unless_new(&table, t, 0, &[long[0].as_str()])
                .is_none());
        }
    }

    #[test]
    fn the_cache_answers_as_the_table_does_across_targets_and_when_full() {
        let mut b = AtomTableBuilder::default();
        let targets = [b.target(Some("a")), b.target(Some("b"))];
        let a = b.atom(targets[0], false, Position::Contains, "7");
        let b_id = b.atom(targets[1], false, Position::Suffix, "7");
        let table = b.finish();
        let mut cache = HitCache::default();
        let mut fresh = Vec::new();
        for round in 0..2 {
            for i in 0..(HIT_CACHE_ENTRIES + 100) {
                let text = format!("{i}-{round}");
                for (target, id) in targets.iter().zip([a, b_id]) {
                    let cached = cache.hits(&table, *target, 0, &[text.as_str()]);
                    table.hits(*target, 0, std::iter::once(text.as_str()), &mut fresh);
                    assert_eq!(*cached, *fresh, "{text}");
                    assert_eq!(
                        is_hit(&cached, id),
                        if *target == targets[0] {
                            text.contains('7')
                        } else {
                            text.ends_with('7')
                        }
                    );
                }
            }
        }
        assert!(cache.map.len() <= HIT_CACHE_ENTRIES);
        // Texts are kept as the event holds them and folded for folded atoms
        // only: the same text answers differently per mode.
        let mut b = AtomTableBuilder::default();
        let t = b.target(Some("Image"));
        let folded = b.atom(t, false, Position::Suffix, "\\whoami.exe");
        let cased = b.atom(t, true, Position::Suffix, "\\WHOAMI.EXE");
        let sigma = b.atom(t, false, Position::Contains, "σ");
        let modes = b.finish();
        let mut cache = HitCache::default();
        for _ in 0..2 {
            let upper = ["C:\\X\\WHOAMI.EXE"];
            assert!(is_hit(&cache.hits(&modes, t, 0, &upper), folded));
            assert!(is_hit(&cache.hits(&modes, t, 1, &upper), cased));
            let lower = ["c:\\x\\whoami.exe"];
            assert!(is_hit(&cache.hits(&modes, t, 0, &lower), folded));
            assert!(!is_hit(&cache.hits(&modes, t, 1, &lower), cased));
            // Non-ASCII text folds by characters; several texts are all read.
            let greek = ["x", "ΣΑΣ"];
            assert!(is_hit(&cache.hits(&modes, t, 0, &greek), sigma));
            assert!(is_hit(&cache.hits(&modes, t, 0, &greek[1..]), sigma));
        }
        assert!(intersects(&[1, 5, 9], &[0, 2, 9, 40]));
        assert!(!intersects(&[1, 5], &[0, 2, 9, 40]));
        assert!(!intersects(&[], &[0, 2]));
        // Longer texts are not kept, and still decided.
        let long = "7".repeat(HIT_CACHE_TEXT_MAX + 1);
        assert!(is_hit(
            &cache.hits(&table, targets[0], 0, &[long.as_str()]),
            a
        ));
    }
}
