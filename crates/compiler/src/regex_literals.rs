//! Required literals of a regular expression: a set of strings one of which
//! every match contains, found anywhere in the expression, not only at its
//! start or end.
//!
//! `regex-syntax`'s extractor gives prefixes and suffixes; an expression
//! like `\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe` starts with the
//! ubiquitous `.exe` and ends with digits, but every match holds
//! `werfaultsecure.exe`. The walk over the expression's syntax tree: a
//! literal requires itself; a concatenation requires the best of its
//! parts' requirements, where consecutive fixed parts (literals, classes of
//! one letter in its cases, fixed repetitions) join into one longer
//! literal; an alternation requires the union of its branches'; a
//! repetition of at least one requires its body's; anything else (classes,
//! optional parts, look-around) requires nothing. Literals are lower-cased:
//! stage 1 matches them ASCII-caseless. "Best" is the cheapest set by the
//! witness cost (`Σ 2^-min(len, 16)`, [`crate::witness`]).

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::pattern::fold_char;
use crate::witness::literal_cost;

/// Longest alternation union kept (more literals are no longer selective).
const MAX_LITERALS: usize = 64;

/// A Sigma `re` value's syntax tree, parsed with its flags; `None` for
/// expressions `regex-syntax` does not read (look-around, back-references).
pub fn parse(r: &crate::ir::SigmaRegex) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .case_insensitive(r.flags.ignore_case)
        .multi_line(r.flags.multi_line)
        .dot_matches_new_line(r.flags.dot_all)
        .build()
        .parse(&r.source)
        .ok()
}

/// The literals one of which every match of `hir` contains (lower-cased),
/// or `None` when no such set is found.
pub fn required_literals(hir: &Hir) -> Option<Vec<String>> {
    required(hir).filter(|set| set.iter().all(|s| !s.is_empty()))
}

/// Every literal set [`required_literals`] could choose among at the top of
/// `hir` (one per part of a concatenation: a match holds a literal of
/// each), rarest first, at most `max`: a stronger prefilter than one set
/// when checking is cheap (stage 2), where a scan pattern costs (stage 1).
pub fn required_literal_sets(hir: &Hir, max: usize) -> Vec<Vec<String>> {
    let mut sets: Vec<Vec<String>> = top_parts(hir).into_iter().flatten().collect();
    sets.retain(|set| !set.is_empty() && set.iter().all(|s| !s.is_empty()));
    sets.sort_by(|a, b| cost(a).total_cmp(&cost(b)).then_with(|| a.cmp(b)));
    sets.dedup();
    sets.truncate(max);
    sets
}

fn cost(set: &[String]) -> f64 {
    set.iter().map(|s| literal_cost(s)).sum()
}

