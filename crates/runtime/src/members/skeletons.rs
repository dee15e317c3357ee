//! The skeletons of nested lines: the bytes between their values, known
//! from earlier lines, so that the strict pass reads a known line by
//! comparing those bytes instead of lexing its names and brackets.
//!
//! An `evtx_dump` record is ~40 scalars in a dozen objects; records of one
//! kind write the same names, brackets, colons and commas between their
//! values (the *gaps*: a string value's opening quote is its gap's last
//! byte). The general pass lexed every token of them (~9,900 instructions
//! a generated record). The gaps seen are kept as a trie: a node is one gap
//! after the gaps on its path, with what the scalar after it is in the
//! index (its member's name, placed by gap and offset, and its container),
//! and a node ending a line holds the rest of the line's index as a
//! *template* (containers, names holding containers, top-level members).
//! Reading a line walks the trie: at each node the bytes at the current
//! position are compared with the children's gaps (a word at a time for
//! gaps of up to 32 bytes); a match is followed by one scalar token read as
//! the strict pass reads it (a string through the line's marks, a number, a
//! literal), and a terminal gap must end the line. A line read so is the
//! learned line with other scalar values: the same tokens in the same
//! places, valid JSON as the learned one was (its control bytes and UTF-8
//! are checked for the whole line before), and its index is the template
//! filled with its gaps' and values' positions. Anything else (an unknown
//! gap, a value that is not one scalar token) gives up, and the general
//! pass reads the line and teaches the trie its gaps.
//!
//! Each template has a number told to no other skeleton, which stage 1
//! takes as the line's layout of names (`engine/compact.rs`) instead of
//! encoding and hashing them. Gaps holding a backslash (an escaped name)
//! are not kept. Bounded: past [`MAX_NODES`] nodes, [`MAX_BYTES`] bytes of
//! gaps or [`MAX_TEMPLATES`] templates the trie starts over. A sibling
//! found past the first goes to the front of its list (events of one kind
//! come in runs), and a node keeps [`MAX_CHILDREN`] children at most. Lines whose skeletons do not repeat would pay for the
//! learning: a switch rests the skeletons ([`Skeletons::tried`]). A line
//! whose first container comes after [`LATE_CONTAINER`] scalars is not
//! walked: the general pass reads on from where the flat pass stopped.

use super::flat::common_value;
use super::word_token::WordToken;
use super::{scalar_end, MemberIndex, Open, Span, NO_KEY};
use crate::special_bytes::SpecialBytes;
use crate::strict_json::{Escapes, TopMember};

/// Nodes kept at most (then the trie starts over).
const MAX_NODES: usize = 32_768;

/// Bytes of gaps kept at most.
const MAX_BYTES: usize = 1 << 20;

/// Templates (kinds of lines) kept at most.
const MAX_TEMPLATES: usize = 2_048;

/// Children of a node kept at most (a new one replaces the one used least
/// recently): lines that differ there (names made of ids, one per line)
/// would make every walk compare a gap with thousands.
const MAX_CHILDREN: usize = 64;

/// The root: no gap; the lines' first gaps are its children.
const ROOT: u32 = 0;

/// No node (a child or sibling link) or no template.
const NONE: u32 = u32::MAX;

/// Lines not read flat per window of the switch (see [`Skeletons::tried`]).
pub(super) const WINDOW: u32 = 1024;

/// Lines of a window read by a skeleton below which the skeletons rest.
const PAYING: u32 = WINDOW / 8;

/// Lines not read flat the skeletons rest for after a window that did not
/// pay (neither walked nor learned).
pub(super) const REST: u32 = 8192;

/// Scalars the flat pass lists before a line's first container from which
/// on the line is not walked by its skeleton but read on from the
/// container (`MemberIndex::build_not_flat`): a walk starts at the line's
/// start and reads those scalars again. Real lines of ~40 flat members
/// and then `"tags":[…]` took ~25,500 instructions each with
/// process_creation, ~11,900 so; 2 measured the same, 24 more
/// (BENCHMARKS.md, v65).
pub(super) const LATE_CONTAINER: usize = 8;

/// A position in a line: gap `gap`'s start plus `rel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GapPos {
    gap: u32,
    rel: u32,
}

/// A name in a line: where it starts (inside its quotes) and its length.
type GapName = (GapPos, u32);

/// A top-level member's value in a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopValue {
    /// The line's `k`-th scalar.
    Scalar(u32),
    /// A container from its opening bracket to past its closing one.
    Container(GapPos, GapPos),
}

