//! Stage-1 witnesses: literals of which at least one occurs in the raw JSON of
//! every event a rule matches.
//!
//! **Contract (no false negatives):** if a rule matches an event, then the
//! event's raw bytes contain at least one of the rule's witnesses (JSON-escaped,
//! ASCII-caseless unless `cased`), *or* the event is one that stage 1 must
//! pass on whole (it holds a JSON `\u` or `\/` escape, or a non-ASCII character
//! that folds to an ASCII one, such as the Kelvin sign), *or* the witness is
//! [`number_like`] and the event holds a number token the reference writes
//! otherwise (`1.5e3`, `0.10`, `-0`, an integer past 18 digits). A rule with
//! [`Witnesses::Always`] is a candidate for every event of its log source.
//!
//! Derivation over the IR: a text predicate contributes the longest literal run
//! of its pattern (ASCII-only unless `cased`, no control characters, at
//! least [`MIN_WITNESS`] bytes as JSON writes it unless made of characters
//! telemetry rarely holds: see [`witness_worthy`]; a run of digits and
//! number signs, [`number_like`], also counts in any event holding a number
//! the reference writes otherwise), or, caseless and without such a run,
//! the case class of one of its non-ASCII letters as cased literals (`А`, `а`
//! for a lone Cyrillic `а`); a regular expression the rarest
//! of its prefix, suffix and required inner literal sets; other predicates, `neq`, `not` and
//! fields that a log source builds by joining or converting values contribute
//! nothing (always). A value list unions its alternatives; `all` and a map pick
//! their cheapest member; a list of maps and `or` union; `1 of` unions; `all of`
//! picks the cheapest. The cost of a set is `Σ 2^-min(len, 16)` over its
//! witnesses (long, few literals first), a literal inside a fragment nearly
//! every Windows event holds (`.exe`, `C:\Windows\System32\`: see
//! [`ubiquitous`]) costing 1 whatever its length; [`Strategy::First`] takes
//! the first usable member instead, for comparison.

use std::collections::BTreeSet;

use crate::ir::{Condition, FieldMatch, Predicate, Quantity, Rule};
use crate::logsource::Scope;
use crate::pattern::{fold_char, Piece};
use crate::profile::Profile;

/// Shortest literal used as a witness, in bytes.
pub const MIN_WITNESS: usize = 3;

/// One stage-1 literal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Witness {
    /// The literal as it appears in raw JSON (escaped).
    pub json: String,
    /// Case-sensitive; otherwise ASCII-caseless.
    pub cased: bool,
    /// The Sigma field whose value holds the literal when the rule matches
    /// (`None` for keywords, which may be anywhere in the event). Stage 1 may
    /// count an occurrence only inside a value the field can be read from.
    pub field: Option<String>,
}

impl Witness {
    /// The literal as the stage-1 database holds it: a caseless literal is
    /// one pattern whatever case it is written in.
    pub fn pattern_literal(&self) -> String {
        if self.cased {
            self.json.clone()
        } else {
            self.json.to_ascii_lowercase()
        }
    }
}

/// A rule's stage-1 requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witnesses {
    /// The rule may match any event of its log source.
    Always,
    /// The rule matches only events containing one of these.
    AnyOf(BTreeSet<Witness>),
}

/// How to choose among alternatives that must all hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The cheapest set by estimated hit rate (the default).
    #[default]
    Rarest,
    /// The first usable set, in rule order (a baseline to compare with).
    First,
}

/// The estimated chance that a literal occurs by accident: `2^-min(len,
/// 16)` for one of `len` bytes (long literals first), and 1 for one that
/// lies inside a fragment nearly every Windows event holds ([`ubiquitous`]),
/// however long. A set's cost is the sum.
pub(crate) fn literal_cost(literal: &str) -> f64 {
    if ubiquitous(literal) {
        1.0
    } else {
        2f64.powi(-(literal.len().min(16) as i32))
    }
}

