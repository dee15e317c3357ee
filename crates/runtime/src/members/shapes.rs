//! The shapes of flat events: the member names of a line in order, known
//! from earlier lines, so that the strict flat pass reads a known name by
//! one comparison and tells the line's shape without a second pass.
//!
//! Events of one source repeat their member names in the same order (a
//! Sysmon process creation its 29 names); what changes is the values. The
//! shapes seen are kept as a trie of names: a node is one member name
//! after the names on its path, with the bytes that introduce it in the
//! usual writing, `{"Name":` for a first member and `,"Name":` for the
//! others (its *token*). Reading a line, the flat pass compares the bytes
//! at the separator with the tokens of the current node's children: a
//! match is the name read, validated (the token is the bytes of a name
//! read before, free of escapes, quotes and control bytes) and placed in
//! the trie at once. A line written otherwise (spaces around the colon, a
//! new name) reads its name the usual way and finds or adds the child by
//! the name. A line that ends after a node has that node's shape: a serial
//! number told to no other list of names (a list of names gets one number
//! per trie, and a trie that starts over gives new numbers).
//!
//! Names with escapes are not kept (their text is not their bytes); a line
//! with one has no shape. Bounded: past [`MAX_NODES`] nodes the trie starts
//! over at the next line, and names past [`MAX_NAME`] bytes are not kept.

use super::word_token::WordToken;

/// Nodes kept at most (then the trie starts over): thousands of distinct
/// names in order, far more than the dozens of kinds of events of a log.
/// A line adds no node past twice as many (it has no shape then).
pub(crate) const MAX_NODES: usize = 4096;

/// Longer names are not kept (a line holding one has no shape): with the
/// bound on nodes, the trie takes a few megabytes at most (8,192 nodes of
/// ~150 bytes and a token of up to 260) whatever the lines hold.
const MAX_NAME: usize = 256;

/// Words of a token compared at once (names of up to 20 bytes).
const WORDS: usize = 3;

/// No node (a child or sibling link).
pub(crate) const NONE: u32 = u32::MAX;

/// The root: no name, the first members are its children.
pub(crate) const ROOT: u32 = 0;

/// One member name after the names on its path.
#[derive(Debug, Clone)]
struct Node {
    /// Its token in [`Shapes::bytes`]: the separator, the quoted name and
    /// the colon.
    token: (u32, u32),
    /// A token of up to [`WORDS`] words packed, compared without a branch
    /// or a call per name; a longer one is compared byte by byte.
    packed: WordToken<WORDS>,
    next_sibling: u32,
    /// The shape of lines whose last member this is, once one ended here.
    end: Option<u64>,
}

/// What the flat pass reads of a node at every member, apart from the
/// rest of it (in `Shapes::next`, by the same index): its first child, and
/// that child's packed token and length, so that following the name a line
/// most likely writes next reads this one cache line. In a whole node of
/// 136 bytes, the ~60 bytes read spanned two or three lines.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Next {
    /// The first child's packed token ([`WordToken::NONE`]: no first
    /// child, or a long token).
    token: WordToken<WORDS>,
    /// Its length.
    len: u32,
    first_child: u32,
}

impl Next {
    const NONE: Next = Next {
        token: WordToken::NONE,
        len: 0,
        first_child: NONE,
    };
}

/// The trie of the flat shapes seen (reused from line to line).
#[derive(Debug)]
pub(crate) struct Shapes {
    nodes: Vec<Node>,
    /// Each node's first child ([`Next`]), by the node's index.
    next: Vec<Next>,
    /// The tokens, one after the other.
    bytes: Vec<u8>,
    /// The serial number the next shape gets.
    next_serial: u64,
    /// The gate at each node (`gates.rs`; [`NONE`] for none), up to the
    /// last node that has one: apart from the nodes, which the flat pass
    /// reads at every member.
    gates: Vec<u32>,
}

impl Default for Shapes {
    fn default() -> Self {
        let mut shapes = Shapes {
            nodes: Vec::new(),
            next: Vec::new(),
            bytes: Vec::new(),
            next_serial: 1,
            gates: Vec::new(),
        };
        shapes.start_over();
        shapes
    }
}

impl Shapes {
    /// Forgets every shape (the root stays).
    fn start_over(&mut self) {
        self.nodes.clear();
        self.next.clear();
        self.bytes.clear();
        self.gates.clear();
        self.nodes.push(Node {
            token: (0, 0),
            packed: WordToken::NONE,
            next_sibling: NONE,
            end: None,
        });
        self.next.push(Next::NONE);
    }