/// What the index of the lines of one skeleton holds besides their
/// scalars (which the walk lists, `Node::key`), positions told by gap.
#[derive(Debug)]
struct Template {
    /// How many scalars.
    scalars: usize,
    /// Its number, told to no other skeleton (nor after a start over).
    serial: u64,
    /// The containers: holder, parent and start.
    opens: Vec<(Option<GapName>, u32, GapPos)>,
    /// The names of members holding containers, in order.
    containers: Vec<GapName>,
    /// The top-level members: name and value.
    top: Vec<(GapName, TopValue)>,
}

/// Words of a gap compared at once (gaps of up to 32 bytes).
const WORDS: usize = 4;

/// One gap after the gaps on its path, and the scalar after it.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Its bytes in [`Skeletons::bytes`].
    gap: (u32, u32),
    /// A gap of up to [`WORDS`] words packed; a longer one is compared as
    /// a slice.
    packed: WordToken<WORDS>,
    /// The name of the member holding the scalar after it (`None`: none);
    /// the same for every line on its path, as the gaps before it are.
    key: Option<GapName>,
    /// The container holding that scalar (its index in `opens`).
    span_open: u32,
    /// A string value follows (the gap ends with its opening quote).
    string_value: bool,
    /// The gap ends the line (no value follows).
    terminal: bool,
    first_child: u32,
    next_sibling: u32,
    /// A terminal gap's template.
    template: u32,
}

/// The trie of the skeletons seen (reused from line to line).
#[derive(Debug)]
pub(super) struct Skeletons {
    nodes: Vec<Node>,
    bytes: Vec<u8>,
    templates: Vec<Template>,
    /// The last line's walk: its gaps' starts, and per scalar whether it
    /// is a string without escapes.
    gap_starts: Vec<u32>,
    plain: Vec<bool>,
    /// The number the next template gets.
    next_serial: u64,
    /// The switch: lines tried and read by a skeleton in this window, and
    /// lines left to rest.
    window: (u32, u32),
    resting: u32,
    /// Lines read by a skeleton (tests).
    #[cfg(test)]
    pub(super) read: u64,
}

impl Default for Skeletons {
    fn default() -> Self {
        let mut skeletons = Skeletons {
            nodes: Vec::new(),
            bytes: Vec::new(),
            templates: Vec::new(),
            gap_starts: Vec::new(),
            plain: Vec::new(),
            next_serial: 1,
            window: (0, 0),
            resting: 0,
            #[cfg(test)]
            read: 0,
        };
        skeletons.start_over();
        skeletons
    }
}

impl Skeletons {
    /// Forgets every skeleton (the root stays).
    fn start_over(&mut self) {
        self.nodes.clear();
        self.bytes.clear();
        self.templates.clear();
        self.nodes.push(Node {
            gap: (0, 0),
            packed: WordToken::NONE,
            key: None,
            span_open: 0,
            string_value: false,
            terminal: false,
            first_child: NONE,
            next_sibling: NONE,
            template: NONE,
        });
    }

    /// Whether `raw` holds `c`'s gap at `at`.
    #[inline(always)]
    fn gap_at(&self, c: &Node, raw: &[u8], at: usize) -> bool {
        c.packed.at(raw, at).unwrap_or_else(|| {
            let len = (c.gap.1 - c.gap.0) as usize;
            raw.get(at..at + len) == self.bytes.get(c.gap.0 as usize..c.gap.1 as usize)
        })
    }

    /// Whether to walk (and learn) a line the flat pass did not read:
    /// skeletons pay when lines repeat theirs (events of a few kinds), and
    /// each new one is learned at ~2 instructions per line's byte. A window
    /// of [`WINDOW`] lines fewer than [`PAYING`] of which were read by one
    /// is followed by [`REST`] lines neither walked nor learned.
    pub(super) fn tried(&mut self) -> bool {
        if self.resting > 0 {
            self.resting -= 1;
            return false;
        }
        let (lines, read) = &mut self.window;
        *lines += 1;
        if *lines > WINDOW {
            if *read < PAYING {
                self.resting = REST;
            }
            self.window = (0, 0);
            return self.resting == 0;
        }
        true
    }