/// Fragments nearly every Windows event holds (folded): the system's
/// directories, the commonest extensions and account, and the company and
/// product names nearly every Windows binary carries (`Company`,
/// `Product`). Telemetry of process starts, image loads and file writes
/// names them in almost every value, so a literal inside one (`.exe`,
/// `\System32\`) makes its rule a candidate of almost every event whatever
/// its length.
const UBIQUITOUS: &[&str] = &[
    r"c:\windows\system32\",
    r"c:\windows\syswow64\",
    r"c:\program files (x86)\",
    r"c:\program files\",
    r"c:\programdata\",
    r"c:\users\",
    r"\appdata\local\",
    r"\appdata\roaming\",
    ".exe",
    ".dll",
    r"nt authority\system",
    "microsoft corporation",
    "microsoft® windows® operating system",
];

/// Whether a literal (as written, or JSON-escaped) lies inside one of the
/// ubiquitous fragments (`UBIQUITOUS`: text nearly every event holds),
/// whatever its case.
pub fn ubiquitous(literal: &str) -> bool {
    let text = literal.replace(r"\\", r"\").to_ascii_lowercase();
    !text.is_empty() && UBIQUITOUS.iter().any(|f| f.contains(text.as_str()))
}

/// The cost of a set of witnesses (any of which may occur).
pub(crate) fn set_cost<'a>(set: impl IntoIterator<Item = &'a Witness>) -> f64 {
    set.into_iter().map(|w| literal_cost(&w.json)).sum()
}

impl Witnesses {
    fn cost(&self) -> f64 {
        match self {
            Witnesses::Always => f64::INFINITY,
            Witnesses::AnyOf(set) => set_cost(set),
        }
    }

    fn union(items: impl IntoIterator<Item = Witnesses>) -> Witnesses {
        let mut all = BTreeSet::new();
        for item in items {
            match item {
                Witnesses::Always => return Witnesses::Always,
                Witnesses::AnyOf(set) => all.extend(set),
            }
        }
        if all.is_empty() {
            Witnesses::Always
        } else {
            Witnesses::AnyOf(all)
        }
    }

    fn best(items: impl IntoIterator<Item = Witnesses>, strategy: Strategy) -> Witnesses {
        let mut best = Witnesses::Always;
        for item in items {
            if item == Witnesses::Always {
                continue;
            }
            match strategy {
                Strategy::First => return item,
                Strategy::Rarest if item.cost() < best.cost() => best = item,
                Strategy::Rarest => {}
            }
        }
        best
    }
}

/// Non-ASCII characters that fold to ASCII ones: long s (`ſ` → `s`) and the
/// Kelvin sign (`K` → `k`); an event holding one must skip stage 1. Written
/// out, ascending: finding them walks every code point through
/// [`fold_char`], tens of milliseconds at each start; the test
/// `fold_to_ascii_characters` does that walk and checks this list.
pub fn folds_to_ascii() -> &'static [char] {
    &FOLDS_TO_ASCII
}

const FOLDS_TO_ASCII: [char; 2] = ['\u{17F}', '\u{212A}'];

/// A member name as stage 1 compares it: spaces removed, ASCII lower case
/// (coarser than the profiles' lookup, so never stricter).
pub fn normalize_member(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    normalize_member_into(name, &mut out);
    out
}

/// [`normalize_member`] into a reused buffer (cleared first).
pub fn normalize_member_into(name: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(
        name.iter()
            .filter(|b| **b != b' ')
            .map(u8::to_ascii_lowercase),
    );
}

