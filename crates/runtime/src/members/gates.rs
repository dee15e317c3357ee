//! Gates: where the flat pass may stop listing a line's members, because
//! what the line holds past them cannot change stage 1's scope gate.
//!
//! The scope gate (`engine/scopes.rs`) drops an event of no rule's log
//! source before anything else is read of it. What it reads of a flat line
//! is the tokens of the few members whose names can be log-source keys
//! (channel, provider, event id, the fields of source conditions): with a
//! process_creation rule set, the first three members of a Sysmon or
//! Security line. Yet every member of such a line was listed, ~130
//! instructions each, before the gate asked for them.
//!
//! A *gate* is a node of the trie of shapes (`shapes.rs`): the one after
//! the last key member of a layout the engine saw. It keeps the positions
//! of the key members before it and, as the engine teaches it:
//! - the gate's verdict (of no rule's log source, or possibly of some) for
//!   each list of tokens those members held;
//! - for each shape of line through it, whether the members after the gate
//!   hold no key (the engine's layout of the shape has the gate's key
//!   members and no other).
//!
//! A line the flat pass reads to a gate stops there. When the gate knows
//! its tokens as of no log source, the rest is read as the flat pass reads
//! it but nothing is listed (`flat::rest_of_line`); if it ends in a shape
//! known to hold no key past the gate, the line is valid (the same checks
//! as the strict flat pass) and of no rule's log source, which is all the
//! engine needs of it: it *passed* the gate. Any other line at a gate
//! reads on from where it stopped (tokens not known, or known to be of
//! some source), or is read again from its start (a shape not known, a new
//! name, a container, an escape that could hide text), and the engine
//! teaches the gate what it then decides.
//!
//! A gate also keeps the verdicts of a few lines by their bytes before it
//! (`KnownPrefixes`): a line whose bytes there are one of those has the
//! same tokens, and takes the verdict without copying them.
//!
//! Lines holding a character that folds to ASCII (the Kelvin sign, long
//! s: a name or value could read otherwise than its bytes) do not stop,
//! and the flat pass does not stop after an escape that could hide text.
//! Other characters outside ASCII fold to non-ASCII ones: their lines stop
//! (the tokens and names compare as bytes, as the engine's raw checks
//! compare them).
//! A gate whose stops seldom pass is retired, so that a rule set most
//! events are in scope of does not pay for the stops. Bounded: the gates
//! go with the trie when it starts over; at most [`MAX_GATES`] gates, each
//! keeping [`MAX_KNOWN`] token lists and shapes at most.

use std::collections::HashMap;

use super::flat::{flat_members, rest_of_line, FlatRead};
use super::shapes::{self, NONE};
use super::{FlatEnd, MemberIndex};
use crate::length_prefixed;
use crate::special_bytes::SpecialBytes;

/// Gates kept at most (then no more are made until the trie starts over).
const MAX_GATES: usize = 256;

/// Token lists and shapes a gate keeps at most, each.
const MAX_KNOWN: usize = 1024;

/// Token lists longer than this are not kept.
const MAX_TOKENS_LEN: usize = 1024;

/// Token lists of some log source a gate compares first, in place, at
/// most (the lines that read on: a process-creation rule set's own events
/// stop at the gate of the other Sysmon and Security events, ~250
/// instructions each for the copy, hash and lookup of their tokens).
const READ_ON_KEPT: usize = 4;

/// Lines before a gate whose verdict a gate keeps by their bytes
/// ([`KnownPrefixes`]), and the longest such bytes kept.
const PREFIX_SLOTS: usize = 32;
const PREFIX_MAX: usize = 128;
// A slot is indexed by a hash's top bits.
const _: () = assert!(PREFIX_SLOTS.is_power_of_two());

/// A gate is made only where at least this many members follow it in the
/// line that makes it (fewer are not worth a stop).
const MIN_REST: usize = 4;

/// Stops a gate counts before it may be retired, and the share of them
/// that must have passed (one in `PASSING`) for it to stay.
const TRIAL_STOPS: u32 = 1024;
const PASSING: u32 = 8;

/// What indexing a line with gates gave ([`MemberIndex::build_gated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gated {
    /// The line passed a gate: valid, of no rule's log source, not indexed.
    Passed,
    /// The line was indexed, as [`MemberIndex::build`] says.
    Built(bool),
}

