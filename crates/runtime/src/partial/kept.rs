//! The members stage 2 built for recent events, kept to be refilled.
//!
//! Building the wanted members of an event ([`super::parse_indexed_whole`])
//! costs, per member, the name's allocation and hash and its insertion
//! (`serde_json`'s map keeps the members' order: an `IndexMap` under
//! SipHash), then the value's allocation and decoding: ~1,200 instructions
//! for a member of a process creation, eight members an event. Yet the
//! events that reach evaluation want few distinct lists of names (one per
//! kind of event and set of fields its candidates read: 18 over 19,000
//! generated process creations evaluated), and many of their values repeat
//! (channel, image, parent, user).
//!
//! So the map built for each list of wanted names is kept ([`KEPT_MAPS`] at
//! most), with the value tokens it was built from as written. An event whose
//! wanted names are a kept map's keys, in order, refills that map in place:
//! a value whose token is byte for byte the kept one stays, the others are
//! built again; nothing is hashed or inserted. Otherwise the map is built
//! afresh, and kept in turn. Equal names in equal order (the kept keys are
//! distinct, so the event's wanted names are too) and equal tokens give the
//! map a fresh build gives. Bounded: maps whose values take more than
//! [`KEPT_TOKENS_MAX`] bytes as written are not kept.

use std::hash::{BuildHasher, Hasher};

use serde_json::{Map, Value};

use super::{build_members, member_name, refill_value, slice};
use crate::members::NestedTree;
use crate::strict_json::TopMember;

/// Maps kept at most (one per list of wanted names; the oldest goes): the
/// evaluated events of a generated corpus want more than 16 lists with all
/// SigmaHQ rules, and fewer than 64.
const KEPT_MAPS: usize = 64;
/// A map whose value tokens take more bytes is not kept (nor its tokens):
/// what the store holds stays small whatever the lines' length.
const KEPT_TOKENS_MAX: usize = 16 << 10;

/// The built members of recent events (one store per scanner).
#[derive(Debug, Default)]
pub(crate) struct KeptMembers {
    kept: Vec<Kept>,
    /// The entry the last build refilled or made, while its map is out
    /// (given back by [`KeptMembers::keep`]).
    out: Option<usize>,
    /// The build in progress's value tokens (swapped into its entry).
    tokens: Tokens,
    /// The wanted members of the build in progress.
    wanted: Vec<bool>,
    /// Entries made, for picking the oldest.
    made: u64,
    /// Events whose map was refilled (for tests).
    refilled: u64,
}

/// One list of wanted names: its map (while not out) and the value tokens
/// it holds.
#[derive(Debug, Default)]
struct Kept {
    /// A hash of the wanted names, in order.
    signature: u64,
    map: Option<Map<String, Value>>,
    /// The map's value tokens.
    tokens: Tokens,
    /// When the entry was made (the oldest is replaced).
    made: u64,
}

/// Value tokens as written, one after another, and where each ends.
#[derive(Debug, Default)]
struct Tokens {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl Tokens {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn push(&mut self, token: &str) {
        self.bytes.extend_from_slice(token.as_bytes());
        self.ends.push(self.bytes.len() as u32);
    }

    /// Becomes a copy of `other`, in its own allocation.
    fn copy_from(&mut self, other: &Tokens) {
        self.clear();
        self.bytes.extend_from_slice(&other.bytes);
        self.ends.extend_from_slice(&other.ends);
    }

    /// How many tokens there are.
    fn count(&self) -> usize {
        self.ends.len()
    }