/// The member names (normalised) under which `field` can be read in an event
/// of any of `profiles`, for a rule of `scope`: the field itself (and the last
/// part of a dotted name), the last segment of every explicit profile path,
/// and the same for every name a source renames the field to. A value held by
/// `{"#text": …}` has the member `#text`, which the caller must accept for
/// every field.
pub fn field_members(field: &str, scope: &Scope, profiles: &[Profile]) -> BTreeSet<Vec<u8>> {
    let mut names = vec![field.to_string()];
    if let Scope::Sources(sources) = scope {
        for source in sources {
            if let Some(renamed) = source.fields.get(field) {
                names.extend(renamed.candidates.iter().flatten().cloned());
            }
        }
    }
    let mut members = BTreeSet::new();
    for name in &names {
        members.insert(normalize_member(name.as_bytes()));
        if let Some(last) = name.rsplit('.').next() {
            members.insert(normalize_member(last.as_bytes()));
        }
        for profile in profiles {
            for path in profile.fields.get(name).into_iter().flatten() {
                if let Some(last) = path.last() {
                    members.insert(normalize_member(last.as_bytes()));
                }
            }
        }
    }
    members
}

/// Whether `c` is the only character of its case-folding class (no other
/// character folds to it, and it folds to itself).
pub fn caseless_invariant(c: char) -> bool {
    fold_char(c) == c && !fold_classes().contains_key(&c)
}

/// Every character that folds to what `c` folds to (`c` among them),
/// ascending: what a caseless comparison takes for `c`.
pub fn fold_class(c: char) -> Vec<char> {
    let f = fold_char(c);
    fold_classes().get(&f).cloned().unwrap_or_else(|| vec![f])
}

/// The case-folding classes of more than one character, by the character
/// their members fold to (computed once per process).
fn fold_classes() -> &'static std::collections::HashMap<char, Vec<char>> {
    static CLASSES: std::sync::OnceLock<std::collections::HashMap<char, Vec<char>>> =
        std::sync::OnceLock::new();
    CLASSES.get_or_init(|| {
        let mut classes: std::collections::HashMap<char, Vec<char>> = Default::default();
        for x in (0u32..=0x10FFFF).filter_map(char::from_u32) {
            let f = fold_char(x);
            if f != x {
                let class = classes.entry(f).or_insert_with(|| vec![f]);
                class.push(x);
            }
        }
        for class in classes.values_mut() {
            class.sort_unstable();
            class.dedup();
        }
        classes
    })
}

/// Whether a literal is long or rare enough to be a witness: at least
/// [`MIN_WITNESS`] bytes as the scan looks for it (JSON-escaped: `"{` is
/// the three bytes `\"{`), or made only of characters telemetry rarely
/// holds (non-ASCII ones, and the escape characters of cmd and PowerShell,
/// `^` and `` ` ``). A literal of digits and number signs is one too (see
/// [`number_like`]).
pub fn witness_worthy(lit: &str) -> bool {
    let rare = |c: char| !c.is_ascii() || c == '^' || c == '`';
    !lit.is_empty() && (json_escape(lit).len() >= MIN_WITNESS || lit.chars().all(rare))
}

/// Whether a literal (JSON form) could lie in the text the reference gives a
/// JSON number without lying in the number as the event writes it: only
/// digits and number signs (`1.5e3` is read as `1500`, `0.10` as `0.1`,
/// a 25-digit integer as a float). Such a witness counts as present in any
/// event holding a number written otherwise than the reference writes it
/// (the runtime checks each number token; see `engine/numbers.rs` there).
pub fn number_like(json: &str) -> bool {
    !json.is_empty() && json.chars().all(|c| "0123456789.+-eE".contains(c))
}

/// The witnesses of a rule.
pub fn rule_witnesses(rule: &Rule, strategy: Strategy) -> Witnesses {
    let transformed = transformed_fields(rule);
    let selections: Vec<Witnesses> = rule
        .detection
        .selections
        .iter()
        .map(|s| {
            Witnesses::union(s.groups.iter().map(|group| {
                Witnesses::best(
                    group
                        .iter()
                        .map(|fm| field_witnesses(fm, &transformed, strategy)),
                    strategy,
                )
            }))
        })
        .collect();
    condition_witnesses(&rule.detection.condition, &selections, strategy)
}

