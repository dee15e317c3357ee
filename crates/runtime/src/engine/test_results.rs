//! The results of a member's tests on a value, for the verdict memo's key by
//! results (`folded_values.rs`), remembered by value.
//!
//! A key by results holds, for each string member whose every test is
//! known, one byte per test. Most such members repeat a few values (an
//! image, a logon type, a registry value's details) and only one is fresh
//! (a file name, an address, a logon id): a direct-mapped table of the
//! last value seen in each slot, with its results, answers the repeated
//! ones at the cost of a hash and a compare, where the tests cost a match
//! each (up to `MAX_TESTED` per member, `partial/digit_folds.rs`).
//!
//! The results depend on the tests as much as on the value: a slot names
//! the list of tests by its serial (unique within a scanner, never an
//! address, which a later list can take once an earlier one is dropped).
//! A slot's buffers are reused, so a filled table allocates nothing.
//!
//! The same results, computed ([`push_results`]), serve the tests decided
//! beside a folded value and those a verdict link keeps: with all SigmaHQ
//! two regular expressions that read digits are decided on every command
//! line. When every test of a list is a regular expression whose checks
//! (`regex_filter.rs`) rule out the value as written, each result is false
//! without the value being decoded.

use std::sync::Arc;

use hypersigma_compiler::eval::{predicate_holds_on_text, TextChars};
use hypersigma_compiler::ir::Predicate;

use crate::engine::key_hash::hash_key;
use crate::engine::scopes::has_hiding_escape;
use crate::strict_json::unescape_str_into;

/// Slots of the table (a power of two).
const SLOTS: usize = 1024;
/// The room each slot starts with for a value and its results (~600 KB
/// in all).
const VALUE_ROOM: usize = 512;
const RESULTS_ROOM: usize = 64;

/// One value's results under one list of tests.
#[derive(Default)]
struct Slot {
    /// The hash of the value and the serial, `serial`, the value, and the
    /// result bytes.
    hash: u64,
    serial: u64,
    value: Vec<u8>,
    results: Vec<u8>,
}

/// The table, and the scratch the tests decode a value into.
#[derive(Default)]
pub(super) struct TestResults {
    /// Empty until the first key by results.
    slots: Vec<Slot>,
    text: String,
    chars: TextChars,
    /// Values whose tests were run (not answered by a slot).
    #[cfg(test)]
    computed: usize,
}

impl TestResults {
    /// Appends to `key` the result of each of `tests` (the list whose
    /// serial is `serial`) on `raw`, a JSON string value, a byte each;
    /// `None` when the value does not read as a string.
    pub(super) fn push(
        &mut self,
        key: &mut Vec<u8>,
        raw: &[u8],
        serial: u64,
        tests: &[Arc<Predicate>],
    ) -> Option<()> {
        if self.slots.is_empty() {
            // Room for most values and results: a slot that takes another
            // value allocates nothing.
            self.slots.resize_with(SLOTS, || Slot {
                value: Vec::with_capacity(VALUE_ROOM),
                results: Vec::with_capacity(RESULTS_ROOM),
                ..Slot::default()
            });
        }
        let hash = hash_key(raw) ^ serial.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let slot = self.slots.get_mut((hash >> 32) as usize % SLOTS)?;
        if slot.hash == hash && slot.serial == serial && slot.value == raw {
            key.extend_from_slice(&slot.results);
            return Some(());
        }
        let at = key.len();
        push_results(key, raw, tests, (&mut self.text, &mut self.chars))?;
        #[cfg(test)]
        {
            self.computed += 1;
        }
        slot.hash = hash;
        slot.serial = serial;
        slot.value.clear();
        slot.value.extend_from_slice(raw);
        slot.results.clear();
        slot.results.extend_from_slice(key.get(at..)?);
        Some(())
    }

    /// The scratch the tests decode a value into (for the tests decided
    /// beside a folded value).
    pub(super) fn scratch(&mut self) -> (&mut String, &mut TextChars) {
        (&mut self.text, &mut self.chars)
    }
}

/// Appends the result of each of `tests` on `raw` (a JSON string, decoded
/// into `text`), a byte each; `None` when the value does not read as a
/// string.
pub(in crate::engine) fn push_results(
    key: &mut Vec<u8>,
    raw: &[u8],
    tests: &[Arc<Predicate>],
    (text, chars): (&mut String, &mut TextChars),
) -> Option<()> {
    let body = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if all_ruled_out(body, tests) {
        key.extend(std::iter::repeat_n(0u8, tests.len()));
        return Some(());
    }
    text.clear();
    if unescape_str_into(std::str::from_utf8(body).ok()?, text).is_none() {
        // A `\u` escape: serde_json decodes it.
        *text = serde_json::from_slice(raw).ok()?;
    }
    chars.forget();
    for test in tests {
        key.push(u8::from(predicate_holds_on_text(test, text, chars)?));
    }
    Some(())
}

