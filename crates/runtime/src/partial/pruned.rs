//! Containers built with only what the candidates can read.
//!
//! An `evtx_dump` record has one top-level member, `Event`, holding its ~40
//! named values in a dozen objects; the candidates of an event read a
//! handful of them. Built whole by serde_json (every name and string
//! allocated, every name hashed into an order-keeping map) a 1.1 kB record
//! costs ~49,000 instructions; walked by serde_json without building
//! anything, ~12,600 (BENCHMARKS.md, "fast path v32").
//!
//! Lookups walk objects by name (`leaves.rs`): the value of a member is read
//! only when its name is one of the candidates' leaves (or holds a space or
//! an escape), or when a member holding it is read. So a container's value
//! is built from the strict pass's index of the line (`NestedTree`), not
//! parsed again: a member whose name the candidates read is built whole
//! (a container as `from_tree.rs` builds it, a scalar decoded from its
//! token); a container holding such a member somewhere is built holding it,
//! under the same names; everything else is left out. A lookup that reaches a
//! left-out name would have found nothing there anyway: a scalar of an
//! unread name is never read, and a container holding nothing read yields
//! nothing read. Arrays keep only their built elements (lookups walk them
//! in order, never by position).
//!
//! Two members of one name in an object would break this (the last wins:
//! an unread scalar after a read container hides it), so a line whose
//! layout has them is built whole ([`NestedLeaves::repeated_names`]). The
//! members left out need no check of their own: the strict pass checked
//! the whole line as a full parse does (number ranges included). A value
//! built so is never the whole event: a match parses the line again for
//! output.

use serde_json::Value;

use super::from_tree::{
    close_until, empty_like, name_in, put, whole_container, BuildStack, WholeScratch,
};
use super::{reads_leaf, token_value, LeafNames, NestedLeaves};
use crate::members::NestedTree;

/// Which members of an event's containers are built: the event's tree,
/// the leaves of its names, and those its candidates read.
pub(crate) struct Prune<'a> {
    /// The strict pass's containers and scalars of the line.
    pub(crate) tree: NestedTree<'a>,
    /// The leaf of each container's holder and each scalar's name.
    pub(crate) names: &'a NestedLeaves,
    /// The profile's leaf names (for top-level members' names).
    pub(crate) leaves: &'a LeafNames,
    /// The candidates' leaves ([`LeafNames::union_of`]).
    pub(crate) bits: &'a [u64],
    /// Per container of the one being built: held (inside a member read
    /// whole) and needed (holding something read).
    pub(crate) scratch: &'a mut PruneScratch,
}

/// Buffers of [`Prune::build`], kept from one event to the next.
#[derive(Debug, Default)]
pub(crate) struct PruneScratch {
    held: Vec<bool>,
    needed: Vec<bool>,
    /// The containers being built, innermost last: their index in the
    /// tree, the value so far, and the name they go under in their parent.
    stack: BuildStack,
    /// A container read whole's ([`whole_container`]).
    whole: WholeScratch,
}