    /// Moves `child` (after `before` among `node`'s children) to the front.
    fn move_first(&mut self, node: u32, before: u32, child: u32) {
        let Some(next) = self.nodes.get(child as usize).map(|c| c.next_sibling) else {
            return;
        };
        let Some(first) = self.nodes.get(node as usize).map(|n| n.first_child) else {
            return;
        };
        if let Some(b) = self.nodes.get_mut(before as usize) {
            b.next_sibling = next;
        }
        if let Some(c) = self.nodes.get_mut(child as usize) {
            c.next_sibling = first;
        }
        if let Some(n) = self.nodes.get_mut(node as usize) {
            n.first_child = child;
        }
    }

    /// The child of `node` with these bytes and kind, added when new;
    /// `None` past the bounds.
    fn child(
        &mut self,
        node: u32,
        gap: &[u8],
        (string_value, terminal): (bool, bool),
        (key, span_open): (Option<GapName>, u32),
    ) -> Option<u32> {
        let mut child = self.nodes.get(node as usize)?.first_child;
        let (mut siblings, mut before_last) = (0, NONE);
        while let Some(c) = self.nodes.get(child as usize) {
            let same = c.string_value == string_value
                && c.terminal == terminal
                && self.bytes.get(c.gap.0 as usize..c.gap.1 as usize) == Some(gap);
            if same {
                return Some(child);
            }
            siblings += 1;
            if c.next_sibling != NONE {
                before_last = child;
            }
            child = c.next_sibling;
        }
        if self.nodes.len() >= MAX_NODES || self.bytes.len() + gap.len() > MAX_BYTES {
            return None;
        }
        // A full list drops its last child, the one used least recently
        // (found ones go to the front); its nodes stay until a start over.
        if siblings >= MAX_CHILDREN {
            self.nodes.get_mut(before_last as usize)?.next_sibling = NONE;
        }
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(gap);
        let added = self.nodes.len() as u32;
        let first_child = self.nodes.get(node as usize)?.first_child;
        self.nodes.push(Node {
            gap: (start, self.bytes.len() as u32),
            packed: WordToken::of(gap),
            key,
            span_open,
            string_value,
            terminal,
            first_child: NONE,
            next_sibling: first_child,
            template: NONE,
        });
        self.nodes.get_mut(node as usize)?.first_child = added;
        Some(added)
    }
}

impl MemberIndex {
    /// Reads `raw` by a known skeleton (see the module doc): `Some(true)`
    /// when it did, the index then filled as the strict nested pass fills
    /// it; `Some(false)` when the skeleton is not known (the scalars and
    /// their containers emptied, the top-level members and containers as
    /// the flat pass left them); `None` when a template did not fit (all
    /// emptied). Out of line: the walk's code is then its own, whatever
    /// [`MemberIndex::build_not_flat`] around it holds (a change there
    /// moved the walk's lines by ~180-370 instructions, callgrind).
    #[inline(never)]
    pub(super) fn read_by_skeleton(&mut self, raw: &[u8], specials: &SpecialBytes) -> Option<bool> {
        let Some(t) = self.walk_skeleton(raw, specials) else {
            self.spans.clear();
            self.span_opens.clear();
            return Some(false);
        };
        let read = self.fill_from_template(t);
        if read.is_none() {
            self.spans.clear();
            self.span_opens.clear();
            self.opens.clear();
            self.containers.clear();
            self.top.clear();
        }
        read.map(|()| true)
    }

    /// Walks `raw` through the trie (see the module doc), listing its
    /// scalars: the template of its skeleton; `None` when a gap is not
    /// known or a value is not one scalar token. The lists the walk
    /// fills are taken out of the index for it and put back after: pushed
    /// to through the index, each push reloaded and stored the list's
    /// length through it, and the walk cost ~500 instructions more a line
    /// of the real logs (BENCHMARKS.md, v65).
    fn walk_skeleton(&mut self, raw: &[u8], specials: &SpecialBytes) -> Option<usize> {
        let mut lists = WalkLists {
            gap_starts: std::mem::take(&mut self.skeletons.gap_starts),
            plain: std::mem::take(&mut self.skeletons.plain),
            spans: std::mem::take(&mut self.spans),
            span_opens: std::mem::take(&mut self.span_opens),
        };
        lists.gap_starts.clear();
        lists.plain.clear();
        lists.spans.clear();
        lists.span_opens.clear();
        let walked = walk(&mut self.skeletons, &mut lists, raw, specials);
        self.skeletons.gap_starts = lists.gap_starts;
        self.skeletons.plain = lists.plain;
        self.spans = lists.spans;
        self.span_opens = lists.span_opens;
        let (template, hiding, rewritten) = walked?;
        self.seen.hiding_escape = hiding;
        self.seen.rewritten_number = rewritten;
        (template != NONE).then_some(template as usize)
    }

