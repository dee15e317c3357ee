//! Containers built from the strict pass's index of the line
//! ([`NestedTree`]) instead of parsed again by serde_json.
//!
//! The strict pass of a nested line already lists its containers (in the
//! order they open, each with its holder's name and its parent) and its
//! scalars (byte range, name, container). Walking the two lists in line
//! order gives the container's value without lexing its bytes a second
//! time: an `evtx_dump` record's `Event`, built whole for a match's output
//! or for candidates that read it all, is most of the line. The value is
//! the one serde_json gives: members in order, the last of one name in the
//! first one's place, strings decoded, numbers read as serde_json reads
//! them. A number beyond float range does not build (`None`), as with
//! serde_json, whose parse then gives the error.
//!
//! The helpers that put values into the containers being built are shared
//! with `pruned.rs`, which builds the same walk with less than the whole.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{escaped_name, slice, token_value};
use crate::members::{NestedTree, NO_PARENT};
use crate::strict_json::unescape_str_into;

/// The containers being built, innermost last: their index in the tree,
/// the value so far, and the name they go under in their parent.
pub(super) type BuildStack = Vec<(usize, Value, Option<String>)>;

/// Buffers of [`whole_container`], kept from one build to the next.
#[derive(Debug, Default)]
pub(crate) struct WholeScratch {
    stack: BuildStack,
    /// Per container inside the one built: how many values it holds, so
    /// that its map or array is made with room for them (growing one
    /// rehashes its names).
    sizes: Vec<u32>,
}

/// The index in `tree.opens` of the container opening at byte `start`, not
/// the top-level object; `None` when no container opens there.
pub(crate) fn container_at(tree: &NestedTree<'_>, start: u32) -> Option<usize> {
    let opens = tree.opens;
    let k = opens.partition_point(|o| o.start < start);
    opens.get(k).filter(|o| o.start == start && k > 0)?;
    Some(k)
}

/// The end of the containers inside container `k` of `tree`: they follow
/// it, contiguous (containers open in line order), those whose parent is
/// it or one of them.
fn inside_end(tree: &NestedTree<'_>, k: usize) -> usize {
    let mut last = k + 1;
    while tree
        .opens
        .get(last)
        .is_some_and(|o| o.parent != NO_PARENT && o.parent as usize >= k)
    {
        last += 1;
    }
    last
}

/// The value of container `k` of `tree` (a line `text` the strict pass
/// accepted), built whole from the tree; `None` when `k` is not a
/// container below the top level or a number is beyond float range.
pub(crate) fn whole_container(
    tree: &NestedTree<'_>,
    text: &str,
    k: usize,
    scratch: &mut WholeScratch,
) -> Option<Value> {
    let opens = tree.opens;
    let first = opens.get(k).filter(|_| k > 0)?;
    let last = inside_end(tree, k);
    let inside = |open: u32| (k..last).contains(&(open as usize));
    // Its scalars, contiguous too, start after its opening bracket.
    let first_scalar = tree.scalars_within(first.start, u32::MAX).start;
    let WholeScratch { stack, sizes } = scratch;
    sizes.clear();
    sizes.resize(last - k, 0);
    for o in opens.get(k + 1..last)? {
        *sizes.get_mut((o.parent as usize).checked_sub(k)?)? += 1;
    }
    let mut s = first_scalar;
    while let Some((_, _, open)) = tree.scalar(s).filter(|&(_, _, o)| inside(o)) {
        *sizes.get_mut(open as usize - k)? += 1;
        s += 1;
    }
    let sized = |text: &str, c: usize, start: u32| {
        let size = *sizes.get(c - k)? as usize;
        match text.as_bytes().get(start as usize)? {
            b'{' => Some(Value::Object(Map::with_capacity(size))),
            b'[' => Some(Value::Array(Vec::with_capacity(size))),
            _ => None,
        }
    };
    let mut s = first_scalar;
    stack.clear();
    stack.push((k, sized(text, k, first.start)?, None));
    let mut c = k + 1;
    loop {
        let open = opens.get(c).filter(|_| c < last);
        let scalar = tree.scalar(s).filter(|&(_, _, o)| inside(o));
        match (open, scalar) {
            (None, None) => break,
            (Some(o), scalar) if scalar.is_none_or(|(span, _, _)| o.start < span.0) => {
                c += 1;
                close_until(stack, o.parent as usize)?;
                let name = name_in(stack, text, o.holder)?;
                stack.push((c - 1, sized(text, c - 1, o.start)?, name));
            }
            (_, Some(((a, b), name, open))) => {
                s += 1;
                close_until(stack, open as usize)?;
                let name = name_in(stack, text, name)?;
                put(stack, name, token_value(text.get(a as usize..b as usize)?)?)?;
            }
            _ => return None,
        }
    }
    close_until(stack, k)?;
    stack.pop().map(|(_, value, _)| value)
}