/// What a stop at a gate leads to ([`MemberIndex::at_gate`]).
enum AtGate {
    Passed,
    ReadOn,
    Again,
}

/// How the flat pass goes on after [`MemberIndex::read_to_gate`].
pub(super) enum ToGate {
    /// It is over: what [`MemberIndex::read_flat`] returns.
    Done(Option<FlatEnd>),
    /// It reads on from here (the separator before the next member and
    /// the trie node of the names before it), stopping at no gate.
    From((u32, usize)),
}

/// One gate.
#[derive(Debug)]
struct Gate {
    /// Its node in the trie.
    node: u32,
    /// The positions of the key members before it, ascending.
    positions: Vec<u32>,
    /// Per list of those members' tokens (length-prefixed): of no rule's
    /// log source.
    verdicts: HashMap<Vec<u8>, bool, foldhash::fast::FixedState>,
    /// Per shape through it: no key member past it.
    shapes: HashMap<u64, bool, foldhash::fast::FixedState>,
    /// Token lists `verdicts` has as possibly of some source, the last
    /// [`READ_ON_KEPT`] met, compared before the lookup.
    read_on: Vec<Vec<u8>>,
    /// Stops, and the stops that passed, while on trial.
    stops: u32,
    passed: u32,
    /// The verdicts of lines by their bytes before the gate.
    prefixes: KnownPrefixes,
}

/// A gate's verdicts of its key members' tokens kept by the bytes of the
/// line before the gate, which hold those tokens: a line whose bytes
/// before the gate are another's reads the same members there (the flat
/// pass reads those bytes alone), and so the same tokens. Compared in
/// place, they spare the copy of the tokens, their hash and the lookup in
/// `verdicts` (~250 instructions a line of no log source, half of a
/// generated corpus with process_creation rules). Direct-mapped by a hash
/// of a few words of the bytes: a slot shared by chance only costs a
/// miss. Emptied whenever `verdicts` learns something.
#[derive(Debug)]
struct KnownPrefixes {
    /// Per slot: the length of the bytes (0: empty), the verdict (of no
    /// rule's log source), the bytes.
    slots: Box<[(u8, bool, [u8; PREFIX_MAX])]>,
}

impl KnownPrefixes {
    fn new() -> KnownPrefixes {
        KnownPrefixes {
            slots: vec![(0, false, [0; PREFIX_MAX]); PREFIX_SLOTS].into_boxed_slice(),
        }
    }

    /// Whether bytes this long are kept: from 16 (two words to hash) to
    /// [`PREFIX_MAX`].
    fn keeps_len(len: usize) -> bool {
        (16..=PREFIX_MAX).contains(&len)
    }

    /// The slot of `prefix` (at least 16 bytes long).
    fn slot_of(prefix: &[u8]) -> usize {
        let word = |at: usize| {
            prefix
                .get(at..at + 8)
                .and_then(|w| w.try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        let (first, second, last) = (word(0), word(8), word(prefix.len().wrapping_sub(8)));
        let mixed = first ^ second.rotate_left(21) ^ last.rotate_left(42) ^ prefix.len() as u64;
        // The product's top bits, as many as index the slots.
        let bits = PREFIX_SLOTS.trailing_zeros();
        (mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
    }

    /// The verdict kept for `prefix` (none for a length not kept: an empty
    /// slot's length is 0).
    fn get(&self, prefix: &[u8]) -> Option<bool> {
        if !Self::keeps_len(prefix.len()) {
            return None;
        }
        let (len, outside, bytes) = self.slots.get(Self::slot_of(prefix))?;
        (usize::from(*len) == prefix.len() && bytes.get(..prefix.len()) == Some(prefix))
            .then_some(*outside)
    }

    /// Keeps `outside` as the verdict of `prefix` (16 to [`PREFIX_MAX`]
    /// bytes; others are not kept).
    fn keep(&mut self, prefix: &[u8], outside: bool) {
        if !Self::keeps_len(prefix.len()) {
            return;
        }
        if let Some((len, verdict, bytes)) = self.slots.get_mut(Self::slot_of(prefix)) {
            bytes[..prefix.len()].copy_from_slice(prefix);
            (*len, *verdict) = (prefix.len() as u8, outside);
        }
    }

    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| slot.0 = 0);
    }
}

/// The gates of one trie of shapes.
#[derive(Debug, Default)]
pub(super) struct Gates {
    gates: Vec<Gate>,
    /// The gates in the trie (not retired).
    active: usize,
    /// The gate the line indexed last stopped at without passing, its
    /// tokens in `tokens`: what the engine decides of the line is taught
    /// to it.
    pending: Option<u32>,
    tokens: Vec<u8>,
}

impl Gates {
    /// Forgets every gate (the trie started over).
    pub(super) fn clear(&mut self) {
        self.gates.clear();
        self.active = 0;
        self.pending = None;
    }