    /// Called before each line: starts over when the trie is full (then
    /// true: the gates went with the nodes).
    pub(crate) fn before_line(&mut self) -> bool {
        let full = self.nodes.len() > MAX_NODES;
        if full {
            self.start_over();
        }
        full
    }

    /// The gate at `node` ([`NONE`] for none).
    #[inline(always)]
    pub(crate) fn gate_at(&self, node: u32) -> u32 {
        self.gates.get(node as usize).copied().unwrap_or(NONE)
    }

    /// Puts gate `gate` at `node` ([`NONE`] takes it away).
    pub(crate) fn set_gate(&mut self, node: u32, gate: u32) {
        if (node as usize) >= self.nodes.len() {
            return;
        }
        if self.gates.len() <= node as usize {
            self.gates.resize(node as usize + 1, NONE);
        }
        if let Some(g) = self.gates.get_mut(node as usize) {
            *g = gate;
        }
    }

    /// The child of `node` whose token the bytes at `at` start with, and
    /// the index after the token (the colon's next byte). Inlined in each
    /// of the three loops that call it (the flat pass, up to a gate and
    /// past it): left to the compiler, it went out of line.
    #[inline(always)]
    pub(crate) fn follow(&self, node: u32, raw: &[u8], at: usize) -> Option<(u32, usize)> {
        let parent = self.next.get(node as usize)?;
        let mut child = parent.first_child;
        // The first child from its parent's copy of its token: lines of
        // one kind write their names in one order.
        match parent.token.at(raw, at) {
            Some(true) => return Some((child, at + parent.len as usize)),
            Some(false) => child = self.nodes.get(child as usize)?.next_sibling,
            None => {}
        }
        while let Some(c) = self.nodes.get(child as usize) {
            let len = (c.token.1 - c.token.0) as usize;
            // A long token, or near the end of the line: byte by byte.
            let same = c
                .packed
                .at(raw, at)
                .unwrap_or_else(|| self.token_at(c, raw, at));
            if same {
                return Some((child, at + len));
            }
            child = c.next_sibling;
        }
        None
    }

    /// Whether `raw` holds `c`'s token at `at`, compared byte by byte (a
    /// token longer than the words, or a line ending within them): out of
    /// line, so that the tokens' bytes take no register in the flat pass.
    /// Marked cold although some names take it (Security's
    /// `AuthenticationPackageName`): measured so, the flat pass ran fewer
    /// instructions (BENCHMARKS.md, v37).
    #[cold]
    #[inline(never)]
    fn token_at(&self, c: &Node, raw: &[u8], at: usize) -> bool {
        let len = (c.token.1 - c.token.0) as usize;
        raw.get(at..at + len) == self.bytes.get(c.token.0 as usize..c.token.1 as usize)
    }

    /// The child of `node` named `name` (as written, without escapes),
    /// added when new; `first`: it is a line's first member (its token
    /// starts with `{`, the others' with a comma).
    pub(crate) fn child_named(&mut self, node: u32, first: bool, name: &[u8]) -> u32 {
        // A token is the separator, the name in quotes and the colon.
        let named = |c: &Node| c.token.1 - c.token.0 == name.len() as u32 + 4;
        let mut child = self.next.get(node as usize).map_or(NONE, |n| n.first_child);
        while let Some(c) = self.nodes.get(child as usize) {
            let (start, end) = (c.token.0 as usize + 2, c.token.1 as usize - 2);
            if named(c) && self.bytes.get(start..end) == Some(name) {
                return child;
            }
            child = c.next_sibling;
        }
        let Some(parent) = self.next.get(node as usize) else {
            return NONE;
        };
        if name.len() > MAX_NAME || self.nodes.len() >= 2 * MAX_NODES {
            return NONE;
        }
        let first_child = parent.first_child;
        let start = self.bytes.len() as u32;
        let separator = if first { b'{' } else { b',' };
        self.bytes.extend_from_slice(&[separator, b'"']);
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(b"\":");
        let packed = WordToken::of(self.bytes.get(start as usize..).unwrap_or_default());
        let added = self.nodes.len() as u32;
        let len = self.bytes.len() as u32 - start;
        self.nodes.push(Node {
            token: (start, self.bytes.len() as u32),
            packed,
            next_sibling: first_child,
            end: None,
        });
        self.next.push(Next::NONE);
        if let Some(parent) = self.next.get_mut(node as usize) {
            *parent = Next {
                token: packed,
                len,
                first_child: added,
            };
        }
        added
    }