    /// Fills the rest of the index from template `t` and the walk's
    /// positions.
    fn fill_from_template(&mut self, t: usize) -> Option<()> {
        let skeletons = &self.skeletons;
        let template = skeletons.templates.get(t)?;
        if template.scalars != self.spans.len() {
            return None;
        }
        let starts = &skeletons.gap_starts;
        let at = |p: GapPos| starts.get(p.gap as usize).map(|s| s + p.rel);
        let name = |(p, len): GapName| at(p).map(|a| (a, a + len));
        self.opens.clear();
        self.containers.clear();
        self.top.clear();
        for &(holder, parent, start) in &template.opens {
            let holder = match holder {
                Some(h) => Some(name(h)?),
                None => None,
            };
            self.opens.push(Open {
                holder,
                parent,
                start: at(start)?,
            });
        }
        for &c in &template.containers {
            self.containers.push(name(c)?);
        }
        for &(member, value) in &template.top {
            let (value, plain_string) = match value {
                TopValue::Scalar(k) => {
                    let span = self.spans.get(k as usize)?;
                    ((span.start, span.end), *skeletons.plain.get(k as usize)?)
                }
                TopValue::Container(start, end) => ((at(start)?, at(end)?), false),
            };
            self.top.push(TopMember {
                name: name(member)?,
                name_escaped: false,
                value,
                plain_string,
            });
        }
        self.skeleton = Some(template.serial);
        self.skeletons.window.1 += 1;
        #[cfg(test)]
        {
            self.skeletons.read += 1;
        }
        Some(())
    }

    /// Teaches the trie the skeleton of `raw`, a nested line the strict
    /// pass just accepted (its index is this one).
    pub(super) fn learn_skeleton(&mut self, raw: &[u8]) {
        if self.learn(raw).is_none() {
            // Full (or a line past the bounds): start over for the next.
            let full = self.skeletons.nodes.len() >= MAX_NODES
                || self.skeletons.bytes.len() >= MAX_BYTES / 2
                || self.skeletons.templates.len() >= MAX_TEMPLATES;
            if full {
                self.skeletons.start_over();
            }
        }
    }

    /// [`MemberIndex::learn_skeleton`]; `None` when the line is not kept.
    fn learn(&mut self, raw: &[u8]) -> Option<()> {
        if self.containers.is_empty() || self.span_opens.len() != self.spans.len() {
            return None;
        }
        if self.skeletons.templates.len() >= MAX_TEMPLATES {
            return None;
        }
        // The gaps: from the end of each value (the line's start first) to
        // the next value's start, a string's opening quote included.
        let skeletons = &mut self.skeletons;
        skeletons.gap_starts.clear();
        let mut from = 0u32;
        for span in &self.spans {
            skeletons.gap_starts.push(from);
            from = span.end;
        }
        skeletons.gap_starts.push(from);
        // Each position by its gap: the last gap starting at or before it.
        let starts = std::mem::take(&mut skeletons.gap_starts);
        let pos = |p: u32| {
            let gap = starts.partition_point(|&s| s <= p).checked_sub(1)?;
            Some(GapPos {
                gap: gap as u32,
                rel: p - starts.get(gap)?,
            })
        };
        let name = |(a, b): (u32, u32)| Some((pos(a)?, b.checked_sub(a)?));
        let mut node = ROOT;
        let mut path = || -> Option<u32> {
            for (k, span) in self.spans.iter().enumerate() {
                let string = raw.get(span.start as usize) == Some(&b'"');
                let to = span.start as usize + usize::from(string);
                let gap = raw.get(*starts.get(k)? as usize..to)?;
                if gap.is_empty() || gap.contains(&b'\\') {
                    return None;
                }
                let key = match span.key {
                    NO_KEY => None,
                    key => Some(name(key)?),
                };
                let open = *self.span_opens.get(k)?;
                node = skeletons.child(node, gap, (string, false), (key, open))?;
            }
            let last = raw.get(from as usize..)?;
            if last.contains(&b'\\') {
                return None;
            }
            skeletons.child(node, last, (false, true), (None, 0))
        };
        let terminal = path();
        let skeletons = &mut self.skeletons;
        let node = terminal.filter(|&n| {
            skeletons
                .nodes
                .get(n as usize)
                .is_some_and(|n| n.template == NONE)
        });
        let Some(node) = node else {
            skeletons.gap_starts = starts;
            // Known already: the line has its skeleton's number.
            let t = terminal
                .and_then(|n| skeletons.nodes.get(n as usize))?
                .template;
            self.skeleton = skeletons.templates.get(t as usize).map(|t| t.serial);
            return Some(());
        };
        let opens = self
            .opens
            .iter()
            .map(|o| {
                let holder = match o.holder {
                    Some(h) => Some(name(h)?),
                    None => None,
                };
                Some((holder, o.parent, pos(o.start)?))
            })
            .collect::<Option<Vec<_>>>()?;
        let containers = self
            .containers
            .iter()
            .map(|&c| name(c))
            .collect::<Option<Vec<_>>>()?;
        let top = self
            .top
            .iter()
            .map(|m| {
                if m.name_escaped {
                    return None;
                }
                let k = self.spans.partition_point(|s| s.start < m.value.0);
                let value = match self.spans.get(k) {
                    Some(s) if (s.start, s.end) == m.value => TopValue::Scalar(k as u32),
                    _ => TopValue::Container(pos(m.value.0)?, pos(m.value.1)?),
                };
                Some((name(m.name)?, value))
            })
            .collect::<Option<Vec<_>>>()?;
        let serial = self.skeletons.next_serial;
        let template = Template {
            serial,
            scalars: self.spans.len(),
            opens,
            containers,
            top,
        };
        let skeletons = &mut self.skeletons;
        skeletons.gap_starts = starts;
        skeletons.next_serial += 1;
        skeletons.templates.push(template);
        self.skeleton = Some(serial);
        let t = skeletons.templates.len() as u32 - 1;
        skeletons.nodes.get_mut(node as usize)?.template = t;
        Some(())
    }
}