    /// Whether some gate is in the trie.
    pub(super) fn any(&self) -> bool {
        self.active > 0
    }

    /// A new line: nothing pending.
    pub(super) fn start_line(&mut self) {
        self.pending = None;
    }
}

/// The value token of member `k` of `top` in `raw`, when there is one.
fn member_token<'r>(
    raw: &'r [u8],
    top: &[crate::strict_json::TopMember],
    k: u32,
) -> Option<&'r [u8]> {
    top.get(k as usize)
        .and_then(|m| raw.get(m.value.0 as usize..m.value.1 as usize))
}

/// `tokens` emptied, then the tokens of `raw` at `positions` of `top`,
/// each length-prefixed; false when one is missing.
fn tokens_at(
    raw: &[u8],
    top: &[crate::strict_json::TopMember],
    positions: &[u32],
    tokens: &mut Vec<u8>,
) -> bool {
    tokens.clear();
    for &k in positions {
        let Some(token) = member_token(raw, top, k) else {
            return false;
        };
        length_prefixed::push(tokens, token);
    }
    true
}

/// Whether the tokens of `raw` at `positions` of `top` are `list`'s (as
/// [`tokens_at`] writes them), compared in place.
fn same_tokens(
    raw: &[u8],
    top: &[crate::strict_json::TopMember],
    positions: &[u32],
    list: &[u8],
) -> bool {
    let mut rest = list;
    for &k in positions {
        let Some(token) = member_token(raw, top, k) else {
            return false;
        };
        let Some(after) = length_prefixed::strip(rest, token) else {
            return false;
        };
        rest = after;
    }
    rest.is_empty()
}

impl MemberIndex {
    /// The flat pass of a line from its `{` at `separator`, stopping at
    /// the first gate (out of line: the loop of lines without gates keeps
    /// its registers).
    #[inline(never)]
    pub(super) fn read_to_gate(
        &mut self,
        raw: &[u8],
        specials: &SpecialBytes,
        separator: usize,
        container: &mut Option<(usize, u32)>,
    ) -> ToGate {
        let mut seen = self.seen;
        let (shapes, top) = (&mut self.shapes, &mut self.top);
        let start = (shapes::ROOT, separator);
        let read = flat_members::<true>(shapes, top, &mut seen, raw, specials, start, container);
        self.seen = seen;
        match read {
            FlatRead::Ended(node) => {
                self.finish_flat(node);
                ToGate::Done(Some(FlatEnd::Read))
            }
            FlatRead::Stopped => ToGate::Done(None),
            FlatRead::Gate(node, at) => match self.at_gate(raw, specials, node, at) {
                AtGate::Passed => ToGate::Done(Some(FlatEnd::PassedGate)),
                AtGate::ReadOn => ToGate::From((node, at)),
                AtGate::Again => {
                    // From the line's start, as if no gate were there.
                    self.top.clear();
                    self.seen.hiding_escape = false;
                    self.seen.rewritten_number = false;
                    ToGate::From(start)
                }
            },
        }
    }

    /// [`MemberIndex::build`], with the flat pass allowed to stop at gates:
    /// [`Gated::Passed`] for a line that passed one (nothing indexed).
    pub(crate) fn build_gated(&mut self, raw: &[u8]) -> Gated {
        self.gating = true;
        let built = self.build(raw);
        self.gating = false;
        if self.passed_gate {
            Gated::Passed
        } else {
            Gated::Built(built)
        }
    }

