//! The values a candidate's detection requires of a field, checked on the
//! raw event's member index (see [`hypersigma_compiler::required_values`]):
//! a rule requiring `LogonType: 9` or a destination port among a list is
//! dropped for an event whose field holds none of them, never for one the
//! reference could match.

use hypersigma_compiler::required_values::RequiredValue;

use super::{slot, string_value, token, Key, RawScopeState};

/// The values one of which a field must equal for a rule to match (see
/// [`RawScopeState::possible`]).
#[derive(Debug)]
pub(crate) struct Requirement {
    /// The field's key.
    field: usize,
    values: Vec<RequiredValue>,
    /// The values that are integers ([`integer_of`]), ascending.
    integers: Vec<i64>,
    /// Their [`bucket`]s, or-ed; every bit when some value is no integer.
    buckets: u64,
}

impl Requirement {
    pub(super) fn new(field: usize, values: Vec<RequiredValue>) -> Requirement {
        let mut integers: Vec<i64> = values.iter().filter_map(|v| integer_of(v.value)).collect();
        integers.sort_unstable();
        integers.dedup();
        let buckets = if integers.len() == values.len() {
            integers.iter().fold(0, |b, &i| b | bucket(i))
        } else {
            u64::MAX
        };
        Requirement {
            field,
            values,
            integers,
            buckets,
        }
    }
}

impl Requirement {
    /// Whether a field whose only scalar reads as `integer` (a number, or a
    /// string of digits) may equal one of the values: never false when
    /// [`RawScopeState::possible`] is true for such a field.
    pub(crate) fn admits_integer(&self, integer: i64) -> bool {
        self.integers.binary_search(&integer).is_ok()
    }
}

/// The integer a number is, when a 64-bit integer holds it.
fn integer_of(value: f64) -> Option<i64> {
    (value.fract() == 0.0 && value.abs() < 9.0e18).then_some(value as i64)
}

/// The bucket bit of an integer (its value modulo 64): a field whose
/// integers' bits miss all of a requirement's holds none of its values.
fn bucket(integer: i64) -> u64 {
    1u64 << (integer & 63)
}

/// What the scalars of one field of the event read last can equal, for
/// requirements: the integers of its numbers and of its strings of digits,
/// or `any` when some scalar is neither (a string of other text, a number
/// that is no integer) or there are more than kept: such a field is
/// compared as the reference compares.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FieldNumbers {
    /// The [`bucket`]s of `integers`; every bit when `any`.
    buckets: u64,
    integers: [i64; 4],
    count: u8,
    any: bool,
}

impl FieldNumbers {
    /// The numbers of `tokens` of `raw`.
    pub(super) fn of(tokens: &[(u32, u32)], raw: &[u8], buf: &mut Vec<u8>) -> FieldNumbers {
        let mut out = FieldNumbers::default();
        for &(start, end) in tokens {
            let token = token(raw, start, end);
            let integer = if token.first() == Some(&b'"') {
                string_value(token, buf)
                    .filter(|text| text.iter().all(u8::is_ascii_digit))
                    .and_then(text_number)
                    .and_then(integer_of)
            } else {
                // `true`, `false` and `null` equal no required value.
                let Some(value) = text_number(token) else {
                    continue;
                };
                integer_of(value)
            };
            match integer {
                Some(integer) if usize::from(out.count) < out.integers.len() => {
                    out.integers[usize::from(out.count)] = integer;
                    out.count += 1;
                    out.buckets |= bucket(integer);
                }
                _ => out.any = true,
            }
        }
        if out.any {
            out.buckets = u64::MAX;
        }
        out
    }
}

