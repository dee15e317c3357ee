//! Property: [`SigmaRegex::is_match`] (the `regex` crate with ASCII classes
//! on texts of ASCII characters, `fancy-regex` otherwise) gives the verdict
//! of the `fancy-regex` expression the reference evaluator runs, for
//! expressions of classes (`\w`, `\d`, `\s`, `\b`, `.`, negated sets),
//! case-insensitive parts, anchors, lookarounds and non-ASCII characters,
//! with every flag, on ASCII and non-ASCII texts (characters whose case
//! folds to an ASCII one among them: `ſ`, the Kelvin sign).

use hypersigma_compiler::ir::SigmaRegex;
use hypersigma_compiler::modifiers::RegexFlags;
use proptest::prelude::*;

mod common;

fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[abkKsS_1 ]{1,3}",
        Just("\\w".to_string()),
        Just("\\W".to_string()),
        Just("\\d".to_string()),
        Just("\\s".to_string()),
        Just("\\S".to_string()),
        Just("\\b".to_string()),
        Just("\\B".to_string()),
        Just(".".to_string()),
        Just("[^a]".to_string()),
        Just("[a-z]".to_string()),
        Just("(?i:k)".to_string()),
        Just("(?-i:s)".to_string()),
        Just("^".to_string()),
        Just("$".to_string()),
        Just("ſ".to_string()),
        Just("é".to_string()),
        Just("\\x{212A}".to_string()),
        Just("\\p{L}".to_string()),
        Just("(?=a)".to_string()),
        Just("[[:alpha:]]".to_string()),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| format!("(?:{})", v.join("|"))),
            inner.clone().prop_map(|e| format!("(?:{e})+")),
            inner.prop_map(|e| format!("(?:{e}){{0,2}}")),
        ]
    })
}

const ALPHABET: &[char] = &[
    'a', 'b', 'k', 'K', 's', 'S', '_', '1', ' ', '\t', '\n', '.', '-', 'ſ', '\u{212A}', 'é', 'É',
    '\u{a0}', '٣', 'ß',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..10)
        .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn ascii_variant_agrees_with_fancy_regex(
        source in expression(),
        flags in common::regex_flags(),
        texts in prop::collection::vec(text(), 1..8),
        ascii_texts in prop::collection::vec("[abkKsS_1 \t\n.-]{0,10}", 1..8),
    ) {
        let re = SigmaRegex::new(source.clone(), flags);
        let Some(fancy) = re.regex() else {
            return Ok(());
        };
        for text in texts.iter().chain(&ascii_texts) {
            let expected = fancy.is_match(text).unwrap_or(false);
            prop_assert_eq!(re.is_match(text), expected, "{:?} {:?} on {:?}", source, flags, text);
        }
    }
}

#[test]
fn non_ascii_expressions_keep_unicode_case_folding() {
    let caseless = RegexFlags {
        ignore_case: true,
        ..RegexFlags::default()
    };
    // `ſ` and the Kelvin sign fold to ASCII letters.
    for (source, text, expected) in [
        ("ſ", "s", true),
        ("ſ", "S", true),
        ("\u{212A}", "k", true),
        ("\\x{212A}", "K", true),
        ("k", "\u{212A}", true),
        ("\\w+\\s\\d", "abc 1", true),
        ("\\w", "é", true),
        ("^\\W$", "é", false),
        ("\\bé", "é", true),
        ("^.$", "é", true),
    ] {
        let re = SigmaRegex::new(source.to_string(), caseless);
        assert_eq!(re.is_match(text), expected, "{source} on {text}");
        assert_eq!(
            re.regex().and_then(|r| r.is_match(text).ok()),
            Some(expected),
            "{source} on {text}"
        );
    }
    // Built only for ASCII expressions the `regex` crate takes.
    let plain = RegexFlags::default();
    assert!(SigmaRegex::new("a\\w".into(), plain).is_match("ab"));
    assert!(SigmaRegex::new("(?<=a)b".into(), plain).is_match("ab"));
    assert!(SigmaRegex::new("(a)\\1".into(), plain).is_match("aa"));
    assert!(!SigmaRegex::new("(a)\\1".into(), plain).is_match("ab"));
}
