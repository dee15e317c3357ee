//! Stage 2's parse: the whole line is validated, but only the top-level
//! members the candidate rules can read are built into values.
//!
//! A Sysmon or Security event carries 15–30 members; a rule reads two or
//! three of them. [`ReadSet`] lists, once per engine, the Sigma field names
//! each rule can look up (its fields, `fieldref` targets, its log sources'
//! conditions, requirements and renames); [`MemberFilter`] turns them, once
//! per profile, into the top-level member names those lookups can reach
//! (explicit paths, roots, dotted names, names written with spaces), as one
//! bit set per rule, plus the members holding the channel, provider and
//! event id (and, for the verdict memo, exact sets per selection and per
//! rule's log sources: what an evaluation that ran some selections read).
//! Per event, [`MemberFilter::select`] ORs the candidates' sets and
//! [`parse_indexed`] parses only the wanted members from their own bytes
//! when the event's member index (stage 1's, [`MemberIndex`]) was built by
//! its strict pass; lines that pass does not judge go to [`parse_event`],
//! which walks the line once with serde_json, keeping the other members as
//! unparsed raw text (validated, never allocated).
//!
//! The result is a `serde_json::Value` object holding every member a lookup
//! of a candidate can reach, so the reference selection semantics apply to
//! it unchanged. Rules that read every value (keywords) get the whole event.
//! Lines that are not JSON objects are rejected with the same kinds and
//! messages as a full parse.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use hypersigma_compiler::ir::{Predicate, Rule};
use hypersigma_compiler::Scope;

use crate::accounting::{RejectKind, Rejection};
use crate::members::{MemberIndex, NestedTree};
use crate::strict_json::{
    may_hold_a_number_beyond_range, unescape_str, unescape_str_into, TopMember,
};

#[cfg(test)]
pub(crate) use digit_folds::MAX_TESTED;
pub(crate) use digit_folds::{field_folds_of, FieldFolds, ValueFold};
pub(crate) use kept::KeptMembers;
pub(crate) use leaves::{reads_leaf, LeafNames, NestedLeaves};
pub(crate) use member_filter::{MemberFilter, Selection};
pub(crate) use pruned::{Prune, PruneScratch};

/// The Sigma field names stage 2 can look up, per rule, and which rules read
/// every value.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadSet {
    /// Per rule: the fields it and its log sources read.
    fields: Vec<BTreeSet<String>>,
    /// Per rule, per selection: the fields the selection reads (its
    /// fields, `fieldref` targets, and their renames in the rule's log
    /// sources). With `scope_fields`, together the rule's `fields`.
    selection_fields: Vec<Vec<BTreeSet<String>>>,
    /// Per rule: the fields its log sources are told by (conditions,
    /// requirements).
    scope_fields: Vec<BTreeSet<String>>,
    /// Per rule: it has a keyword selection (reads every scalar of the event).
    pub(crate) whole_event: Vec<bool>,
    /// Some rule has one (else stage 2 asks no candidate list whether one
    /// of its rules reads the whole event).
    pub(crate) some_whole_event: bool,
}

impl ReadSet {
    /// What each rule and the log sources of its scope read.
    pub(crate) fn new(rules: &[Rule]) -> ReadSet {
        let mut set = ReadSet::default();
        for rule in rules {
            let mut whole = false;
            let mut selections = Vec::with_capacity(rule.detection.selections.len());
            for selection in &rule.detection.selections {
                let mut fields = BTreeSet::new();
                for fm in selection.groups.iter().flatten() {
                    match &fm.field {
                        Some(f) => {
                            fields.insert(f.clone());
                        }
                        None => whole = true,
                    }
                    for p in fm.values.iter().flatten() {
                        if let Predicate::FieldRef { field, .. } = p {
                            fields.insert(field.clone());
                        }
                    }
                }
                if let Scope::Sources(sources) = &rule.scope {
                    let own: Vec<String> = fields.iter().cloned().collect();
                    for s in sources {
                        for name in &own {
                            if let Some(source) = s.fields.get(name) {
                                fields.extend(source.candidates.iter().flatten().cloned());
                            }
                        }
                    }
                }
                selections.push(fields);
            }
            let mut scope = BTreeSet::new();
            if let Scope::Sources(sources) = &rule.scope {
                for s in sources {
                    scope.extend(s.conditions.iter().map(|(f, _)| f.clone()));
                    scope.extend(s.require.iter().cloned());
                }
            }
            let mut fields = scope.clone();
            fields.extend(selections.iter().flatten().cloned());
            set.fields.push(fields);
            set.selection_fields.push(selections);
            set.scope_fields.push(scope);
            set.whole_event.push(whole);
            set.some_whole_event |= whole;
        }
        set
    }
}

