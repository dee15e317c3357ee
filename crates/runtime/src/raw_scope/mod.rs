//! Which log sources a raw event can belong to, read from its bytes.
//!
//! Stage 2 decides a rule's log source on the parsed event
//! ([`hypersigma_compiler::Source::matches`]): the channel (or, without one,
//! the provider), the event id, field conditions (`_path: dns`) and required
//! fields. Most events belong to few of a rule set's sources: a Sysmon
//! process creation is no AppLocker, CodeIntegrity or Zeek event, yet those
//! rules select on event ids and numbers only (no witnesses) and would be
//! candidates of every event. [`RawScopes`] reads the same keys from the
//! member index of the raw event (no parse) and tells which sources the
//! event *may* belong to: never fewer than the reference accepts.
//!
//! How each key is read, and why the answer is a superset:
//! - a key's values are the scalars of every member whose normalised name is
//!   one the key can be read from under any profile (the last segment of
//!   each profile path, the field's names as [`field_members`] gives them),
//!   or `#text`; the reference reads one of these.
//! - string values are compared unescaped (events with `\u` or `\/` escapes
//!   never come here: the caller sends them to every rule).
//! - channel, provider and event id: when the event has none of the key's
//!   values, nothing is concluded (the source stays possible).
//! - conditions: a source is possible when some value of the field equals
//!   an allowed one (numbers in a form other than plain digits count as
//!   equal); with no value at all the reference refuses it too.
//! - required fields: possible when a member of the field's names holds a
//!   non-null scalar, an object or an array.

use std::collections::HashMap;

use hypersigma_compiler::required_values::{
    rule_event_ids, rule_value_requirements, RequiredValue, EVENT_ID_FIELD,
};
use hypersigma_compiler::witness::{field_members, normalize_member, normalize_member_into};
use hypersigma_compiler::{Profile, Rule, Scope, Source};

use crate::length_prefixed;
use crate::members::MemberIndex;
use crate::strict_json::unescape_into;
use hypersigma_compiler::byte_set::ByteSet;

mod required;
use required::FieldNumbers;
pub(crate) use required::Requirement;
mod signature_plan;
use signature_plan::SignaturePlan;

/// The end mark of a compared slot's tokens in a signature (no token is
/// that long).
const END_MARK: [u8; 4] = u32::MAX.to_le_bytes();

/// What one key stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Channel,
    Provider,
    EventId,
    /// A field of a condition or a requirement (its index in `fields`).
    Field(usize),
}

impl Key {
    /// The key's slot in [`RawScopeState::values`].
    fn slot(self) -> usize {
        match self {
            Key::Channel => 0,
            Key::Provider => 1,
            Key::EventId => 2,
            Key::Field(f) => 3 + f,
        }
    }
}

/// Everything stage 1 checks of the raw event's log-source values, derived
/// from an engine's rules and scopes (the same whether the engine is built
/// or loaded from a compiled ruleset).
#[derive(Debug)]
pub(crate) struct RawChecks {
    /// What each scope's sources require of an event: a candidate whose
    /// scope the event cannot belong to is dropped without a parse.
    pub(crate) scopes: RawScopes,
    /// Per rule: the event ids its detection requires ([`rule_event_ids`]);
    /// a candidate whose raw event holds none of them is dropped.
    pub(crate) rule_event_ids: Vec<Option<Requirement>>,
    /// Per rule: the values other fields must hold for its detection to
    /// match ([`rule_value_requirements`]); a candidate whose raw event
    /// holds none of some field's values is dropped (`LogonType: 9`,
    /// `DestinationPort: [25, 587]`).
    pub(crate) rule_requirements: Vec<Vec<Requirement>>,
    /// Whether some rule has such requirements.
    pub(crate) any_requirements: bool,
    /// Whether an event is first checked against every scope, skipping the
    /// stage-1 scan when it can belong to none: whenever some scope can
    /// refuse an event, whatever the number of witnesses. Every line is
    /// indexed anyway (the strict pass validates it), so the gate costs
    /// little more than the index, and it turns on what only gated events
    /// have (the scan of a copy of the values some witness counts in, the
    /// candidate memo). Until v62 it took 1,000 witnesses or more (the gate
    /// read an event in 0.6 µs, a small database scanned it in 0.2 µs,
    /// before the index was needed by every line); measured with
    /// `steady.sh` over the generated mix, instructions an event without
    /// and with the gate: the seed rule 6,273 and 5,674, windows/registry
    /// (823 witnesses) 17,357 and 5,106, builtin/security (375) 18,310 and
    /// 5,850; over the real logs: the seed rule 20,240 and 17,919, registry
    /// 41,036 and 18,550 (BENCHMARKS.md, v62).
    pub(crate) gate: bool,
}