    /// Token `i`.
    fn get(&self, i: usize) -> Option<&[u8]> {
        let start = match i {
            0 => 0,
            _ => *self.ends.get(i - 1)? as usize,
        };
        let end = *self.ends.get(i)? as usize;
        self.bytes.get(start..end)
    }
}

impl KeptMembers {
    /// Forgets which entry's map is out: the next [`KeptMembers::keep`]
    /// takes back nothing unless a [`KeptMembers::build`] lends a map first.
    /// Called before each event's parse, so that the map of an event handed
    /// on for output (never given back), or an event parsed otherwise,
    /// never goes back in place of another entry's map (its tokens would
    /// then describe other values).
    pub(super) fn lend_nothing(&mut self) {
        self.out = None;
    }

    /// Gives back the event the last [`KeptMembers::build`] gave (for this
    /// event: see [`KeptMembers::lend_nothing`]), to be refilled by a later
    /// one.
    pub(crate) fn keep(&mut self, event: Value) {
        let entry = self.out.take().and_then(|i| self.kept.get_mut(i));
        if let (Value::Object(map), Some(entry)) = (event, entry) {
            entry.map = Some(map);
        }
    }

    /// Events whose members were refilled in a kept map.
    #[cfg(test)]
    pub(crate) fn refilled(&self) -> u64 {
        self.refilled
    }

    /// The wanted members (`wants` of each member's position and name) of a
    /// line the strict pass accepted, refilling the kept map of the same
    /// wanted names when there is one; `None` when a member does not build
    /// (a number beyond float range).
    pub(super) fn build(
        &mut self,
        text: &str,
        top: &[TopMember],
        mut wants: impl FnMut(usize, &str) -> bool,
        tree: Option<&NestedTree<'_>>,
    ) -> Option<Map<String, Value>> {
        // The caller forgot the last loan ([`KeptMembers::lend_nothing`]).
        self.wanted.clear();
        let mut names = foldhash::fast::FixedState::default().build_hasher();
        for (k, member) in top.iter().enumerate() {
            let name = member_name(text, member)?;
            let wanted = wants(k, &name);
            self.wanted.push(wanted);
            if wanted {
                names.write(name.as_bytes());
                names.write_u8(0xff);
            }
        }
        let signature = names.finish();
        let found = self.kept.iter().position(|e| e.signature == signature);
        if let Some(i) = found {
            if let Some(mut map) = self.kept[i].map.take() {
                if self.refill(i, &mut map, text, top, tree)? {
                    self.refilled += 1;
                    return Some(self.built(i, map));
                }
            }
        }
        // A fresh build, recording the wanted members' tokens as it goes.
        self.tokens.clear();
        let (wanted, tokens) = (&self.wanted, &mut self.tokens);
        let map = build_members(
            text,
            |k, _| {
                let wanted = wanted.get(k).copied().unwrap_or(false);
                if let Some(token) = top
                    .get(k)
                    .filter(|_| wanted)
                    .and_then(|m| slice(text, m.value))
                {
                    tokens.push(token);
                }
                wanted
            },
            top,
            tree,
        )?;
        // Duplicate names (the last one wins, in the first one's place, as
        // in a full parse): the tokens do not line up with the map, which
        // is not kept.
        if map.len() != self.tokens.count() {
            return Some(map);
        }
        let i = found.unwrap_or_else(|| self.entry_for(signature));
        Some(self.built(i, map))
    }

    /// Refills `map`, the map of entry `i`, with the wanted members: false
    /// (the map half refilled) when the wanted names are not its keys in
    /// order.
    fn refill(
        &mut self,
        i: usize,
        map: &mut Map<String, Value>,
        text: &str,
        top: &[TopMember],
        tree: Option<&NestedTree<'_>>,
    ) -> Option<bool> {
        let kept = &self.kept[i].tokens;
        self.tokens.clear();
        let mut entries = map.iter_mut();
        for (member, _) in top.iter().zip(&self.wanted).filter(|(_, &w)| w) {
            let name = member_name(text, member)?;
            let Some((key, value)) = entries.next() else {
                return Some(false);
            };
            if *key != *name {
                return Some(false);
            }
            let token = slice(text, member.value)?;
            if kept.get(self.tokens.count()) != Some(token.as_bytes()) {
                refill_value(value, text, member, tree)?;
            }
            self.tokens.push(token);
        }
        Some(entries.next().is_none())
    }