fn better(a: Option<Vec<String>>, b: Option<Vec<String>>) -> Option<Vec<String>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if cost(&b) < cost(&a) { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

fn required(hir: &Hir) -> Option<Vec<String>> {
    if let Some(text) = fixed(hir) {
        return (!text.is_empty()).then(|| vec![text]);
    }
    match hir.kind() {
        HirKind::Capture(_) | HirKind::Concat(_) => top_parts(hir).into_iter().fold(None, better),
        HirKind::Repetition(r) if r.min >= 1 => top_parts(hir).into_iter().fold(None, better),
        HirKind::Alternation(items) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(required(item)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        _ => None,
    }
}

/// What each part of `hir` requires, through groups and repetitions of at
/// least one: a concatenation's parts ([`concat_parts`]), else `hir` whole.
/// [`required`] takes the rarest, [`required_literal_sets`] all of them.
fn top_parts(hir: &Hir) -> Vec<Option<Vec<String>>> {
    match hir.kind() {
        HirKind::Capture(c) => top_parts(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => top_parts(&r.sub),
        HirKind::Concat(items) => concat_parts(items),
        _ => vec![required(hir)],
    }
}

/// What each part of a concatenation requires: consecutive fixed parts
/// joined into one literal, the others' [`required`] sets.
fn concat_parts(items: &[Hir]) -> Vec<Option<Vec<String>>> {
    let mut parts = Vec::new();
    let mut run = String::new();
    for item in items {
        match fixed(item) {
            Some(text) => run.push_str(&text),
            None => {
                if !run.is_empty() {
                    parts.push(Some(vec![std::mem::take(&mut run)]));
                }
                parts.push(required(item));
            }
        }
    }
    if !run.is_empty() {
        parts.push(Some(vec![run]));
    }
    parts
}

/// The one string every match of `hir` is (lower-cased), when there is one.
fn fixed(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Empty => Some(String::new()),
        HirKind::Literal(lit) => std::str::from_utf8(&lit.0).ok().map(lower),
        HirKind::Class(class) => one_letter(class).map(String::from),
        HirKind::Capture(c) => fixed(&c.sub),
        HirKind::Repetition(r) if Some(r.min) == r.max && r.min <= 16 => {
            fixed(&r.sub).map(|s| s.repeat(r.min as usize))
        }
        HirKind::Concat(items) => items.iter().map(fixed).collect(),
        _ => None,
    }
}

fn lower(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// The character a class matches up to case (`[Ww]`, `[Kk\u{212A}]`).
fn one_letter(class: &Class) -> Option<char> {
    let mut chars = Vec::new();
    match class {
        Class::Unicode(u) => {
            for range in u.ranges() {
                for c in range.start()..=range.end() {
                    chars.push(c);
                    if chars.len() > 4 {
                        return None;
                    }
                }
            }
        }
        Class::Bytes(b) => {
            for range in b.ranges() {
                for byte in range.start()..=range.end() {
                    chars.push(char::from(byte));
                    if chars.len() > 4 || !byte.is_ascii() {
                        return None;
                    }
                }
            }
        }
    }
    let first = fold_char(*chars.first()?);
    chars
        .iter()
        .all(|&c| fold_char(c) == first)
        .then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(re: &str, caseless: bool) -> Option<Vec<String>> {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(caseless)
            .build()
            .parse(re)
            .unwrap();
        required_literals(&hir)
    }

    fn set(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn inner_literals_are_found() {
        // The WSASS rule's expression: the long inner literal, not `.exe`.
        assert_eq!(
            req(
                r#"(?i)\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe["']?\s+\d{2,10}"#,
                false
            ),
            set(&["werfaultsecure.exe"])
        );
        assert_eq!(req(r"\w+`(?:\w+|-|.)`[\w+|\s]", false), set(&["`"]));
        // Alternations union their branches; case folds.
        assert_eq!(req(r"x+(?:Invoke|IEX)\s", false), set(&["iex", "invoke"]));
        assert_eq!(req(r"abc", true), set(&["abc"]));
        // Fixed repetitions and classes of one letter join into one literal.
        assert_eq!(req(r"[Ww]hoami\.e{1}xe\d+", false), set(&["whoami.exe"]));
        assert_eq!(req(r"(?:ab){2}\d", false), set(&["abab"]));
    }

    #[test]
    fn every_part_of_a_concatenation_is_a_set() {
        let sets = |re: &str| {
            let hir = regex_syntax::ParserBuilder::new()
                .build()
                .parse(re)
                .unwrap();
            required_literal_sets(&hir, 4)
        };
        // The token-obfuscation expression: `-f` alone would let most
        // PowerShell command lines through.
        assert_eq!(
            sets(r#""(?:\{\d\})+"\s*-f"#),
            [["-f"], ["\""], ["{"]].map(|v| v.map(String::from).to_vec())
        );
        assert_eq!(
            sets(r"x+(?:Invoke|IEX)\s"),
            [
                vec!["iex".to_string(), "invoke".to_string()],
                vec!["x".to_string()]
            ]
        );
        assert_eq!(sets(r"abc"), [vec!["abc".to_string()]]);
        assert!(sets(r"\d+").is_empty());
    }

    #[test]
    fn optional_and_open_parts_require_nothing() {
        for re in [
            r"a?",
            r"\d+",
            r"(?:abc)*",
            r"(?:abc|\d)",
            r"[a-z]{3}",
            r"(?:x|)",
        ] {
            assert_eq!(req(re, false), None, "{re}");
        }
        // One branch without a requirement voids the alternation, not the concatenation.
        assert_eq!(req(r"(?:abc|\d)defg", false), set(&["defg"]));
    }
}
