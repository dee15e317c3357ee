//! Which object member each scalar of a raw JSON event belongs to, without
//! parsing the event into values.
//!
//! Stage 1 finds witness literals anywhere in an event's raw bytes; a
//! field-scoped witness only counts inside a value of the member its field is
//! read from. [`MemberIndex::build`] lexes an event once (no allocation in
//! steady state) into the spans of its scalar tokens (strings, numbers,
//! `true`/`false`/`null`), each with the name of the member that holds it: a
//! scalar inside an array belongs to the member holding the array, so
//! `"Tags": ["a", "b"]` gives both strings the member `Tags`.
//!
//! The index is first an aid to stage 1: when the bytes are not well-formed
//! JSON, [`MemberIndex::build`] returns `false` and the caller treats every
//! hit as counting (stage 2 then rejects the line as before). It is also
//! stage 2's validation: the build tries a strict pass first
//! (`strict_json.rs`'s tokens, grammar and nesting checked as serde_json
//! checks them), and a line that pass accepts is valid JSON whose top-level
//! members (`MemberIndex::top_members`) stage 2 parses from their own
//! bytes. Lines the strict pass does not judge get the lenient pass (the
//! same spans, no verdict) and serde_json in stage 2.

mod encoded_names;
mod flat;
mod gates;
mod lenient;
mod nested_tree;
mod shapes;
mod skeletons;
mod word_token;

use crate::special_bytes::{utf8_has_ascii_folding, SpecialBytes};
use crate::strict_json::{
    is_rewritten_number, number_token, string_end, word_end, Escapes, TopMember, MAX_DEPTH,
};
use flat::{flat_members, FlatRead};
pub(crate) use gates::Gated;
use gates::{Gates, ToGate};
pub(crate) use nested_tree::{NestedTree, Open, NO_PARENT};
use shapes::Shapes;
use skeletons::{Skeletons, LATE_CONTAINER};

/// No member (a scalar at the top level, or inside a top-level array).
const NO_KEY: (u32, u32) = (u32::MAX, u32::MAX);

/// The index of the first byte from `i` that is not a space (the only
/// whitespace the strict pass accepts between tokens).
fn skip_spaces(raw: &[u8], mut i: usize) -> usize {
    while raw.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// The index after `byte` at `i`, spaces before it skipped; `None` when
/// another byte comes. The byte is looked at first: events seldom hold
/// spaces between tokens.
#[inline(always)]
fn after_byte(raw: &[u8], i: usize, byte: u8) -> Option<usize> {
    match raw.get(i) {
        Some(&b) if b == byte => Some(i + 1),
        Some(b' ') => {
            let j = skip_spaces(raw, i);
            (raw.get(j) == Some(&byte)).then_some(j + 1)
        }
        _ => None,
    }
}

/// The first byte from `i` that is not a space, and its index; `None` at
/// the end of the line.
#[inline(always)]
fn token_at(raw: &[u8], i: usize) -> Option<(usize, u8)> {
    match *raw.get(i)? {
        b' ' => {
            let j = skip_spaces(raw, i);
            Some((j, *raw.get(j)?))
        }
        b => Some((i, b)),
    }
}

/// The bytes of `raw` to check as UTF-8 for its bytes outside ASCII, which
/// lie in `range` (the bytes around it are ASCII, each a whole character,
/// so the check says the same of any window holding the range): the range
/// widened to 64 bytes when the line is that long, since `simdutf8` checks
/// a shorter text with the standard library's scalar loop (~160
/// instructions for the few bytes of a `®` or two, ~40 as one block).
fn utf8_window(raw: &[u8], (start, end): (usize, usize)) -> &[u8] {
    const BLOCK: usize = 64;
    let window = match end.saturating_sub(start) {
        n if n >= BLOCK || raw.len() < BLOCK => start..end,
        _ => {
            let from = start.min(raw.len() - BLOCK);
            from..from + BLOCK
        }
    };
    raw.get(window).unwrap_or(raw)
}

/// How the flat pass ended ([`MemberIndex::build_flat`]).
enum FlatEnd {
    /// It read the line: one object of scalar members.
    Read,
    /// It stopped at the container at this position, the value of the
    /// member it listed last (with a value range still empty); the trie
    /// node of the names up to that member's.
    Container(usize, u32),
    /// It stopped at anything else.
    Refused,
    /// It passed a gate: the line is valid, of no rule's log source, and
    /// not indexed (`gates.rs`).
    PassedGate,
}

/// What a number or a word is to [`TopMember::plain_string`]: not a string
/// whose text is its bytes.
const NOT_PLAIN: Escapes = Escapes {
    any: true,
    hiding: false,
    rewritten_number: false,
};

/// The end of the scalar token (string, number, `true`, `false`, `null`)
/// at `at`, with a string's escapes ([`NOT_PLAIN`] for the others); `None`
/// for anything else or a malformed token.
// Inlined into both passes: a call per value costs the hot path ~0.7 %
// of its instructions (callgrind, 100,000 generated events).
#[inline(always)]
fn scalar_end(raw: &[u8], at: usize, specials: &SpecialBytes) -> Option<(usize, Escapes)> {
    match *raw.get(at)? {
        b'"' => string_end(raw, at, specials),
        b't' | b'f' | b'n' => Some((word_end(raw, at)?, NOT_PLAIN)),
        b'-' | b'0'..=b'9' => {
            let (end, rewritten_number) = number_token(raw, at)?;
            Some((
                end,
                Escapes {
                    rewritten_number,
                    ..NOT_PLAIN
                },
            ))
        }
        _ => None,
    }
}

/// One scalar token: its byte range and the byte range of its member name
/// (inside the quotes, still JSON-escaped).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
    key: (u32, u32),
}