fn condition_witnesses(c: &Condition, sel: &[Witnesses], strategy: Strategy) -> Witnesses {
    let get = |i: &usize| sel.get(*i).cloned().unwrap_or(Witnesses::Always);
    match c {
        Condition::Selection(i) => get(i),
        Condition::Not(_) => Witnesses::Always,
        Condition::And(items) => Witnesses::best(
            items.iter().map(|x| condition_witnesses(x, sel, strategy)),
            strategy,
        ),
        Condition::Or(items) => {
            Witnesses::union(items.iter().map(|x| condition_witnesses(x, sel, strategy)))
        }
        Condition::Quantified {
            quantity,
            selections,
        } => match quantity {
            Quantity::All => Witnesses::best(selections.iter().map(get), strategy),
            Quantity::AtLeast(_) => Witnesses::union(selections.iter().map(get)),
        },
    }
}

/// Fields that one of the rule's sources builds by joining or converting values
/// (their text is not in the raw event as matched).
pub(crate) fn transformed_fields(rule: &Rule) -> Vec<String> {
    match &rule.scope {
        Scope::Unmapped => Vec::new(),
        Scope::Sources(sources) => sources
            .iter()
            .flat_map(|s| s.fields.iter())
            .filter(|(_, f)| f.hex || !f.map.is_empty() || f.candidates.iter().any(|c| c.len() > 1))
            .map(|(name, _)| name.clone())
            .collect(),
    }
}

fn field_witnesses(fm: &FieldMatch, transformed: &[String], strategy: Strategy) -> Witnesses {
    if fm.modifiers.neq || fm.field.as_ref().is_some_and(|f| transformed.contains(f)) {
        return Witnesses::Always;
    }
    let values = fm.values.iter().map(|alternatives| {
        Witnesses::union(
            alternatives
                .iter()
                .map(|p| predicate_witnesses(p, fm.field.as_deref())),
        )
    });
    if fm.modifiers.all {
        Witnesses::best(values, strategy)
    } else {
        Witnesses::union(values)
    }
}

pub(crate) fn predicate_witnesses(p: &Predicate, field: Option<&str>) -> Witnesses {
    let (pattern, cased) = match p {
        Predicate::Text { pattern, cased } => (pattern, cased),
        Predicate::Regex(r) => {
            return Witnesses::best(regex_witness_sets(r, field), Strategy::Rarest)
        }
        _ => return Witnesses::Always,
    };
    let mut best: Option<String> = None;
    for piece in pattern.pieces() {
        let Piece::Literal(text) = piece else {
            continue;
        };
        for run in usable_runs(text, *cased) {
            if best.as_ref().is_none_or(|b| run.len() > b.len()) {
                best = Some(run);
            }
        }
    }
    match best {
        Some(lit) if witness_worthy(&lit) => Witnesses::AnyOf(BTreeSet::from([Witness {
            json: json_escape(&lit),
            cased: *cased,
            field: field.map(str::to_string),
        }])),
        _ if *cased => Witnesses::Always,
        _ => case_class_witnesses(pattern, field),
    }
}

/// For a caseless pattern without a usable run: the case class of one of its
/// non-ASCII letters (`А` and `а`), each member a cased witness, so a rule
/// of single lookalike letters gets witnesses. Classes holding an ASCII
/// character are left (events with a non-ASCII character folding to ASCII
/// skip stage 1, but the ASCII ones would be witnesses of one byte); the
/// smallest class is taken.
fn case_class_witnesses(pattern: &crate::pattern::Pattern, field: Option<&str>) -> Witnesses {
    let mut best: Option<Vec<char>> = None;
    for piece in pattern.pieces() {
        let Piece::Literal(text) = piece else {
            continue;
        };
        for c in text.chars().filter(|c| !c.is_ascii() && !c.is_control()) {
            let class = fold_class(c);
            let usable = class.iter().all(|x| !x.is_ascii());
            if usable && best.as_ref().is_none_or(|b| class.len() < b.len()) {
                best = Some(class);
            }
        }
    }
    match best {
        Some(class) => Witnesses::AnyOf(
            class
                .into_iter()
                .map(|c| Witness {
                    json: c.to_string(),
                    cased: true,
                    field: field.map(str::to_string),
                })
                .collect(),
        ),
        None => Witnesses::Always,
    }
}