/// Whether every one of `tests` is a regular expression whose checks rule
/// out the text of the JSON string whose body is `body`, read as written
/// (`regex_filter.rs`): each result is then false, and the body need not
/// be decoded (~800 instructions a command line, where the two regular
/// expressions that read digits are decided on every one with all
/// SigmaHQ). Only for a body of ASCII bytes without `\u` or `\/`
/// escapes, whose checks as written are sound.
fn all_ruled_out(body: &[u8], tests: &[Arc<Predicate>]) -> bool {
    !tests.is_empty()
        && tests.iter().all(|t| match &**t {
            Predicate::Regex(re) => re.rules_out_json_body(body),
            _ => false,
        })
        && body.is_ascii()
        && !has_hiding_escape(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypersigma_compiler::{parse_rule, CompileOptions};

    fn tests_of(values: &str) -> Vec<Arc<Predicate>> {
        let text = format!(
            "title: t\nlogsource: {{product: windows}}\ndetection:\n    s: {{A|contains: {values}}}\n    condition: s\n"
        );
        let rule = parse_rule(&text, &CompileOptions::default()).unwrap();
        rule.detection.selections[0].groups[0][0]
            .values
            .iter()
            .flatten()
            .map(|p| Arc::new(p.clone()))
            .collect()
    }

    #[test]
    fn remembered_results_are_those_of_the_tests_and_name_their_list() {
        let ab = tests_of("['a', 'b']");
        let cd = tests_of("['c', 'd']");
        let mut table = TestResults::default();
        let mut key = Vec::new();
        let mut results = |table: &mut TestResults, raw: &str, serial, tests| {
            key.clear();
            table.push(&mut key, raw.as_bytes(), serial, tests).unwrap();
            key.clone()
        };
        for _ in 0..2 {
            assert_eq!(results(&mut table, r#""xAy""#, 1, &ab), [1, 0]);
            assert_eq!(results(&mut table, r#""b\u0041""#, 1, &ab), [1, 1]);
            // The same value under another list: that list's results.
            assert_eq!(results(&mut table, r#""xAy""#, 2, &cd), [0, 0]);
            assert_eq!(results(&mut table, r#""cd""#, 2, &cd), [1, 1]);
        }
        // The second round's results came from the slots (all four, unless
        // two values share one).
        assert!(table.computed <= 6, "{}", table.computed);
        // Not a string: no results.
        assert!(table.push(&mut key, b"12", 1, &ab).is_none());
    }

    #[test]
    fn regular_expressions_ruled_out_as_written_give_the_decoded_results() {
        use crate::test_rng::TestRng;
        use hypersigma_compiler::eval::predicate_holds_on_text;
        use hypersigma_compiler::ir::SigmaRegex;
        use hypersigma_compiler::modifiers::RegexFlags;
        let caseless = RegexFlags {
            ignore_case: true,
            ..RegexFlags::default()
        };
        let regex =
            |source: &str| Arc::new(Predicate::Regex(SigmaRegex::new(source.into(), caseless)));
        let tests = vec![
            regex(r"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}"),
            regex(r#"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}"#),
        ];
        let mut rng = TestRng::new(7);
        let (mut text, mut chars) = (String::new(), TextChars::default());
        let (mut ruled_out, mut matched) = (0, 0);
        for _ in 0..4000 {
            let len = rng.below(40);
            let mut value =
                String::from_utf8(rng.text(b"ab9F .-\\\"'\t/xu", len)).unwrap_or_default();
            // Matches planted among the noise, and characters outside
            // ASCII.
            match rng.below(6) {
                0 => value.push_str(&format!(" {} {}", "aF09".repeat(16), "b".repeat(16))),
                1 => value.push_str("\\run.dl.\""),
                2 => value.push('\u{e9}'),
                _ => {}
            }
            let mut raw = serde_json::to_string(&value).unwrap();
            // Escapes the body reads otherwise: `\/`, `\u`.
            match rng.below(8) {
                0 => raw = raw.replace('/', "\\/"),
                1 => raw = raw.replace('a', "\\u0061"),
                _ => {}
            }
            let body = &raw.as_bytes()[1..raw.len() - 1];
            ruled_out += usize::from(all_ruled_out(body, &tests));
            let mut key = Vec::new();
            push_results(&mut key, raw.as_bytes(), &tests, (&mut text, &mut chars)).unwrap();
            let decoded: String = serde_json::from_str(&raw).unwrap();
            let mut expected_chars = TextChars::default();
            let expected: Vec<u8> = tests
                .iter()
                .map(|t| {
                    u8::from(predicate_holds_on_text(t, &decoded, &mut expected_chars).unwrap())
                })
                .collect();
            assert_eq!(key, expected, "{raw}");
            matched += usize::from(expected.contains(&1));
        }
        assert!(ruled_out > 1000 && matched > 500, "{ruled_out} {matched}");
    }
}