impl RawChecks {
    /// The checks of `rules` (whose distinct scopes are `scopes`), for events
    /// of `profiles`.
    pub(crate) fn new(rules: &[Rule], scopes: &[Scope], profiles: &[Profile]) -> RawChecks {
        let requirements: Vec<Vec<(String, Vec<RequiredValue>)>> =
            rules.iter().map(rule_value_requirements).collect();
        let mut required_fields: Vec<&str> = requirements
            .iter()
            .flatten()
            .map(|(field, _)| field.as_str())
            .collect();
        required_fields.sort_unstable();
        required_fields.dedup();
        let scopes = RawScopes::new(scopes, profiles, &required_fields);
        let gate = scopes.can_refuse();
        let rule_requirements: Vec<Vec<Requirement>> = requirements
            .into_iter()
            .map(|fields| {
                fields
                    .into_iter()
                    .filter_map(|(field, values)| {
                        Some(Requirement::new(scopes.required_field_key(&field)?, values))
                    })
                    .collect()
            })
            .collect();
        let rule_event_ids = rules
            .iter()
            .map(|rule| {
                Some(Requirement::new(
                    scopes.event_id_field?,
                    rule_event_ids(rule)?,
                ))
            })
            .collect();
        RawChecks {
            scopes,
            rule_event_ids,
            any_requirements: rule_requirements.iter().any(|r| !r.is_empty()),
            rule_requirements,
            gate,
        }
    }

    /// The same checks with the scope gate forced on or off (`None`: as
    /// decided).
    pub(crate) fn with_gate(mut self, gate: Option<bool>) -> RawChecks {
        if let Some(gate) = gate {
            self.gate = gate;
        }
        self
    }
}

/// The raw test of one distinct source.
#[derive(Debug)]
struct SourceTest {
    /// Any Windows event: never refused here.
    any_windows: bool,
    /// Allowed channels and providers (empty both: not channel-based).
    channels: Vec<String>,
    providers: Vec<String>,
    /// Allowed event ids (empty: any).
    event_ids: Vec<i64>,
    /// (field key, allowed values).
    conditions: Vec<(usize, Vec<String>)>,
    /// Field keys that must be present.
    require: Vec<usize>,
}

/// The raw source tests of an engine's scopes.
#[derive(Debug, Default)]
pub(crate) struct RawScopes {
    /// Normalised member name → the keys it can hold (`#text`: every key);
    /// looked up for every member of an event, so with a fast fixed hasher.
    names: HashMap<Vec<u8>, Vec<Key>, foldhash::fast::FixedState>,
    /// Keys that every `#text` member can hold.
    all_keys: Vec<Key>,
    fields: usize,
    sources: Vec<SourceTest>,
    /// Per scope: its sources (indices), or `None` when it is unmapped.
    scopes: Vec<Option<Vec<u32>>>,
    /// The field key of rules' `EventID` (see [`rule_event_ids`]).
    event_id_field: Option<usize>,
    /// The field keys of the fields rules require values of (see
    /// [`rule_value_requirements`]), by field name as rules write it.
    required_fields: HashMap<String, usize>,
    /// A quick refusal for the members of an event that are no key (most):
    /// the first bytes and the lengths (bit `min(len, 63)`) of the names in
    /// `names` and of `#text`.
    first_bytes: ByteSet,
    lengths: u64,
    /// The key slots whose values the source tests read, in order, with
    /// what they read (the unread ones left out: with all SigmaHQ, 27 of
    /// 39 slots, which the signature of every event went through).
    signature_slots: Vec<(usize, SlotUse)>,
}