/// The witness sets of a `re` value, each of which every match holds: its
/// prefix literals and its suffix literals (`regex-syntax`'s extractor), and
/// its required inner literals ([`crate::regex_literals`]), so all hold (a
/// rule's witnesses take the cheapest; its clauses all). Each literal is
/// ASCII-caseless (a superset of what the expression, with or without `i`,
/// can match). Expressions `regex-syntax` cannot parse (look-around,
/// back-references) and sets with a literal shorter than [`MIN_WITNESS`] or
/// holding characters with other case forms give no witness.
pub(crate) fn regex_witness_sets(r: &crate::ir::SigmaRegex, field: Option<&str>) -> [Witnesses; 3] {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let Some(hir) = crate::regex_literals::parse(r) else {
        return [Witnesses::Always, Witnesses::Always, Witnesses::Always];
    };
    let [prefix, suffix] = [ExtractKind::Prefix, ExtractKind::Suffix].map(|kind| {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let Some(literals) = seq.literals() else {
            return Witnesses::Always;
        };
        let texts: Option<Vec<&str>> = literals
            .iter()
            .map(|lit| std::str::from_utf8(lit.as_bytes()).ok())
            .collect();
        texts.map_or(Witnesses::Always, |t| regex_literal_set(&t, field))
    });
    let inner = crate::regex_literals::required_literals(&hir)
        .map_or(Witnesses::Always, |t| regex_literal_set(&t, field));
    [prefix, suffix, inner]
}

/// Caseless witnesses for literals one of which every match of an
/// expression holds; `Always` when one is unusable.
fn regex_literal_set(texts: &[impl AsRef<str>], field: Option<&str>) -> Witnesses {
    let mut set = BTreeSet::new();
    for text in texts.iter().map(AsRef::as_ref) {
        // Case-insensitive expressions list the Kelvin sign for `k` and
        // the long s for `s`: events holding those skip stage 1 anyway.
        let text: String = text
            .chars()
            .map(|c| match fold_char(c) {
                f if !c.is_ascii() && f.is_ascii() => f,
                _ => c,
            })
            .collect();
        let usable = witness_worthy(&text)
            && text
                .chars()
                .all(|c| !c.is_control() && (c.is_ascii() || caseless_invariant(c)));
        if !usable {
            return Witnesses::Always;
        }
        set.insert(Witness {
            json: json_escape(&text.to_ascii_lowercase()),
            cased: false,
            field: field.map(str::to_string),
        });
    }
    // A literal holding another one adds nothing: keep the shorter.
    let minimal: BTreeSet<Witness> = set
        .iter()
        .filter(|w| {
            !set.iter()
                .any(|o| o.json != w.json && w.json.contains(&o.json))
        })
        .cloned()
        .collect();
    if minimal.is_empty() {
        Witnesses::Always
    } else {
        Witnesses::AnyOf(minimal)
    }
}