    /// The entry for a new list of wanted names: a new one, or the oldest.
    fn entry_for(&mut self, signature: u64) -> usize {
        self.made += 1;
        let fresh = Kept {
            signature,
            made: self.made,
            ..Kept::default()
        };
        if self.kept.len() < KEPT_MAPS {
            self.kept.push(fresh);
            return self.kept.len() - 1;
        }
        let oldest = (0..self.kept.len())
            .min_by_key(|&i| self.kept[i].made)
            .unwrap_or(0);
        self.kept[oldest] = fresh;
        oldest
    }

    /// Notes that entry `i` now holds (a copy of) the tokens of the build in
    /// progress, whose `map` is out until given back (unless its values are
    /// too long to keep: then the entry is emptied).
    fn built(&mut self, i: usize, map: Map<String, Value>) -> Map<String, Value> {
        let entry = &mut self.kept[i];
        if self.tokens.bytes.len() > KEPT_TOKENS_MAX {
            entry.map = None;
            entry.tokens = Tokens::default();
            self.tokens = Tokens::default();
            return map;
        }
        // Copied, not swapped: each buffer keeps the room it grew to.
        entry.tokens.copy_from(&self.tokens);
        self.out = Some(i);
        map
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_indexed_kept, parse_indexed_whole};
    use super::*;
    use crate::members::MemberIndex;

    /// Parses `raw` with `flags` through `kept` (giving the event back),
    /// requiring what a fresh parse gives, member order included.
    fn agrees(kept: &mut KeptMembers, raw: &[u8], flags: Option<&[bool]>) {
        let index = MemberIndex::built(raw);
        let fresh = parse_indexed_whole(raw, None, flags, &index);
        let refilled = parse_indexed_kept(raw, None, flags, &index, Some(kept), None);
        let text = |r: &Result<(Value, bool), _>| {
            r.as_ref()
                .map(|(v, whole)| (v.to_string(), *whole))
                .map_err(|e: &crate::accounting::Rejection| e.to_string())
        };
        assert_eq!(
            text(&refilled),
            text(&fresh),
            "{} {flags:?}",
            String::from_utf8_lossy(raw)
        );
        if let Ok((event, _)) = refilled {
            kept.keep(event);
        }
    }

    #[test]
    fn refilled_members_are_the_ones_a_fresh_parse_builds() {
        let lines: [&[u8]; 9] = [
            br#"{"EventID":1,"Image":"C:\\a.exe","CommandLine":"a b","User":"u"}"#,
            br#"{"EventID":1,"Image":"C:\\a.exe","CommandLine":"a c","User":"u"}"#,
            br#"{"EventID":4688,"Image":"C:\\b.exe","CommandLine":"a c","User":"v"}"#,
            br#"{"EventID":1,"Image":null,"CommandLine":["x",2],"User":{"n":"u"}}"#,
            // Another order, a duplicate name, an escaped one.
            br#"{"CommandLine":"a b","EventID":1,"Image":"C:\\a.exe","User":"u"}"#,
            br#"{"EventID":1,"Image":"x","CommandLine":"a b","Image":"y"}"#,
            br#"{"EventID":1,"Im\u0061ge":"C:\\a.exe","CommandLine":"a b","User":"u"}"#,
            // A number beyond float range (serde_json's path decides).
            br#"{"EventID":1e400,"Image":"C:\\a.exe","CommandLine":"a b","User":"u"}"#,
            br#"{"EventID":1,"Image":"\"q\"","CommandLine":"a\tb","User":"u"}"#,
        ];
        let flags: [Option<&[bool]>; 4] = [
            None,
            Some(&[true, true, true, false]),
            Some(&[true, false, true, false]),
            Some(&[false, true, true, true]),
        ];
        let mut kept = KeptMembers::default();
        for round in 0..3 {
            for (l, line) in lines.iter().enumerate() {
                for f in 0..flags.len() {
                    // Each round visits the lists of names in another order.
                    agrees(&mut kept, line, flags[(f + l + round) % flags.len()]);
                }
            }
        }
        assert!(kept.refilled() > 40, "{}", kept.refilled());
    }