/// What the source tests read of a key's values (for signatures); a key
/// they read nothing of (the rules' own `EventID` field) has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotUse {
    /// The values themselves (channels, providers, event ids, conditions).
    Compared,
    /// Only whether one is a container or a non-null scalar.
    Required,
}

/// One event's log-source values, read from its member index.
#[derive(Debug, Default)]
pub(crate) struct RawScopeState {
    /// Per key slot: the raw tokens (byte ranges) of every scalar the key
    /// can be read from.
    values: Vec<Vec<(u32, u32)>>,
    /// Per field key: whether some member of its names holds a container.
    containers: Vec<bool>,
    /// Per source: unknown (0), possible (1), refused (2).
    sources: Vec<u8>,
    text_buf: Vec<u8>,
    /// Per field key: the numbers of its values (worked out on the first
    /// requirement's ask, then kept for the event), or `None` while not
    /// asked.
    numbers: Vec<Option<FieldNumbers>>,
    /// What the event read last set of the four above: the next read
    /// resets only those, not every key of the rule set (~300
    /// instructions an event with all SigmaHQ rules, 36 fields and 80
    /// sources).
    set: SetSinceRead,
}

/// Indices of [`RawScopeState`]'s entries the event read last set.
#[derive(Debug, Default)]
struct SetSinceRead {
    /// Slots of `values` pushed to.
    values: Vec<u32>,
    /// Fields of `containers` set.
    containers: Vec<u32>,
    /// Entries of `sources` decided.
    sources: Vec<u32>,
    /// Fields of `numbers` worked out.
    numbers: Vec<u32>,
}

impl SetSinceRead {
    fn clear(&mut self) {
        self.values.clear();
        self.containers.clear();
        self.sources.clear();
        self.numbers.clear();
    }
}

/// Resets the entries of `items` at `set` with `reset`.
fn reset_each<T>(items: &mut [T], set: &[u32], reset: impl Fn(&mut T)) {
    for &i in set {
        if let Some(item) = items.get_mut(i as usize) {
            reset(item);
        }
    }
}