/// Where [`refill_container`]'s walk is in the tree's two lists: the next
/// container and the next scalar, in line order.
struct Cursor {
    container: usize,
    scalar: usize,
    /// The end of the containers inside the one refilled.
    last: usize,
}

/// The next container or scalar of the tree in line order, when it is held
/// by container `me`: a container's index, or a scalar's range and name.
enum Child {
    Container(usize),
    Scalar((u32, u32), Option<(u32, u32)>),
}

impl Cursor {
    /// Takes the next item of the tree when container `me` holds it.
    fn next_in(&mut self, tree: &NestedTree<'_>, me: usize) -> Option<Child> {
        let open = tree
            .opens
            .get(self.container)
            .filter(|_| self.container < self.last);
        let scalar = tree.scalar(self.scalar);
        match (open, scalar) {
            (Some(o), scalar) if scalar.is_none_or(|(span, _, _)| o.start < span.0) => {
                (o.parent as usize == me).then(|| {
                    self.container += 1;
                    Child::Container(self.container - 1)
                })
            }
            (_, Some((span, name, open))) => (open as usize == me).then(|| {
                self.scalar += 1;
                Child::Scalar(span, name)
            }),
            _ => None,
        }
    }
}

/// Writes the value of container `k` of `tree` (a line `text` the strict
/// pass accepted) into `value`, an earlier line's value of a container
/// with the same members: each scalar replaced (a string written into the
/// old one's allocation), the maps and arrays kept, no name hashed again.
/// `None` when the members differ (names, order, count, kinds of value;
/// a line that repeats a name is never refilled) or a number is beyond
/// float range: then `value` is half written and must be built afresh.
pub(crate) fn refill_container(
    tree: &NestedTree<'_>,
    text: &str,
    k: usize,
    value: &mut Value,
) -> Option<()> {
    let first = tree.opens.get(k).filter(|_| k > 0)?;
    let last = inside_end(tree, k);
    let mut cursor = Cursor {
        container: k + 1,
        scalar: tree.scalars_within(first.start, u32::MAX).start,
        last,
    };
    refill_kind(tree, text, k, value, &mut cursor)
}

/// [`refill_in`] when `value` is the kind of container `k` is (an object
/// or an array), else `None`.
fn refill_kind(
    tree: &NestedTree<'_>,
    text: &str,
    k: usize,
    value: &mut Value,
    cursor: &mut Cursor,
) -> Option<()> {
    let opening = text.as_bytes().get(tree.opens.get(k)?.start as usize)?;
    match (opening, &*value) {
        (b'{', Value::Object(_)) | (b'[', Value::Array(_)) => {
            refill_in(tree, text, k, value, cursor)
        }
        _ => None,
    }
}