/// The scalar spans of one raw event (reused from event to event).
#[derive(Debug, Default)]
pub struct MemberIndex {
    /// The scalar spans, unless `flat_spans`: then they are the top-level
    /// members' values (a flat line the strict pass read to its end), read
    /// from `top` (no copy of ~6 instructions a member per line).
    spans: Vec<Span>,
    flat_spans: bool,
    /// Names (byte ranges) of the members that hold an object or an array.
    containers: Vec<(u32, u32)>,
    /// Open containers: the member name their scalars belong to.
    stack: Vec<Container>,
    /// The strict nested pass's containers in the order they open (the
    /// top-level object first): the name of the member holding each (for
    /// one inside an array, the array's) and the index of the one it is
    /// in ([`NO_PARENT`] for the top level).
    opens: Vec<Open>,
    /// Per scalar of a line the strict nested pass accepted: the index in
    /// `opens` of the container holding it.
    span_opens: Vec<u32>,
    /// The top-level members the strict pass listed (meaningful only when
    /// it accepted the line: `strict`).
    top: Vec<TopMember>,
    strict: bool,
    /// What the strict pass saw (meaningful only when it accepted the line).
    seen: Seen,
    /// The line's quotes, backslashes and control bytes, for the strict pass.
    specials: SpecialBytes,
    /// A range of the line holding all its bytes outside ASCII
    /// ([`MemberIndex::non_ascii_bytes`]).
    non_ascii: (usize, usize),
    /// The flat shapes seen, and the last line's (when the flat pass
    /// accepted it and no name holds an escape).
    shapes: Shapes,
    shape: Option<u64>,
    /// The skeletons of the nested lines seen (`skeletons.rs`), and the
    /// last line's (when the strict pass accepted it as nested and its
    /// skeleton is kept).
    skeletons: Skeletons,
    skeleton: Option<u64>,
    /// A nested line that the flat pass read up to its first container
    /// and the general pass from there, whose names up to that
    /// container's are a path of the trie: that path's shape number and
    /// the scalars the flat pass listed before the container.
    flat_prefix: Option<(u64, usize)>,
    /// The gates of the trie of shapes (`gates.rs`); whether this line's
    /// flat pass may stop at one ([`MemberIndex::build_gated`]), and
    /// whether it passed one (nothing indexed).
    gates: Gates,
    gating: bool,
    passed_gate: bool,
}