impl RawScopes {
    /// The tests of `scopes`, for events of `profiles`, reading also the
    /// fields `required_fields` (as rules write them) wherever rules of any
    /// scope read them.
    pub(crate) fn new(
        scopes: &[Scope],
        profiles: &[Profile],
        required_fields: &[&str],
    ) -> RawScopes {
        let mut out = RawScopes::default();
        let add = |names: &mut HashMap<Vec<u8>, Vec<Key>, foldhash::fast::FixedState>,
                   name: Vec<u8>,
                   key: Key| {
            let keys = names.entry(name).or_default();
            if !keys.contains(&key) {
                keys.push(key);
            }
        };
        for p in profiles {
            for (paths, key) in [
                (&p.channel, Key::Channel),
                (&p.provider, Key::Provider),
                (&p.event_id, Key::EventId),
            ] {
                for path in paths {
                    if let Some(last) = path.last() {
                        add(&mut out.names, normalize_member(last.as_bytes()), key);
                    }
                }
            }
        }
        let mut field_ids: HashMap<String, usize> = HashMap::new();
        let mut distinct: Vec<&Source> = Vec::new();
        for scope in scopes {
            let Scope::Sources(list) = scope else {
                out.scopes.push(None);
                continue;
            };
            let mut ids = Vec::new();
            for source in list {
                let id = match distinct.iter().position(|s| *s == source) {
                    Some(id) => id,
                    None => {
                        distinct.push(source);
                        let mut field = |name: &str| {
                            let next = field_ids.len();
                            let id = *field_ids.entry(name.to_string()).or_insert(next);
                            if id == next {
                                let members = field_members(name, scope, profiles);
                                for m in members {
                                    add(&mut out.names, m, Key::Field(id));
                                }
                            }
                            id
                        };
                        let lower =
                            |v: &[String]| v.iter().map(|s| s.to_ascii_lowercase()).collect();
                        let test = SourceTest {
                            any_windows: source.any_windows,
                            channels: lower(&source.channels),
                            providers: lower(&source.providers),
                            event_ids: source.event_ids.clone(),
                            conditions: source
                                .conditions
                                .iter()
                                .map(|(f, allowed)| (field(f), lower(allowed)))
                                .collect(),
                            require: source.require.iter().map(|f| field(f)).collect(),
                        };
                        out.sources.push(test);
                        out.sources.len() - 1
                    }
                };
                ids.push(id as u32);
            }
            out.scopes.push(Some(ids));
            // Where rules of this scope read `EventID` (renames included).
            let next = field_ids.len();
            let id = *field_ids.entry(EVENT_ID_FIELD.to_string()).or_insert(next);
            for m in field_members(EVENT_ID_FIELD, scope, profiles) {
                add(&mut out.names, m, Key::Field(id));
            }
            out.event_id_field = Some(id);
        }
        for &field in required_fields {
            let next = field_ids.len();
            let id = *field_ids.entry(field.to_string()).or_insert(next);
            for scope in scopes {
                for m in field_members(field, scope, profiles) {
                    add(&mut out.names, m, Key::Field(id));
                }
            }
            out.required_fields.insert(field.to_string(), id);
        }
        out.fields = field_ids.len();
        let mut slot_use = vec![Some(SlotUse::Compared); 3];
        slot_use.extend((0..out.fields).map(|f| {
            let compared = out
                .sources
                .iter()
                .any(|t| t.conditions.iter().any(|(c, _)| *c == f));
            if compared {
                Some(SlotUse::Compared)
            } else if out.sources.iter().any(|t| t.require.contains(&f)) {
                Some(SlotUse::Required)
            } else {
                None
            }
        }));
        out.signature_slots = slot_use
            .into_iter()
            .enumerate()
            .filter_map(|(k, u)| Some((k, u?)))
            .collect();
        out.all_keys = [Key::Channel, Key::Provider, Key::EventId]
            .into_iter()
            .chain((0..out.fields).map(Key::Field))
            .collect();
        for name in out.names.keys().map(Vec::as_slice).chain([&b"#text"[..]]) {
            if let Some(&first) = name.first() {
                out.first_bytes.insert(first);
            }
            out.lengths |= 1u64 << name.len().min(63);
        }
        out
    }

    /// The field key of rules' `EventID`, when some scope has sources.
    pub(crate) fn event_id_field(&self) -> Option<usize> {
        self.event_id_field
    }

    /// The field key of a field rules require values of (one of the
    /// `required_fields` the tests were made with).
    pub(crate) fn required_field_key(&self, field: &str) -> Option<usize> {
        self.required_fields.get(field).copied()
    }

    /// The keys a member of this name (as written) can hold.
    fn keys_of(&self, name: &[u8], buf: &mut Vec<u8>) -> &[Key] {
        // A name without spaces normalises to its lower case, same length.
        if let Some(&first) = name.first() {
            let plain = !name.contains(&b' ');
            let first = first.to_ascii_lowercase();
            let refused = !self.first_bytes.contains(first)
                || self.lengths & (1u64 << name.len().min(63)) == 0;
            if plain && refused {
                return &[];
            }
        }
        normalize_member_into(name, buf);
        if buf.as_slice() == b"#text" {
            return &self.all_keys;
        }
        self.names.get(buf.as_slice()).map_or(&[], Vec::as_slice)
    }