/// [`refill_container`] of container `me` into `value`, from `cursor`
/// (just past `me`'s opening) to past its last item.
fn refill_in(
    tree: &NestedTree<'_>,
    text: &str,
    me: usize,
    value: &mut Value,
    cursor: &mut Cursor,
) -> Option<()> {
    let fill = |child: Child, old: &mut Value, cursor: &mut Cursor| match child {
        Child::Container(c) => refill_kind(tree, text, c, old, cursor),
        Child::Scalar((a, b), _) => refill_scalar(old, text.get(a as usize..b as usize)?),
    };
    match value {
        Value::Object(map) => {
            for (key, old) in map.iter_mut() {
                let child = cursor.next_in(tree, me)?;
                let name = match &child {
                    Child::Container(c) => tree.opens.get(*c)?.holder,
                    Child::Scalar(_, name) => *name,
                };
                if *tree_name(text, name?)? != **key {
                    return None;
                }
                fill(child, old, cursor)?;
            }
        }
        Value::Array(items) => {
            for old in items.iter_mut() {
                let child = cursor.next_in(tree, me)?;
                fill(child, old, cursor)?;
            }
        }
        _ => return None,
    }
    // Nothing more in it.
    match cursor.next_in(tree, me) {
        Some(_) => None,
        None => Some(()),
    }
}

/// Writes the value of a scalar token the strict pass accepted into `old`:
/// a string into the old string's allocation; `None` for a number beyond
/// float range.
pub(super) fn refill_scalar(old: &mut Value, token: &str) -> Option<()> {
    if let (Value::String(text), Some(body)) = (
        &mut *old,
        token.strip_prefix('"').and_then(|t| t.strip_suffix('"')),
    ) {
        text.clear();
        if unescape_str_into(body, text).is_some() {
            return Some(());
        }
    }
    *old = token_value(token)?;
    Some(())
}

/// An empty object or array, as the container at `start` is.
pub(super) fn empty_like(text: &str, start: u32) -> Option<Value> {
    match text.as_bytes().get(start as usize)? {
        b'{' => Some(Value::Object(Map::new())),
        b'[' => Some(Value::Array(Vec::new())),
        _ => None,
    }
}

/// Closes the containers being built until container `open` is the
/// innermost, each put into the one around it; `None` when `open` is not
/// being built.
pub(super) fn close_until(stack: &mut BuildStack, open: usize) -> Option<()> {
    loop {
        let &(innermost, _, _) = stack.last()?;
        if innermost == open {
            return Some(());
        }
        let (_, value, name) = stack.pop()?;
        put(stack, name, value)?;
    }
}

/// Puts `value` into the innermost container being built: under `name` in
/// an object (the last of one name wins, in the first one's place, as in a
/// full parse), at the end of an array.
pub(super) fn put(
    stack: &mut [(usize, Value, Option<String>)],
    name: Option<String>,
    value: Value,
) -> Option<()> {
    match (&mut stack.last_mut()?.1, name) {
        (Value::Object(map), Some(name)) => {
            map.insert(name, value);
        }
        (Value::Array(items), _) => items.push(value),
        _ => return None,
    }
    Some(())
}

/// The name a value goes under in the innermost container being built:
/// `name` decoded in an object, none in an array (whose elements `name`
/// gives the array's holder).
pub(super) fn name_in(
    stack: &[(usize, Value, Option<String>)],
    text: &str,
    name: Option<(u32, u32)>,
) -> Option<Option<String>> {
    match (&stack.last()?.1, name) {
        (Value::Object(_), Some(name)) => tree_name(text, name).map(|n| Some(n.into_owned())),
        (Value::Object(_), None) => None,
        _ => Some(None),
    }
}