/// What a line the strict pass accepted holds that may make its text read
/// otherwise than its bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// A `\/` or `\u` escape: a name or value may read otherwise than its
    /// bytes.
    pub hiding_escape: bool,
    /// A byte outside ASCII (in a string: the line is valid UTF-8).
    pub non_ascii: bool,
    /// A character that folds to an ASCII one (the Kelvin sign, long s):
    /// a name or value may then compare otherwise than its bytes.
    pub ascii_folding: bool,
    /// A number token the reference reads as another text (`-0`, `1.5`,
    /// `1e3`, an integer past 18 digits: `engine/numbers.rs`).
    pub rewritten_number: bool,
}

#[derive(Debug, Clone, Copy)]
struct Container {
    array: bool,
    key: (u32, u32),
    /// Its index in [`MemberIndex::opens`] (strict nested pass only).
    open: u32,
}

/// Where a literal found in the raw bytes lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// Inside a scalar held by this member (the name as written, JSON-escaped).
    Member(&'a [u8]),
    /// Inside a scalar with no member (top level).
    Unnamed,
    /// Not inside a scalar (a member name, punctuation) or straddling tokens.
    Outside,
}

impl MemberIndex {
    /// Lexes `raw`; false when it is not well-formed enough to index (too
    /// large for 32-bit offsets, unbalanced brackets, an unterminated string).
    /// Whether the line is valid JSON as well: `MemberIndex::top_members`.
    pub fn build(&mut self, raw: &[u8]) -> bool {
        self.strict = false;
        self.flat_spans = false;
        self.shape = None;
        self.skeleton = None;
        self.flat_prefix = None;
        self.passed_gate = false;
        self.gates.start_line();
        if raw.len() >= u32::MAX as usize {
            self.spans.clear();
            self.containers.clear();
            return false;
        }
        self.strict = self.build_strict(raw).is_some();
        if self.passed_gate {
            return false;
        }
        self.strict || self.build_lenient(raw)
    }

    /// An index of `raw` (tests).
    #[cfg(test)]
    pub(crate) fn built(raw: &[u8]) -> MemberIndex {
        let mut index = MemberIndex::default();
        index.build(raw);
        index
    }

    /// The top-level members of the last indexed line, when the strict pass
    /// accepted it: then it is one JSON object serde_json accepts (number
    /// ranges aside), valid UTF-8.
    pub(crate) fn top_members(&self) -> Option<&[TopMember]> {
        self.strict.then_some(self.top.as_slice())
    }

    /// Whether the strict pass accepted the last indexed line and it is one
    /// object of scalar members: then its scalars' member names are its
    /// top-level members' names, in order.
    pub(crate) fn is_flat(&self) -> bool {
        self.strict && self.containers.is_empty()
    }

    /// The shape of the last indexed line (`shapes.rs`): lines with the same
    /// shape are flat lines the strict pass accepted with the same member
    /// names in the same order, none escaped. `None` for other lines.
    pub(crate) fn shape(&self) -> Option<u64> {
        self.shape
    }

    /// The skeleton of the last indexed line (`skeletons.rs`): lines with
    /// the same skeleton are nested lines the strict pass accepted with the
    /// same names, brackets and punctuation between their values. `None`
    /// for other lines.
    pub(crate) fn skeleton(&self) -> Option<u64> {
        self.skeleton
    }

    /// For the last indexed line, when the flat pass read it up to its
    /// first container and its names up to that container's are a path of
    /// the trie of shapes: that path's shape number and the scalars listed
    /// before the container, its first spans. Lines with the same number
    /// have the same names there, in the same order, and their first
    /// container under the same name; what follows may differ.
    pub(crate) fn flat_prefix(&self) -> Option<(u64, usize)> {
        self.flat_prefix
    }