/// Which top-level members to build for a set of candidate rules.
pub(crate) type Wanted = u128;

/// The bit of a member name's id: ids past 127 share the last bit.
fn bit_of(id: u32) -> Wanted {
    1 << id.min(127)
}

/// Whether id `id` is in the bit set `bits`.
pub(crate) fn has_id(bits: &[u64], id: u32) -> bool {
    bits.get(id as usize / 64)
        .is_some_and(|w| w & (1 << (id % 64)) != 0)
}

/// Per rule, the bit set of its ids (`ids` of `count` numbered names), one
/// rule's `count.div_ceil(64)` words after another.
pub(crate) fn id_bit_sets<I: AsRef<[u32]>>(per_rule: &[I], count: usize) -> Vec<u64> {
    let words = count.div_ceil(64);
    let mut bits = vec![0u64; words * per_rule.len()];
    for (r, ids) in per_rule.iter().enumerate() {
        for &id in ids.as_ref() {
            if let Some(w) = bits.get_mut(r * words + id as usize / 64) {
                *w |= 1 << (id % 64);
            }
        }
    }
    bits
}

/// Parses a line: every member when `filter` is `None`, else the members the
/// filter wants (the rest validated only). Rejects lines that are not a JSON
/// object.
pub(crate) fn parse_event(raw: &[u8], filter: Option<Selection<'_>>) -> Result<Value, Rejection> {
    let Some(filter) = filter else {
        return match serde_json::from_slice(raw) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(not_an_object()),
            Err(e) => Err(invalid_json(&e)),
        };
    };
    let mut de = serde_json::Deserializer::from_slice(raw);
    let members = Members {
        wanted: &filter,
        skip_fast: skipping_is_strict(raw),
    };
    let parsed = de
        .deserialize_map(members)
        .and_then(|map| de.end().map(|()| map));
    match parsed {
        Ok(map) => Ok(Value::Object(map)),
        // A line that is not an object at all: tell valid JSON from invalid.
        Err(_) if raw.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') => {
            validate_event(raw).and(Err(not_an_object()))
        }
        Err(e) => Err(invalid_json(&e)),
    }
}

/// [`parse_event`] for a line `index` was built on: when its strict pass
/// accepted the line, the members `filter` wants (all without one) are
/// parsed from their own bytes and the others not walked again. `wanted`,
/// when it has one flag per top-level member, says which ones the filter's
/// rules read (the verdict memo's key knows them), instead of looking each
/// name up.
pub(crate) fn parse_indexed(
    raw: &[u8],
    filter: Option<Selection<'_>>,
    wanted: Option<&[bool]>,
    index: &MemberIndex,
) -> Result<Value, Rejection> {
    parse_indexed_whole(raw, filter, wanted, index).map(|(event, _)| event)
}

/// [`parse_indexed`], also telling whether the value is the whole event
/// (every member was wanted): then a parse without a filter gives the same
/// value, and a matched event needs no second parse for output.
pub(crate) fn parse_indexed_whole(
    raw: &[u8],
    filter: Option<Selection<'_>>,
    wanted: Option<&[bool]>,
    index: &MemberIndex,
) -> Result<(Value, bool), Rejection> {
    parse_indexed_kept(raw, filter, wanted, index, None, None)
}