    /// Whether scope `s` is unmapped (no source to test).
    pub(crate) fn unmapped(&self, s: usize) -> bool {
        matches!(self.scopes.get(s), Some(None))
    }

    /// Whether some scope's sources can be refused at all.
    pub(crate) fn can_refuse(&self) -> bool {
        self.sources.iter().any(|t| !t.any_windows)
    }

    /// What the event `index` was built on can be read as: for each scalar,
    /// the slots of the keys it can be read as (`(scalar, slot)` pairs, in
    /// scalar order), and the fields some member holding a container can
    /// be. They follow from the member names alone (the scalars' and the
    /// containers'), so events of one layout of names share them
    /// ([`RawScopeState::read`]).
    pub(crate) fn layout_slots(
        &self,
        index: &MemberIndex,
        raw: &[u8],
        buf: &mut Vec<u8>,
    ) -> LayoutSlots {
        let mut scalars = Vec::new();
        for k in 0..index.len() {
            let Some(name) = index.span_name(raw, k) else {
                continue;
            };
            for key in self.keys_of(name, buf) {
                scalars.push((k as u32, key.slot() as u32));
            }
        }
        let mut container_fields = Vec::new();
        for name in index.container_names(raw) {
            for key in self.keys_of(name, buf) {
                if let Key::Field(f) = key {
                    container_fields.push(*f);
                }
            }
        }
        let signature = SignaturePlan::new(self, &scalars, &container_fields);
        LayoutSlots {
            scalars,
            container_fields,
            signature,
        }
    }
}

/// The log-source keys the members of one layout of names can be read as
/// ([`RawScopes::layout_slots`]).
#[derive(Debug, Default)]
pub(crate) struct LayoutSlots {
    /// Per scalar (its index), the slot of each key it can be read as.
    scalars: Vec<(u32, u32)>,
    /// The fields a member holding an object or an array can be.
    container_fields: Vec<usize>,
    /// How its events' signatures are written.
    signature: SignaturePlan,
}

impl LayoutSlots {
    /// The scalars some key can be read from, ascending.
    pub(crate) fn key_positions(&self) -> Vec<u32> {
        let mut positions: Vec<u32> = self.scalars.iter().map(|&(k, _)| k).collect();
        positions.dedup();
        positions
    }

    /// Writes into `out` the signature of `raw`, an event of this layout
    /// indexed by `index`: what [`RawScopeState::signature`] writes after
    /// reading it with these slots (`signature_plan.rs`).
    pub(crate) fn write_signature(&self, index: &MemberIndex, raw: &[u8], out: &mut Vec<u8>) {
        self.signature.write(index, raw, out);
    }

    /// Whether `raw` (indexed by `index`) has the signature `written`,
    /// which [`LayoutSlots::write_signature`] wrote for an earlier event
    /// of this layout: compared in place, nothing written.
    pub(crate) fn has_signature(&self, index: &MemberIndex, raw: &[u8], written: &[u8]) -> bool {
        self.signature.writes_again(index, raw, written)
    }

    /// The bytes of `raw` (indexed by `index`) that decide its signature
    /// ([`SignaturePlan::signature_bytes`]), when it is a flat line of a
    /// shape.
    pub(crate) fn signature_bytes<'r>(
        &self,
        index: &MemberIndex,
        raw: &'r [u8],
    ) -> Option<&'r [u8]> {
        self.signature.signature_bytes(index, raw)
    }
}

impl RawScopeState {
    /// Reads the log-source values of the event `index` was built on, the
    /// key slots of its layout given ([`RawScopes::layout_slots`]).
    pub(crate) fn read(&mut self, filter: &RawScopes, index: &MemberIndex, slots: &LayoutSlots) {
        self.reset(filter);
        for &(k, slot) in &slots.scalars {
            if let (Some((start, end)), Some(values)) = (
                index.span_range(k as usize),
                self.values.get_mut(slot as usize),
            ) {
                values.push((start as u32, end as u32));
                self.set.values.push(slot);
            }
        }
        for &f in &slots.container_fields {
            if let Some(c) = self.containers.get_mut(f) {
                *c = true;
                self.set.containers.push(f as u32);
            }
        }
    }