    /// The containers and scalars of the last indexed line, when the strict
    /// pass accepted it and it is not flat (see [`MemberIndex::is_flat`]).
    pub(crate) fn nested_tree(&self) -> Option<NestedTree<'_>> {
        (self.strict && !self.containers.is_empty() && self.span_opens.len() == self.spans.len())
            .then_some(NestedTree {
                opens: &self.opens,
                spans: &self.spans,
                span_opens: &self.span_opens,
            })
    }

    /// The bytes of `raw` (the last indexed line, which the strict pass
    /// accepted) from the first outside ASCII to the last, or a range
    /// holding them (the whole line at most): the bytes around it are
    /// ASCII, each a whole character. Empty for an ASCII line.
    pub(crate) fn non_ascii_bytes<'r>(&self, raw: &'r [u8]) -> &'r [u8] {
        let (start, end) = self.non_ascii;
        raw.get(start..end).unwrap_or(raw)
    }

    /// What the last indexed line holds besides plain ASCII text, when the
    /// strict pass accepted it.
    pub fn seen(&self) -> Option<Seen> {
        self.strict.then_some(self.seen)
    }

    /// The strict pass: `None` as soon as the line is not one JSON object
    /// this pass judges (see [`crate::strict_json`]).
    fn build_strict(&mut self, raw: &[u8]) -> Option<()> {
        self.spans.clear();
        self.containers.clear();
        self.stack.clear();
        self.top.clear();
        self.opens.clear();
        self.span_opens.clear();
        // Taken for the passes, which push spans while reading it.
        let mut specials = std::mem::take(&mut self.specials);
        let accepted = self.build_marked(raw, &mut specials);
        self.specials = specials;
        accepted
    }

    /// [`MemberIndex::build_strict`] with the line's special bytes marked
    /// in `specials`.
    fn build_marked(&mut self, raw: &[u8], specials: &mut SpecialBytes) -> Option<()> {
        let bytes = specials.mark(raw);
        self.non_ascii = bytes.non_ascii;
        self.seen = Seen {
            hiding_escape: false,
            non_ascii: !bytes.ascii(),
            ascii_folding: false,
            rewritten_number: false,
        };
        // Never accepted by this pass (invalid in a string, and only spaces
        // between tokens), and not marked: the strings' scans do not stop
        // at one.
        if bytes.control {
            return None;
        }
        if self.seen.non_ascii {
            let text = self.non_ascii_bytes(raw);
            simdutf8::basic::from_utf8(utf8_window(raw, self.non_ascii)).ok()?;
            self.seen.ascii_folding = utf8_has_ascii_folding(text);
        }
        match self.build_flat(raw, specials) {
            FlatEnd::Read => Some(()),
            FlatEnd::PassedGate => {
                self.passed_gate = true;
                self.top.clear();
                self.spans.clear();
                None
            }
            end => self.build_not_flat(raw, specials, end),
        }
    }

    /// The strict pass for a line the flat pass did not read (`end` tells
    /// where it stopped): by a known skeleton (`skeletons.rs`), else by the
    /// general pass, which teaches the skeleton. Out of line: inlined, it
    /// cost the flat lines' pass ~300 instructions each (callgrind,
    /// generated events).
    #[inline(never)]
    fn build_not_flat(
        &mut self,
        raw: &[u8],
        specials: &SpecialBytes,
        mut end: FlatEnd,
    ) -> Option<()> {
        // A line whose flat pass listed many scalars before a container
        // goes on from there: a walk would read those again.
        let late = matches!(end, FlatEnd::Container(..)) && self.top.len() > LATE_CONTAINER;
        let tried = !late && self.skeletons.tried();
        if tried {
            match self.read_by_skeleton(raw, specials) {
                Some(true) => return Some(()),
                Some(false) => {}
                // What the flat pass listed is gone: from the line's start.
                None => end = FlatEnd::Refused,
            }
        }
        let accepted = match end {
            FlatEnd::Container(at, node) => self.continue_nested(raw, specials, at, node),
            _ => {
                self.spans.clear();
                self.top.clear();
                self.seen.hiding_escape = false;
                self.seen.rewritten_number = false;
                self.build_nested(raw, specials)
            }
        };
        if tried && accepted.is_some() {
            self.learn_skeleton(raw);
        }
        accepted
    }

    /// The general pass taking over from the flat one, which read the
    /// line's first members (scalars, listed in `top`) and stopped at a
    /// container, the value at `at` of the member last listed: the
    /// members read are not read again (a line whose only container comes
    /// late was lexed nearly twice, ~40 % of an OTRF record's
    /// instructions). The names up to the container's are `node`'s path
    /// in the trie of shapes, which numbers them ([`MemberIndex::flat_prefix`]).
    /// Out of line, as the skeleton walk is (`read_by_skeleton`):
    /// [`MemberIndex::build_not_flat`] only chooses between them.
    #[inline(never)]
    fn continue_nested(
        &mut self,
        raw: &[u8],
        specials: &SpecialBytes,
        at: usize,
        node: u32,
    ) -> Option<()> {
        let (name, name_escaped) = self.top.last().map(|m| (m.name, m.name_escaped))?;
        self.top.pop();
        // The scalars listed before the container: the first spans.
        let listed = self.top.len();
        self.spans.extend(self.top.iter().map(|m| Span {
            start: m.value.0,
            end: m.value.1,
            key: m.name,
        }));
        self.span_opens.resize(self.spans.len(), 0);
        let byte = *raw.get(at)?;
        self.nested_from(raw, specials, Some((at, byte, name, name_escaped)))?;
        // `None` for an escaped name, which leaves the trie's paths.
        self.flat_prefix = self.shapes.end_at(node).map(|shape| (shape, listed));
        Some(())
    }

    /// The strict pass for the common shape of an event: one object whose
    /// members are all scalars (strings, numbers, `true`, `false`, `null`).
    /// The same tokens, spans and top-level members as
    /// [`MemberIndex::build_nested`], without its bookkeeping of open
    /// containers and what may come next. At a member holding a container
    /// it stops and tells where ([`FlatEnd::Container`]): the general pass
    /// goes on from there. For any other line (an empty object, one it
    /// would refuse) the general pass starts over and decides.
    fn build_flat(&mut self, raw: &[u8], specials: &SpecialBytes) -> FlatEnd {
        let mut container = None;
        match self.read_flat(raw, specials, &mut container) {
            Some(end) => end,
            None => container.map_or(FlatEnd::Refused, |(at, node)| FlatEnd::Container(at, node)),
        }
    }

    /// [`MemberIndex::build_flat`]'s reading: `None` when it stops, with
    /// the position of the container it stopped at in `container`.
    fn read_flat(
        &mut self,
        raw: &[u8],
        specials: &SpecialBytes,
        container: &mut Option<(usize, u32)>,
    ) -> Option<FlatEnd> {
        // The separator before each member: `{`, then a comma.
        let separator = skip_spaces(raw, 0);
        if raw.get(separator) != Some(&b'{') {
            return None;
        }
        if self.shapes.before_line() {
            self.gates.clear();
        }
        let mut start = (shapes::ROOT, separator);
        // Gates only for lines of no character folding to ASCII: their
        // names and values compare as their bytes, as the gates compare
        // them (other characters outside ASCII fold to non-ASCII ones).
        if self.gating && !self.seen.ascii_folding && self.gates.any() {
            match self.read_to_gate(raw, specials, separator, container) {
                ToGate::Done(end) => return end,
                ToGate::From(at) => start = at,
            }
        }
        // The loop's state apart from the index (the fields it writes
        // borrowed one by one, the seen flags as locals written once),
        // which keeps more of it in registers.
        let mut seen = self.seen;
        let (shapes, top) = (&mut self.shapes, &mut self.top);
        let read = flat_members::<false>(shapes, top, &mut seen, raw, specials, start, container);
        self.seen = seen;
        let FlatRead::Ended(node) = read else {
            return None;
        };
        self.finish_flat(node);
        Some(FlatEnd::Read)
    }

    /// The index of a flat line the flat pass read to its end, the trie
    /// node of its last name given.
    #[inline(always)]
    fn finish_flat(&mut self, node: u32) {
        // The scalars are the top-level members' values, read from `top`.
        self.flat_spans = true;
        self.shape = self.shapes.end_at(node);
    }

    /// Scalar span `k` of the last indexed event.
    #[inline]
    fn span(&self, k: usize) -> Option<Span> {
        match self.flat_spans {
            true => self.top.get(k).map(|m| Span {
                start: m.value.0,
                end: m.value.1,
                key: m.name,
            }),
            false => self.spans.get(k).copied(),
        }
    }

    /// The strict pass for any shape: nested objects and arrays, with the
    /// names holding containers. Read a member at a time (name, colon,
    /// value, then the commas and closing brackets after it), not a token
    /// at a time through a table of what may come next: an `evtx_dump`
    /// record took ~10,900 instructions in this pass that way, ~9,300 this way
    /// (callgrind, real events).
    fn build_nested(&mut self, raw: &[u8], specials: &SpecialBytes) -> Option<()> {
        self.nested_from(raw, specials, None)
    }

    /// [`MemberIndex::build_nested`] from the line's start, or from the
    /// value (its position, first byte, and its member's name and whether
    /// escaped) of a top-level member the flat pass stopped at, the members
    /// before it in `top`, `spans` and `span_opens`.
    fn nested_from(
        &mut self,
        raw: &[u8],
        specials: &SpecialBytes,
        mut resume: Option<(usize, u8, (u32, u32), bool)>,
    ) -> Option<()> {
        let mut i = match resume {
            Some(_) => 0,
            None => {
                let (at, first) = token_at(raw, 0)?;
                if first != b'{' {
                    return None;
                }
                at + 1
            }
        };
        // `build_strict` emptied `opens` and `span_opens`.
        self.opens.push(Open {
            holder: None,
            parent: NO_PARENT,
            start: 0,
        });
        // The innermost open container (the stack holds those around it).
        let mut current = Container {
            array: false,
            key: NO_KEY,
            open: 0,
        };
        // Open containers, `current` included.
        let mut depth = 1usize;
        // Whether `current` just opened: its closing bracket may come first.
        let mut opened = true;
        // The top-level member being read: its name and where its value starts.
        let (mut name, mut name_escaped, mut value_start) = (NO_KEY, false, 0u32);
        if let Some((_, _, resumed_name, escaped)) = resume {
            (name, name_escaped) = (resumed_name, escaped);
            current.key = resumed_name;
        }
        loop {
            let (mut at, mut b, empty, named) = match resume.take() {
                Some((at, b, _, _)) => (at, b, false, true),
                None => {
                    let (at, b) = token_at(raw, i)?;
                    let empty = opened && b == if current.array { b']' } else { b'}' };
                    (at, b, empty, current.array)
                }
            };
            if !empty {
                if !named {
                    if b != b'"' {
                        return None;
                    }
                    let (end, escapes) = string_end(raw, at, specials)?;
                    self.seen.hiding_escape |= escapes.hiding;
                    let body = (at as u32 + 1, end as u32 - 1);
                    if depth == 1 {
                        (name, name_escaped) = (body, escapes.any);
                    }
                    current.key = body;
                    (at, b) = token_at(raw, after_byte(raw, end, b':')?)?;
                }
                if depth == 1 {
                    value_start = at as u32;
                }
                if b == b'{' || b == b'[' {
                    if depth >= MAX_DEPTH {
                        return None;
                    }
                    if !current.array && current.key != NO_KEY {
                        self.containers.push(current.key);
                    }
                    let array = b == b'[';
                    let open = self.opens.len() as u32;
                    self.opens.push(Open {
                        holder: (current.key != NO_KEY).then_some(current.key),
                        parent: current.open,
                        start: at as u32,
                    });
                    self.stack.push(current);
                    current = Container {
                        array,
                        key: if array { current.key } else { NO_KEY },
                        open,
                    };
                    depth += 1;
                    i = at + 1;
                    opened = true;
                    continue;
                }
                let (end, escapes) = scalar_end(raw, at, specials)?;
                self.seen.hiding_escape |= escapes.hiding;
                self.seen.rewritten_number |= escapes.rewritten_number;
                self.spans.push(Span {
                    start: at as u32,
                    end: end as u32,
                    key: current.key,
                });
                self.span_opens.push(current.open);
                if depth == 1 {
                    self.top.push(TopMember {
                        name,
                        name_escaped,
                        value: (value_start, end as u32),
                        plain_string: !escapes.any,
                    });
                }
                (at, b) = token_at(raw, end)?;
            }
            // After a value (or at an empty container's end): a comma, or
            // closing brackets, each after a value of the one around it.
            loop {
                match b {
                    b',' => {
                        i = at + 1;
                        opened = false;
                        break;
                    }
                    b'}' | b']' => {
                        if current.array != (b == b']') {
                            return None;
                        }
                        depth -= 1;
                        let Some(outer) = self.stack.pop() else {
                            return (skip_spaces(raw, at + 1) == raw.len()).then_some(());
                        };
                        current = outer;
                        if depth == 1 {
                            self.top.push(TopMember {
                                name,
                                name_escaped,
                                value: (value_start, at as u32 + 1),
                                plain_string: false,
                            });
                        }
                        (at, b) = token_at(raw, at + 1)?;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// Scalar spans of the last indexed event.
    pub fn len(&self) -> usize {
        match self.flat_spans {
            true => self.top.len(),
            false => self.spans.len(),
        }
    }

    /// Whether the last indexed event has no scalar.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of the scalar span holding all of `start..end`, if one does.
    pub fn span_of(&self, start: usize, end: usize) -> Option<usize> {
        let idx = match self.flat_spans {
            true => self.top.partition_point(|m| (m.value.0 as usize) <= start),
            false => self.spans.partition_point(|s| (s.start as usize) <= start),
        };
        let k = idx.checked_sub(1)?;
        (end <= self.span(k)?.end as usize).then_some(k)
    }

    /// The byte range of scalar span `k` (strings with their quotes).
    pub fn span_range(&self, k: usize) -> Option<(usize, usize)> {
        self.span(k)
            .map(|span| (span.start as usize, span.end as usize))
    }

    /// The name (as written) of the member holding span `k`; `None` for a
    /// scalar without a member.
    pub fn span_name<'r>(&self, raw: &'r [u8], k: usize) -> Option<&'r [u8]> {
        let span = self.span(k)?;
        if span.key == NO_KEY {
            return None;
        }
        raw.get(span.key.0 as usize..span.key.1 as usize)
    }

    /// Where the bytes `start..end` of the last indexed event lie.
    pub fn place<'r>(&self, raw: &'r [u8], start: usize, end: usize) -> Place<'r> {
        let Some(k) = self.span_of(start, end) else {
            return Place::Outside;
        };
        if self.span(k).is_none_or(|span| span.key == NO_KEY) {
            return Place::Unnamed;
        }
        self.span_name(raw, k).map_or(Place::Outside, Place::Member)
    }
}