/// The number a text (a number token, a string's text) reads as.
fn text_number(text: &[u8]) -> Option<f64> {
    // Short runs of digits (event ids, ports, logon types) without the
    // float parser: every integer of up to 15 digits is exact in an f64.
    if !text.is_empty() && text.len() <= 15 && text.iter().all(u8::is_ascii_digit) {
        let n = text.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        return Some(n as f64);
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

impl RawScopeState {
    /// The numbers of the field of key `field` of the event read last,
    /// worked out on the first ask and kept for the event.
    fn numbers_of(&mut self, field: usize, raw: &[u8]) -> Option<FieldNumbers> {
        let known = self.numbers.get_mut(field)?;
        if let Some(numbers) = known {
            return Some(*numbers);
        }
        let tokens = slot(&self.values, Key::Field(field));
        let numbers = FieldNumbers::of(tokens, raw, &mut self.text_buf);
        *known = Some(numbers);
        self.set.numbers.push(field as u32);
        Some(numbers)
    }

    /// The integer the field of key `field` of the event read last holds,
    /// when it holds one scalar and that reads as an integer (a number, or
    /// a string of digits).
    pub(crate) fn single_integer(&mut self, field: usize, raw: &[u8]) -> Option<i64> {
        let numbers = self.numbers_of(field, raw)?;
        (!numbers.any && numbers.count == 1).then_some(numbers.integers[0])
    }

    /// Whether the requirement's field of the event read last may equal
    /// one of its values (a rule's requirement,
    /// [`hypersigma_compiler::required_values::rule_event_ids`],
    /// [`hypersigma_compiler::required_values::rule_value_requirements`]). An event that holds none has no such
    /// scalar: a rule that requires one cannot match it. Never false when
    /// the reference's answer is true (a string holding a value's text, a
    /// number equal to it, a string with escapes this does not decode):
    /// when the field holds only integers and strings of digits, their
    /// integers are compared with the values' (a string `04624` passes for
    /// `4624`), else its scalars are compared as the reference compares.
    // Asked for every candidate requiring values (a Security event's
    // witness-free rules, by event id): the buckets' test inline.
    #[inline(always)]
    pub(crate) fn possible(&mut self, requirement: &Requirement, raw: &[u8]) -> bool {
        match self.numbers.get(requirement.field) {
            Some(Some(numbers)) if numbers.buckets & requirement.buckets == 0 => false,
            _ => self.possible_by_integers(requirement, raw),
        }
    }

    /// [`RawScopeState::possible`] past the buckets' test.
    #[inline(never)]
    fn possible_by_integers(&mut self, requirement: &Requirement, raw: &[u8]) -> bool {
        let field = requirement.field;
        let Some(numbers) = self.numbers_of(field, raw) else {
            return true;
        };
        let tokens = slot(&self.values, Key::Field(field));
        if !numbers.any {
            return numbers.integers[..usize::from(numbers.count)]
                .iter()
                .any(|i| requirement.integers.binary_search(i).is_ok());
        }
        // As the reference compares: a string's text with a value's, a
        // number's value with a value's.
        let values = &requirement.values;
        tokens.iter().any(|&(start, end)| {
            let token = token(raw, start, end);
            match string_value(token, &mut self.text_buf) {
                Some(text) => values.iter().any(|v| v.text.as_bytes() == text),
                None if token.first() == Some(&b'"') => true,
                None => text_number(token).is_some_and(|x| values.iter().any(|v| v.value == x)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::scopes_of;
    use super::super::{RawScopeState, RawScopes};
    use crate::members::MemberIndex;

    /// Everything a state answers of `raw` after reading it: its signature,
    /// each scope's verdict, each field's single integer.
    fn answers(state: &mut RawScopeState, scopes: &RawScopes, raw: &[u8]) -> String {
        let mut index = MemberIndex::default();
        assert!(index.build(raw));
        let slots = scopes.layout_slots(&index, raw, &mut Vec::new());
        state.read(scopes, &index, &slots);
        let mut signature = Vec::new();
        state.signature(scopes, raw, &mut signature);
        let possible: Vec<bool> = (0..scopes.scopes.len())
            .map(|s| state.scope_possible(scopes, s, raw, true))
            .collect();
        let integers: Vec<Option<i64>> = (0..scopes.fields)
            .map(|f| state.single_integer(f, raw))
            .collect();
        format!("{signature:?} {possible:?} {integers:?}")
    }

    #[test]
    fn an_event_is_answered_as_by_a_fresh_state_whatever_was_read_before() {
        let rules = [
            "logsource: {product: windows, service: security}\ndetection:\n    s: {EventID: 4624, LogonType: 3}",
            "logsource: {product: windows, category: process_creation}\ndetection:\n    s: {Image|endswith: '\\a.exe'}",
            "logsource: {product: windows, category: network_connection}\ndetection:\n    s: {DestinationPort: 445}",
            "logsource: {product: aws, service: cloudtrail}\ndetection:\n    s: {eventSource: s3.amazonaws.com}",
            "logsource: {product: windows}\ndetection:\n    keywords: [mimikatz]",
        ];
        let scopes = scopes_of(&rules, &["LogonType", "DestinationPort", "eventSource"]);
        assert!(scopes.fields >= 3);
        let events: [&[u8]; 7] = [
            br#"{"Channel":"Security","EventID":4624,"LogonType":3}"#,
            br#"{"Channel":"Security","EventID":"4624","LogonType":"10","Extra":{"a":1}}"#,
            br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"DestinationPort":445}"#,
            br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\a.exe"}"#,
            br#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","DestinationPort":[1,2]}"#,
            br#"{"EventID":4688,"LogonType":null,"eventSource":{"x":1}}"#,
            br#"{"Message":"nothing of any source"}"#,
        ];
        for before in events {
            for after in events {
                let mut used = RawScopeState::default();
                answers(&mut used, &scopes, before);
                let fresh = answers(&mut RawScopeState::default(), &scopes, after);
                assert_eq!(
                    answers(&mut used, &scopes, after),
                    fresh,
                    "{} after {}",
                    String::from_utf8_lossy(after),
                    String::from_utf8_lossy(before)
                );
            }
        }
    }
}