impl Prune<'_> {
    /// Whether a candidate may read the value of a top-level member of
    /// this name (as written, escapes and all).
    pub(crate) fn reads_name(&self, name: &[u8]) -> bool {
        reads_leaf(self.bits, self.leaves.leaf_of(name))
    }

    /// The container at bytes `start..end` of `text` (the value of a
    /// top-level member whose name no candidate reads), with only what the
    /// candidates can read; `None` when the tree does not hold it or a
    /// value does not build (a number beyond float range).
    pub(crate) fn build(&mut self, text: &str, (start, end): (u32, u32)) -> Option<Value> {
        let opens = self.tree.opens;
        let top = opens.partition_point(|o| o.start < start);
        opens.get(top).filter(|o| o.start == start && top > 0)?;
        let last = opens.partition_point(|o| o.start < end);
        let count = last.checked_sub(top)?;
        let (held, needed) = (&mut self.scratch.held, &mut self.scratch.needed);
        held.clear();
        held.resize(count, false);
        needed.clear();
        needed.resize(count, false);
        // Marks container `k` and those around it (up to `top`) needed.
        let mark = |needed: &mut Vec<bool>, mut k: usize| {
            while let Some(slot) = k.checked_sub(top).and_then(|at| needed.get_mut(at)) {
                if *slot {
                    break;
                }
                *slot = true;
                k = opens.get(k).map_or(usize::MAX, |o| o.parent as usize);
            }
        };
        for k in top + 1..last {
            let parent = opens.get(k)?.parent as usize;
            let by_parent = *held.get(parent.checked_sub(top)?)?;
            let read = reads_leaf(self.bits, *self.names.opens.get(k)?);
            *held.get_mut(k - top)? = by_parent || read;
            if read && !by_parent {
                mark(needed, k);
            }
        }
        let scalars = self.tree.scalars_within(start, end);
        for s in scalars.clone() {
            let (_, _, open) = self.tree.scalar(s)?;
            let at = (open as usize).checked_sub(top)?;
            if !*held.get(at)? && reads_leaf(self.bits, *self.names.scalars.get(s)?) {
                mark(needed, open as usize);
            }
        }
        // The built containers and scalars, in line order.
        let (stack, whole) = (&mut self.scratch.stack, &mut self.scratch.whole);
        stack.clear();
        stack.push((top, empty_like(text, start)?, None));
        let (mut k, mut s) = (top + 1, scalars.start);
        while k < last || s < scalars.end {
            let open = opens.get(k).filter(|_| k < last);
            let scalar = self.tree.scalar(s).filter(|_| s < scalars.end);
            match (open, scalar) {
                (Some(o), scalar) if scalar.is_none_or(|(span, _, _)| o.start < span.0) => {
                    let inside = k - top;
                    let parent = o.parent as usize;
                    k += 1;
                    let parent_held = *held.get(parent.checked_sub(top)?)?;
                    if !*needed.get(inside)? || parent_held {
                        continue;
                    }
                    close_until(stack, parent)?;
                    let name = name_in(stack, text, o.holder)?;
                    if *held.get(inside)? {
                        // Built whole from the tree.
                        let value = whole_container(&self.tree, text, k - 1, whole)?;
                        put(stack, name, value)?;
                    } else {
                        stack.push((k - 1, empty_like(text, o.start)?, name));
                    }
                }
                (_, Some(((a, b), name, open))) => {
                    let leaf = *self.names.scalars.get(s)?;
                    s += 1;
                    let inside = (open as usize).checked_sub(top)?;
                    if *held.get(inside)? || !reads_leaf(self.bits, leaf) {
                        continue;
                    }
                    close_until(stack, open as usize)?;
                    let name = name_in(stack, text, name)?;
                    put(stack, name, token_value(text.get(a as usize..b as usize)?)?)?;
                }
                _ => return None,
            }
        }
        close_until(stack, top)?;
        stack.pop().map(|(_, value, _)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::MemberIndex;
    use crate::partial::tests::{nested_json, reads};
    use hypersigma_compiler::Profile;
    use proptest::prelude::*;

    /// The value of `raw`'s top-level member `Event`, pruned for a rule
    /// with `detection` under the `evtx_dump` profile; `None` when the
    /// layout repeats a name (then it is built whole).
    fn pruned(detection: &str, raw: &str) -> Option<Value> {
        pruned_over(detection, raw, raw)
    }

    /// [`pruned`] over the index of `indexed`, a line of `raw`'s layout
    /// (its tokens at the same places).
    fn pruned_over(detection: &str, indexed: &str, raw: &str) -> Option<Value> {
        let leaves = LeafNames::new(&Profile::evtx(), &reads(detection));
        let bits = leaves.rule_bits(0).expect("rule 0").to_vec();
        let index = MemberIndex::built(indexed.as_bytes());
        let tree = index.nested_tree().expect("a nested line");
        let names = NestedLeaves::of(raw.as_bytes(), &tree, &leaves);
        if names.repeated_names {
            return None;
        }
        let value = index.top_members().expect("strict")[0].value;
        let mut scratch = PruneScratch::default();
        let mut prune = Prune {
            tree,
            names: &names,
            leaves: &leaves,
            bits: &bits,
            scratch: &mut scratch,
        };
        prune.build(raw, value)
    }

    #[test]
    fn read_members_stay_whole_and_the_rest_goes() {
        let detection = "    s: {CommandLine|contains: 'x', a.b.Tail: 'y'}\n    condition: s";
        let raw = r##"{"Event":{"System":{"EventID":1,"Channel":"C","EventRecordID":7,
            "TimeCreated":{"#attributes":{"SystemTime":"t"}}},
            "EventData":{"CommandLine":{"#text":"c","x":[1,{"y":2}]},"UtcTime":"u",
            "Image Path":"p\"q","a":[1,{"b":{"Tail":[1,2],"Other":3}},"s",[{"Tail":null}]],
            "Esc\u0061ped":2.5,"Empty":{},"Hash\\es":"h"}}}"##;
        // One line (the strict pass takes spaces between tokens, not line
        // feeds).
        let got = pruned(detection, &raw.replace('\n', "")).expect("built");
        let want: Value = serde_json::from_str(
            r##"{"System":{"EventID":1,"Channel":"C"},
            "EventData":{"CommandLine":{"#text":"c","x":[1,{"y":2}]},"Image Path":"p\"q",
            "a":[{"b":{"Tail":[1,2]}},[{"Tail":null}]],"Escaped":2.5,"Hash\\es":"h"}}"##,
        )
        .expect("json");
        assert_eq!(got, want);
    }

    #[test]
    fn nothing_read_gives_an_empty_container() {
        let detection = "    s: {CommandLine|contains: 'x'}\n    condition: s";
        let got = pruned(detection, r#"{"Event":{"A":{"B":1},"C":[1,2]}}"#);
        assert_eq!(got, Some(serde_json::json!({})));
        let got = pruned(detection, r#"{"Event":[{"A":1},2]}"#);
        assert_eq!(got, Some(serde_json::json!([])));
    }

    #[test]
    fn repeated_names_are_told_decoded() {
        let detection = "    s: {CommandLine|contains: 'x'}\n    condition: s";
        assert_eq!(
            pruned(detection, r#"{"Event":{"A":{"CommandLine":"x"},"A":3}}"#),
            None
        );
        assert_eq!(
            pruned(detection, r#"{"Event":{"\u0041":{"B":1},"A":3}}"#),
            None
        );
        // One name in two objects is not repeated.
        let got = pruned(
            detection,
            r#"{"Event":{"A":{"CommandLine":"x"},"B":{"A":3}}}"#,
        );
        assert_eq!(got, Some(serde_json::json!({"A": {"CommandLine": "x"}})));
    }

    #[test]
    fn a_read_number_beyond_float_range_does_not_build() {
        // The strict pass refuses such a line; the builder, given one over
        // the index of a line within range, refuses it too where it reads.
        let beyond = r#"{"Event":{"CommandLine":1e400}}"#;
        assert!(MemberIndex::built(beyond.as_bytes())
            .top_members()
            .is_none());
        let detection = "    s: {CommandLine: 1}\n    condition: s";
        let within = r#"{"Event":{"CommandLine":1e300}}"#;
        assert_eq!(pruned_over(detection, within, beyond), None);
        let within = r#"{"Event":{"Other":1e300,"CommandLine":1}}"#;
        let beyond = r#"{"Event":{"Other":1e400,"CommandLine":1}}"#;
        let got = pruned_over(detection, within, beyond);
        assert_eq!(got, Some(serde_json::json!({"CommandLine": 1})));
    }

    /// A JSON value as text: objects and arrays of a few names (leaves,
    /// names on the profile's paths, escaped and spaced ones, repeats).
    fn value() -> impl Strategy<Value = String> {
        let scalars = vec!["1", "null", "\"x\"", "\"a\\\\b\\u00e9\""];
        let names = vec![
            "CommandLine",
            "Image",
            "a",
            "b",
            "Tail",
            "Other",
            "Image Path",
            "Im\\u0061ge",
            "#text",
            "EventData",
            "UserData",
            "Data",
        ];
        nested_json(scalars, names, (4, 40, 5), false)
    }

    proptest::proptest! {
        /// Every lookup of a field the rule reads finds the same values, in
        /// the same order, in the pruned event as in the whole one.
        #[test]
        fn lookups_find_what_they_find_in_the_whole_event(
            event in value(),
            fields in proptest::sample::subsequence(
                vec!["CommandLine", "Image", "a.b.Tail", "Tail", "ImagePath", "Data"], 1..4),
        ) {
            let raw = format!("{{\"Event\":{event}}}");
            prop_assume!(raw.as_bytes().get(9) == Some(&b'{'));
            let body: Vec<String> =
                fields.iter().map(|f| format!("{f}: 'x'")).collect();
            let detection = format!("    s: {{{}}}\n    condition: s", body.join(", "));
            let Some(pruned) = pruned(&detection, &raw) else {
                // A repeated name: built whole.
                return Ok(());
            };
            let whole: Value = serde_json::from_str(&raw).expect("valid");
            let pruned = serde_json::json!({"Event": pruned});
            let profile = Profile::evtx();
            let found = |event: &Value, field: &str| {
                let mut values = Vec::new();
                profile.lookup_each(event, field, |v| values.push(v.clone()));
                values
            };
            for field in ["CommandLine", "Image", "a.b.Tail", "Tail", "ImagePath", "Data", "Channel", "EventID"] {
                if fields.contains(&field) || field == "Channel" || field == "EventID" {
                    proptest::prop_assert_eq!(found(&pruned, field), found(&whole, field), "{} {}", raw, field);
                }
            }
        }
    }
}