/// Runs of a literal usable as witnesses: no control characters, and when
/// matching is case-insensitive only ASCII and characters without other case
/// forms (emoji, symbols), whose bytes Hyperscan's ASCII-caseless mode matches
/// exactly.
fn usable_runs(text: &str, cased: bool) -> Vec<String> {
    let mut runs = vec![String::new()];
    for c in text.chars() {
        let ok = !c.is_control() && (cased || c.is_ascii() || caseless_invariant(c));
        match (ok, runs.last_mut()) {
            (true, Some(run)) => run.push(c),
            _ => runs.push(String::new()),
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// The literal as a JSON encoder writes it inside a string.
fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_rule, CompileOptions};

    fn witnesses(detection: &str) -> Witnesses {
        let text = format!("title: t\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{detection}");
        rule_witnesses(
            &parse_rule(&text, &CompileOptions::default()).unwrap(),
            Strategy::Rarest,
        )
    }

    fn set(items: &[(&str, &str)]) -> Witnesses {
        Witnesses::AnyOf(
            items
                .iter()
                .map(|(field, s)| Witness {
                    json: s.to_string(),
                    cased: false,
                    field: (!field.is_empty()).then(|| field.to_string()),
                })
                .collect(),
        )
    }

    #[test]
    fn literals_inside_ubiquitous_fragments_cost_as_much_as_no_witness_at_all() {
        assert!(ubiquitous(".EXE") && ubiquitous(r"\Windows\") && ubiquitous(r"\\System32\\"));
        assert!(!ubiquitous(r"\cmd.exe") && !ubiquitous("rar.exe") && !ubiquitous(""));
        assert_eq!(literal_cost(r"\System32\"), 1.0);
        assert!(literal_cost("rar.exe") < 0.01);
        // The command line's literals are rarer than an image under \Windows\.
        assert_eq!(
            witnesses(
                "    a: {Image|contains: '\\Windows\\', CommandLine|contains: '\\..\\'}\n    condition: a"
            ),
            set(&[("CommandLine", r"\\..\\")])
        );
        // With no alternative, a ubiquitous literal is still a witness.
        assert_eq!(
            witnesses("    s: {Image|endswith: '.exe'}\n    condition: s"),
            set(&[("Image", ".exe")])
        );
        // The company and product of nearly every Windows binary are whole
        // ubiquitous values: the image names are the rarer witnesses.
        assert!(ubiquitous("Microsoft Corporation") && ubiquitous("MICROSOFT® Windows®"));
        assert!(!ubiquitous("Microsoft Corporation2"));
        assert_eq!(
            witnesses(
                "    img:\n        - Image|endswith: ['\\csi.exe', '\\rcsi.exe']\n        - OriginalFileName: 'csi.exe'\n    cli: {Company: 'Microsoft Corporation'}\n    condition: all of *"
            ),
            set(&[("Image", r"\\csi.exe"), ("Image", r"\\rcsi.exe"), ("OriginalFileName", "csi.exe")])
        );
    }

    #[test]
    fn short_rare_literals_and_case_classes() {
        // cmd's escape character: two bytes are enough; other short literals are not.
        assert_eq!(
            witnesses("    s: {CommandLine|contains: ['^^', ',;,']}\n    condition: s"),
            set(&[("CommandLine", "^^"), ("CommandLine", ",;,")])
        );
        assert_eq!(
            witnesses("    s: {CommandLine|contains: ['^^', ';;']}\n    condition: s"),
            Witnesses::Always
        );
        assert!(witness_worthy("`") && witness_worthy("é") && !witness_worthy("ab"));
        // Escaped, a quote or a backslash is two bytes of the raw event.
        assert!(witness_worthy("\"{") && witness_worthy("\\a") && !witness_worthy("\""));
        assert!(witness_worthy("123456") && !witness_worthy(""));
        assert!(number_like("123456") && number_like("1.5e-3") && !number_like("x123"));
        // A lone lookalike letter: every character of its case class, cased.
        let cyrillic_a = Witnesses::AnyOf(BTreeSet::from(["А", "а"].map(|c| Witness {
            json: c.to_string(),
            cased: true,
            field: Some("CommandLine".to_string()),
        })));
        assert_eq!(
            witnesses("    s: {CommandLine|contains: 'а'}\n    condition: s"),
            cyrillic_a
        );
        // A class holding an ASCII letter (the Kelvin sign's) gives nothing.
        assert_eq!(
            witnesses("    s: {CommandLine|contains: '\u{212A}'}\n    condition: s"),
            Witnesses::Always
        );
        assert_eq!(fold_class('σ'), vec!['Σ', 'ς', 'σ']);
        assert!(caseless_invariant('😀') && !caseless_invariant('σ'));
    }

    #[test]
    fn derivation() {
        assert_eq!(
            witnesses("    s: {CommandLine|contains: 'whoami'}\n    condition: s"),
            set(&[("CommandLine", "whoami")])
        );
        // A map picks the rarest member; escapes are written as JSON writes them.
        assert_eq!(
            witnesses("    s: {Image|endswith: '\\cmd.exe', CommandLine|contains: '\\\\127.0.0.1\\'}\n    condition: s"),
            set(&[("CommandLine", "\\\\127.0.0.1\\\\")])
        );
        // `not` and numbers give nothing; `or` unions; `1 of` unions.
        assert_eq!(
            witnesses("    s: {CommandLine: 'x'}\n    condition: not s"),
            Witnesses::Always
        );
        assert_eq!(
            witnesses(
                "    a: {A|contains: 'alpha'}\n    b: {B|contains: 'beta'}\n    condition: a or b"
            ),
            set(&[("A", "alpha"), ("B", "beta")])
        );
        assert_eq!(
            witnesses("    a: {A|contains: 'alpha'}\n    b: {B: 5}\n    condition: 1 of them"),
            Witnesses::Always
        );
        assert_eq!(
            witnesses("    a: {A|contains: 'alpha'}\n    b: {B: 5}\n    condition: all of them"),
            set(&[("A", "alpha")])
        );
        // Non-ASCII: the longest run of ASCII and characters without case forms.
        assert_eq!(
            witnesses("    s: {A|contains: 'straße-xyz'}\n    condition: s"),
            set(&[("A", "e-xyz")])
        );
        assert_eq!(
            witnesses("    s: {A|contains: 'x🔥y'}\n    condition: s"),
            set(&[("A", "x🔥y")])
        );
        assert!(caseless_invariant('🔥') && !caseless_invariant('ß') && !caseless_invariant('k'));
        // Regular expressions: the rarest of the prefix, suffix and inner literals, caseless.
        assert_eq!(
            witnesses(
                "    s: {CommandLine|re: 'cmd.{0,5}(?:/c|/r).+powershell'}\n    condition: s"
            ),
            set(&[("CommandLine", "powershell")])
        );
        assert_eq!(
            witnesses("    s: {CommandLine|re|i: '(Invoke|IEX)-?x'}\n    condition: s"),
            set(&[("CommandLine", "iex"), ("CommandLine", "invoke")])
        );
        // An inner literal when prefix and suffix are common or unusable.
        assert_eq!(
            witnesses("    s: {CommandLine|re: '\\.exe\\s+[^\"]{0,64}werfaultsecure\\.exe\\s+\\d{2,10}'}\n    condition: s"),
            set(&[("CommandLine", "werfaultsecure.exe")])
        );
        // Too short, look-around, or able to match anything: none.
        for re in ["a.b", "(?<=x)yz+", "x*", "\\d{3}"] {
            assert_eq!(
                witnesses(&format!(
                    "    s: {{CommandLine|re: '{re}'}}\n    condition: s"
                )),
                Witnesses::Always,
                "{re}"
            );
        }
        // Security 4688 builds User by joining domain and name: no witness from it.
        assert_eq!(
            witnesses(
                "    s: {User|endswith: '\\bob', Image|endswith: '\\x.exe'}\n    condition: s"
            ),
            set(&[("Image", "\\\\x.exe")])
        );
        assert_eq!(
            witnesses("    s: {User|endswith: '\\bobby'}\n    condition: s"),
            Witnesses::Always
        );
    }

    #[test]
    fn fold_to_ascii_characters() {
        let walked: Vec<char> = (0x80u32..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| fold_char(c).is_ascii())
            .collect();
        assert_eq!(folds_to_ascii(), walked.as_slice());
        assert!(walked.contains(&'\u{212A}') && walked.contains(&'ſ'));
    }
}
