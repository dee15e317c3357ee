//! A layout's plan for writing its events' log-source signatures.
//!
//! The signature of an event ([`RawScopeState::signature`]) is what the
//! source tests read of it, slot by slot: the tokens of the compared slots
//! (length-prefixed, each slot closed by an end mark) and one byte per
//! required slot. Which scalars fill which slot, and which required slots
//! hold a container, follow from the member names alone: events of one
//! layout share them ([`super::LayoutSlots`]). So the plan is worked out
//! once per layout, its constant bytes (the end marks of the many slots
//! such events leave empty, the presence bytes the names decide) merged
//! into runs; an event then writes its signature by copying those runs and
//! its few tokens. With all SigmaHQ a signature passes through 12 slots,
//! most empty, ~500 instructions an event slot by slot (BENCHMARKS.md,
//! "fast path v52").
//!
//! The plan writes exactly the bytes [`RawScopeState::signature`] writes
//! after [`RawScopeState::read`] of the same layout (tests below). It also
//! compares an event's signature in place with one it wrote for an earlier
//! event of the layout ([`SignaturePlan::writes_again`]): the engine keeps
//! the last one with its scope set, and an event of the same kind takes
//! that set without writing, hashing or looking up anything. Before that
//! compare, a flat line is compared by its bytes up to the last scalar the
//! plan reads ([`SignaturePlan::signature_bytes`]): equal there, equal
//! signatures.

#[cfg(doc)]
use super::RawScopeState;
use super::{RawScopes, SlotUse, END_MARK};
use crate::length_prefixed;
use crate::members::MemberIndex;

/// One step of writing a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// These bytes of [`SignaturePlan::constant`].
    Constant(u32, u32),
    /// The token of this scalar, its length first (nothing when the event
    /// has no such scalar).
    Token(u32),
    /// Whether one of these scalars (a range of [`SignaturePlan::scalars`])
    /// is present and not `null`, as one byte.
    NotNull(u32, u32),
}

/// The steps that write the signature of an event of one layout.
#[derive(Debug, Default)]
pub(crate) struct SignaturePlan {
    steps: Vec<Step>,
    constant: Vec<u8>,
    scalars: Vec<u32>,
    /// The last scalar a step reads (`None`: the signature is constant).
    last_scalar: Option<u32>,
}

impl SignaturePlan {
    /// The plan for a layout whose scalars can be read as the slots
    /// `scalars` (`(scalar, slot)` pairs, in scalar order) and whose
    /// members holding containers can be the fields `container_fields`.
    pub(super) fn new(
        filter: &RawScopes,
        scalars: &[(u32, u32)],
        container_fields: &[usize],
    ) -> SignaturePlan {
        let mut plan = SignaturePlan::default();
        // Constant bytes not yet closed into a step.
        let mut pending = 0;
        for &(k, slot_use) in &filter.signature_slots {
            let of_slot = scalars
                .iter()
                .filter(|&&(_, slot)| slot as usize == k)
                .map(|&(scalar, _)| scalar);
            match slot_use {
                SlotUse::Compared => {
                    for scalar in of_slot {
                        plan.close_constant(&mut pending);
                        plan.steps.push(Step::Token(scalar));
                    }
                    plan.constant.extend_from_slice(&END_MARK);
                }
                SlotUse::Required => {
                    // As the state reads it: the three first slots (and a
                    // field past the filter's) count as holding a container.
                    let container = match k.checked_sub(3) {
                        Some(f) if f < filter.fields => container_fields.contains(&f),
                        _ => true,
                    };
                    let start = plan.scalars.len() as u32;
                    plan.scalars.extend(of_slot);
                    let end = plan.scalars.len() as u32;
                    if container || start == end {
                        plan.scalars.truncate(start as usize);
                        plan.constant.push(u8::from(container));
                    } else {
                        plan.close_constant(&mut pending);
                        plan.steps.push(Step::NotNull(start, end));
                    }
                }
            }
        }
        plan.close_constant(&mut pending);
        let tokens = plan.steps.iter().filter_map(|step| match step {
            Step::Token(scalar) => Some(*scalar),
            _ => None,
        });
        plan.last_scalar = tokens.chain(plan.scalars.iter().copied()).max();
        plan
    }