    /// The flat pass stopped at the gate of `node`, the comma after the
    /// member's value at `separator`. Out of line, as the rest's reading:
    /// the flat pass keeps its registers.
    #[inline(never)]
    fn at_gate(
        &mut self,
        raw: &[u8],
        specials: &SpecialBytes,
        node: u32,
        separator: usize,
    ) -> AtGate {
        let g = self.shapes.gate_at(node);
        let Some(gate) = self.gates.gates.get_mut(g as usize) else {
            return AtGate::ReadOn;
        };
        if gate.stops < TRIAL_STOPS {
            gate.stops += 1;
        } else if gate.passed < TRIAL_STOPS / PASSING {
            // Retired: kept (so that it is not made again), out of the trie.
            self.shapes.set_gate(node, NONE);
            self.gates.active -= 1;
            return AtGate::ReadOn;
        }
        let top = &self.top;
        // The line's bytes before the gate.
        let prefix = raw.get(..separator);
        let known = prefix.and_then(|p| gate.prefixes.get(p));
        if known == Some(false)
            || known.is_none()
                && gate
                    .read_on
                    .iter()
                    .any(|list| same_tokens(raw, top, &gate.positions, list))
        {
            return AtGate::ReadOn;
        }
        let tokens = &mut self.gates.tokens;
        if known.is_none() && !tokens_at(raw, top, &gate.positions, tokens) {
            return AtGate::ReadOn;
        }
        let verdict = match known {
            Some(outside) => Some(outside),
            None => {
                let verdict = gate.verdicts.get(tokens.as_slice()).copied();
                if let (Some(outside), Some(prefix)) = (verdict, prefix) {
                    gate.prefixes.keep(prefix, outside);
                }
                verdict
            }
        };
        match verdict {
            Some(true) => {}
            Some(false) => {
                // The oldest list's allocation reused once there are
                // enough: no allocation per line in steady state.
                let mut list = match gate.read_on.len() >= READ_ON_KEPT {
                    true => gate.read_on.remove(0),
                    false => Vec::new(),
                };
                list.clear();
                list.extend_from_slice(tokens);
                gate.read_on.push(list);
                return AtGate::ReadOn;
            }
            None => {
                self.gates.pending = Some(g);
                return AtGate::ReadOn;
            }
        }
        self.gates.pending = Some(g);
        let end = rest_of_line(&self.shapes, raw, specials, separator, node);
        let clear = end
            .and_then(|end| self.shapes.shape_at(end))
            .and_then(|shape| gate.shapes.get(&shape).copied());
        if clear == Some(true) {
            self.gates.pending = None;
            if gate.stops < TRIAL_STOPS {
                gate.passed += 1;
            }
            return AtGate::Passed;
        }
        // What the engine decides of the line is taught by its tokens
        // (`learn_gate`), not copied when its bytes were known.
        if known.is_some() && !tokens_at(raw, &self.top, &gate.positions, &mut self.gates.tokens) {
            self.gates.pending = None;
        }
        AtGate::Again
    }

    /// Whether some gate is in the trie (tests).
    #[cfg(test)]
    pub(crate) fn gates_active(&self) -> bool {
        self.gates.any()
    }

    /// Whether the line indexed last stopped at a gate that has something
    /// to learn of it ([`MemberIndex::learn_gate`]).
    pub(crate) fn gate_pending(&self) -> bool {
        self.gates.pending.is_some()
    }

