//! The strict pass's reading of a flat line (one object of scalar
//! members, the common shape of an event): a member at a time, a known
//! name by one comparison with the trie of shapes (`shapes.rs`), a new or
//! otherwise written one lexed as a string. The loop's state is kept apart
//! from the index (`MemberIndex::read_flat` lends it the fields it writes),
//! which leaves more of it in registers.

use super::shapes::{self, Shapes};
use super::{after_byte, scalar_end, skip_spaces, Seen};
use crate::special_bytes::SpecialBytes;
use crate::strict_json::{digits_end, string_end, Escapes, TopMember, MAX_PLAIN_INTEGER_DIGITS};

/// How [`flat_members`] ended.
pub(super) enum FlatRead {
    /// The line ended after a value: the trie node of its last name.
    Ended(u32),
    /// At a gate (`gates.rs`): the node of the last name read and the
    /// comma after its value.
    Gate(u32, usize),
    /// At a member holding a container (its position in `container`), or
    /// at what this pass does not read.
    Stopped,
}

/// [`MemberIndex::read_flat`](super::MemberIndex::read_flat)'s loop over
/// the members of a flat line from `start`: the separator before the next
/// member (the `{`, or a comma) and the trie node of the names before it.
/// Each member is pushed to `top` (a member holding a container too, its
/// value range empty, its position in `container` with the trie node of
/// the names up to its own). With `GATING`, the
/// loop stops at the first gate it passes, unless an escape so far could
/// hide text (a loop of its own: the check in every line's loop cost ~12
/// instructions a member).
#[inline(always)]
pub(super) fn flat_members<const GATING: bool>(
    shapes: &mut Shapes,
    top: &mut Vec<TopMember>,
    seen: &mut Seen,
    raw: &[u8],
    specials: &SpecialBytes,
    start: (u32, usize),
    container: &mut Option<(usize, u32)>,
) -> FlatRead {
    let (mut hiding, mut rewritten) = (false, false);
    // Where the names so far lie in the trie of shapes.
    let (mut node, mut separator) = start;
    // A separator inside the line (as every comma found after it is):
    // told so, the compiler keeps the trie's compare of the bytes after
    // it free of an overflow test (~6 instructions a member).
    if separator >= raw.len() {
        return FlatRead::Stopped;
    }
    let end = loop {
        let (name, name_escaped, after_colon) = match shapes.follow(node, raw, separator) {
            // A known name written as usual: its bytes are its token's.
            Some((child, after)) => {
                node = child;
                // The common member first (`common_value`), listed as the
                // general steps below would list it.
                if let Some((comma, plain, long)) = common_value::<true>(raw, specials, after) {
                    rewritten |= long;
                    top.push(TopMember {
                        name: (separator as u32 + 2, after as u32 - 2),
                        name_escaped: false,
                        value: (after as u32, comma as u32),
                        plain_string: plain,
                    });
                    separator = comma;
                    if GATING && !hiding && shapes.gate_at(node) != shapes::NONE {
                        break FlatRead::Gate(node, separator);
                    }
                    continue;
                }
                ((separator as u32 + 2, after as u32 - 2), false, after)
            }
            None => {
                let Some((child, name, escapes, after)) =
                    new_flat_name(shapes, node, raw, specials, separator)
                else {
                    break FlatRead::Stopped;
                };
                hiding |= escapes.hiding;
                node = child;
                (name, escapes.any, after)
            }
        };
        let at = match raw.get(after_colon) {
            Some(b' ') => skip_spaces(raw, after_colon),
            _ => after_colon,
        };
        let Some((end, escapes)) = scalar_end(raw, at, specials) else {
            // The member is listed, its value to be read by the general
            // pass.
            if matches!(raw.get(at), Some(b'{' | b'[')) {
                top.push(TopMember {
                    name,
                    name_escaped,
                    value: (at as u32, at as u32),
                    plain_string: false,
                });
                *container = Some((at, node));
            }
            break FlatRead::Stopped;
        };
        hiding |= escapes.hiding;
        rewritten |= escapes.rewritten_number;
        top.push(TopMember {
            name,
            name_escaped,
            value: (at as u32, end as u32),
            plain_string: !escapes.any,
        });
        // What follows a value: a comma or the end, the byte first (events
        // seldom hold spaces).
        let next = match raw.get(end) {
            Some(b' ') => skip_spaces(raw, end),
            _ => end,
        };
        match raw.get(next) {
            Some(b',') => {
                separator = next;
                if GATING && !hiding && shapes.gate_at(node) != shapes::NONE {
                    break FlatRead::Gate(node, next);
                }
            }
            Some(b'}') if skip_spaces(raw, next + 1) == raw.len() => break FlatRead::Ended(node),
            _ => break FlatRead::Stopped,
        }
    };
    seen.hiding_escape |= hiding;
    seen.rewritten_number |= rewritten;
    end
}