/// [`parse_indexed_whole`], refilling the map `kept` holds (see
/// `kept.rs`) when there is one; the caller gives the event back to it
/// ([`KeptMembers::keep`]) once done with it. With `prune` (given when
/// [`prunes_some`] says so), the wanted members holding containers are
/// built with only what the candidates can read (`pruned.rs`), and nothing
/// is refilled.
pub(crate) fn parse_indexed_kept(
    raw: &[u8],
    filter: Option<Selection<'_>>,
    wanted: Option<&[bool]>,
    index: &MemberIndex,
    mut kept: Option<&mut KeptMembers>,
    prune: Option<Prune<'_>>,
) -> Result<(Value, bool), Rejection> {
    // Only a map the store lends for this event goes back to it: not one
    // an earlier event kept (handed on for output), nor a full parse.
    if let Some(kept) = kept.as_deref_mut() {
        kept.lend_nothing();
    }
    if let (Some(top), Ok(text)) = (index.top_members(), simdutf8::basic::from_utf8(raw)) {
        let wanted = wanted.filter(|w| w.len() == top.len());
        let mut every = true;
        let wants = |k: usize, name: &str| {
            let wants = match wanted {
                Some(flags) => flags.get(k).copied().unwrap_or(true),
                None => filter.as_ref().is_none_or(|f| f.wants(name)),
            };
            every &= wants;
            wants
        };
        let mut pruned = false;
        let tree = index.nested_tree();
        let map = match (kept, prune) {
            (_, Some(mut prune)) => build_members_pruned(text, wants, top, &mut prune, &mut pruned),
            (Some(kept), None) => kept.build(text, top, wants, tree.as_ref()),
            (None, None) => build_members(text, wants, top, tree.as_ref()),
        };
        if let Some(map) = map {
            return Ok((Value::Object(map), every && !pruned));
        }
    }
    let unfiltered = filter.is_none();
    parse_event(raw, filter).map(|event| (event, unfiltered))
}

/// [`validate_event`] for a line `index` was built on: at once when its
/// strict pass accepted the line.
pub(crate) fn validate_indexed(raw: &[u8], index: &MemberIndex) -> Result<(), Rejection> {
    match index.top_members() {
        Some(_) => Ok(()),
        None => validate_event(raw),
    }
}

/// The wanted members of a line the strict pass accepted; `None` when one
/// does not build (a number beyond float range: serde_json's path then
/// gives the error).
fn build_members(
    text: &str,
    wants: impl FnMut(usize, &str) -> bool,
    top: &[TopMember],
    tree: Option<&NestedTree<'_>>,
) -> Option<Map<String, Value>> {
    build_members_with(text, wants, top, |member| member_value(text, member, tree))
}

/// [`build_members`] with `prune`: a container whose member's name the
/// candidates do not read is built pruned (`pruned.rs`), and `pruned` set.
// Apart from its caller: inlined, it cost flat events, which never prune,
// ~70 instructions each (callgrind, process creations).
#[inline(never)]
fn build_members_pruned(
    text: &str,
    wants: impl FnMut(usize, &str) -> bool,
    top: &[TopMember],
    prune: &mut Prune<'_>,
    pruned: &mut bool,
) -> Option<Map<String, Value>> {
    build_members_with(text, wants, top, |member| {
        let raw_name = slice(text, member.name);
        if holds_container(text, member)
            && raw_name.is_some_and(|n| !prune.reads_name(n.as_bytes()))
        {
            *pruned = true;
            prune.build(text, member.value)
        } else {
            member_value(text, member, Some(&prune.tree))
        }
    })
}

/// The wanted members, each value as `value_of` builds it.
fn build_members_with(
    text: &str,
    mut wants: impl FnMut(usize, &str) -> bool,
    top: &[TopMember],
    mut value_of: impl FnMut(&TopMember) -> Option<Value>,
) -> Option<Map<String, Value>> {
    // Room for every member at once: growing rehashes.
    let mut out = Map::with_capacity(top.len());
    for (k, member) in top.iter().enumerate() {
        let name = member_name(text, member)?;
        if !wants(k, &name) {
            continue;
        }
        let value = value_of(member)?;
        // Duplicate names: the last one wins, in the first one's place, as
        // in a full parse.
        out.insert(name.into_owned(), value);
    }
    Some(out)
}

/// Whether a wanted top-level member of a nested line the strict pass
/// accepted (`tree`) holds a container whose name no candidate reads
/// (`leaves`, and the candidates' bits, which `bits` works out when first
/// needed): one [`Prune`] builds with less than the whole.
pub(crate) fn prunes_some<'b>(
    raw: &[u8],
    tree: &NestedTree<'_>,
    filter: &Selection<'_>,
    leaves: &LeafNames,
    bits: impl FnOnce() -> Option<&'b [u64]>,
) -> bool {
    // The names of the wanted containers the top-level object holds.
    let mut wanted = tree
        .opens
        .iter()
        .filter(|o| o.parent == 0)
        .filter_map(|o| o.holder.and_then(|(a, b)| raw.get(a as usize..b as usize)))
        .filter(|name| std::str::from_utf8(name).is_ok_and(|name| filter.wants(name)));
    let Some(first) = wanted.next() else {
        return false;
    };
    let Some(bits) = bits() else {
        return false;
    };
    std::iter::once(first)
        .chain(wanted)
        .any(|name| !reads_leaf(bits, leaves.leaf_of(name)))
}