    /// Forgets the event read last: what it set when the state is sized
    /// for `filter`, else everything, sized anew.
    fn reset(&mut self, filter: &RawScopes) {
        let sized = self.values.len() == 3 + filter.fields
            && self.containers.len() == filter.fields
            && self.numbers.len() == filter.fields
            && self.sources.len() == filter.sources.len();
        if sized {
            let set = &self.set;
            reset_each(&mut self.values, &set.values, Vec::clear);
            reset_each(&mut self.containers, &set.containers, |c| *c = false);
            reset_each(&mut self.sources, &set.sources, |s| *s = 0);
            reset_each(&mut self.numbers, &set.numbers, |n| *n = None);
        } else {
            self.values.resize_with(3 + filter.fields, Vec::new);
            self.values.iter_mut().for_each(Vec::clear);
            self.sources.clear();
            self.sources.resize(filter.sources.len(), 0);
            self.containers.clear();
            self.containers.resize(filter.fields, false);
            self.numbers.clear();
            self.numbers.resize(filter.fields, None);
        }
        self.set.clear();
    }

    /// Writes into `out` the signature of the event read last: what
    /// [`RawScopeState::scope_possible`] reads of it, key by key. Values
    /// that are compared (channels, providers, event ids, conditions' fields)
    /// go in whole (the raw tokens, length-prefixed); a field only required
    /// gives one byte, whether it holds a container or a non-null scalar;
    /// other keys nothing. Events of one signature are therefore possible in
    /// the same scopes, and events differing only in, say, a required
    /// field's value share one. Events of a known layout write it by their
    /// layout's plan instead ([`LayoutSlots::write_signature`]).
    pub(crate) fn signature(&self, filter: &RawScopes, raw: &[u8], out: &mut Vec<u8>) {
        out.clear();
        for &(k, slot_use) in &filter.signature_slots {
            let slot = self.values.get(k).map_or(&[][..], Vec::as_slice);
            match slot_use {
                SlotUse::Compared => push_tokens(raw, slot, out),
                SlotUse::Required => {
                    let container = k
                        .checked_sub(3)
                        .and_then(|f| self.containers.get(f))
                        .copied()
                        .unwrap_or(true);
                    let present = container
                        || slot
                            .iter()
                            .any(|&(start, end)| token(raw, start, end) != b"null");
                    out.push(u8::from(present));
                }
            }
        }
    }

    /// Appends to `out` the tokens of the event read last that
    /// `Scanner::filter_event_ids` reads (the event-id field's,
    /// length-prefixed, then an end mark).
    pub(crate) fn event_id_key(&self, filter: &RawScopes, raw: &[u8], out: &mut Vec<u8>) {
        let tokens = match filter.event_id_field {
            Some(field) => slot(&self.values, Key::Field(field)),
            None => &[],
        };
        push_tokens(raw, tokens, out);
    }

    /// Whether the event read last may belong to scope `s` (unmapped
    /// scopes: `unmapped_possible`).
    pub(crate) fn scope_possible(
        &mut self,
        filter: &RawScopes,
        s: usize,
        raw: &[u8],
        unmapped_possible: bool,
    ) -> bool {
        match filter.scopes.get(s) {
            Some(Some(sources)) => sources
                .iter()
                .any(|&i| self.source_possible(filter, i as usize, raw)),
            Some(None) => unmapped_possible,
            None => true,
        }
    }

    fn source_possible(&mut self, filter: &RawScopes, i: usize, raw: &[u8]) -> bool {
        match self.sources.get(i) {
            Some(1) => return true,
            Some(2) => return false,
            _ => {}
        }
        let Some(test) = filter.sources.get(i) else {
            return true;
        };
        let possible = self.test(test, raw);
        if let Some(state) = self.sources.get_mut(i) {
            *state = if possible { 1 } else { 2 };
            self.set.sources.push(i as u32);
        }
        possible
    }

