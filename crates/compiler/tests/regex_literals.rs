//! Property: every match of a regular expression contains one of the
//! literals `required_literals` gives for it, and one of each set
//! `required_literal_sets` gives (after folding case), whatever
//! the expression's shape: concatenations, alternations, repetitions,
//! classes, case-insensitive parts.

use hypersigma_compiler::pattern::fold_str;
use hypersigma_compiler::regex_literals::{required_literal_sets, required_literals};
use proptest::prelude::*;

/// Small expressions over a tiny alphabet, so random texts match often.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[abAB`^.]{1,4}".prop_map(|s| regex_syntax::escape(&s)),
        Just("[ab]".to_string()),
        Just("[Aa]".to_string()),
        Just("\\d".to_string()),
        Just(".".to_string()),
        Just("(?i:ab)".to_string()),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| format!("(?:{})", v.join("|"))),
            (inner.clone(), 0u32..3, 0u32..3)
                .prop_map(|(e, min, extra)| format!("(?:{e}){{{min},{}}}", min + extra)),
            inner.clone().prop_map(|e| format!("(?:{e})+")),
            inner.prop_map(|e| format!("(?:{e})?")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn every_match_holds_a_required_literal(
        re in expression(),
        caseless in any::<bool>(),
        texts in prop::collection::vec("[abAB`^.1 ]{0,24}", 1..8),
    ) {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(caseless)
            .build()
            .parse(&re)
            .unwrap();
        let sets = required_literal_sets(&hir, 8);
        let Some(literals) = required_literals(&hir) else {
            prop_assert!(sets.is_empty(), "{re}: sets {sets:?} without a required set");
            return Ok(());
        };
        let compiled = fancy_regex::RegexBuilder::new(&re)
            .case_insensitive(caseless)
            .build()
            .unwrap();
        for text in texts {
            if compiled.is_match(&text).unwrap() {
                let folded = fold_str(&text);
                prop_assert!(
                    literals.iter().any(|l| folded.contains(l.as_str())),
                    "{re} matches {text:?} without any of {literals:?}"
                );
                for set in &sets {
                    prop_assert!(
                        set.iter().any(|l| folded.contains(l.as_str())),
                        "{re} matches {text:?} without any of {set:?}"
                    );
                }
            }
        }
    }
}
