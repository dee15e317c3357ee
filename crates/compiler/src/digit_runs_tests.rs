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

/// `value` as a JSON string, its runs and words folded under `fold` (as
/// it is when nothing folds).
fn folded(value: &str, fold: &DigitFold) -> String {
    folded_by(value, fold, Folding::RunsAndWords)
}

/// `value` as a JSON string, folded under `fold` by `folding`.
fn folded_by(value: &str, fold: &DigitFold, folding: Folding) -> String {
    let raw = serde_json::to_vec(value).unwrap();
    let mut out = Vec::new();
    if !fold_json_string(&raw, fold, folding, &mut out) {
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
    // Runs glued to a hexadecimal letter are kept as runs, but fold as
    // the hexadecimal words they are part of.
    assert_eq!(
        folded("ab123456 123456Cd xab123456", &fold),
        "\u{7f} \u{7f} xab123456"
    );
    // Folding runs only, they are kept whole.
    for value in ["ab123456 123456Cd xab123456", "f_0a3b2c"] {
        assert_eq!(folded_by(value, &fold, Folding::Runs), value);
    }
    assert_eq!(
        folded_by("ab123456 x123456", &fold, Folding::Runs),
        "ab123456 x\u{7f}"
    );
    // Escapes are read decoded: `\n` is a line feed, not an `n`.
    let fold = predicate_fold(&contains("n1")).unwrap();
    assert_eq!(folded("\n123456 n123456", &fold), "\n\u{7f} n123456");
    // A `\u` escape is not folded.
    let mut out = Vec::new();
    for folding in [Folding::Runs, Folding::RunsAndWords] {
        assert!(!fold_json_string(
            br#""\u0001123456 x123456""#,
            &fold,
            folding,
            &mut out
        ));
        assert!(out.is_empty());
        assert!(!fold_json_string(b"12345", &fold, folding, &mut out));
        assert!(out.is_empty());
    }
}

#[test]
fn hexadecimal_words_fold_unless_a_test_can_read_them() {
    let fold = predicate_fold(&contains("\\Cache_Data\\")).unwrap();
    assert_eq!(
        folded(
            "C:\\x\\Cache_Data\\f_0a3b2c OUTLOOK.EXE-0005F991.pf {ea270872-319c-b99f}",
            &fold
        ),
        "C:\\x\\Cache_Data\\f_\u{7f} OUTLOOK.EXE-\u{7f}.pf {\u{7f}-319c-b99f}"
    );
    // Not: too short, letters or digits alone (the digits fold as a run),
    // part of a longer word, next to a character outside ASCII, or after
    // a backslash (`\f` is an escape).
    assert_eq!(
        folded("a1b2c deface 1234 g0a3b2c 0a3b2cé \u{c}0a3b2c", &fold),
        "a1b2c deface 1234 g0a3b2c 0a3b2cé \u{c}0a3b2c"
    );
    // Kept: words a test's stretch could overlap (its inner pieces whole,
    // its first piece at a word's end, its last at a word's start, a
    // stretch of one piece anywhere in a word), ignoring case.
    for (test, value) in [
        ("-00ab12-", "x-00AB12-x"),
        ("b12-", "x-00ab12-x"),
        ("-00a", "x-00ab12-x"),
        ("0ab1", "x-00ab12-x"),
    ] {
        let fold = predicate_fold(&contains(test)).unwrap();
        assert_eq!(folded(value, &fold), value, "{test}");
    }
    let fold = predicate_fold(&contains("b12-")).unwrap();
    assert_eq!(folded("x-00ab13-x", &fold), "x-\u{7f}-x");
    // A pattern with a character set (one with `?` keeps runs too), or a
    // regular expression, keeps every word (digits still fold).
    for p in [
        text(vec![Piece::AnyRun, Piece::OneOf(vec!['a', 'B'])], false),
        text(vec![Piece::AnyRun, Piece::OneOf(vec!['-', '/'])], false),
        regex(r"net\s+user"),
    ] {
        let fold = predicate_fold(&p).unwrap();
        assert_eq!(
            folded("-00ab12- -123456-", &fold),
            "-00ab12- -\u{7f}-",
            "{p:?}"
        );
    }
    // A stage-1 witness keeps words by its raw bytes.
    let fold = literal_fold(br#"\\0ab123"#).unwrap();
    assert_eq!(folded("\\0ab1234 \\0ab9234", &fold), "\\0ab1234 \\\u{7f}");
}

/// A value of text, runs of digits, often long, and hexadecimal words.
fn value() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => "[012]{1,8}",
        3 => "[lL=\\\\\n/é]{1,2}",
        3 => "[0-2a-cA-C]{1,9}",
        2 => "[-_. xX]",
        1 => Just("rundll32".to_string()),
        1 => Just("\u{212a}".to_string()),
    ];
    prop::collection::vec(token, 0..10).prop_map(|t| t.concat())
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => "[012]{1,3}".prop_map(Piece::Literal),
        6 => "[lLk=\\\\\n/]{1,2}".prop_map(Piece::Literal),
        4 => "[0-2aBc_.x -]{1,4}".prop_map(Piece::Literal),
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
                for folding in [Folding::Runs, Folding::RunsAndWords] {
                    let f = folded_by(v, &fold, folding);
                    prop_assert_eq!(
                        pattern.matches(v, cased),
                        pattern.matches(&f, cased),
                        "{:?} on {:?} folded {:?}", pattern.pieces(), v, f
                    );
                }
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

/// Whether `needle` occurs in `haystack`, ASCII letters of either case.
fn holds_caseless(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20000))]

    /// A stage-1 witness (raw JSON bytes, matched ignoring ASCII case) is
    /// found in a raw value exactly when it is found in the value folded
    /// under the witness's fold.
    #[test]
    fn a_witness_is_found_in_the_folded_value_as_in_the_value(
        literal in "[0-2aBc_.x\\\\\n-]{1,6}",
        values in prop::collection::vec(value(), 1..12),
    ) {
        let json = serde_json::to_vec(&literal).unwrap();
        let literal = &json[1..json.len() - 1];
        if let Some(fold) = literal_fold(literal) {
            for (v, folding) in values.iter().flat_map(|v| [(v, Folding::Runs), (v, Folding::RunsAndWords)]) {
                let raw = serde_json::to_vec(v).unwrap();
                let mut out = Vec::new();
                let folded = if fold_json_string(&raw, &fold, folding, &mut out) { out } else { raw.clone() };
                prop_assert_eq!(
                    holds_caseless(&raw, literal),
                    holds_caseless(&folded, literal),
                    "{:?} in {:?} folded {:?}",
                    String::from_utf8_lossy(literal),
                    String::from_utf8_lossy(&raw),
                    String::from_utf8_lossy(&folded)
                );
            }
        }
    }
}