    /// The bytes of `raw` (indexed by `index`, an event of the plan's
    /// layout) up to the end of the last scalar the plan reads, when `raw`
    /// is a flat line the strict pass accepted (it has a shape): two such
    /// events of the layout equal there have the same signature. Scalars
    /// come in the line's order, so every scalar the plan reads lies in
    /// those bytes, and the flat pass lexes them alone: the same bytes, the
    /// same tokens at the same places (a token ending there ends there in
    /// both, as it ends where the bytes say).
    pub(crate) fn signature_bytes<'r>(
        &self,
        index: &MemberIndex,
        raw: &'r [u8],
    ) -> Option<&'r [u8]> {
        index.shape()?;
        let end = match self.last_scalar {
            Some(k) => index.span_range(k as usize)?.1,
            None => 0,
        };
        raw.get(..end)
    }

    /// Closes the constant bytes written since `pending` into a step.
    fn close_constant(&mut self, pending: &mut usize) {
        let end = self.constant.len();
        if end > *pending {
            self.steps.push(Step::Constant(*pending as u32, end as u32));
        }
        *pending = end;
    }

    /// Writes into `out` the signature of `raw`, an event of the plan's
    /// layout indexed by `index`.
    pub(crate) fn write(&self, index: &MemberIndex, raw: &[u8], out: &mut Vec<u8>) {
        out.clear();
        for &step in &self.steps {
            match step {
                Step::Constant(start, end) => out.extend_from_slice(
                    self.constant
                        .get(start as usize..end as usize)
                        .unwrap_or_default(),
                ),
                Step::Token(scalar) => {
                    if let Some(token) = token_of(index, raw, scalar) {
                        length_prefixed::push(out, token);
                    }
                }
                Step::NotNull(start, end) => out.push(self.not_null(index, raw, start, end)),
            }
        }
    }

    /// The byte of a [`Step::NotNull`] over the scalars `start..end` of
    /// [`SignaturePlan::scalars`].
    fn not_null(&self, index: &MemberIndex, raw: &[u8], start: u32, end: u32) -> u8 {
        let scalars = self
            .scalars
            .get(start as usize..end as usize)
            .unwrap_or_default();
        let present = scalars
            .iter()
            .any(|&k| token_of(index, raw, k).is_some_and(|t| t != b"null"));
        u8::from(present)
    }

    /// Whether [`SignaturePlan::write`] would write `written` for `raw`
    /// (indexed by `index`), when `written` is what this plan wrote for an
    /// earlier event: its constant bytes are then the plan's own, and only
    /// the tokens and presence bytes are compared, in place.
    pub(crate) fn writes_again(&self, index: &MemberIndex, raw: &[u8], written: &[u8]) -> bool {
        let mut rest = written;
        for &step in &self.steps {
            let taken = match step {
                Step::Constant(start, end) => rest.get(end.saturating_sub(start) as usize..),
                Step::Token(scalar) => match token_of(index, raw, scalar) {
                    Some(token) => length_prefixed::strip(rest, token),
                    None => Some(rest),
                },
                Step::NotNull(start, end) => {
                    rest.strip_prefix(&[self.not_null(index, raw, start, end)][..])
                }
            };
            match taken {
                Some(tail) => rest = tail,
                None => return false,
            }
        }
        rest.is_empty()
    }
}

