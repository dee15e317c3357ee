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
    /// The integer the field of key `field` of the event read last holds,
    /// when it holds one scalar and that reads as an integer (a number, or
    /// a string of digits).
    pub(crate) fn single_integer(&mut self, field: usize, raw: &[u8]) -> Option<i64> {
        let known = self.numbers.get_mut(field)?;
        let tokens = slot(&self.values, Key::Field(field));
        let numbers =
            *known.get_or_insert_with(|| FieldNumbers::of(tokens, raw, &mut self.text_buf));
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
        let Some(known) = self.numbers.get_mut(field) else {
            return true;
        };
        let tokens = slot(&self.values, Key::Field(field));
        let numbers =
            *known.get_or_insert_with(|| FieldNumbers::of(tokens, raw, &mut self.text_buf));
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