    #[test]
    fn lists_of_names_past_the_kept_maps_replace_the_oldest() {
        let mut kept = KeptMembers::default();
        let line = |k: usize, v: usize| format!(r#"{{"n{k}":{v},"EventID":1}}"#);
        for v in 0..3 {
            for k in 0..KEPT_MAPS + 4 {
                agrees(&mut kept, line(k, v).as_bytes(), None);
            }
        }
        assert!(kept.kept.len() <= KEPT_MAPS);
        // Twenty lists cycling through sixteen maps: none is refilled.
        assert_eq!(kept.refilled(), 0);
        for v in 0..3 {
            agrees(&mut kept, line(0, v).as_bytes(), None);
        }
        assert_eq!(kept.refilled(), 2);
    }

    #[test]
    fn maps_of_long_values_are_not_kept() {
        let mut kept = KeptMembers::default();
        let long = format!(r#"{{"a":"{}","b":1}}"#, "x".repeat(KEPT_TOKENS_MAX));
        for _ in 0..3 {
            agrees(&mut kept, long.as_bytes(), None);
        }
        assert_eq!(kept.refilled(), 0);
        assert!(kept
            .kept
            .iter()
            .all(|e| e.map.is_none() && e.tokens.count() == 0));
        // A short line of the same names is kept again.
        for _ in 0..2 {
            agrees(&mut kept, br#"{"a":"x","b":1}"#, None);
        }
        assert_eq!(kept.refilled(), 1);
    }

    #[test]
    fn only_the_map_lent_for_an_event_goes_back() {
        // The engine's sequence (found by the fuzz target): a match's map is
        // handed on for output, never given back; the next line, which the
        // strict pass does not judge (a leading line feed), is parsed by
        // serde_json and given back; a line of the first one's names and
        // image must then read its own values, not the second line's.
        let first: &[u8] = br#"{"Image":"C:\\w.exk","CommandLine":"a"}"#;
        let other: &[u8] = b"\n{\"Image\":\"C:\\\\w.exe\",\"CommandLine\":\"b\"}";
        let third: &[u8] = br#"{"Image":"C:\\w.exk","CommandLine":"c"}"#;
        let mut kept = KeptMembers::default();
        let parse = |kept: &mut KeptMembers, raw: &[u8]| {
            let index = MemberIndex::built(raw);
            parse_indexed_kept(raw, None, None, &index, Some(kept), None).map(|(event, _)| event)
        };
        let handed_on = parse(&mut kept, first);
        assert!(handed_on.is_ok());
        assert!(MemberIndex::built(other).top_members().is_none());
        if let Ok(event) = parse(&mut kept, other) {
            assert_eq!(event["Image"], "C:\\w.exe");
            kept.keep(event);
        }
        agrees(&mut kept, third, None);
        agrees(&mut kept, third, None);
    }

    #[test]
    fn a_signature_shared_by_other_names_builds_afresh() {
        let a: &[u8] = br#"{"a":1,"b":"x"}"#;
        let c: &[u8] = br#"{"c":1,"d":"x"}"#;
        let mut other = KeptMembers::default();
        agrees(&mut other, c, None);
        let mut kept = KeptMembers::default();
        agrees(&mut kept, a, None);
        // As if the names of `c` hashed as those of `a`.
        kept.kept[0].signature = other.kept[0].signature;
        agrees(&mut kept, c, None);
        agrees(&mut kept, c, None);
        assert_eq!(kept.refilled(), 1);
    }
}