    /// The shape of a line whose last member is `node` (numbered when no
    /// line ended there before); `None` for the root or no node.
    pub(crate) fn end_at(&mut self, node: u32) -> Option<u64> {
        if node == ROOT {
            return None;
        }
        let next = &mut self.next_serial;
        let end = self
            .nodes
            .get_mut(node as usize)?
            .end
            .get_or_insert_with(|| {
                *next += 1;
                *next - 1
            });
        Some(*end)
    }

    /// The shape of lines whose last member is `node`, when one ended
    /// there before (none is numbered).
    pub(crate) fn shape_at(&self, node: u32) -> Option<u64> {
        self.nodes.get(node as usize)?.end
    }

    /// Nodes kept (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::{Shapes, MAX_NODES, ROOT};

    /// Follows `names` from the root as a line writes them (`{` first,
    /// then commas), adding the ones not known; the node reached.
    fn walk(shapes: &mut Shapes, names: &[&str]) -> u32 {
        let mut node = ROOT;
        for (k, name) in names.iter().enumerate() {
            node = shapes.child_named(node, k == 0, name.as_bytes());
        }
        node
    }

    #[test]
    fn tokens_are_found_whatever_their_length_and_wherever_the_line_ends() {
        let mut shapes = Shapes::default();
        // Names whose tokens take one, two, three and more than three words.
        let names = [
            "A",
            "Image",
            "CommandLine",
            "ParentProcessGuid",
            "AVeryLongMemberNameIndeed",
        ];
        for name in names {
            let node = shapes.child_named(ROOT, true, name.as_bytes());
            let token = format!("{{\"{name}\":");
            for tail in ["", "1", "\"a long value past the words\"}"] {
                let line = format!("{token}{tail}");
                assert_eq!(
                    shapes.follow(ROOT, line.as_bytes(), 0),
                    Some((node, token.len())),
                    "{line}"
                );
                // Any byte of the token changed, or the line cut inside it:
                // not this child.
                for k in 0..token.len() {
                    let mut other = line.clone().into_bytes();
                    other[k] ^= 0x20;
                    assert_eq!(shapes.follow(ROOT, &other, 0), None, "{line} at {k}");
                    assert_eq!(shapes.follow(ROOT, &line.as_bytes()[..k], 0), None);
                }
            }
        }
        // A longer name sharing a shorter one's start is its own child.
        let short = shapes.child_named(ROOT, true, b"Image");
        let long = shapes.child_named(ROOT, true, b"ImageLoaded");
        assert_ne!(short, long);
        assert_eq!(
            shapes.follow(ROOT, b"{\"ImageLoaded\":1}", 0),
            Some((long, 15))
        );
        assert_eq!(shapes.follow(ROOT, b"{\"Image\":1}", 0), Some((short, 9)));
    }

    #[test]
    fn a_list_of_names_has_one_shape_and_the_trie_is_bounded() {
        let mut shapes = Shapes::default();
        let a = walk(&mut shapes, &["EventID", "Image", "CommandLine"]);
        let b = walk(&mut shapes, &["EventID", "Image"]);
        let c = walk(&mut shapes, &["Image", "EventID", "CommandLine"]);
        let (sa, sb, sc) = (shapes.end_at(a), shapes.end_at(b), shapes.end_at(c));
        assert!(sa.is_some() && sb.is_some() && sc.is_some());
        assert!(sa != sb && sa != sc && sb != sc);
        let a_again = walk(&mut shapes, &["EventID", "Image", "CommandLine"]);
        assert_eq!(shapes.end_at(a_again), sa);
        assert_eq!(shapes.end_at(ROOT), None);
        // A comma-led token is not a first member's.
        assert_eq!(shapes.follow(ROOT, b",\"EventID\":1", 0), None);
        // Past the bound the trie starts over, and a list of names seen
        // before gets a new shape.
        for k in 0..=MAX_NODES {
            shapes.child_named(ROOT, true, format!("n{k}").as_bytes());
        }
        assert!(shapes.len() > MAX_NODES);
        shapes.before_line();
        assert_eq!(shapes.len(), 1);
        let node = walk(&mut shapes, &["EventID", "Image", "CommandLine"]);
        let again = shapes.end_at(node);
        assert!(again.is_some() && again != sa && again != sb && again != sc);
        // Long names, and names past twice the bound within a line, are not
        // kept: the line has no shape.
        let long = "n".repeat(super::MAX_NAME + 1);
        assert_eq!(walk(&mut shapes, &["EventID", &long]), super::NONE);
        let many: Vec<String> = (0..2 * MAX_NODES + 10).map(|k| format!("m{k}")).collect();
        let names: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(walk(&mut shapes, &names), super::NONE);
        assert!(shapes.len() <= 2 * MAX_NODES);
        assert_eq!(shapes.end_at(super::NONE), None);
    }
}