    fn test(&mut self, test: &SourceTest, raw: &[u8]) -> bool {
        if test.any_windows {
            return true;
        }
        if !test.channels.is_empty() || !test.providers.is_empty() {
            let mut seen = false;
            let mut hit = false;
            for key in [Key::Channel, Key::Provider] {
                let allowed = if key == Key::Channel {
                    &test.channels
                } else {
                    &test.providers
                };
                for &(start, end) in slot(&self.values, key) {
                    let token = token(raw, start, end);
                    if let Some(text) = string_value(token, &mut self.text_buf) {
                        seen = true;
                        hit |= allowed
                            .iter()
                            .any(|a| a.as_bytes().eq_ignore_ascii_case(text));
                    }
                }
            }
            if seen && !hit {
                return false;
            }
        }
        if !test.event_ids.is_empty() {
            let mut seen = false;
            let mut hit = false;
            for &(start, end) in slot(&self.values, Key::EventId) {
                let token = token(raw, start, end);
                let text = match string_value(token, &mut self.text_buf) {
                    Some(text) => text,
                    None => token,
                };
                if let Some(id) = std::str::from_utf8(text)
                    .ok()
                    .and_then(|t| t.trim().parse::<i64>().ok())
                {
                    seen = true;
                    hit |= test.event_ids.contains(&id);
                }
            }
            if seen && !hit {
                return false;
            }
        }
        for (field, allowed) in &test.conditions {
            let mut hit = false;
            for &(start, end) in slot(&self.values, Key::Field(*field)) {
                let token = token(raw, start, end);
                hit |= match string_value(token, &mut self.text_buf) {
                    Some(text) => allowed
                        .iter()
                        .any(|a| a.as_bytes().eq_ignore_ascii_case(text)),
                    // Numbers may be written otherwise than their text
                    // (`1e2`); true/false/null are their text.
                    None if token.iter().any(|b| matches!(b, b'.' | b'e' | b'E' | b'+')) => true,
                    None => allowed
                        .iter()
                        .any(|a| a.as_bytes().eq_ignore_ascii_case(token)),
                };
            }
            if !hit {
                return false;
            }
        }
        test.require.iter().all(|&field| {
            self.containers.get(field).copied().unwrap_or(true)
                || slot(&self.values, Key::Field(field))
                    .iter()
                    .any(|&(start, end)| token(raw, start, end) != b"null")
        })
    }
}

/// The tokens read for a key.
fn slot(values: &[Vec<(u32, u32)>], key: Key) -> &[(u32, u32)] {
    values.get(key.slot()).map_or(&[], Vec::as_slice)
}

/// Appends `tokens` of `raw` to `out`, each length-prefixed (four bytes,
/// little-endian), then an end mark (`u32::MAX`).
fn push_tokens(raw: &[u8], tokens: &[(u32, u32)], out: &mut Vec<u8>) {
    for &(start, end) in tokens {
        length_prefixed::push(out, token(raw, start, end));
    }
    out.extend_from_slice(&END_MARK);
}

/// The bytes of a token read from `raw`.
fn token(raw: &[u8], start: u32, end: u32) -> &[u8] {
    raw.get(start as usize..end as usize).unwrap_or_default()
}

/// The text of a string token (unescaped into `buf` when it has escapes);
/// `None` for other tokens and for `\u` escapes (the caller never reads
/// such events).
fn string_value<'t>(token: &'t [u8], buf: &'t mut Vec<u8>) -> Option<&'t [u8]> {
    let body = token.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !body.contains(&b'\\') {
        return Some(body);
    }
    buf.clear();
    unescape_into(body, buf)?;
    Some(buf)
}

#[cfg(test)]
mod tests;