/// What a walk lists (see [`MemberIndex::walk_skeleton`]).
struct WalkLists {
    gap_starts: Vec<u32>,
    plain: Vec<bool>,
    spans: Vec<Span>,
    span_opens: Vec<u32>,
}

/// [`MemberIndex::walk_skeleton`]'s walk: the terminal node's template
/// ([`NONE`] for none), whether an escape could hide text, and whether a
/// number reads as another text.
#[inline(always)]
fn walk(
    skeletons: &mut Skeletons,
    lists: &mut WalkLists,
    raw: &[u8],
    specials: &SpecialBytes,
) -> Option<(u32, bool, bool)> {
    let (mut hiding, mut rewritten) = (false, false);
    let mut node = ROOT;
    let mut at = 0usize;
    loop {
        let mut before = NONE;
        let mut child = skeletons.nodes.get(node as usize)?.first_child;
        let (after, c) = loop {
            let c = skeletons.nodes.get(child as usize)?;
            if skeletons.gap_at(c, raw, at) {
                let after = at + (c.gap.1 - c.gap.0) as usize;
                let fits = if c.terminal {
                    after == raw.len()
                } else {
                    c.string_value
                        || raw
                            .get(after)
                            .is_some_and(|b| matches!(b, b'-' | b'0'..=b'9' | b't' | b'f' | b'n'))
                };
                if fits {
                    let read = (c.terminal, c.template, c.string_value, c.key, c.span_open);
                    break (after, read);
                }
            }
            before = child;
            child = c.next_sibling;
        };
        let (terminal, template, string_value, key, span_open) = c;
        if before != NONE {
            skeletons.move_first(node, before, child);
        }
        lists.gap_starts.push(at as u32);
        if terminal {
            return Some((template, hiding, rewritten));
        }
        let start = if string_value { after - 1 } else { after };
        // The common value first (`flat::common_value`: a string with
        // no escape but of quotes and backslashes, a positive integer),
        // as the flat pass reads it; the general steps for the others.
        let (end, escapes) = match common_value::<false>(raw, specials, start) {
            Some((end, plain, long)) => (
                end,
                Escapes {
                    any: !plain,
                    hiding: false,
                    rewritten_number: long,
                },
            ),
            None => scalar_end(raw, start, specials)?,
        };
        let key = match key {
            Some((p, len)) => {
                let a = lists.gap_starts.get(p.gap as usize)? + p.rel;
                (a, a + len)
            }
            None => NO_KEY,
        };
        lists.spans.push(Span {
            start: start as u32,
            end: end as u32,
            key,
        });
        lists.span_opens.push(span_open);
        lists.plain.push(!escapes.any);
        hiding |= escapes.hiding;
        rewritten |= escapes.rewritten_number;
        at = end;
        node = child;
    }
}