/// A member name (the byte range inside its quotes), decoded.
fn tree_name(text: &str, name: (u32, u32)) -> Option<Cow<'_, str>> {
    let written = slice(text, name)?;
    if written.contains('\\') {
        escaped_name(text, name).map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::MemberIndex;
    use crate::partial::tests::nested_json;
    use proptest::prelude::*;

    /// Each container below the top level of `raw` built from the tree,
    /// against serde_json's parse of its bytes; how many there were (none
    /// when the strict pass did not give a tree).
    fn check_every_container(raw: &str) -> Result<usize, TestCaseError> {
        let index = MemberIndex::built(raw.as_bytes());
        let Some(tree) = index.nested_tree() else {
            return Ok(0);
        };
        let mut scratch = WholeScratch::default();
        for k in 1..tree.opens.len() {
            let start = tree.opens[k].start;
            prop_assert_eq!(container_at(&tree, start), Some(k));
            let mut de = serde_json::Deserializer::from_str(&raw[start as usize..]);
            let want = <Value as serde::Deserialize>::deserialize(&mut de).ok();
            let got = whole_container(&tree, raw, k, &mut scratch);
            prop_assert_eq!(got, want, "{} container {}", raw, k);
        }
        Ok(tree.opens.len() - 1)
    }

    #[test]
    fn containers_build_as_serde_json_parses_them() {
        let lines = [
            r#"{"Event":{"System":{"EventID":1,"Channel":"C"},"EventData":{"A":"x","B":[1,{"c":null},[]],"D":{}}}}"#,
            r#"{"a":[[1,2],[3,[4,{"b":"\u00e9\\\"","b":true}]]],"e":{"x":{"y":{"z":-5}}},"f":1.5e3}"#,
            r#"{"n":{"big":123456789012345678901,"neg":-0,"f":0.10,"i":-12,"z":0}}"#,
            r#"{"d":{"x":1,"y":{"x":2},"x":{"q":[3]}},"t":{"\u0041":1,"A":2}}"#,
            r#"{"s":{"a b":" spaced ","esc\\n":"tab\there","k":"\/slash"}}"#,
            r#"{"arr":[{"a":1},{"a":2},{}],"o":{"":""}}"#,
        ];
        for raw in lines {
            assert!(check_every_container(raw).expect(raw) > 0, "{raw}");
        }
    }

    #[test]
    fn a_number_beyond_float_range_does_not_build() {
        // The strict pass refuses such a line; given one over the index of a
        // line within range (the same tokens' places), nothing builds.
        let raw = r#"{"a":{"b":[1e400]}}"#;
        assert!(MemberIndex::built(raw.as_bytes()).top_members().is_none());
        let index = MemberIndex::built(br#"{"a":{"b":[1e300]}}"#);
        let tree = index.nested_tree().expect("nested");
        let mut scratch = WholeScratch::default();
        assert_eq!(whole_container(&tree, raw, 1, &mut scratch), None);
        assert_eq!(whole_container(&tree, raw, 0, &mut scratch), None);
        assert_eq!(container_at(&tree, 0), None);
    }

    /// Container `k` of `raw` (built whole) refilled from `other`'s
    /// container `k`: the value `other`'s gives, or `None` when the
    /// refill refused.
    fn refilled(raw: &str, other: &str, k: usize) -> Option<Value> {
        let index = MemberIndex::built(raw.as_bytes());
        let tree = index.nested_tree()?;
        let mut value = whole_container(&tree, raw, k, &mut WholeScratch::default())?;
        let index = MemberIndex::built(other.as_bytes());
        let tree = index.nested_tree()?;
        refill_container(&tree, other, k, &mut value).map(|()| value)
    }

    #[test]
    fn a_container_of_the_same_members_is_refilled() {
        let a =
            r#"{"Event":{"S":{"Id":1,"C":"x"},"D":{"A":"long text","B":[1,{"c":null}],"E":{}}}}"#;
        let b = r#"{"Event":{"S":{"Id":-2,"C":"y\\z"},"D":{"A":"t","B":["s",{"c":2.5}],"E":{}}}}"#;
        let want: Value = serde_json::from_str(&b[9..b.len() - 1]).unwrap();
        assert_eq!(refilled(a, b, 1), Some(want));
        // Other names, another order, one more or one less member, another
        // kind of container, a repeated name: refused.
        for other in [
            r#"{"Event":{"S":{"Id":1,"K":"x"},"D":{"A":"t","B":[1,{"c":null}],"E":{}}}}"#,
            r#"{"Event":{"S":{"C":"x","Id":1},"D":{"A":"t","B":[1,{"c":null}],"E":{}}}}"#,
            r#"{"Event":{"S":{"Id":1,"C":"x"},"D":{"A":"t","B":[1,{"c":null},3],"E":{}}}}"#,
            r#"{"Event":{"S":{"Id":1,"C":"x"},"D":{"A":"t","B":[1],"E":{}}}}"#,
            r#"{"Event":{"S":{"Id":1,"C":"x"},"D":{"A":"t","B":[1,[null]],"E":{}}}}"#,
            r#"{"Event":{"S":{"Id":1,"C":"x"},"D":{"A":"t","B":[1,{"c":null}],"E":{"x":1}}}}"#,
            r#"{"Event":{"S":{"Id":1,"Id":1},"D":{"A":"t","B":[1,{"c":null}],"E":{}}}}"#,
            r#"{"Event":{"S":{"Id":1,"C":"x","C":"y"},"D":{"A":"t","B":[1,{"c":null}],"E":{}}}}"#,
        ] {
            assert_eq!(refilled(a, other, 1), None, "{other}");
        }
    }

    /// A JSON value as text: nested objects and arrays of scalars written
    /// in many ways (escapes, numbers serde_json reads otherwise, repeated
    /// and empty names, spaces).
    fn value() -> impl Strategy<Value = String> {
        let scalars = vec![
            "1",
            "-7",
            "-0",
            "0.5",
            "2E-3",
            "18446744073709551616",
            "null",
            "true",
            "\"x\"",
            "\"\"",
            "\"a\\\\b\\u00e9\\\"\"",
            "\"\\ud83d\\ude00 \\/\"",
        ];
        let names = vec!["a", "b", "", "Event Data", "\\u0061", "q\\\\"];
        nested_json(scalars, names, (5, 60, 6), true)
    }

    proptest::proptest! {
        /// Every container of a nested line builds from the tree into the
        /// value serde_json parses from its bytes.
        #[test]
        fn a_refill_gives_the_value_parsed(event in value(), other in value()) {
            let a = format!("{{\"Event\":{event}}}");
            let b = format!("{{\"Event\":{other}}}");
            prop_assume!(a.as_bytes().get(9).is_some_and(|c| matches!(c, b'{' | b'[')));
            prop_assume!(b.as_bytes().get(9).is_some_and(|c| matches!(c, b'{' | b'[')));
            let want: Value = serde_json::from_str(&b[9..b.len() - 1]).expect("valid");
            if let Some(got) = refilled(&a, &b, 1) {
                prop_assert_eq!(got, want.clone());
            }
            // A line refills a value of its own members.
            let again = refilled(&b, &b, 1);
            let repeats = {
                let index = MemberIndex::built(b.as_bytes());
                let tree = index.nested_tree().expect("nested");
                let names = crate::partial::NestedLeaves::of(
                    b.as_bytes(),
                    &tree,
                    &crate::partial::LeafNames::new(&hypersigma_compiler::Profile::evtx(), &Default::default()),
                );
                names.repeated_names
            };
            if !repeats {
                prop_assert_eq!(again, Some(want));
                // The same members with other scalars: each token `1`
                // written as a string.
                let bytes = b.as_bytes();
                let mut c = String::new();
                for (i, ch) in b.char_indices() {
                    let lone = ch == '1'
                        && i > 0
                        && matches!(bytes[i - 1], b':' | b'[' | b',')
                        && matches!(bytes.get(i + 1), Some(b',' | b']' | b'}'));
                    if lone { c.push_str("\"one\""); } else { c.push(ch); }
                }
                let want: Value = serde_json::from_str(&c[9..c.len() - 1]).expect("valid");
                prop_assert_eq!(refilled(&b, &c, 1), Some(want));
            }
        }

        #[test]
        fn every_container_builds_as_parsed(event in value(), other in value()) {
            let raw = format!("{{\"Event\":{event},\"x\":{other}}}");
            let built = check_every_container(&raw)?;
            // Every line that holds a container is given a tree.
            prop_assert!(built > 0 || !raw[1..].contains(['{', '[']), "{}", raw);
        }
    }
}