/// The common value at `at`: a string whose escapes, if any, are of quotes
/// and backslashes (a path's), or a positive integer with no leading zero
/// (and no fraction or exponent). The index after it, whether the value is
/// a string with no escape at all, and whether it is an integer of more
/// than 18 digits (a number the reference rewrites). With `COMMA` (the flat
/// pass), only when a comma follows right away, and the index is the
/// comma's; else the caller reads what follows. These are the
/// tokens [`scalar_end`] reads with no escape that could hide text; read
/// first, they spare the flat pass's member its general steps (spaces,
/// the token's kind, the byte after it): ~5 % of the generated events'
/// instructions with process_creation (BENCHMARKS.md, v55). The string and
/// the integer are read here, not through `string_end` and `number_token`
/// as the general steps read them: through those (measured in review) a
/// Sysmon process creation took ~200 instructions more, and through
/// `scalar_end` ~420, nearly all of the gain.
#[inline(always)]
pub(super) fn common_value<const COMMA: bool>(
    raw: &[u8],
    specials: &SpecialBytes,
    at: usize,
) -> Option<(usize, bool, bool)> {
    match *raw.get(at)? {
        b'"' => {
            let first = specials.next(at + 1);
            let (close, plain) = match raw.get(first)? {
                b'"' => (first, true),
                // Escapes of quotes and backslashes only (a path's).
                _ => (specials.string_escapes(at, |_| None)?, false),
            };
            (!COMMA || raw.get(close + 1) == Some(&b',')).then_some((close + 1, plain, false))
        }
        b'1'..=b'9' => {
            let end = digits_end(raw, at + 1);
            let long = end - at > 18;
            if long && end - at > MAX_PLAIN_INTEGER_DIGITS {
                return None;
            }
            let follows = match COMMA {
                true => raw.get(end) == Some(&b','),
                // Not a fraction or an exponent (the general steps read those).
                false => !matches!(raw.get(end), Some(b'.' | b'e' | b'E')),
            };
            follows.then_some((end, false, long))
        }
        _ => None,
    }
}

/// A name the trie does not know at `separator` (or written otherwise):
/// read as a string, then its colon; the trie node it is (added when new;
/// none for an escaped name), its range inside the quotes, its escapes,
/// and the index after the colon.
#[inline(never)]
fn new_flat_name(
    shapes: &mut Shapes,
    node: u32,
    raw: &[u8],
    specials: &SpecialBytes,
    separator: usize,
) -> Option<(u32, (u32, u32), Escapes, usize)> {
    let open = after_byte(raw, separator + 1, b'"')? - 1;
    let (name_end, escapes) = string_end(raw, open, specials)?;
    let name = (open as u32 + 1, name_end as u32 - 1);
    let child = match (escapes.any, raw.get(open + 1..name_end - 1)) {
        (false, Some(text)) => {
            let first = raw.get(separator) == Some(&b'{');
            shapes.child_named(node, first, text)
        }
        _ => shapes::NONE,
    };
    Some((child, name, escapes, after_byte(raw, name_end, b':')?))
}

/// The rest of a line whose flat pass stopped at a gate, from the comma
/// at `separator` after the member of trie node `node`: read as the flat
/// pass reads it (each name a known child in the trie, each value a
/// checked scalar), nothing listed. The trie node of the last name when
/// the line ends there; `None` at a name the trie does not know (or
/// written otherwise), a container, an escape that could hide text, or
/// anything the flat pass would not accept.
///
/// What follows a value is read by the next name's compare, whose token
/// starts with its comma; only when that fails are spaces, a comma after
/// them, or the line's end looked for (~5 instructions a member fewer
/// than a byte test after each value, and a last string value is not read
/// again by the general steps).
#[inline(never)]
pub(super) fn rest_of_line(
    shapes: &Shapes,
    raw: &[u8],
    specials: &SpecialBytes,
    mut separator: usize,
    mut node: u32,
) -> Option<u32> {
    loop {
        let Some((child, after_colon)) = shapes.follow(node, raw, separator) else {
            let next = skip_spaces(raw, separator);
            match raw.get(next) {
                // Spaces before the comma: the name compared from it.
                Some(b',') if next != separator => {
                    separator = next;
                    continue;
                }
                Some(b'}') if skip_spaces(raw, next + 1) == raw.len() => return Some(node),
                _ => return None,
            }
        };
        node = child;
        // The common member first (`common_value`), whatever follows it.
        if let Some((end, _, _)) = common_value::<false>(raw, specials, after_colon) {
            separator = end;
            continue;
        }
        let at = match raw.get(after_colon) {
            Some(b' ') => skip_spaces(raw, after_colon),
            _ => after_colon,
        };
        let (end, escapes) = scalar_end(raw, at, specials)?;
        if escapes.hiding {
            return None;
        }
        separator = end;
    }
}