/// Whether the value of a member is an object or an array.
fn holds_container(text: &str, member: &TopMember) -> bool {
    matches!(
        text.as_bytes().get(member.value.0 as usize),
        Some(b'{' | b'[')
    )
}

/// The text of a byte range of `text`.
fn slice(text: &str, (a, b): (u32, u32)) -> Option<&str> {
    text.get(a as usize..b as usize)
}

/// The name of a member the strict pass accepted, decoded.
fn member_name<'t>(text: &'t str, member: &TopMember) -> Option<Cow<'t, str>> {
    Some(if member.name_escaped {
        Cow::Owned(escaped_name(text, member.name)?)
    } else {
        Cow::Borrowed(slice(text, member.name)?)
    })
}

/// A name the strict pass accepted written with escapes (the byte range
/// inside its quotes), decoded: escapes of one character here, `\u` ones
/// by serde_json (the name read with its quotes).
fn escaped_name(text: &str, (a, b): (u32, u32)) -> Option<String> {
    unescape_str(slice(text, (a, b))?).or_else(|| {
        let quoted = text.get((a as usize).checked_sub(1)?..b as usize + 1)?;
        serde_json::from_str(quoted).ok()
    })
}

/// The value of a member the strict pass accepted (a container built from
/// `tree`, the line's, when there is one: `from_tree.rs`); `None` for a
/// number beyond float range.
fn member_value(text: &str, member: &TopMember, tree: Option<&NestedTree<'_>>) -> Option<Value> {
    if member.plain_string {
        let body = slice(text, (member.value.0 + 1, member.value.1 - 1))?;
        return Some(Value::String(body.to_string()));
    }
    if let Some(tree) = tree.filter(|_| holds_container(text, member)) {
        if let Some(k) = from_tree::container_at(tree, member.value.0) {
            return from_tree::whole_container(tree, text, k, &mut Default::default());
        }
    }
    token_value(slice(text, member.value)?)
}

/// The value of a token the strict pass accepted: a string's escapes of one
/// character decoded here, `\u` ones by serde_json; an integer of at most
/// 18 digits read here, every other token by serde_json; `None` for a
/// number beyond float range.
fn token_value(token: &str) -> Option<Value> {
    match token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(body) => unescape_str(body)
            .map(Value::String)
            .or_else(|| serde_json::from_str(token).ok()),
        None => small_integer(token).or_else(|| serde_json::from_str(token).ok()),
    }
}

/// An integer token of at most 18 digits (other than `-0`, which serde_json
/// reads as a float), as serde_json reads it: non-negative as a `u64`,
/// negative as an `i64`; `None` for any other token.
fn small_integer(token: &str) -> Option<Value> {
    let (negative, digits) = match token.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, token),
    };
    let plain = matches!(digits.len(), 1..=18)
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'));
    if !plain {
        return None;
    }
    let n = digits
        .bytes()
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    match (negative, i64::try_from(n)) {
        (false, _) => Some(Value::from(n)),
        (true, Ok(n)) if n > 0 => Some(Value::from(-n)),
        _ => None,
    }
}

/// Sets `value` to what [`member_value`] builds of `member`; a string
/// replacing a string is written into the old one's allocation.
fn refill_value(
    value: &mut Value,
    text: &str,
    member: &TopMember,
    tree: Option<&NestedTree<'_>>,
) -> Option<()> {
    if let Value::String(old) = value {
        if member.plain_string {
            old.clear();
            old.push_str(slice(text, (member.value.0 + 1, member.value.1 - 1))?);
            return Some(());
        }
        let token = slice(text, member.value)?;
        if let Some(body) = token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            old.clear();
            return unescape_str_into(body, old);
        }
    }
    // A container of a nested line: its old value refilled in place when
    // it has the same members, else built afresh (from the tree).
    let container = tree
        .filter(|_| holds_container(text, member))
        .and_then(|tree| Some((tree, from_tree::container_at(tree, member.value.0)?)));
    if let Some((tree, k)) = container {
        if from_tree::refill_container(tree, text, k, value).is_some() {
            return Some(());
        }
    }
    *value = member_value(text, member, tree)?;
    Some(())
}

