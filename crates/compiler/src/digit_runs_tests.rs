use proptest::prelude::*;

use super::*;
use crate::ir::SigmaRegex;
use crate::modifiers::RegexFlags;
use crate::pattern::Pattern;

fn text(pieces: Vec<Piece>, cased: bool) -> Predicate {
    Predicate::Text {
        pattern: Pattern::from_pieces(pieces),
        cased,
    }
}

fn contains(s: &str) -> Predicate {
    text(
        vec![Piece::AnyRun, Piece::Literal(s.into()), Piece::AnyRun],
        false,
    )
}

fn regex(source: &str) -> Predicate {
    Predicate::Regex(SigmaRegex::new(source.into(), RegexFlags::default()))
}

/// `value` as a JSON string, folded under `fold` (as it is when nothing
/// folds).
fn folded(value: &str, fold: &DigitFold) -> String {
    let raw = serde_json::to_vec(value).unwrap();
    let mut out = Vec::new();
    if !fold_json_string(&raw, fold, &mut out) {
        assert!(out.is_empty());
        return value.to_string();
    }
    assert_ne!(out, raw, "a fold that folds nothing says so");
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn tests_that_read_no_long_run_fold() {
    for p in [
        contains("--type=renderer"),
        contains("rundll32"),
        contains("127.0.0.1"),
        contains("46xsab"),
        contains("S-1-16-16384"),
        contains("4444"),
        contains("xyz123456.exe"),
        text(vec![Piece::Literal("12345".into())], false),
        text(vec![Piece::AnyRun, Piece::Literal(".ps1".into())], false),
        text(vec![Piece::Literal("C:\\x".into()), Piece::AnyRun], true),
        regex(r"net\s+user\s+"),
        regex(r"(?im)^powershell\s"),
        Predicate::Exists(true),
        Predicate::Null,
    ] {
        assert!(predicate_fold(&p).is_some(), "{p:?}");
    }
}

#[test]
fn tests_that_can_read_a_long_run_do_not_fold() {
    for p in [
        contains("x\u{7f}y"),
        regex(r"\bx"),
        regex(r"\W"),
        text(
            vec![
                Piece::AnyRun,
                Piece::Literal("a".into()),
                Piece::AnyChar,
                Piece::Literal("b".into()),
            ],
            false,
        ),
        text(vec![Piece::AnyRun, Piece::OneOf(vec!['-', '1'])], false),
        regex(r"-k\s\w{1,64}"),
        regex(r"\d+"),
        regex(r"a.b"),
        regex(r"[^a]"),
        regex(r"(?<=a)b"),
        Predicate::Bool(true),
    ] {
        assert!(predicate_fold(&p).is_none(), "{p:?}");
    }
}

#[test]
fn long_runs_fold_except_next_to_a_stretch_of_a_test() {
    let fold = predicate_fold(&contains("rundll32")).unwrap();
    assert_eq!(
        folded("--id=83479128 --ticks=25771953,1234,12345", &fold),
        "--id=\u{7f} --ticks=\u{7f},1234,\u{7f}"
    );
    // After an `l` (either case), digits starting with `32` could continue
    // `rundll32`.
    assert_eq!(
        folded("rundll3212345 RUNDLL3212345 x3212345 l9912345", &fold),
        "rundll3212345 RUNDLL3212345 x\u{7f} l\u{7f}"
    );
    // Next to a character outside ASCII too.
    assert_eq!(folded("é3212345 é123456", &fold), "é3212345 é\u{7f}");
    let kelvin = contains("k12");
    let fold = predicate_fold(&kelvin).unwrap();
    assert_eq!(folded("\u{212a}123456", &fold), "\u{212a}123456");
    // Runs a test holds whole, or that hold a test's digits, are kept.
    let mut fold = predicate_fold(&contains("xyz123456.exe")).unwrap();
    fold.merge(&predicate_fold(&contains("123456789")).unwrap());
    assert_eq!(
        folded("g123456 g1234567 g0123456789 g12345678", &fold),
        "g123456 g\u{7f} g0123456789 g\u{7f}"
    );
    // A folded run is a mark no test reads: `x00` is not found in a folded
    // `x123456`, as not in the value.
    let fold = predicate_fold(&contains("x00")).unwrap();
    assert_eq!(folded("x123456 x0012345", &fold), "x\u{7f} x0012345");
    let fold = predicate_fold(&contains("46xsab")).unwrap();
    assert_eq!(
        folded("1234546Xsab 123456Xsab 1234546y", &fold),
        "1234546Xsab \u{7f}Xsab \u{7f}y"
    );
    // Runs glued to a hexadecimal letter are kept.
    assert_eq!(folded("ab123456 123456Cd", &fold), "ab123456 123456Cd");
    // Escapes are read decoded: `\n` is a line feed, not an `n`.
    let fold = predicate_fold(&contains("n1")).unwrap();
    assert_eq!(folded("\n123456 n123456", &fold), "\n\u{7f} n123456");
    // A `\u` escape is not folded.
    let mut out = Vec::new();
    assert!(!fold_json_string(
        br#""\u0001123456 x123456""#,
        &fold,
        &mut out
    ));
    assert!(out.is_empty());
    assert!(!fold_json_string(b"12345", &fold, &mut out));
    assert!(out.is_empty());
}

/// A value of text and runs of digits, often long.
fn value() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => "[012]{1,8}",
        3 => "[lL=\\\\\n/é]{1,2}",
        1 => Just("rundll32".to_string()),
        1 => Just("\u{212a}".to_string()),
    ];
    prop::collection::vec(token, 0..10).prop_map(|t| t.concat())
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => "[012]{1,3}".prop_map(Piece::Literal),
        6 => "[lLk=\\\\\n/]{1,2}".prop_map(Piece::Literal),
        2 => Just(Piece::AnyRun),
        1 => Just(Piece::AnyChar),
        1 => Just(Piece::OneOf(vec!['-', '/'])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20000))]

    /// A test that folds gives a value and the value folded one result.
    #[test]
    fn a_folding_test_gives_the_folded_value_its_result(
        pieces in prop::collection::vec(piece(), 1..5),
        values in prop::collection::vec(value(), 1..12),
        cased in any::<bool>(),
    ) {
        let p = text(pieces, cased);
        let Predicate::Text { pattern, .. } = &p else { unreachable!() };
        if let Some(fold) = predicate_fold(&p) {
            for v in &values {
                let f = folded(v, &fold);
                prop_assert_eq!(
                    pattern.matches(v, cased),
                    pattern.matches(&f, cased),
                    "{:?} on {:?} folded {:?}", pattern.pieces(), v, f
                );
            }
        }
    }

    /// Folding twice changes nothing more: a folded value's key is its own.
    #[test]
    fn folding_is_idempotent(v in value()) {
        let fold = predicate_fold(&contains("rundll32")).unwrap();
        let once = folded(&v, &fold);
        prop_assert_eq!(folded(&once, &fold), once);
    }
}