impl MemberIndex {
    /// Whether the last indexed event holds a number token that serde_json
    /// reads into a value whose text differs from the token: a fraction or
    /// an exponent (`1.5e3` is `1500.0`, `0.10` is `0.1`), an integer past
    /// 18 digits (it may not fit 64 bits and become a float), or `-0` (the
    /// float `-0.0`). Other integers of up to 18 digits read back as written.
    /// The strict pass noted it on its way (`Seen::rewritten_number`);
    /// other lines' spans are looked at.
    pub fn has_rewritten_number(&self, raw: &[u8]) -> bool {
        if self.strict {
            return self.seen.rewritten_number;
        }
        self.spans.iter().any(|span| {
            is_rewritten_number(
                raw.get(span.start as usize..span.end as usize)
                    .unwrap_or_default(),
            )
        })
    }

    /// The names (as written) of the members holding an object or an array.
    pub fn container_names<'r>(&'r self, raw: &'r [u8]) -> impl Iterator<Item = &'r [u8]> + 'r {
        self.containers
            .iter()
            .filter_map(move |&(start, end)| raw.get(start as usize..end as usize))
    }
}

#[cfg(test)]
use lenient::lenient_string_end;
#[cfg(test)]
mod skeleton_tests;
#[cfg(test)]
mod tests;