#[test]
fn a_fold_keeps_no_run_beyond_one_holding_its_rules() {
    let id = predicate_fold(&contains("--id=777777")).unwrap();
    let mut wider = literal_fold(b"rundll32").unwrap();
    assert!(!id.keeps_no_run_beyond(&wider));
    assert!(DigitFold::default().keeps_no_run_beyond(&wider));
    wider.merge(&id);
    assert!(id.keeps_no_run_beyond(&wider));
    assert!(!wider.keeps_no_run_beyond(&id));
    // Folded alike by the wider fold, not by the other.
    let rundll = literal_fold(b"rundll32").unwrap();
    let [a, b] =
        ["x --id=777777 y", "x --id=123456 y"].map(|v| folded_by(v, &rundll, Folding::Runs));
    assert_eq!(a, b);
    assert_ne!(
        folded_by("x --id=777777 y", &id, Folding::Runs),
        folded_by("x --id=123456 y", &id, Folding::Runs)
    );
    // Where the runs folded follow no `=`, the fold of `--id=777777` keeps
    // none of them.
    assert!(id.keeps_no_run_beyond_in(&rundll, "\"x --ticks \u{7f} y\"".as_bytes()));
    assert!(!id.keeps_no_run_beyond_in(&rundll, "\"x --id=\u{7f} y\"".as_bytes()));
    assert!(id.keeps_no_run_beyond_in(&rundll, b"\"x --id=123456 y\""));
}

/// The fold of some tests (their folds merged); `None` when one reads long
/// runs.
fn merged(tests: &[Vec<Piece>]) -> Option<DigitFold> {
    let mut fold = Some(DigitFold::default());
    for pieces in tests {
        merge_folds(
            &mut fold,
            predicate_fold(&text(pieces.clone(), false)).as_ref(),
        );
    }
    fold
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    /// Where a fold keeps no run beyond a wider one, a value folded by the
    /// wider fold and then by it is the value folded by it: values alike
    /// under the wider fold are alike under it.
    #[test]
    fn a_narrower_fold_follows_from_the_wider_fold(
        narrow in prop::collection::vec(prop::collection::vec(piece(), 1..5), 1..3),
        others in prop::collection::vec(prop::collection::vec(piece(), 1..5), 0..4),
        merge_narrow in any::<bool>(),
        values in prop::collection::vec(value(), 1..12),
    ) {
        let (Some(narrow_fold), Some(mut wider)) = (merged(&narrow), merged(&others)) else {
            return Ok(());
        };
        if merge_narrow {
            wider.merge(&narrow_fold);
            prop_assert!(narrow_fold.keeps_no_run_beyond(&wider));
        }
        let everywhere = narrow_fold.keeps_no_run_beyond(&wider);
        for v in &values {
            let by_wider = folded_by(v, &wider, Folding::Runs);
            let json = serde_json::to_vec(&by_wider).unwrap();
            let here = narrow_fold.keeps_no_run_beyond_in(&wider, &json);
            prop_assert!(here || !everywhere);
            if here {
                prop_assert_eq!(
                    folded_by(&by_wider, &narrow_fold, Folding::Runs),
                    folded_by(v, &narrow_fold, Folding::Runs),
                    "{:?} folded by the wider fold {:?}", v, by_wider
                );
            }
        }
    }
}
