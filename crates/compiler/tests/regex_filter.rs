//! Property: the checks run before an expression's automaton
//! (`regex_filter.rs`: a run of one class, the suffix literals) never rule
//! out a text the expression matches, on the text itself nor on the body
//! of the JSON string that writes it (`SigmaRegex::rules_out_json_body`). Expressions of long class runs,
//! literals, classes of punctuation and alternations, with every flag;
//! texts holding a match drawn from the expression itself, between random
//! bytes, and random texts of the same bytes, each compared with the
//! `fancy-regex` verdict the reference evaluator gives.

use hypersigma_compiler::ir::SigmaRegex;
use hypersigma_compiler::modifiers::RegexFlags;
use proptest::prelude::*;

mod common;
use proptest::string::string_regex;

fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("[a-f0-9]{8,12}".to_string()),
        Just("[A-F0-9]{8}".to_string()),
        Just("[a-zA-Z0-9]{1,4}".to_string()),
        Just("[0-9]{9,}".to_string()),
        Just("[ \t]".to_string()),
        Just("\\.".to_string()),
        Just("[ \"']".to_string()),
        Just("\\\\".to_string()),
        Just("-".to_string()),
        Just("ab".to_string()),
        Just("x".to_string()),
        Just("[a-z]".to_string()),
        Just("[\"\\\\]{2}".to_string()),
        Just("[\t\n\r]".to_string()),
        Just("\\s{9}".to_string()),
    ];
    leaf.prop_recursive(3, 12, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..5).prop_map(|v| v.concat()),
            prop::collection::vec(inner.clone(), 2..3).prop_map(|v| format!("(?:{})", v.join("|"))),
            inner.clone().prop_map(|e| format!("(?:{e}){{2}}")),
            inner.prop_map(|e| format!("(?:{e})?")),
        ]
    })
}

/// An expression and a text it matches (drawn by the expression itself).
fn expression_and_match() -> impl Strategy<Value = (String, String)> {
    expression().prop_flat_map(|e| {
        let sample = string_regex(&e).expect("the leaves are proptest's regex syntax");
        (Just(e), sample)
    })
}

const NOISE: &str = "[0-9a-fA-Fxz .\"'\\\\\t\n-]{0,40}";

/// The body of the JSON string that writes `text`, when it holds no
/// `\u` escape and only ASCII bytes (what `rules_out_json_body` reads).
fn json_body(text: &str) -> Option<String> {
    let json = serde_json::to_string(text).ok()?;
    let body = json.strip_prefix('"')?.strip_suffix('"')?;
    (body.is_ascii() && !body.contains("\\u")).then(|| body.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn the_checks_never_rule_out_a_match(
        (source, sample) in expression_and_match(),
        flags in common::regex_flags(),
        before in NOISE,
        after in NOISE,
        others in prop::collection::vec(NOISE, 1..6),
    ) {
        let re = SigmaRegex::new(source.clone(), flags);
        let Some(fancy) = re.regex() else {
            return Ok(());
        };
        let planted = format!("{before}{sample}{after}");
        prop_assert!(re.is_match(&planted), "{:?} {:?} on {:?}", source, flags, planted);
        for text in others.iter().chain([&planted, &sample]) {
            let expected = fancy.is_match(text).unwrap_or(false);
            prop_assert_eq!(re.is_match(text), expected, "{:?} {:?} on {:?}", source, flags, text);
            if let (true, Some(body)) = (expected, json_body(text)) {
                prop_assert!(
                    !re.rules_out_json_body(body.as_bytes()),
                    "{:?} {:?} on the body {:?}", source, flags, body
                );
            }
        }
    }
}

#[test]
fn sigma_expressions_with_checks_keep_their_verdicts() {
    let caseless = RegexFlags {
        ignore_case: true,
        ..RegexFlags::default()
    };
    let hex64 = "0123456789abcdef".repeat(4);
    for (source, text, expected) in [
        (
            r"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}",
            format!("x {hex64} 0123456789ABCDEF"),
            true,
        ),
        (
            r"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}",
            format!("x {hex64}g0123456789ABCDEF"),
            false,
        ),
        (
            r"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}",
            "svchost.exe -k netsvcs".into(),
            false,
        ),
        (
            r#"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}"#,
            r#"x \\h\Ab.CD. y"#.into(),
            true,
        ),
        (
            r#"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}"#,
            r"C:\a.exe -k".into(),
            false,
        ),
        (r"^[A-Za-z0-9]{16}$", "AbCdEfGh12345678".into(), true),
        (r"^[A-Za-z0-9]{16}$", "AbCdEfGh1234567".into(), false),
    ] {
        let re = SigmaRegex::new(source.to_string(), caseless);
        assert_eq!(re.is_match(&text), expected, "{source} on {text}");
        assert_eq!(
            re.regex().and_then(|r| r.is_match(&text).ok()),
            Some(expected)
        );
        let body = json_body(&text).unwrap();
        assert!(
            expected <= !re.rules_out_json_body(body.as_bytes()),
            "{source} on {body}"
        );
    }
    // The body writes a quote and a tab as escapes: the suffix `."` and a
    // run of hexadecimal digits and white space through a tab are found
    // there.
    let dot_ending = SigmaRegex::new(
        r#"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}"#.into(),
        caseless,
    );
    assert!(dot_ending.is_match(r#"run \h\a.b." x"#));
    assert!(!dot_ending.rules_out_json_body(br#"run \\h\\a.b.\" x"#));
    assert!(dot_ending.rules_out_json_body(br"C:\\a.exe -k"));
    let snake = SigmaRegex::new(r"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}".into(), caseless);
    let tabbed = format!("x\t{hex64}\t0123456789abcdef");
    assert!(snake.is_match(&tabbed));
    assert!(!snake.rules_out_json_body(json_body(&tabbed).unwrap().as_bytes()));
    assert!(snake.rules_out_json_body(b"svchost.exe -k netsvcs"));
}