    /// Teaches the gates what the engine decided of the line indexed last
    /// (a flat line with a shape, no escape or character that could hide
    /// text): `positions`, the key members of its layout, ascending;
    /// `outside`, whether it is of no rule's log source. The gate it
    /// stopped at learns its tokens' verdict and whether its shape holds
    /// keys past the gate; with `make`, a line that stopped at none makes
    /// the gate after its last key member.
    pub(crate) fn learn_gate(&mut self, raw: &[u8], positions: &[u32], outside: bool, make: bool) {
        let Some(shape) = self.shape.filter(|_| self.strict) else {
            return;
        };
        if let Some(g) = self.gates.pending.take() {
            let Some(gate) = self.gates.gates.get_mut(g as usize) else {
                return;
            };
            let clear = gate.positions == positions;
            if gate.shapes.len() < MAX_KNOWN {
                gate.shapes.insert(shape, clear);
            }
            let tokens = &self.gates.tokens;
            if clear && gate.verdicts.len() < MAX_KNOWN && tokens.len() <= MAX_TOKENS_LEN {
                gate.verdicts.insert(tokens.clone(), outside);
                gate.prefixes.clear();
            }
            return;
        }
        let Some(&last) = positions.last() else {
            return;
        };
        if !make
            || self.gates.gates.len() >= MAX_GATES
            || self.top.len() < last as usize + 1 + MIN_REST
        {
            return;
        }
        // The node after the last key member, down the line's names (all
        // in the trie: the line has a shape).
        let mut node = shapes::ROOT;
        for (k, member) in self.top.iter().take(last as usize + 1).enumerate() {
            let (start, end) = (member.name.0 as usize, member.name.1 as usize);
            let Some(name) = raw.get(start..end) else {
                return;
            };
            node = self.shapes.child_named(node, k == 0, name);
            if node == NONE {
                return;
            }
        }
        // One gate per node, a retired one included.
        if self.gates.gates.iter().any(|g| g.node == node) {
            return;
        }
        let mut tokens = Vec::new();
        if !tokens_at(raw, &self.top, positions, &mut tokens) || tokens.len() > MAX_TOKENS_LEN {
            return;
        }
        let mut gate = Gate {
            node,
            positions: positions.to_vec(),
            verdicts: HashMap::default(),
            shapes: HashMap::default(),
            read_on: Vec::new(),
            stops: 0,
            passed: 0,
            prefixes: KnownPrefixes::new(),
        };
        gate.verdicts.insert(tokens, outside);
        gate.shapes.insert(shape, true);
        self.shapes.set_gate(node, self.gates.gates.len() as u32);
        self.gates.gates.push(gate);
        self.gates.active += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::{same_tokens, tokens_at, KnownPrefixes, PREFIX_MAX};
    use crate::strict_json::TopMember;
    use proptest::prelude::*;

    #[test]
    fn known_prefixes_answer_only_their_own_bytes() {
        let mut known = KnownPrefixes::new();
        let prefix = |n: u32| format!(r#"{{"EventID":{n},"Channel":"Security""#);
        // More prefixes than slots: later ones take the slots of earlier.
        for n in 0..200 {
            known.keep(prefix(n).as_bytes(), n % 3 == 0);
            assert_eq!(known.get(prefix(n).as_bytes()), Some(n % 3 == 0));
        }
        let mut answered = 0;
        for n in 0..400 {
            let got = known.get(prefix(n).as_bytes());
            assert!(got.is_none() || n < 200 && got == Some(n % 3 == 0), "{n}");
            answered += usize::from(got.is_some());
        }
        assert!(answered > 8, "{answered}");
        // The same bytes, one shorter or with a byte changed, are others.
        let kept = prefix(199);
        assert_eq!(known.get(&kept.as_bytes()[..kept.len() - 1]), None);
        assert_eq!(
            known.get(kept.replace("Security", "Securitz").as_bytes()),
            None
        );
        // Too short or too long: not kept (nor is nothing taken for an
        // empty slot).
        assert_eq!(KnownPrefixes::new().get(b""), None);
        for len in [0, 15, PREFIX_MAX + 1] {
            let bytes = vec![b'a'; len];
            known.keep(&bytes, true);
            assert_eq!(known.get(&bytes), None);
        }
        known.clear();
        assert_eq!(known.get(kept.as_bytes()), None);
    }

    /// Members holding the given tokens, one after the other in one line.
    fn members(tokens: &[Vec<u8>]) -> (Vec<u8>, Vec<TopMember>) {
        let (mut raw, mut top) = (Vec::new(), Vec::new());
        for token in tokens {
            let start = raw.len() as u32;
            raw.extend_from_slice(token);
            top.push(TopMember {
                name: (start, start),
                name_escaped: false,
                value: (start, raw.len() as u32),
                plain_string: false,
            });
        }
        (raw, top)
    }

    proptest! {
        /// The tokens compared in place are the same as when copied, for
        /// any positions (some past the members) and any list.
        #[test]
        fn tokens_compare_in_place_as_copied(
            line in prop::collection::vec(prop::collection::vec(0u8..4, 0..4), 0..5),
            positions in prop::collection::vec(0u32..6, 0..4),
            other in prop::collection::vec(0u8..4, 0..4),
            kind in 0u8..4,
        ) {
            let (raw, top) = members(&line);
            let mut copied = Vec::new();
            let found = tokens_at(&raw, &top, &positions, &mut copied);
            // A list of the line's own tokens, one byte shorter or longer
            // or with its last byte changed, or other bytes.
            let mut list = copied.clone();
            match (kind, list.last_mut()) {
                (0, _) => {}
                (1, _) => {
                    list.pop();
                }
                (2, _) => list.push(0),
                (_, Some(last)) => *last ^= 1,
                (_, None) => list = other,
            }
            prop_assert_eq!(
                same_tokens(&raw, &top, &positions, &list),
                found && copied == list
            );
        }
    }
}