/// The whole event of a line `index` was built on, as [`parse_indexed`]
/// without a filter gives it, written into `spare` (an earlier event's
/// value, given back once its detections were written) when the line's
/// strict pass accepted it and its members are `spare`'s, in order (the
/// containers of a nested line refilled in place, `from_tree.rs`): no map
/// built or name hashed again, strings written into the old ones'
/// allocations.
pub(crate) fn parse_whole_into(
    raw: &[u8],
    index: &MemberIndex,
    spare: Option<Value>,
) -> Result<Value, Rejection> {
    if let (Some(top), Ok(text), Some(Value::Object(mut map))) =
        (index.top_members(), simdutf8::basic::from_utf8(raw), spare)
    {
        let tree = index.nested_tree();
        if refill_members(text, top, tree.as_ref(), &mut map).is_some() {
            return Ok(Value::Object(map));
        }
    }
    parse_indexed(raw, None, None, index)
}

/// Writes the members `top` of a line the strict pass accepted into `map`,
/// an earlier line's members; `None` (`map` half written) when the names
/// differ, in count or order, or a value does not build.
fn refill_members(
    text: &str,
    top: &[TopMember],
    tree: Option<&NestedTree<'_>>,
    map: &mut Map<String, Value>,
) -> Option<()> {
    if map.len() != top.len() {
        return None;
    }
    for (member, (key, value)) in top.iter().zip(map.iter_mut()) {
        if *member_name(text, member)? != **key {
            return None;
        }
        refill_value(value, text, member, tree)?;
    }
    Some(())
}

/// Checks that a line is one JSON object without building anything, as
/// strictly as a full parse.
pub(crate) fn validate_event(raw: &[u8]) -> Result<(), Rejection> {
    let is_object = raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let checked = if skipping_is_strict(raw) {
        serde_json::from_slice::<de::IgnoredAny>(raw).map(|_| ())
    } else {
        serde_json::from_slice::<Checked>(raw).map(|_| ())
    };
    match checked {
        Ok(_) if is_object => Ok(()),
        Ok(_) => Err(not_an_object()),
        Err(e) => Err(invalid_json(&e)),
    }
}

/// Whether serde_json's skipping parser (`IgnoredAny`, more than twice as
/// fast as [`Checked`]) may check this line's values. It checks syntax,
/// escape letters and control characters but not UTF-8 inside strings (the
/// whole line is checked here instead), `\u` escapes (lone surrogates: then
/// no), nor the nesting limit of 128 (then no when the line has 100
/// brackets or more), nor number ranges (a number beyond 1.8e308 is an
/// error in a full parse: then no when the line may hold one).
fn skipping_is_strict(raw: &[u8]) -> bool {
    std::str::from_utf8(raw).is_ok()
        && memchr::memmem::find(raw, b"\\u").is_none()
        && memchr::memchr2_iter(b'[', b'{', raw).count() < 100
        && !may_hold_a_number_beyond_range(raw)
}

pub(crate) fn not_an_object() -> Rejection {
    Rejection::new(RejectKind::NotAnObject, "not a JSON object")
}

pub(crate) fn invalid_json(e: &serde_json::Error) -> Rejection {
    Rejection::new(RejectKind::InvalidJson, format!("invalid JSON: {e}"))
}

/// Visits the top-level object, building the wanted members.
struct Members<'s> {
    wanted: &'s Selection<'s>,
    /// The others may go through `IgnoredAny` ([`skipping_is_strict`]).
    skip_fast: bool,
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(name)) = map.next_key_seed(KeySeed)? {
            if self.wanted.wants(&name) {
                // Duplicate names: the last one wins, in the first one's place,
                // as in a full parse.
                let value: Value = map.next_value()?;
                out.insert(name.into_owned(), value);
            } else {
                if self.skip_fast {
                    map.next_value::<de::IgnoredAny>()?;
                } else {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A value checked the way a full parse checks it (serde_json's
/// `deserialize_any`: strings decoded, numbers range-checked, the recursion
/// limit applied) and then dropped; strings without escapes are borrowed, so
/// nothing is allocated. (`IgnoredAny` skips those checks.)
struct Checked;

impl<'de> de::Deserialize<'de> for Checked {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// A member name, borrowed from the line unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

mod digit_folds;
mod from_tree;
mod kept;
mod leaves;
mod member_filter;
mod pruned;
#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod properties;