/// The token of scalar `k` of the event `raw` indexed by `index`, when it
/// has one (empty when its range lies outside `raw`, as the state reads it).
fn token_of<'r>(index: &MemberIndex, raw: &'r [u8], k: u32) -> Option<&'r [u8]> {
    let (start, end) = index.span_range(k as usize)?;
    Some(raw.get(start..end).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::super::tests::scopes_of;
    use super::super::{RawScopeState, RawScopes};
    use crate::members::MemberIndex;
    use proptest::prelude::*;

    /// Scopes reading channels, providers, event ids, a condition's field
    /// and required fields.
    fn scopes() -> RawScopes {
        let rules = [
            "logsource: {product: windows, service: security}\ndetection:\n    s: {EventID: 4624, LogonType: 3}",
            "logsource: {product: windows, service: sysmon}\ndetection:\n    s: {EventID: 1, Image|endswith: '\\a.exe'}",
            "logsource: {product: windows, category: network_connection}\ndetection:\n    s: {DestinationPort: 445}",
            "logsource: {product: aws, service: cloudtrail}\ndetection:\n    s: {eventSource: s3.amazonaws.com}",
            "logsource: {product: zeek, service: dns}\ndetection:\n    s: {query: a}",
            "logsource: {product: windows}\ndetection:\n    keywords: [mimikatz]",
        ];
        scopes_of(&rules, &["LogonType", "DestinationPort", "eventSource"])
    }

    /// The signature of `raw` by its layout's plan, and by the state after
    /// reading it (`None` when it does not index).
    fn both(scopes: &RawScopes, raw: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut index = MemberIndex::default();
        if !index.build(raw) {
            return None;
        }
        let slots = scopes.layout_slots(&index, raw, &mut Vec::new());
        let mut state = RawScopeState::default();
        state.read(scopes, &index, &slots);
        let mut by_state = Vec::new();
        state.signature(scopes, raw, &mut by_state);
        let mut by_plan = vec![7];
        slots.write_signature(&index, raw, &mut by_plan);
        Some((by_plan, by_state))
    }

    #[test]
    fn plans_write_the_signatures_the_state_writes() {
        let scopes = scopes();
        let events: [&[u8]; 9] = [
            br#"{"Channel":"Security","EventID":4624,"LogonType":3}"#,
            br#"{"Channel":"Security","EventID":"4624","LogonType":null,"Extra":{"a":1}}"#,
            br#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\a.exe"}"#,
            br#"{"DestinationPort":[445,"x"],"Channel":["a","b"],"Provider_Name":"p"}"#,
            br#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#,
            br#"{"eventSource":{"nested":true},"query":null}"#,
            br#"{"Event":{"System":{"EventID":4625,"Channel":"Security"},"EventData":{"LogonType":"3"}}}"#,
            br##"{"query":"a","#text":"x"}"##,
            br#"{}"#,
        ];
        for raw in events {
            let (by_plan, by_state) = both(&scopes, raw).unwrap();
            assert_eq!(by_plan, by_state, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn a_signature_compares_in_place_as_written() {
        let scopes = scopes();
        let first = br#"{"Channel":"Security","EventID":4624,"LogonType":3,"query":null}"#;
        let mut index = MemberIndex::default();
        assert!(index.build(first));
        let slots = scopes.layout_slots(&index, first, &mut Vec::new());
        let mut written = Vec::new();
        slots.write_signature(&index, first, &mut written);
        let same_layout: [(&[u8], bool); 6] = [
            (first, true),
            // Members the source tests do not read.
            (
                br#"{"Channel":"Security","EventID":4624,"LogonType":null,"query":"x"}"#,
                true,
            ),
            (
                br#"{"Channel":"Security","EventID":4625,"LogonType":3,"query":null}"#,
                false,
            ),
            (
                br#"{"Channel":"Securit","EventID":4624,"LogonType":3,"query":null}"#,
                false,
            ),
            (
                br#"{"Channel":"Security","EventID":"4624","LogonType":3,"query":null}"#,
                false,
            ),
            (
                br#"{"Channel":null,"EventID":4624,"LogonType":3,"query":null}"#,
                false,
            ),
        ];
        for (raw, same) in same_layout {
            let mut index = MemberIndex::default();
            assert!(index.build(raw));
            let (by_plan, _) = both(&scopes, raw).unwrap();
            assert_eq!(by_plan == written, same, "{}", String::from_utf8_lossy(raw));
            assert_eq!(slots.has_signature(&index, raw, &written), same);
            // Shorter or longer than written: never the same.
            assert!(!slots.has_signature(&index, raw, &written[..written.len() - 1]));
            let mut longer = written.clone();
            longer.push(0);
            assert!(!slots.has_signature(&index, raw, &longer));
        }
    }

    /// A member name the scopes read, or another one.
    fn name() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "Channel",
            "EventID",
            "Provider_Name",
            "LogonType",
            "DestinationPort",
            "eventSource",
            "query",
            "#text",
            "Image",
            "Other",
        ])
    }

    /// A scalar value.
    fn scalar() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "null",
            "3",
            "\"3\"",
            "\"Security\"",
            "\"null\"",
            "true",
        ])
    }

    /// A value: a scalar or a container.
    fn value() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            scalar(),
            prop::sample::select(vec!["[1,null]", "{\"a\":null}", "[]", "{}"]),
        ]
    }

    proptest! {
        /// Events of random members (repeated names included), each one
        /// written again with other scalars, which shares its layout (the
        /// same names and containers) and so its plan.
        #[test]
        fn a_layouts_plan_writes_what_the_state_writes_for_each_of_its_events(
            members in prop::collection::vec((name(), value(), scalar()), 0..8),
        ) {
            let scopes = scopes();
            let event = |again: bool| {
                let body: Vec<String> = members
                    .iter()
                    .map(|(n, first, other)| {
                        let scalar = !first.starts_with(['[', '{']);
                        format!("\"{n}\":{}", if again && scalar { other } else { first })
                    })
                    .collect();
                format!("{{{}}}", body.join(","))
            };
            let first = event(false);
            let mut index = MemberIndex::default();
            prop_assume!(index.build(first.as_bytes()));
            let slots = scopes.layout_slots(&index, first.as_bytes(), &mut Vec::new());
            let mut first_signature = Vec::new();
            slots.write_signature(&index, first.as_bytes(), &mut first_signature);
            let first_bytes = slots.signature_bytes(&index, first.as_bytes());
            // A flat line of a shape has them.
            prop_assert_eq!(first_bytes.is_some(), index.shape().is_some());
            for raw in [first.clone(), event(true)] {
                let raw = raw.as_bytes();
                let mut index = MemberIndex::default();
                prop_assert!(index.build(raw));
                let mut state = RawScopeState::default();
                state.read(&scopes, &index, &slots);
                let mut by_state = Vec::new();
                state.signature(&scopes, raw, &mut by_state);
                let mut by_plan = Vec::new();
                slots.write_signature(&index, raw, &mut by_plan);
                prop_assert_eq!(
                    slots.has_signature(&index, raw, &first_signature),
                    by_plan == first_signature
                );
                prop_assert!(slots.has_signature(&index, raw, &by_plan));
                // The same bytes up to the last scalar the plan reads, the
                // same signature.
                let bytes = slots.signature_bytes(&index, raw);
                if bytes.is_some() && bytes == first_bytes {
                    prop_assert_eq!(&by_plan, &first_signature);
                }
                prop_assert_eq!(by_plan, by_state);
            }
        }
    }
}
